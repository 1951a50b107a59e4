# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_topology when a recovery itself goes wrong: the re-read after a write in doubt
fails, a create loses the race twice or cannot re-read the winner, a settle or an expired settle
ends in a plan refusal, a session disappears from a poll round in which another one landed; and
what the polling back-off does when a session finishes, fails or gives up between polls. Every HTTP
request asserted in order; the recording clock, so nothing sleeps."""

from __future__ import annotations

import pytest
import requests

from ansible_collections.kaminario.k2.plugins.module_utils import session_apply
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls
from ansible_collections.kaminario.k2.tests.unit.plugins.modules.test_k2_replication_topology import (
    PAGE, SESSIONS, by_name, clock, hits, item, read, run, sess, writes)
from ansible_collections.kaminario.k2.tests.unit.plugins.modules.test_k2_replication_topology_recovery import (
    CREATE_7)

__all__ = ["clock"]  # the autouse fake clock of the topology tests applies here too

IN_USE = {"error_msg": "name s7 is already in use"}
# What the array answers a resume while the peer session is failed over (the plan refuses it first).
PEER_FAILED_OVER = dict(state="suspended", suspend_reason_code="peer_failed_over")
REFUSE_RESUME = ("cannot resume replication session 's1': it is suspended because its peer session failed over "
                 "(suspend_reason_code peer_failed_over), and the array refuses to resume it while the peer is "
                 "failed over. Fail back from the DR side instead: reverse the failed-over session on the peer array "
                 "(replication_state: in_sync there), let it sync, then fail over and reverse again to return to this "
                 "direction")


# ---- an array-wide error ------------------------------------------------------------------------


def test_an_error_that_stops_the_run_leaves_the_sessions_already_converged_as_they_are():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], sess(1, rpo=600), sess(2, rpo=600), sess(3))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, json=sess(1))
        calls.add("PATCH", SESSIONS + "/2", body={"rpo": 300}, status=401, json={"error_msg": "bad credentials"})
        result, failed = run([item(1), item(2), item(3)])
    assert failed
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [("s1", "changed"), ("s2", "failed"), ("s3", "ok")]
    assert by_name(result)["s2"]["msg"].startswith("PATCH /replication/sessions/2 failed: HTTP 401 Unauthorized")
    assert result["summary"] == {"ok": 1, "changed": 1, "failed": 1, "reversed": 0, "pruned": 0}


# ---- resolving ------------------------------------------------------------------------------------


def test_an_unknown_name_fails_its_session_and_the_sessions_after_it_are_still_resolved():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1), sess(2))
        calls.add("GET", "/volume_groups", query=dict(PAGE, name__in="vg-typo,vg2"),
                  json=hits({"id": 2, "name": "vg2"}))
        result, failed = run([{"name": "s1", "local_volume_group": "vg-typo"},
                              {"name": "s2", "local_volume_group": "vg2"}])
    assert failed
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [("s1", "failed"), ("s2", "ok")]
    assert by_name(result)["s1"]["msg"] == "local_volume_group: no volume_groups object is named 'vg-typo'"


# ---- polling --------------------------------------------------------------------------------------


def test_a_session_gone_from_a_poll_round_does_not_hold_back_one_that_landed_in_it():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, state="idle"), sess(2, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, json=sess(1, state="idle"))
        calls.add("PATCH", SESSIONS + "/2", body={"state": "in_sync"}, json=sess(2, state="idle"))
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="1,2"), json=hits(sess(2)))
        result, failed = run([item(1), item(2)])
    assert failed
    s1, s2 = by_name(result)["s1"], by_name(result)["s2"]
    assert "replication session 's1' disappeared while waiting for it to reach in_sync" in s1["msg"]
    assert (s2["status"], s2["session"]) == ("changed", sess(2))


def _delete_done(calls):
    calls.add("DELETE", SESSIONS + "/1", status=204)


def _delete_refused(calls):
    calls.add("DELETE", SESSIONS + "/1", status=400, json={"error_msg": "the session has snapshots in use"})


def _delete_given_up(calls):
    for _attempt in range(session_apply.MAX_UNKNOWN):
        calls.add("DELETE", SESSIONS + "/1", status=502)
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="idle"))
    calls.add("DELETE", SESSIONS + "/1", status=502)


@pytest.mark.parametrize("delete, status", [(_delete_done, "changed"), (_delete_refused, "failed"),
                                            (_delete_given_up, "failed")])
def test_only_a_new_wait_restarts_the_polling_back_off(clock, delete, status):
    """s1 is stopped, then deleted in the round after its stop landed; s2 is still starting. The
    delete ends s1 one way or another (done, refused, given up) without a new wait, so the back-off
    of the polls for s2 goes on from where it was."""
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1), sess(2, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "suspended"}, json=sess(1, state="suspended"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "idle"}, json=sess(1, state="suspended"))
        calls.add("PATCH", SESSIONS + "/2", body={"state": "in_sync"}, json=sess(2, state="idle"))
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="1,2"), json=hits(sess(1, state="idle"), sess(2, state="idle")))
        delete(calls)
        calls.add("GET", SESSIONS + "/2", json=sess(2, state="idle"))
        calls.add("GET", SESSIONS + "/2", json=sess(2))
        result, failed = run([{"name": "s1", "state": "absent"}, item(2)])
    assert failed is (status == "failed")
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [("s1", status), ("s2", "changed")]
    assert clock.sleeps == [0.25, 0.5, 1.0]


def test_a_transition_in_doubt_after_earlier_polls_restarts_the_back_off(clock):
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "suspended"}, json=sess(1))
        calls.add("GET", SESSIONS + "/1", json=sess(1))
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="suspended"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "idle"}, status=502)
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="suspended"))  # the re-read: not shown yet
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="idle"))  # it took: not sent again
        result, failed = run([item(1, replication_state="idle")])
    assert not failed, result
    assert [a["body"] for a in by_name(result)["s1"]["actions"]] == [{"state": "suspended"}, {"state": "idle"}]
    assert clock.sleeps == [0.25, 0.5, 0.25]


# ---- the re-read after a write in doubt -----------------------------------------------------------


def test_an_error_on_the_re_read_after_a_write_in_doubt_fails_that_session_alone():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, rpo=600), sess(2, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, status=502)
        calls.add("GET", SESSIONS + "/1", status=500, json={"error_msg": "internal error"})
        calls.add("PATCH", SESSIONS + "/2", body={"rpo": 300}, json=sess(2))
        result, failed = run([item(1), item(2)])
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["refused"], s1["actions"]) == ("failed", False, [])
    assert s1["msg"] == ("GET /replication/sessions/1 failed: HTTP 500 Internal Server Error: internal error; "
                         "replication session 's1' (id 1) was in_sync (source side, rpo 600) when last read; no change "
                         "was accepted by the array; whether it took PATCH /replication/sessions/1 is unknown")
    assert by_name(result)["s2"]["status"] == "changed"
    assert writes(calls) == [("PATCH", SESSIONS + "/1", {"rpo": 300}), ("PATCH", SESSIONS + "/2", {"rpo": 300})]


def test_a_write_in_flight_that_meets_a_plan_refusal_on_the_re_read_fails_at_once(clock):
    """The update timed out; the re-read shows the peer failed over meanwhile, so no plan from the
    session can resume it: the session fails with that refusal, without waiting out the settle time."""
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, error=requests.exceptions.ReadTimeout("read timed out"))
        calls.add("GET", SESSIONS + "/1", json=sess(1, rpo=600, **PEER_FAILED_OVER))
        result, failed = run([item(1)])
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["refused"], s1["actions"], s1["msg"]) == ("failed", True, [], REFUSE_RESUME)
    assert clock.sleeps == []


def test_a_transition_in_doubt_that_expires_into_a_plan_refusal_keeps_only_what_was_done(clock):
    """The update took; the resume got 502 and did not show before wait_timeout ran out, and by then
    the peer had failed over: the re-plan refuses, and only the plan refusal is said (the session
    is where the refusal says), with the update as the one action taken."""
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1, state="suspended", rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, json=sess(1, state="suspended"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, status=502)
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="suspended"))
        calls.add("GET", SESSIONS + "/1", json=sess(1, state="suspended"))
        calls.add("GET", SESSIONS + "/1", json=sess(1, **PEER_FAILED_OVER))
        calls.add("GET", SESSIONS + "/1", json=sess(1, **PEER_FAILED_OVER))
        result, failed = run([item(1)], wait_timeout=1)
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["refused"], s1["msg"]) == ("failed", False, REFUSE_RESUME)
    assert s1["actions"] == [{"name": "update", "method": "PATCH", "path": SESSIONS + "/1", "body": {"rpo": 300}}]
    assert clock.sleeps == [0.25, 0.5, 0.25]


# ---- the create race ------------------------------------------------------------------------------


def test_a_create_that_loses_the_race_twice_fails_on_the_second_refusal():
    """The other client's session is re-read and converged from; it is deleted and made again by the
    other client meanwhile (the resume got 502, the re-read 404, our create 400 again): no second
    round of the race, the session fails with the array's refusal."""
    with ExpectedCalls() as calls:
        read(calls, ["s7"])
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json=IN_USE)
        calls.add("GET", SESSIONS, query={"name": "s7"}, json=hits(sess(7, state="idle")))
        calls.add("PATCH", SESSIONS + "/7", body={"state": "in_sync"}, status=502)
        calls.add("GET", SESSIONS + "/7", status=404, json={"error_msg": "no replication/sessions object with id 7"})
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json=IN_USE)
        result, failed = run([item(7)])
    assert failed
    s7 = by_name(result)["s7"]
    assert (s7["status"], s7["refused"], s7["actions"]) == ("failed", False, [])
    assert s7["msg"] == ("POST /replication/sessions failed: HTTP 400 Bad Request: name s7 is already in use; "
                         "replication session 's7' did not exist when last read; no change was accepted by the array")
    assert [m for m, _path, _body in writes(calls)] == ["POST", "PATCH", "POST"]


def test_a_create_whose_race_re_read_fails_fails_with_the_refusal_and_the_others_go_on():
    create_8 = dict(CREATE_7, name="s8", local_volume_group={"ref": "/volume_groups/8"})
    with ExpectedCalls() as calls:
        read(calls, ["s7", "s8"])
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json=IN_USE)
        calls.add("GET", SESSIONS, query={"name": "s7"}, status=500, json={"error_msg": "internal error"})
        calls.add("POST", SESSIONS, body=create_8, status=201, json=sess(8, state="idle"))
        calls.add("PATCH", SESSIONS + "/8", body={"state": "in_sync"}, json=sess(8))
        result, failed = run([item(7), item(8)])
    assert failed
    s7 = by_name(result)["s7"]
    assert (s7["status"], s7["actions"]) == ("failed", [])
    assert s7["msg"].startswith("POST /replication/sessions failed: HTTP 400 Bad Request: name s7 is already in use; ")
    assert by_name(result)["s8"]["status"] == "changed"
