# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session run as the real module: every HTTP request asserted, in order, with the
returned actions, diff and changed, in check mode and not."""

from __future__ import annotations

from unittest import mock

import pytest
import requests

from ansible_collections.kaminario.k2.plugins.module_utils import session_apply
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, RecordingTime, connection_args, run_module

SESSIONS = "/replication/sessions"
S7 = SESSIONS + "/7"
PEER = {"ref": "/replication/peer_k2arrays/1"}
VG = {"ref": "/volume_groups/5"}
POL = {"ref": "/retention_policies/5"}
EXT = {"ref": "/retention_policies/6"}


class FakeTime(RecordingTime):
    """The applier's clock and sleep; it must never be asked to sleep for nothing."""

    def sleep(self, seconds):
        assert seconds > 0
        super().sleep(seconds)


@pytest.fixture(autouse=True)
def clock():
    fake = FakeTime(now=500.0)
    with mock.patch.object(session_apply, "time", fake):
        yield fake


def sess(**over):
    """A session as the simulator and a real array show it (rpo as a string, as the API may send)."""
    data = {
        "id": 7, "name": "s1", "state": "idle", "current_role": "source", "primary": True, "stopped": True,
        "rpo": "300", "replication_peer_k2array": PEER, "local_volume_group": VG, "retention_policy": POL,
        "external_retention_policy": EXT, "target_exposure": "Read Only",
        "remote_replication_session_name": "remote_s1", "remote_replication_session_id": 3,
        "replication_peer_volume_group": {"ref": "/replication/peer_volume_groups/2"},
        "latest_replicated_snapshot": {"ref": "/snapshots/428"},
    }
    data.update(over)
    return data


def hits(*objects):
    return {"hits": list(objects), "limit": 100, "offset": 0, "total": len(objects)}


def by_name(calls, *found):
    calls.add("GET", SESSIONS, query={"name": "s1"}, json=hits(*found))


# The names of the objects sess() points to, as a diff shows them.
NAMES = {PEER["ref"]: "array-b", VG["ref"]: "vg1", POL["ref"]: "Best_Effort", EXT["ref"]: "Replication"}


def view(session):
    """The diff view of a session (references by name, rpo an int)."""
    keys = ("name", "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy",
            "external_retention_policy", "target_exposure", "remote_replication_session_name", "current_role",
            "state")
    out = {}
    for key in keys:
        if key in session:
            value = session[key]
            out[key] = NAMES[value["ref"]] if isinstance(value, dict) else int(value) if key == "rpo" else value
    return out


def expect_names(calls, *refs):
    """The lookups a diff costs for the names of `refs` not resolved earlier in the run: one list
    request per resource type, by id."""
    by_path = {}
    for ref in refs:
        path, _sep, obj_id = ref["ref"].rpartition("/")
        by_path.setdefault(path, set()).add(obj_id)
    for path in sorted(by_path):
        ids = sorted(by_path[path], key=lambda i: (len(i), i))
        calls.add("GET", path, query={"id__in": ",".join(ids), "__fields": "id,name", "__limit": 100, "__offset": 0},
                  json=hits(*[{"id": int(i), "name": NAMES["%s/%s" % (path, i)]} for i in ids]))


def act(name, method, path, body=None):
    return dict(name=name, method=method, path=path, body=body)


def run(check_mode=False, diff_mode=False, **module_args):
    return run_module(module, connection_args(name="s1", **module_args), check_mode=check_mode, diff_mode=diff_mode)


BY_REF = dict(replication_peer_k2array="/replication/peer_k2arrays/1", local_volume_group="5", rpo=300,
              retention_policy="/retention_policies/5", external_retention_policy=6)
CREATE_BODY = {"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG, "rpo": 300,
               "retention_policy": POL, "external_retention_policy": EXT}


# ---- create -------------------------------------------------------------------------------------


