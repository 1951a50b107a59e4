# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_topology run as the real module (a real AnsibleModule): every HTTP request
asserted in order, for batching, the reference cache, rounds of polling, per-session failures,
prune guards, reversed pairs and a source whose peer failed over."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils import session_apply
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_topology as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, RecordingTime, connection_args, run_module

SESSIONS = "/replication/sessions"
PEER = "/replication/peer_k2arrays/1"
PAGE = {"__limit": 100, "__offset": 0}
WRITES = ("POST", "PATCH", "DELETE")


@pytest.fixture(autouse=True)
def clock():
    fake = RecordingTime(now=100.0)
    with mock.patch.object(session_apply, "time", fake):
        yield fake


def sess(sid, name=None, state="in_sync", role="source", rpo=300, **over):
    """A session as the array shows it; session <sid> replicates volume group <sid>."""
    data = {"id": sid, "name": name or "s%d" % sid, "state": state, "current_role": role,
            "primary": role == "source", "rpo": rpo, "replication_peer_k2array": {"ref": PEER},
            "local_volume_group": {"ref": "/volume_groups/%d" % sid}, "suspend_reason_code": "none"}
    data.update(over)
    return data


def item(sid, **over):
    """A declared session, references as ids (no lookup)."""
    data = {"name": "s%d" % sid, "local_volume_group": str(sid)}
    data.update(over)
    return data


def hits(*objects):
    return {"hits": list(objects), "limit": 100, "offset": 0, "total": len(objects)}


def read(calls, names, *found):
    """The read of the declared sessions: GET ?name= for one, else one list request per 100 names."""
    query = {"name": names[0]} if len(names) == 1 else dict(PAGE, name__in=",".join(names))
    calls.add("GET", SESSIONS, query=query, json=hits(*found))


def run(sessions, defaults=None, check_mode=False, diff_mode=False, **args):
    defaults = {"replication_peer_k2array": PEER, "rpo": 300, "replication_state": "in_sync"} \
        if defaults is None else defaults
    return run_module(module, connection_args(sessions=sessions, defaults=defaults, **args),
                      check_mode=check_mode, diff_mode=diff_mode)


def by_name(result):
    return dict((entry["name"], entry) for entry in result["sessions"])


def writes(calls):
    return [(method, url.split("/api/v2", 1)[1], body) for method, url, body in calls.requests if method in WRITES]


# ---- reading and batching ---------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_noop_over_three_sessions_is_one_request(check_mode):
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], sess(1), sess(2), sess(3))
        result, failed = run([item(1), item(2), item(3)], check_mode=check_mode)
    assert not failed, result
    assert result["changed"] is False
    assert result["summary"] == {"ok": 3, "changed": 0, "failed": 0, "reversed": 0, "pruned": 0}
    assert [(e["name"], e["status"], e["actions"]) for e in result["sessions"]] == [
        ("s1", "ok", []), ("s2", "ok", []), ("s3", "ok", [])]
    # A session that needed nothing is not copied into the result unless asked for.
    assert "session" not in by_name(result)["s2"]
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], sess(1), sess(2), sess(3))
        result, failed = run([item(1), item(2), item(3)], check_mode=check_mode, return_sessions="all")
    assert not failed and by_name(result)["s2"]["session"] == sess(2)


def test_names_are_read_one_list_request_per_hundred():
    names = ["s%d" % i for i in range(1, 151)]
    with ExpectedCalls() as calls:
        read(calls, names[:100], *[sess(i) for i in range(1, 101)])
        read(calls, names[100:], *[sess(i) for i in range(101, 151)])
        result, failed = run([item(i) for i in range(1, 151)])
    assert not failed, result
    assert result["summary"]["ok"] == 150 and len(calls.requests) == 2


