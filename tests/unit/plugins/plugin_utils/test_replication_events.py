# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source's logic without I/O: its options (the modules' connection options and K2_*
environment, then its own), and the Tracker, which turns each poll into events: one event per
change, none for no change, the array's errors as one event per outage."""

from __future__ import annotations

import json

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ConnectionError, K2OptionError, K2Unauthorized
from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import k2_argument_spec
from ansible_collections.kaminario.k2.plugins.plugin_utils import replication_events as ev
from ansible_collections.kaminario.k2.plugins.plugin_utils.replication_events import Poll, Tracker

NOW = 1_800_000_000
ARRAY = "k2-a.example.com"
CONNECTION = dict(host=ARRAY, username="monitor", password="s3cr3t-Pa55")


def session(sid=1, state="in_sync", role="source", code="none", **extra):
    data = {"id": sid, "name": "s%d" % sid, "state": state, "current_role": role, "suspend_reason_code": code,
            "rpo": 300, "remote_replication_session_name": "remote_s%d" % sid,
            "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
            "local_volume_group": {"ref": "/volume_groups/%d" % (100 + sid)}}
    data.update(extra)
    return data


def health(status, age=0):
    return {"status": status, "reason": "%s: test" % status, "age": age, "rpo": 300, "ratio": age / 300.0,
            "recovery_point": NOW - age, "transfer": {"in_progress": False}, "notes": []}


def poll(sessions, healths=None, at=NOW, clock="array"):
    return Poll(list(sessions), healths, at, clock)


def kinds(events):
    return [e["k2_replication"]["kind"] for e in events]


def body(event):
    return event["k2_replication"]


def tracked(*sessions, healths=None, **options):
    """A tracker that has seen `sessions` (the first poll: no events without emit_initial)."""
    tracker = Tracker(ARRAY, **options)
    assert tracker.succeeded(poll(sessions, healths)) == []
    return tracker


# ---- options -------------------------------------------------------------------------------------

def test_the_options_are_the_connection_options_of_the_modules_plus_the_sources_own():
    options = ev.source_options(dict(CONNECTION))
    assert set(options) == set(k2_argument_spec()) | set(ev.SOURCE_OPTIONS)
    assert options["validate_certs"] is True and options["ca_path"] is None and options["timeout"] == 30
    assert options["interval"] == 30.0 and options["emit_initial"] is False
    assert options["event_kinds"] == list(ev.EVENT_KINDS)
    assert (options["health_tolerance"], options["health_critical_factor"], options["health_stall_factor"]) == \
        (1.25, 2.0, 2.0)