def test_create_and_start_with_names(clock):
    created = sess()
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("GET", "/replication/peer_k2arrays", query={"name": "array-b"}, json=hits({"id": 1, "name": "array-b"}))
        calls.add("GET", "/volume_groups", query={"name": "vg1"}, json=hits({"id": 5, "name": "vg1"}))
        calls.add("POST", SESSIONS, body={"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG,
                                          "rpo": 300, "target_exposure": "Mapped - Not Exposed"},
                  status=201, json=created)
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=created)  # answered before it lands
        calls.add("GET", S7, json=sess(state="idle"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        expect_names(calls, POL, EXT)
        result, failed = run(diff_mode=True, peer_array="array-b", volume_group="vg1", rpo=300,
                             target_exposure="Mapped - Not Exposed", replication_state="in_sync")
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [
        act("create", "POST", SESSIONS, {"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG,
                                         "rpo": 300, "target_exposure": "Mapped - Not Exposed"}),
        act("transition", "PATCH", S7, {"state": "in_sync"}),
    ]
    assert result["session"] == sess(state="in_sync")
    assert result["diff"] == {"before": {}, "after": view(sess(state="in_sync"))}
    assert clock.sleeps == [0.25, 0.5]


def test_create_in_check_mode_sends_no_write():
    with ExpectedCalls() as calls:
        by_name(calls)
        expect_names(calls, PEER, VG, POL, EXT)
        result, failed = run(check_mode=True, diff_mode=True, replication_state="suspended", **BY_REF)
    assert not failed, result
    new = SESSIONS + "/(new)"
    assert result["changed"] is True
    assert result["actions"] == [
        act("create", "POST", SESSIONS, CREATE_BODY),
        act("transition", "PATCH", new, {"state": "in_sync"}),
        act("transition", "PATCH", new, {"state": "suspended"}),
    ]
    predicted = dict(CREATE_BODY, state="suspended", current_role="source")
    assert result["session"] == predicted
    assert result["diff"] == {"before": {}, "after": view(predicted)}


def test_create_without_wait_returns_after_the_last_patch(clock):
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=201, json=sess())
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=sess())
        result, failed = run(replication_state="in_sync", wait=False, **BY_REF)
    assert not failed, result
    assert [a["name"] for a in result["actions"]] == ["create", "transition"]
    assert result["session"]["state"] == "idle"  # accepted, not landed yet
    assert clock.sleeps == []


def test_create_without_a_mandatory_field_fails_before_any_write():
    with ExpectedCalls() as calls:
        by_name(calls)
        result, failed = run(replication_peer_k2array="1", rpo=300)
    assert failed
    assert result["msg"] == "replication session 's1' does not exist; to create it, also give local_volume_group"


def test_create_then_failover_is_refused_before_any_write():
    with ExpectedCalls() as calls:
        by_name(calls)
        result, failed = run(replication_state="failed_over", **BY_REF)
    assert failed
    assert "cannot move replication session 's1' from idle to failed_over" in result["msg"]


@pytest.mark.parametrize("args, msg", [
    (dict(rpo=100), "rpo must be 60 (1 minute) or a positive multiple of 300"),
    (dict(snapshot_wwn="0x1"), "snapshot_wwn is sent with a state change: it needs replication_state"),
    (dict(state="absent", replication_state="idle"), "replication_state cannot be used with state=absent"),
    (dict(replication_state="in_sync", restored_snapshot="latest"), "restored_snapshot applies to a failover only"),
    (dict(wait_timeout=-1), "wait_timeout must be 0 or more seconds, got -1"),
])
def test_invalid_options_fail_before_any_request(args, msg):
    with ExpectedCalls():
        result, failed = run(**args)
    assert failed
    assert msg in result["msg"]


def test_unknown_reference_name_fails_naming_the_option():
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("GET", "/volume_groups", query={"name": "nope"}, json=hits())
        result, failed = run(local_volume_group="nope", replication_peer_k2array="1", rpo=300)
    assert failed
    assert result["msg"] == "local_volume_group: no volume_groups object is named 'nope'"


# ---- no-op, update, immutable ------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_noop_with_ids_and_refs_costs_one_request(check_mode):
    actual = sess(state="in_sync", target_exposure="read only")
    with ExpectedCalls() as calls:
        by_name(calls, actual)
        expect_names(calls, PEER, VG, POL, EXT)
        result, failed = run(check_mode=check_mode, diff_mode=True, replication_state="in_sync", target_exposure="Read Only",
                             remote_replication_session_name="remote_s1", auto_configure_peer_volumes=True,
                             **BY_REF)
    assert not failed, result
    assert (result["changed"], result["actions"], result["session"]) == (False, [], actual)
    assert result["diff"]["before"] == result["diff"]["after"] == view(dict(actual, target_exposure="Read Only"))