def test_each_reference_name_is_looked_up_once_per_resource_type():
    # Three sessions naming the same peer and policies: one lookup per resource type; the two
    # retention-policy options share theirs.
    defaults = {"replication_peer_k2array": "k2-b", "rpo": 300, "retention_policy": "Best",
                "external_retention_policy": "Repl"}
    pols = hits({"id": 5, "name": "Best"}, {"id": 6, "name": "Repl"})
    found = [sess(i, retention_policy={"ref": "/retention_policies/5"},
                  external_retention_policy={"ref": "/retention_policies/6"}) for i in (1, 2, 3)]
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], *found)
        calls.add("GET", "/replication/peer_k2arrays", query={"name": "k2-b"}, json=hits({"id": 1, "name": "k2-b"}))
        calls.add("GET", "/volume_groups", query=dict(PAGE, name__in="vg1,vg2,vg3"),
                  json=hits(*[{"id": i, "name": "vg%d" % i} for i in (1, 2, 3)]))
        calls.add("GET", "/retention_policies", query=dict(PAGE, name__in="Best,Repl"), json=pols)
        result, failed = run([{"name": "s%d" % i, "local_volume_group": "vg%d" % i} for i in (1, 2, 3)],
                             defaults=defaults)
    assert not failed, result
    assert result["summary"]["ok"] == 3


def test_an_unknown_name_fails_only_the_sessions_that_use_it():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1), sess(2))
        calls.add("GET", "/volume_groups", query=dict(PAGE, name__in="vg1,vg-typo"),
                  json=hits({"id": 1, "name": "vg1"}))
        result, failed = run([{"name": "s1", "local_volume_group": "vg1"},
                              {"name": "s2", "local_volume_group": "vg-typo"}])
    assert failed
    s2 = by_name(result)["s2"]
    assert (s2["status"], s2["refused"]) == ("failed", True)
    assert s2["msg"] == "local_volume_group: no volume_groups object is named 'vg-typo'"
    assert by_name(result)["s1"]["status"] == "ok"
    assert result["msg"] == ("1 of 2 sessions were not converged (1 failed, 0 reversed): "
                             "s2 (failed): local_volume_group: no volume_groups object is named 'vg-typo'; "
                             "the other 1 were")


# ---- writing and polling ----------------------------------------------------------------------


def test_new_sessions_are_all_started_before_the_first_poll(clock):
    with ExpectedCalls() as calls:
        read(calls, ["s7", "s8"])
        calls.add("POST", SESSIONS, body={"name": "s7", "replication_peer_k2array": {"ref": PEER},
                                          "local_volume_group": {"ref": "/volume_groups/7"}, "rpo": 300},
                  status=201, json=sess(7, state="idle"))
        calls.add("PATCH", SESSIONS + "/7", body={"state": "in_sync"}, json=sess(7, state="idle"))
        calls.add("POST", SESSIONS, body={"name": "s8", "replication_peer_k2array": {"ref": PEER},
                                          "local_volume_group": {"ref": "/volume_groups/8"}, "rpo": 300},
                  status=201, json=sess(8, state="idle"))
        calls.add("PATCH", SESSIONS + "/8", body={"state": "in_sync"}, json=sess(8, state="idle"))
        # Round 1: one list request for both; s7 has landed. Round 2: s8 alone, by id.
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="7,8"), json=hits(sess(7), sess(8, state="idle")))
        calls.add("GET", SESSIONS + "/8", json=sess(8))
        result, failed = run([item(7), item(8)])
    assert not failed, result
    assert result["summary"]["changed"] == 2
    assert [a["name"] for a in by_name(result)["s8"]["actions"]] == ["create", "transition"]
    assert by_name(result)["s8"]["session"]["state"] == "in_sync"
    assert clock.sleeps == [0.25, 0.5]


def test_check_mode_sends_no_write_and_predicts_each_session():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s7"], sess(1, rpo=600))
        result, failed = run([item(1), item(7)], check_mode=True)
    assert not failed, result
    assert writes(calls) == []
    s1, s7 = by_name(result)["s1"], by_name(result)["s7"]
    assert s1["actions"] == [{"name": "update", "method": "PATCH", "path": SESSIONS + "/1", "body": {"rpo": 300}}]
    assert s1["session"]["rpo"] == 300
    assert [(a["name"], a["path"]) for a in s7["actions"]] == [("create", SESSIONS), ("transition", SESSIONS + "/(new)")]
    assert (s7["session"]["state"], s7["session"]["current_role"]) == ("in_sync", "source")
    assert result["changed"] is True and result["summary"]["changed"] == 2