def test_the_connection_comes_from_the_k2_environment_as_for_the_modules(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    for name, value in (("K2_HOST", "k2-b:8443"), ("K2_USERNAME", "ro"), ("K2_PASSWORD", "pw"),
                        ("K2_VALIDATE_CERTS", "false"), ("K2_CA_PATH", str(ca))):
        monkeypatch.setenv(name, value)
    options = ev.source_options({"interval": "5"})
    assert (options["host"], options["username"], options["password"]) == ("k2-b:8443", "ro", "pw")
    assert options["validate_certs"] is False and options["ca_path"] == str(ca) and options["interval"] == 5.0
    # An argument wins over the environment.
    assert ev.source_options({"host": "k2-c"})["host"] == "k2-c"


def test_missing_connection_options_are_named(monkeypatch):
    for name in ("K2_HOST", "K2_USERNAME", "K2_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ev.EventSourceError) as caught:
        ev.source_options({"host": ARRAY})
    assert "missing required arguments: password, username" in str(caught.value)


@pytest.mark.parametrize("extra, words", [
    ({"intervall": 5}, ["unsupported option(s)", "intervall"]),
    ({"event_kinds": ["state_changed", "pair_broken"]}, ["event_kinds", "pair_broken"]),
    ({"emit_initial": "perhaps"}, ["emit_initial"]),
    ({"health_tolerance": "soon"}, ["health_tolerance"]),
])
def test_bad_options_are_named_without_the_password(extra, words):
    with pytest.raises(ev.EventSourceError) as caught:
        ev.source_options(dict(CONNECTION, **extra))
    for word in words:
        assert word in str(caught.value)
    assert CONNECTION["password"] not in str(caught.value)


@pytest.mark.parametrize("extra, option", [
    ({"interval": 0}, "interval"),
    ({"interval": -1}, "interval"),
    ({"health_tolerance": 3}, "health_tolerance"),  # over the critical factor
    ({"health_stall_factor": 0}, "health_stall_factor"),
])
def test_values_out_of_range_name_their_option(extra, option):
    with pytest.raises(K2OptionError) as caught:
        ev.source_options(dict(CONNECTION, **extra))
    assert caught.value.option == option


def test_arguments_ansible_rulebook_adds_are_not_options():
    assert "eda_feedback_queue" not in ev.source_options(dict(CONNECTION, eda_feedback_queue=object()))


def test_event_kinds_are_deduplicated_in_their_order():
    options = ev.source_options(dict(CONNECTION, event_kinds=["health_changed", "state_changed", "health_changed"]))
    assert options["event_kinds"] == ["health_changed", "state_changed"]


# ---- the first poll --------------------------------------------------------------------------------

def test_the_first_poll_only_records_what_is_there():
    tracker = Tracker(ARRAY)
    assert tracker.succeeded(poll([session(1), session(2, state="suspended")])) == []
    assert sorted(tracker.sessions) == ["1", "2"]


def test_emit_initial_makes_one_session_present_event_per_session_with_its_health():
    tracker = Tracker(ARRAY, emit_initial=True)
    events = tracker.succeeded(poll([session(1), session(2, state="suspended")],
                                    [health("late", 400), health("not_replicating")]))
    assert kinds(events) == ["session_present", "session_present"]
    first = body(events[0])
    assert (first["array"], first["session"], first["session_id"], first["before"]) == (ARRAY, "s1", 1, None)
    assert first["details"] == first["after"] == {
        "id": 1, "name": "s1", "state": "in_sync", "current_role": "source", "suspend_reason_code": "none",
        "rpo": 300, "remote_replication_session_name": "remote_s1",
        "replication_peer_k2array": "/replication/peer_k2arrays/1", "local_volume_group": "/volume_groups/101",
        "health": {"status": "late", "reason": "late: test", "age": 400, "rpo": 300, "ratio": 400 / 300.0,
                   "recovery_point": NOW - 400}}
    assert (first["timestamp"], first["epoch"], first["clock"]) == ("2027-01-15T08:00:00Z", NOW, "array")
    assert first["changes"] == {}
    # Only once: the next poll of the same sessions makes nothing.
    assert tracker.succeeded(poll([session(1), session(2, state="suspended")],
                                  [health("late", 400), health("not_replicating")], at=NOW + 30)) == []


def test_events_are_json():
    tracker = Tracker(ARRAY, emit_initial=True)
    events = tracker.succeeded(poll([session(1)], [health("ok")]))
    assert json.loads(json.dumps(events)) == events


# ---- one change, one event -------------------------------------------------------------------------

def test_no_change_makes_no_event_however_often_it_is_polled():
    tracker = tracked(session(1), session(2), healths=[health("ok"), health("ok")])
    for minute in range(1, 6):
        assert tracker.succeeded(poll([session(1), session(2)], [health("ok"), health("ok")], NOW + 60 * minute)) == []


def test_a_session_appears_and_another_is_removed():
    tracker = tracked(session(1), session(2))
    events = tracker.succeeded(poll([session(1), session(3)], at=NOW + 30))
    assert kinds(events) == ["session_appeared", "session_removed"]
    appeared, removed = body(events[0]), body(events[1])
    assert (appeared["session"], appeared["session_id"], appeared["before"]) == ("s3", 3, None)
    assert appeared["after"]["name"] == "s3" and appeared["details"] == appeared["after"]
    assert (removed["session"], removed["session_id"], removed["after"]) == ("s2", 2, None)
    assert removed["before"]["name"] == "s2" and removed["details"] == removed["before"]
    assert tracker.succeeded(poll([session(1), session(3)], at=NOW + 60)) == []


def test_a_suspension_is_one_state_changed_event_that_names_the_reason_code_too():
    tracker = tracked(session(1), healths=[health("ok")])
    events = tracker.succeeded(poll([session(1, state="suspended", code="user_request")],
                                    [health("not_replicating")], NOW + 30))
    assert kinds(events) == ["state_changed"]
    event = body(events[0])
    assert (event["session"], event["before"], event["after"]) == ("s1", "in_sync", "suspended")
    assert event["changes"] == {"state": {"before": "in_sync", "after": "suspended"},
                                "suspend_reason_code": {"before": "none", "after": "user_request"},
                                "health": {"before": "ok", "after": "not_replicating"}}
    assert event["details"]["state"] == "suspended" and event["details"]["health"]["status"] == "not_replicating"
    assert event["epoch"] == NOW + 30


def test_a_reverse_is_one_state_changed_event_with_the_role_in_changes():
    tracker = tracked(session(1, state="failed_over", role="target"))
    events = tracker.succeeded(poll([session(1, state="in_sync", role="source")]))
    assert kinds(events) == ["state_changed"]
    assert sorted(body(events[0])["changes"]) == ["current_role", "state"]


def test_the_role_alone_and_the_reason_code_alone():
    tracker = tracked(session(1, state="suspended", code="user_request"))
    events = tracker.succeeded(poll([session(1, state="suspended", role="target", code="user_request")]))
    assert kinds(events) == ["current_role_changed"]
    assert (body(events[0])["before"], body(events[0])["after"]) == ("source", "target")
    events = tracker.succeeded(poll([session(1, state="suspended", role="target", code="peer_failed_over")]))
    assert kinds(events) == ["suspend_reason_code_changed"]
    assert (body(events[0])["before"], body(events[0])["after"]) == ("user_request", "peer_failed_over")


def test_a_change_whose_first_kind_is_not_asked_for_comes_as_the_next_kind_asked_for():
    tracker = tracked(session(1), kinds=["suspend_reason_code_changed"])
    events = tracker.succeeded(poll([session(1, state="suspended", code="user_request")]))
    assert kinds(events) == ["suspend_reason_code_changed"]
    assert sorted(body(events[0])["changes"]) == ["state", "suspend_reason_code"]


def test_kinds_not_asked_for_are_not_sent():
    tracker = tracked(session(1), session(2), kinds=["health_changed"])
    assert tracker.succeeded(poll([session(1, state="suspended", code="user_request"), session(3)])) == []
    assert tracker.failed(K2ConnectionError("GET", "/x", ARRAY, "refused"), NOW) == []
    assert tracker.succeeded(poll([session(1)])) == []


# ---- health ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("before, after", [("ok", "late"), ("late", "critical"), ("critical", "stalled"),
                                           ("late", "ok"), ("stalled", "ok")])