def test_noop_with_names_costs_one_request_per_name():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("GET", "/replication/peer_k2arrays", query={"name": "array-b"}, json=hits({"id": 1, "name": "array-b"}))
        calls.add("GET", "/retention_policies", query={"name": "Best_Effort"}, json=hits({"id": 5, "name": "Best_Effort"}))
        result, failed = run(peer_array="array-b", retention_policy="Best_Effort", rpo=300)
    assert not failed and result["changed"] is False
    assert len(calls.requests) == 3


@pytest.mark.parametrize("check_mode", [False, True])
def test_update_is_one_patch_with_only_the_differing_fields(check_mode):
    before = sess(state="in_sync")
    after = sess(state="in_sync", rpo=1200, target_exposure="unmapped")
    body = {"rpo": 1200, "target_exposure": "unmapped"}
    with ExpectedCalls() as calls:
        by_name(calls, before)
        if not check_mode:
            calls.add("PATCH", S7, body=body, json=after)
        expect_names(calls, PEER, VG, POL, EXT)
        result, failed = run(check_mode=check_mode, diff_mode=True, rpo=1200, target_exposure="unmapped", retention_policy="5",
                             local_volume_group="/volume_groups/5")
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [act("update", "PATCH", S7, body)]
    expected = after if not check_mode else dict(before, **body)
    assert result["session"] == expected
    assert result["diff"] == {"before": view(before), "after": view(expected)}


def test_no_diff_without_diff_mode():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        result, failed = run(diff_mode=False, rpo=300)
    assert not failed and "diff" not in result


@pytest.mark.parametrize("args, field, current, wanted", [
    (dict(local_volume_group="9"), "local_volume_group", "/volume_groups/5", "/volume_groups/9"),
    (dict(peer_array="/replication/peer_k2arrays/2"), "replication_peer_k2array", "/replication/peer_k2arrays/1",
     "/replication/peer_k2arrays/2"),
    (dict(remote_session_name="other"), "remote_replication_session_name", "remote_s1", "other"),
])
def test_immutable_field_that_differs_is_refused(args, field, current, wanted):
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        result, failed = run(rpo=1200, **args)
    assert failed
    assert result["msg"].startswith("%s of replication session 's1' is %s, not %s, and cannot be changed"
                                    % (field, current, wanted))
    assert "state=absent" in result["msg"]


# ---- transitions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_in_sync_to_idle_is_suspend_then_stop(check_mode, clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        if not check_mode:
            calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
            calls.add("GET", S7, json=sess(state="suspended"))
            calls.add("PATCH", S7, body={"state": "idle"}, json=sess(state="suspended"))
            calls.add("GET", S7, json=sess(state="suspended"))
            calls.add("GET", S7, json=sess(state="suspended"))
            calls.add("GET", S7, json=sess(state="idle"))
        expect_names(calls, PEER, VG, POL, EXT)
        result, failed = run(check_mode=check_mode, diff_mode=True, replication_state="idle")
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": "suspended"}),
                                 act("transition", "PATCH", S7, {"state": "idle"})]
    assert result["session"]["state"] == "idle"
    assert result["diff"] == {"before": view(sess(state="in_sync")), "after": view(sess(state="idle"))}
    assert clock.sleeps == ([] if check_mode else [0.25, 0.25, 0.5, 1.0])


@pytest.mark.parametrize("start, requested", [("in_sync", "suspended"), ("suspended", "in_sync"),
                                              ("suspended", "idle"), ("idle", "in_sync")])
def test_single_hop_transitions(start, requested):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state=start))
        calls.add("PATCH", S7, body={"state": requested}, json=sess(state=requested))  # landed at once
        result, failed = run(replication_state=requested)
    assert not failed, result
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": requested})]
    assert result["session"]["state"] == requested