def test_one_bad_session_fails_alone_and_the_others_converge():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], sess(1, rpo=600), sess(2, local_volume_group={"ref": "/volume_groups/99"}),
             sess(3, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, json=sess(1))
        calls.add("PATCH", SESSIONS + "/3", body={"rpo": 300}, json=sess(3))
        result, failed = run([item(1), item(2), item(3)])
    assert failed
    assert result["summary"] == {"ok": 0, "changed": 2, "failed": 1, "reversed": 0, "pruned": 0}
    s2 = by_name(result)["s2"]
    assert s2["refused"] is True and s2["actions"] == []
    assert s2["msg"].startswith("local_volume_group of replication session 's2' is /volume_groups/99, not "
                                "/volume_groups/2, and cannot be changed")
    assert result["msg"].startswith("1 of 3 sessions were not converged (1 failed, 0 reversed): "
                                    "s2 (failed): local_volume_group of replication session 's2'")
    assert result["msg"].endswith("; the other 2 were")
    assert result["changed"] is True


def test_an_array_error_on_one_session_fails_it_and_the_rest_go_on():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, rpo=600), sess(2, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, status=400,
                  json={"error_msg": "rpo cannot be changed now"})
        calls.add("PATCH", SESSIONS + "/2", body={"rpo": 300}, json=sess(2))
        result, failed = run([item(1), item(2)])
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["refused"]) == ("failed", False)
    assert s1["msg"] == ("PATCH /replication/sessions/1 failed: HTTP 400 Bad Request: rpo cannot be changed now; "
                         "replication session 's1' (id 1) was in_sync (source side, rpo 600) when last read; no "
                         "change was accepted by the array")
    assert by_name(result)["s2"]["status"] == "changed"


def test_an_error_that_concerns_the_array_stops_every_session():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, rpo=600), sess(2, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, status=401, json={"error_msg": "bad credentials"})
        result, failed = run([item(1), item(2)])
    assert failed
    s1, s2 = by_name(result)["s1"], by_name(result)["s2"]
    assert s1["msg"].startswith("PATCH /replication/sessions/1 failed: HTTP 401 Unauthorized")
    assert s2["msg"].startswith("stopped before replication session 's2' was converged: PATCH /replication/sessions/1 "
                                "failed: HTTP 401")
    assert s2["refused"] is False and s2["actions"] == []


def test_one_deadline_covers_every_session(clock):
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, state="idle"), sess(2, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, json=sess(1, state="idle"))
        calls.add("PATCH", SESSIONS + "/2", body={"state": "in_sync"}, json=sess(2, state="idle"))
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="1,2"), json=hits(sess(1), sess(2, state="idle")))
        calls.add("GET", SESSIONS + "/2", json=sess(2, state="idle"))
        calls.add("GET", SESSIONS + "/2", json=sess(2, state="idle"))
        result, failed = run([item(1), item(2)], wait_timeout=1)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 0.25]
    assert by_name(result)["s1"]["status"] == "changed"
    assert by_name(result)["s2"]["msg"].startswith(
        "replication session 's2' (id 2) is still idle, not in_sync, when wait_timeout (1 s) ran out")


# ---- direction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_reversed_pair_is_untouched_reported_and_fails_the_task(check_mode):
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, role="target", rpo=600), sess(2, rpo=600))
        if not check_mode:
            calls.add("PATCH", SESSIONS + "/2", body={"rpo": 300}, json=sess(2))
        result, failed = run([item(1), item(2)], check_mode=check_mode)
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["actions"], s1["refused"]) == ("reversed", [], True)
    assert "declared current_role=source but is the target side of its pair" in s1["msg"]
    assert result["summary"]["reversed"] == 1 and result["summary"]["changed"] == 1
    assert "(0 failed, 1 reversed)" in result["msg"]