def test_a_health_status_change_of_a_session_in_sync_is_a_health_changed_event(before, after):
    tracker = tracked(session(1), healths=[health(before)])
    events = tracker.succeeded(poll([session(1)], [health(after)], NOW + 30))
    assert kinds(events) == ["health_changed"]
    event = body(events[0])
    assert (event["before"], event["after"]) == (before, after)
    assert event["changes"] == {"health": {"before": before, "after": after}}
    assert event["details"]["health"]["status"] == after


def test_leaving_in_sync_and_coming_back_ok_are_told_by_the_state_alone():
    tracker = tracked(session(1), healths=[health("ok")])
    assert kinds(tracker.succeeded(poll([session(1, state="suspended")], [health("not_replicating")]))) == \
        ["state_changed"]
    assert kinds(tracker.succeeded(poll([session(1)], [health("ok")]))) == ["state_changed"]


def test_coming_back_late_is_a_state_change_and_a_health_change():
    tracker = tracked(session(1, state="suspended"), healths=[health("not_replicating")])
    events = tracker.succeeded(poll([session(1)], [health("late", 500)]))
    assert kinds(events) == ["state_changed", "health_changed"]
    assert (body(events[1])["before"], body(events[1])["after"]) == ("not_replicating", "late")


def test_health_not_read_this_poll_keeps_the_last_one_and_makes_no_event():
    tracker = tracked(session(1), healths=[health("late", 400)])
    assert tracker.succeeded(poll([session(1)], None)) == []
    assert tracker.healths["1"]["status"] == "late"
    assert kinds(tracker.succeeded(poll([session(1)], [health("ok")]))) == ["health_changed"]