def test_wait_false_still_waits_for_intermediate_hops():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="idle"))
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=sess(state="idle"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
        result, failed = run(replication_state="suspended", wait=False)
    assert not failed, result
    assert len(result["actions"]) == 2


@pytest.mark.parametrize("check_mode", [False, True])
def test_failover_of_the_target_side_session_with_latest_snapshot(check_mode):
    target = sess(state="in_sync", current_role="target", primary=False)
    body = {"state": "failed_over", "restored_snapshot": {"ref": "/snapshots/428"}}
    with ExpectedCalls() as calls:
        by_name(calls, target)
        if not check_mode:
            calls.add("PATCH", S7, body=body, json=target)
            calls.add("GET", S7, json=dict(target, state="failed_over", restored_snapshot={"ref": "/snapshots/428"}))
        result, failed = run(check_mode=check_mode, replication_state="failed_over", restored_snapshot="latest")
    assert not failed, result
    assert result["actions"] == [act("transition", "PATCH", S7, body)]
    assert result["session"]["state"] == "failed_over"
    assert result["session"]["current_role"] == "target"


def test_failover_with_a_snapshot_by_name_resolves_it_only_when_sent():
    target = sess(state="suspended", current_role="target", primary=False)
    with ExpectedCalls() as calls:
        by_name(calls, target)
        calls.add("GET", "/snapshots", query={"name": "snap-9"}, json=hits({"id": 9, "name": "snap-9"}))
        calls.add("PATCH", S7, body={"state": "failed_over", "restored_snapshot": {"ref": "/snapshots/9"}},
                  json=dict(target, state="failed_over"))
        result, failed = run(replication_state="failed_over", restored_snapshot="snap-9")
    assert not failed, result
    # Already failed over: the name is not looked up.
    with ExpectedCalls() as calls:
        by_name(calls, dict(target, state="failed_over"))
        result, failed = run(replication_state="failed_over", restored_snapshot="snap-9")
    assert not failed and result["changed"] is False


def test_reverse_after_failover():
    failed_over = sess(state="failed_over", current_role="target", primary=False)
    reversed_ = sess(state="in_sync", current_role="source", primary=True)
    with ExpectedCalls() as calls:
        by_name(calls, failed_over)
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=failed_over)
        calls.add("GET", S7, json=reversed_)
        result, failed = run(replication_state="in_sync")
    assert not failed, result
    assert result["session"] == reversed_


@pytest.mark.parametrize("state, role, requested", [
    ("idle", "source", "failed_over"), ("in_sync", "target", "idle"), ("failed_over", "target", "suspended"),
])
def test_impossible_transition_fails_before_any_write(state, role, requested):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state=state, current_role=role))
        result, failed = run(replication_state=requested, rpo=1200)
    assert failed
    assert "from %s to %s" % (state, requested) in result["msg"]


def test_wait_timeout_is_honoured_exactly(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
        for _poll in range(6):
            calls.add("GET", S7, json=sess(state="in_sync"))
        result, failed = run(replication_state="suspended", wait_timeout=10)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 2.25]  # capped at what was left of the 10 s
    assert result["msg"] == (
        "replication session 's1' (id 7) is still in_sync, not suspended, when wait_timeout (10 s) ran out; the "
        "array may still carry the transition out: run again to continue from where the session is")


def test_the_deadline_covers_the_whole_run(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="suspended"))
        calls.add("PATCH", S7, body={"state": "idle"}, json=sess(state="suspended"))
        calls.add("GET", S7, json=sess(state="suspended"))
        result, failed = run(replication_state="idle", wait_timeout=1)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 0.25]
    assert "still suspended, not idle" in result["msg"]


# ---- absent -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_from_in_sync_stops_then_deletes(check_mode):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        if not check_mode:
            calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
            calls.add("GET", S7, json=sess(state="suspended"))
            calls.add("PATCH", S7, body={"state": "idle"}, json=sess(state="suspended"))
            calls.add("GET", S7, json=sess(state="idle"))
            calls.add("DELETE", S7, status=204)
        expect_names(calls, PEER, VG, POL, EXT)
        result, failed = run(check_mode=check_mode, diff_mode=True, state="absent", local_volume_group="named-but-unused")
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": "suspended"}),
                                 act("transition", "PATCH", S7, {"state": "idle"}),
                                 act("delete", "DELETE", S7)]
    assert result["session"] == {}
    assert result["diff"] == {"before": view(sess(state="in_sync")), "after": {}}


@pytest.mark.parametrize("state, role, hops", [
    ("idle", "source", []), ("suspended", "source", ["idle"]), ("failed_over", "target", ["idle"]),
])
def test_absent_from_other_states(state, role, hops):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state=state, current_role=role))
        for hop in hops:
            calls.add("PATCH", S7, body={"state": hop}, json=sess(state=hop, current_role=role))
        calls.add("DELETE", S7, status=204)
        result, failed = run(state="absent", wait=False)
    assert not failed, result
    assert [a["body"] for a in result["actions"]] == [{"state": h} for h in hops] + [None]


@pytest.mark.parametrize("check_mode", [False, True])
def test_already_absent_is_ok_and_unchanged(check_mode):
    with ExpectedCalls() as calls:
        by_name(calls)
        result, failed = run(check_mode=check_mode, diff_mode=True, state="absent")
    assert not failed
    assert (result["changed"], result["actions"], result["session"]) == (False, [], {})
    assert result["diff"] == {"before": {}, "after": {}}