def test_items_may_declare_the_target_side():
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1, role="target"))
        result, failed = run([item(1, current_role="target")])
    assert not failed and by_name(result)["s1"]["status"] == "ok"


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_source_whose_peer_failed_over_is_refused_the_same_way_in_check_mode(check_mode):
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1, state="suspended", suspend_reason_code="peer_failed_over"))
        result, failed = run([item(1)], check_mode=check_mode)
    assert failed and writes(calls) == []
    assert by_name(result)["s1"]["msg"].startswith("cannot resume replication session 's1': it is suspended because "
                                                   "its peer session failed over")
    assert "Fail back from the DR side" in result["msg"]


def test_failing_over_twice_is_a_noop():
    done = sess(1, state="failed_over", role="target", latest_replicated_snapshot=None)
    with ExpectedCalls() as calls:
        read(calls, ["s1"], done)
        result, failed = run([{"name": "s1"}], defaults={"current_role": "target", "replication_state": "failed_over",
                                                         "restored_snapshot": "latest"})
    assert not failed, result
    assert by_name(result)["s1"]["status"] == "ok"


# ---- prune --------------------------------------------------------------------------------------


def test_prune_removes_only_undeclared_source_sessions_with_the_prefix(clock):
    listed = [sess(1), sess(5, name="app-old", state="suspended"), sess(6, name="app-dr", role="target"),
              sess(7, name="apple", state="idle")]
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1))
        calls.add("GET", SESSIONS, query=dict(PAGE, name__prefix="app"), json=hits(*listed[1:]))
        calls.add("PATCH", SESSIONS + "/5", body={"state": "idle"}, json=sess(5, name="app-old", state="suspended"))
        calls.add("DELETE", SESSIONS + "/7", status=204)
        calls.add("GET", SESSIONS + "/5", json=sess(5, name="app-old", state="idle"))
        calls.add("DELETE", SESSIONS + "/5", status=204)
        result, failed = run([item(1)], prune=True, prune_prefix="app")
    assert not failed, result
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [
        ("s1", "ok"), ("app-old", "pruned"), ("apple", "pruned")]
    assert result["summary"]["pruned"] == 2
    assert ("DELETE", SESSIONS + "/6", None) not in writes(calls)


@pytest.mark.parametrize("args, message", [
    (dict(prune=True), "prune is True but all of the following are missing: prune_prefix"),
    (dict(prune=True, prune_prefix="  "), "prune_prefix must not be empty"),
    (dict(prune_prefix="app"), "prune_prefix is set but prune is false"),
])
def test_prune_guards_fail_before_any_request(args, message):
    with ExpectedCalls():
        result, failed = run([item(1)], **args)
    assert failed and message in result["msg"]


# ---- validation before any request ---------------------------------------------------------------


@pytest.mark.parametrize("sessions, defaults, message", [
    ([item(1), item(2, rpo=301)], None,
     "1 of 2 declared sessions are invalid, nothing was done: sessions[1] (s2): rpo must be 60 (1 minute) or a "
     "positive multiple of 300"),
    ([item(1), item(1)], None, "sessions[1] (s1): the name 's1' is declared already by sessions[0]"),
    ([item(1, new_name="s2"), item(2)], None, "sessions[1] (s2): the name 's2' is declared already by sessions[0]"),
    ([item(1, target_exposure="exposed")], None, "sessions[0] (s1): target_exposure must be one of unmapped"),
    ([item(1, restored_snapshot="latest")], None,
     "sessions[0] (s1): restored_snapshot applies to a failover only"),
    ([item(1)], {"rpo": 100}, "sessions[0] (s1): rpo must be 60"),
])
def test_a_bad_value_in_any_item_fails_the_task_before_any_request(sessions, defaults, message):
    with ExpectedCalls():
        result, failed = run(sessions, defaults=defaults)
    assert failed and message in result["msg"], result["msg"]