def test_a_new_session_brings_its_health_in_its_appeared_event_and_no_health_event():
    tracker = tracked(session(1), healths=[health("ok")])
    events = tracker.succeeded(poll([session(1), session(2)], [health("ok"), health("critical")]))
    assert kinds(events) == ["session_appeared"]
    assert body(events[0])["details"]["health"]["status"] == "critical"


def test_the_progress_observation_kept_is_the_earliest_at_the_same_progress():
    moving = dict(current_snapshot="vg:snap_9", current_snapshot_progress=40)
    tracker = tracked(session(1, **moving))
    assert tracker.observations["1"] == {"time": NOW, "current_snapshot": "vg:snap_9", "current_snapshot_progress": 40}
    tracker.succeeded(poll([session(1, **moving)], at=NOW + 30))
    assert tracker.observations["1"]["time"] == NOW  # the same progress: still the first sight of it
    tracker.succeeded(poll([session(1, current_snapshot="vg:snap_9", current_snapshot_progress=55)], at=NOW + 60))
    assert tracker.observations["1"]["time"] == NOW + 60
    tracker.succeeded(poll([session(1)], at=NOW + 90))  # the transfer arrived
    assert "1" not in tracker.observations
    # The controller's clock is not comparable with the array's: no observation from it.
    tracker.succeeded(poll([session(1, **moving)], at=NOW + 120, clock="controller"))
    assert "1" not in tracker.observations


# ---- the array's errors ------------------------------------------------------------------------------

def test_an_outage_is_one_unreachable_event_then_one_reachable_event_then_what_changed_meanwhile():
    tracker = tracked(session(1), session(2))
    refused = K2ConnectionError("GET", "/replication/sessions", ARRAY, "Connection refused", 3)
    events = tracker.failed(refused, NOW + 30.5)
    assert kinds(events) == ["array_unreachable"]
    event = body(events[0])
    assert (event["session"], event["session_id"], event["before"], event["after"]) == \
        (None, None, "reachable", "unreachable")
    assert event["details"] == {"error": str(refused), "error_type": "K2ConnectionError"}
    assert (event["epoch"], event["clock"], event["timestamp"]) == (NOW + 30.5, "controller", "2027-01-15T08:00:30Z")
    for later in (60, 90, 120):
        assert tracker.failed(K2Unauthorized("GET", "/replication/sessions", 401), NOW + later) == []
    events = tracker.succeeded(poll([session(1, state="suspended")], at=NOW + 150))
    assert kinds(events) == ["array_reachable", "state_changed", "session_removed"]
    back = body(events[0])
    assert (back["before"], back["after"], back["clock"], back["epoch"]) == ("unreachable", "reachable", "array", NOW + 150)
    assert back["details"] == {"unreachable_since": "2027-01-15T08:00:30Z", "unreachable_since_epoch": NOW + 30.5,
                               "failed_polls": 4, "error": str(refused), "error_type": "K2ConnectionError"}
    assert tracker.succeeded(poll([session(1, state="suspended")], at=NOW + 180)) == []


def test_an_array_unreachable_from_the_start():
    tracker = Tracker(ARRAY, emit_initial=True)
    events = tracker.failed(K2ConnectionError("GET", "/replication/sessions", ARRAY, "Connection refused"), NOW)
    assert kinds(events) == ["array_unreachable"] and body(events[0])["before"] is None
    assert kinds(tracker.succeeded(poll([session(1)]))) == ["array_reachable", "session_present"]


def test_a_poll_without_the_arrays_clock_says_so():
    tracker = tracked(session(1))
    events = tracker.succeeded(poll([session(1, state="suspended")], at=NOW + 0.25, clock="controller"))
    assert (body(events[0])["clock"], body(events[0])["epoch"]) == ("controller", NOW + 0.25)