def test_absent_on_a_replicating_target_side_session_is_refused():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync", current_role="target", primary=False))
        result, failed = run(state="absent")
    assert failed
    assert "Stop the session on the source array first" in result["msg"]


# ---- outcome unknown ---------------------------------------------------------------------------------


def test_post_that_landed_is_not_sent_again():
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=502, json={"error_msg": "gateway"})
        by_name(calls, sess())
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=sess(state="in_sync"))
        result, failed = run(replication_state="in_sync", **BY_REF)
    assert not failed, result
    assert result["actions"] == [act("create", "POST", SESSIONS, CREATE_BODY),
                                 act("transition", "PATCH", S7, {"state": "in_sync"})]


def test_post_that_was_lost_is_sent_once_more():
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, error=requests.ConnectionError("connection reset"))
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=201, json=sess())
        result, failed = run(**BY_REF)
    assert not failed, result
    assert result["actions"] == [act("create", "POST", SESSIONS, CREATE_BODY)]
    assert result["session"] == sess()


def test_update_that_landed_is_not_sent_again():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"rpo": 60}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync", rpo=60))
        result, failed = run(rpo=60)
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [act("update", "PATCH", S7, {"rpo": 60})]
    assert result["session"]["rpo"] == 60


def test_update_that_was_lost_is_sent_once_more():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("PATCH", S7, body={"rpo": 60}, status=502)
        calls.add("GET", S7, json=sess())
        calls.add("PATCH", S7, body={"rpo": 60}, json=sess(rpo=60))
        result, failed = run(rpo=60)
    assert not failed, result
    assert result["actions"] == [act("update", "PATCH", S7, {"rpo": 60})]


def test_transition_that_landed_goes_on_to_the_next_hop():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=sess(state="suspended"))
        calls.add("PATCH", S7, body={"state": "idle"}, json=sess(state="idle"))
        result, failed = run(replication_state="idle")
    assert not failed, result
    assert [a["body"] for a in result["actions"]] == [{"state": "suspended"}, {"state": "idle"}]


def test_transition_in_flight_is_waited_for_not_sent_again(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, error=requests.exceptions.ReadTimeout("read timed out"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="suspended"))
        result, failed = run(replication_state="suspended")
    assert not failed, result
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": "suspended"})]
    assert result["session"]["state"] == "suspended"
    assert clock.sleeps == [0.25, 0.5]


def test_transition_that_never_shows_is_sent_again_after_the_settle_time(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync"))
        for _poll in range(9):  # 0.25 + 0.5 + 1 + 2 + 4 + 5 + 5 + 5 + 5 s: 27.75 s
            calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="in_sync"))  # after the last 2.25 s, at 30 s
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="suspended"))
        result, failed = run(replication_state="suspended")
    assert not failed, result
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": "suspended"})]
    assert sum(clock.sleeps) == session_apply.SETTLE_SECONDS


def test_a_run_stopped_while_a_transition_in_doubt_settles_reports_the_session_as_re_read(clock):
    """The re-read after the 502 is what the failure shows (a newer snapshot had replicated), and the
    message says the transition may have been taken."""
    re_read = sess(state="in_sync", latest_replicated_snapshot={"ref": "/snapshots/429"})
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=re_read)
        calls.add("GET", S7, status=401, json={"error_msg": "bad credentials"})
        result, failed = run(replication_state="suspended")
    assert failed
    assert result["session"] == re_read
    assert result["msg"] == (
        "stopped before replication session 's1' was converged: GET /replication/sessions/7 failed: HTTP 401 "
        "Unauthorized: bad credentials; replication session 's1' (id 7) was in_sync (source side, rpo 300) when last "
        "read; no change was accepted by the array; whether it took PATCH /replication/sessions/7 is unknown")
    assert clock.sleeps == [0.25]


def test_create_in_flight_is_waited_for_not_sent_again(clock):
    """A POST with no answer within the timeout may still be carried out: the module re-reads until
    the session shows instead of sending a second POST that would race the first."""
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, error=requests.exceptions.ReadTimeout("read timed out"))
        by_name(calls)
        by_name(calls)
        by_name(calls, sess())
        result, failed = run(**BY_REF)
    assert not failed, result
    assert result["actions"] == [act("create", "POST", SESSIONS, CREATE_BODY)]
    assert result["session"] == sess()
    assert clock.sleeps == [0.25, 0.5]