@pytest.mark.parametrize("sessions, defaults, message", [
    ([item(1, rpoo=300)], None, "sessions.rpoo"),
    ([item(1, replication_state="synced")], None, "replication_state"),
    ([item(1, state="gone")], None, "state"),
    ([{"rpo": 300}], None, "name"),
    ([item(1)], {"name": "x"}, "defaults.name"),
])
def test_the_argument_spec_names_the_option_of_a_malformed_item(sessions, defaults, message):
    with ExpectedCalls():
        result, failed = run(sessions, defaults=defaults)
    assert failed and message in result["msg"], result["msg"]


# ---- diff ----------------------------------------------------------------------------------------


def test_diff_shows_names_resolved_once_per_resource_type():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, rpo=600), sess(2))
        calls.add("GET", "/replication/peer_k2arrays", query=dict(PAGE, id__in="1", __fields="id,name"),
                  json=hits({"id": 1, "name": "k2-b"}))
        calls.add("GET", "/volume_groups", query=dict(PAGE, id__in="1,2", __fields="id,name"),
                  json=hits({"id": 1, "name": "vg_one"}, {"id": 2, "name": "vg_two"}))
        result, failed = run([item(1), item(2)], check_mode=True, diff_mode=True)
    assert not failed, result
    s1 = by_name(result)["s1"]["diff"]
    assert s1["before"]["local_volume_group"] == "vg_one" and s1["before"]["replication_peer_k2array"] == "k2-b"
    assert (s1["before"]["rpo"], s1["after"]["rpo"]) == (600, 300)
    # The top-level diff holds only what changes.
    assert list(result["diff"]["before"]) == ["s1"] and result["diff"]["after"]["s1"]["rpo"] == 300


def test_a_session_listed_without_an_id_is_a_clean_protocol_error():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], {"name": "s1", "state": "in_sync"}, sess(2))
        result, failed = run([item(1), item(2)])
    assert failed
    assert result["msg"] == ("GET /replication/sessions: unexpected answer from the K2 API (HTTP 200): the object "
                             "named 's1' has no id")


def test_five_failures_are_all_named_with_nothing_more_to_count():
    with ExpectedCalls() as calls:
        read(calls, ["s%d" % i for i in range(1, 6)],
             *[sess(i, local_volume_group={"ref": "/volume_groups/99"}) for i in range(1, 6)])
        result, failed = run([item(i) for i in range(1, 6)])
    assert failed and "s5 (failed)" in result["msg"] and "more)" not in result["msg"]


def test_the_failure_message_names_the_first_five_and_counts_the_rest():
    sessions = [item(i) for i in range(1, 8)]
    with ExpectedCalls() as calls:
        read(calls, ["s%d" % i for i in range(1, 8)],
             *[sess(i, local_volume_group={"ref": "/volume_groups/99"}) for i in range(1, 8)])
        result, failed = run(sessions)
    assert failed and result["summary"]["failed"] == 7
    named = [name for name in ("s%d (failed)" % i for i in range(1, 8)) if name in result["msg"]]
    assert named == ["s1 (failed)", "s2 (failed)", "s3 (failed)", "s4 (failed)", "s5 (failed)"]
    assert result["msg"].startswith("7 of 7 sessions were not converged (7 failed, 0 reversed)")
    assert result["msg"].endswith(" (and 2 more)")


def test_an_absent_item_takes_only_the_side_from_the_defaults(clock):
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, role="target", state="idle"), sess(2))
        calls.add("DELETE", SESSIONS + "/1", status=204)
        result, failed = run([{"name": "s1", "state": "absent"}, item(2)],
                             defaults={"current_role": "target", "replication_state": "in_sync", "rpo": 300})
    # s1 was planned as a target-side removal (no replication_state from the defaults); s2, declared
    # target-side by the defaults, is reversed.
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [("s1", "changed"), ("s2", "reversed")]
    assert failed