def test_create_in_flight_that_never_shows_is_sent_again_after_the_settle_time(clock):
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, error=requests.exceptions.ReadTimeout("read timed out"))
        by_name(calls)
        for _poll in range(10):  # 0.25 + 0.5 + 1 + 2 + 4 + 5 + 5 + 5 + 5 + 2.25 s: 30 s
            by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=201, json=sess())
        result, failed = run(**BY_REF)
    assert not failed, result
    assert sum(clock.sleeps) == session_apply.SETTLE_SECONDS


def test_update_and_delete_in_flight_are_waited_for(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("PATCH", S7, body={"rpo": 60}, error=requests.exceptions.ReadTimeout("read timed out"))
        calls.add("GET", S7, json=sess())
        calls.add("GET", S7, json=sess(rpo=60))
        result, failed = run(rpo=60)
    assert not failed, result
    assert result["actions"] == [act("update", "PATCH", S7, {"rpo": 60})]
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("DELETE", S7, error=requests.exceptions.ReadTimeout("read timed out"))
        calls.add("GET", S7, json=sess())
        calls.add("GET", S7, status=404, json={"error_msg": "no replication/sessions object with id 7"})
        result, failed = run(state="absent")
    assert not failed, result
    assert result["actions"] == [act("delete", "DELETE", S7)]


def test_create_refused_because_another_run_just_made_it_goes_on_from_that_session():
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=400,
                  json={"error_msg": "replication/sessions: an object named 's1' already exists"})
        by_name(calls, sess())
        calls.add("PATCH", S7, body={"state": "in_sync"}, json=sess(state="in_sync"))
        result, failed = run(replication_state="in_sync", **BY_REF)
    assert not failed, result
    assert result["actions"] == [act("transition", "PATCH", S7, {"state": "in_sync"})]


def test_create_refused_for_another_reason_fails_after_one_read():
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=400, json={"error_msg": "local_volume_group: no such"})
        by_name(calls)
        result, failed = run(**BY_REF)
    assert failed
    assert result["msg"].startswith("POST /replication/sessions failed: HTTP 400 Bad Request: local_volume_group: no such")


def test_delete_that_landed():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("DELETE", S7, status=502)
        calls.add("GET", S7, status=404, json={"error_msg": "no replication/sessions object with id 7"})
        result, failed = run(state="absent")
    assert not failed, result
    assert result["actions"] == [act("delete", "DELETE", S7)]
    assert result["session"] == {}


def test_delete_that_was_lost_is_sent_once_more():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("DELETE", S7, status=502)
        calls.add("GET", S7, json=sess())
        calls.add("DELETE", S7, status=204)
        result, failed = run(state="absent")
    assert not failed, result
    assert result["actions"] == [act("delete", "DELETE", S7)]


def test_an_array_error_says_what_happened_and_where_the_session_is():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"rpo": 60}, json=sess(state="in_sync", rpo=60))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=500, json={"error_msg": "internal error"})
        result, failed = run(rpo=60, replication_state="suspended")
    assert failed
    assert result["msg"] == (
        "PATCH /replication/sessions/7 failed: HTTP 500 Internal Server Error: internal error; replication session "
        "'s1' (id 7) was in_sync (source side, rpo 60) when last read; accepted by the array before the error: "
        "update rpo")
    assert (result["status"], result["session"]["state"]) == (500, "in_sync")
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=CREATE_BODY, status=500, json={"error_msg": "internal error"})
        result, failed = run(**BY_REF)
    assert failed
    assert result["msg"].endswith("; replication session 's1' did not exist when last read; no change was accepted "
                                  "by the array")


def test_repeated_unknown_outcomes_give_up():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        for _poll in range(session_apply.MAX_UNKNOWN):
            calls.add("PATCH", S7, body={"rpo": 60}, status=502)
            calls.add("GET", S7, json=sess())
        calls.add("PATCH", S7, body={"rpo": 60}, status=502)
        result, failed = run(rpo=60)
    assert failed
    assert result["msg"].startswith("PATCH /replication/sessions/7: outcome unknown (HTTP 502")
    assert result["msg"].endswith("was idle (source side, rpo 300) when last read; no change was accepted by the "
                                  "array; whether it took PATCH /replication/sessions/7 is unknown")
