# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_snapshot run as the real module (a real AnsibleModule): every HTTP request asserted
in order, for batching, the checks before any write, check mode, busy answers, POSTs whose outcome
is unknown (adopted or sent again), the wait and its deadline, and per-session failures."""

from __future__ import annotations

from unittest import mock

import pytest
import requests

from ansible_collections.kaminario.k2.plugins.module_utils import replication_snapshots
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_snapshot as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, RecordingTime, connection_args, run_module

SESSIONS = "/replication/sessions"
SNAPS = "/snapshots"
PAGE = {"__limit": 100, "__offset": 0}
WRITES = ("POST", "PATCH", "DELETE")
BUSY = {"error_msg": "MC_ERR_BUSY"}


@pytest.fixture(autouse=True)
def clock():
    fake = RecordingTime(now=100.0)
    with mock.patch.object(replication_snapshots, "time", fake):
        yield fake


def sess(sid, state="in_sync", role="source", name=None):
    """Session <sid> (named s<sid>) replicates volume group <sid>."""
    return {"id": sid, "name": name or "s%d" % sid, "state": state, "current_role": role, "primary": role == "source",
            "rpo": 300, "local_volume_group": {"ref": "/volume_groups/%d" % sid}, "current_snapshot": None}


def snap(snap_id, sid, gen=1, on_peer=False):
    """A snapshot of session <sid> as the array shows it."""
    return {"id": snap_id, "name": "vg%d:snap_%d" % (sid, snap_id), "short_name": "snap_%d" % snap_id,
            "generation_number": gen, "is_exist_on_peer": on_peer, "is_originating_from_peer": False,
            "replication_session": {"ref": "%s/%d" % (SESSIONS, sid)}, "source": {"ref": "/volume_groups/%d" % sid},
            "triggered_by": "api"}


def hits(*objects):
    return {"hits": list(objects), "limit": 100, "offset": 0, "total": len(objects)}


def read(calls, sids, *found):
    """The read of the named sessions: GET ?name= for one, else one list request per 100 names."""
    names = ["s%d" % i for i in sids]
    query = {"name": names[0]} if len(names) == 1 else dict(PAGE, name__in=",".join(names))
    calls.add("GET", SESSIONS, query=query, json=hits(*found))


def remember(calls, sids, *known):
    """The read of the snapshots the sessions have before the first POST (ids only)."""
    refs = ",".join("%s/%d" % (SESSIONS, i) for i in sids)
    calls.add("GET", SNAPS, query=dict(PAGE, **{"replication_session.ref__in": refs, "is_originating_from_peer": False, "triggered_by": "api",
                                                "__fields": "id,replication_session"}),
              json=hits(*[{"id": s["id"], "replication_session": s["replication_session"]} for s in known]))


def post(calls, sid, status=201, json=None, error=None):
    calls.add("POST", SNAPS, body={"replication_session": {"ref": "%s/%d" % (SESSIONS, sid)}}, status=status,
              json=json, error=error)


def reread(calls, sid, *found):
    """The re-read of one session's own snapshots after a POST whose outcome is unknown."""
    calls.add("GET", SNAPS, query=dict(PAGE, **{"replication_session.ref": "%s/%d" % (SESSIONS, sid),
                                                "is_originating_from_peer": False, "triggered_by": "api"}), json=hits(*found))


def poll(calls, ids, *found, **answer):
    answer.setdefault("json", hits(*found))
    calls.add("GET", SNAPS, query=dict(PAGE, id__in=",".join(str(i) for i in ids)), **answer)


def run(sessions, check_mode=False, **args):
    return run_module(module, connection_args(sessions=sessions, **args), check_mode=check_mode)


def by_session(result):
    return dict((entry["session"], entry) for entry in result["snapshots"])


def writes(calls):
    return [(method, url.split("/api/v2", 1)[1], body) for method, url, body in calls.requests if method in WRITES]


def posted(*sids):
    return [("POST", SNAPS, {"replication_session": {"ref": "%s/%d" % (SESSIONS, i)}}) for i in sids]


# ---- the plain run --------------------------------------------------------------------------------


def test_one_session_one_snapshot_polled_until_it_is_on_the_peer(clock):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1], snap(40, 1, gen=3, on_peer=True))
        post(calls, 1, json=snap(501, 1, gen=4))
        poll(calls, [501], snap(501, 1, gen=4))
        poll(calls, [501], snap(501, 1, gen=4, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert result["changed"] is True
    assert result["snapshots"] == [{
        "session": "s1", "session_id": 1, "snapshot": snap(501, 1, gen=4, on_peer=True), "name": "vg1:snap_501",
        "id": 501, "generation_number": 4, "exists_on_peer": True}]
    assert clock.sleeps == [0.25, 0.5]  # the back-off of session_apply's polling


def test_values_the_api_sends_as_text_are_read_as_what_they_mean():
    arrived = dict(snap(501, 1), generation_number="4", is_exist_on_peer="True")
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, json=dict(snap(501, 1), is_exist_on_peer="False"))
        poll(calls, [501], arrived)
        result, failed = run(["s1"])
    assert not failed, result
    entry = result["snapshots"][0]
    assert (entry["generation_number"], entry["exists_on_peer"], entry["snapshot"]) == (4, True, arrived)


def test_250_sessions_cost_3_reads_3_snapshot_reads_250_posts_and_3_requests_a_poll_round():
    sids = list(range(1, 251))
    chunks = [sids[:100], sids[100:200], sids[200:]]
    with ExpectedCalls() as calls:
        for chunk in chunks:
            read(calls, chunk, *[sess(i) for i in chunk])
        for chunk in chunks:
            remember(calls, chunk, *[snap(1000 + i, i) for i in chunk])
        for i in sids:
            post(calls, i, json=snap(2000 + i, i, gen=2))
        for chunk in chunks:  # the first round finds the first 100 there, not the others
            poll(calls, [2000 + i for i in chunk], *[snap(2000 + i, i, gen=2, on_peer=chunk is chunks[0]) for i in chunk])
        for chunk in chunks[1:]:  # the second round asks only for those still travelling
            poll(calls, [2000 + i for i in chunk], *[snap(2000 + i, i, gen=2, on_peer=True) for i in chunk])
        result, failed = run(["s%d" % i for i in sids])
    assert not failed, result
    assert len(calls.requests) == 3 + 3 + 250 + 3 + 2
    assert writes(calls) == posted(*sids)
    assert [e["id"] for e in result["snapshots"]] == [2000 + i for i in sids]
    assert all(e["exists_on_peer"] for e in result["snapshots"])


def test_wait_false_returns_once_the_snapshots_are_taken():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        post(calls, 1, json=snap(501, 1))
        post(calls, 2, json=snap(502, 2))
        result, failed = run(["s1", "s2"], wait=False)
    assert not failed, result
    assert result["changed"] is True
    assert [(e["id"], e["exists_on_peer"]) for e in result["snapshots"]] == [(501, False), (502, False)]


def test_an_empty_list_sends_nothing():
    with ExpectedCalls() as calls:
        result, failed = run([])
    assert not failed and result == dict(result, changed=False, snapshots=[])
    assert calls.requests == []


# ---- refused before any write ---------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_every_bad_session_is_named_before_any_write(check_mode):
    with ExpectedCalls() as calls:
        read(calls, [1, 2, 3, 4], sess(1), sess(3, role="target"), sess(4, state="suspended"))
        result, failed = run(["s1", "s2", "s3", "s4"], check_mode=check_mode)
    assert failed
    assert result["changed"] is False
    assert result["msg"] == (
        "3 of 4 replication sessions cannot take a replication snapshot, nothing was done: "
        "replication session 's2' does not exist on this array; "
        "replication session 's3' is the target side of its pair: a replication snapshot is taken on the array of "
        "the source side; "
        "replication session 's4' is suspended, not in_sync: only a session in sync takes a replication snapshot")
    entries = by_session(result)
    assert "msg" not in entries["s1"] and entries["s1"]["session_id"] == 1
    assert entries["s2"]["session_id"] is None and entries["s2"]["snapshot"] == {}
    assert entries["s4"]["msg"].startswith("replication session 's4' is suspended")
    assert writes(calls) == []


def test_a_session_without_current_role_is_placed_by_primary():
    target = dict(sess(1), primary=False)
    del target["current_role"]
    with ExpectedCalls() as calls:
        read(calls, [1], target)
        result, failed = run(["s1"])
    assert failed and "is the target side of its pair" in result["msg"]


def test_the_failure_names_the_first_five_and_counts_the_rest():
    sids = list(range(1, 9))
    with ExpectedCalls() as calls:
        read(calls, sids, *[sess(i, state="idle") for i in sids])
        result, failed = run(["s%d" % i for i in sids])
    assert failed
    assert result["msg"].startswith("8 of 8 replication sessions cannot take a replication snapshot, nothing was done: ")
    assert result["msg"].count("is idle, not in_sync") == 5 and result["msg"].endswith(" (and 3 more)")


@pytest.mark.parametrize("args, message", [
    (dict(sessions=["s1", "s2", "s1"]), "sessions[2]: 's1' is listed more than once"),
    (dict(sessions=["s1", " "]), "sessions[1]: a session name must not be empty"),
    (dict(sessions=["s1"], wait_timeout=-1), "wait_timeout must be 0 or more seconds, got -1"),
])
def test_bad_options_fail_before_any_request(args, message):
    with ExpectedCalls() as calls:
        result, failed = run_module(module, connection_args(**args))
    assert failed and result["msg"] == message
    assert calls.requests == []


# ---- check mode -----------------------------------------------------------------------------------


def test_check_mode_reads_checks_and_sends_no_write():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        result, failed = run(["s1", "s2"], check_mode=True)
    assert not failed, result
    assert result["changed"] is True
    assert [(e["session"], e["session_id"], e["snapshot"], e["id"], e["exists_on_peer"]) for e in result["snapshots"]] \
        == [("s1", 1, {}, None, False), ("s2", 2, {}, None, False)]
    assert len(calls.requests) == 1


# ---- busy answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [dict(status=400, json=BUSY), dict(status=503, json={"error_msg": "busy"}),
                                    dict(status=400, json={"error_msg": "MC_ERR_INPROGRESS"})])
def test_a_busy_answer_to_the_post_is_retried_and_one_snapshot_taken(answer):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, **answer)
        post(calls, 1, json=snap(501, 1, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert calls.sleeps == [0.5]
    assert writes(calls) == posted(1, 1)
    assert result["snapshots"][0]["id"] == 501


def test_a_busy_poll_is_retried_by_the_transport():
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, json=snap(501, 1))
        poll(calls, [501], status=503, json={"error_msg": "busy"})
        poll(calls, [501], snap(501, 1, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert calls.sleeps == [0.5]


# ---- outcome unknown ------------------------------------------------------------------------------


@pytest.mark.parametrize("lost", [dict(status=502, json={"error_msg": "Bad Gateway"}),
                                  dict(error=requests.exceptions.ConnectionError("Connection reset by peer"))])
def test_a_post_the_array_carried_out_is_adopted_not_sent_again(lost):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1], snap(40, 1, gen=3, on_peer=True))
        post(calls, 1, **lost)
        reread(calls, 1, snap(40, 1, gen=3, on_peer=True), snap(501, 1, gen=4))
        poll(calls, [501], snap(501, 1, gen=4, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert writes(calls) == posted(1)
    assert (result["snapshots"][0]["id"], result["changed"]) == (501, True)


def test_a_post_the_array_did_not_carry_out_is_sent_again_exactly_once():
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1], snap(40, 1, gen=3, on_peer=True))
        post(calls, 1, status=502, json={"error_msg": "Bad Gateway"})
        reread(calls, 1, snap(40, 1, gen=3, on_peer=True))
        post(calls, 1, json=snap(501, 1, gen=4))
        poll(calls, [501], snap(501, 1, gen=4, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert writes(calls) == posted(1, 1)
    assert result["snapshots"][0]["generation_number"] == 4


def test_of_several_new_snapshots_the_newest_is_adopted():
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1], snap(40, 1, gen=3))
        post(calls, 1, status=502)
        reread(calls, 1, snap(40, 1, gen=3), snap(502, 1, gen=5), snap(501, 1, gen=4))
        poll(calls, [502], snap(502, 1, gen=5, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert result["snapshots"][0]["id"] == 502


def test_after_three_unknown_outcomes_with_nothing_taken_the_session_fails():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        for _attempt in range(3):
            post(calls, 1, status=502)
            reread(calls, 1)
        post(calls, 2, json=snap(502, 2))
        poll(calls, [502], snap(502, 2, on_peer=True))
        result, failed = run(["s1", "s2"])
    assert failed
    s1 = by_session(result)["s1"]
    assert s1["msg"].startswith("POST /snapshots: outcome unknown (HTTP 502")
    assert s1["msg"].endswith("no new snapshot of replication session 's1' showed after 3 requests whose outcome was "
                              "unknown: not sent again")
    assert writes(calls) == posted(1, 1, 1, 2)
    assert result["msg"].startswith("1 of 2 replication snapshots failed: POST /snapshots: outcome unknown")
    assert by_session(result)["s2"]["exists_on_peer"] is True and result["changed"] is True


def test_a_post_without_an_answer_gets_time_to_show_before_it_is_adopted(clock):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, error=requests.exceptions.ReadTimeout("read timed out"))
        reread(calls, 1)
        reread(calls, 1)
        reread(calls, 1, snap(501, 1, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert writes(calls) == posted(1)
    assert clock.sleeps == [0.25, 0.5]


def test_a_post_without_an_answer_that_never_shows_is_sent_again_after_the_settle_time(clock):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, error=requests.exceptions.ReadTimeout("read timed out"))
        for _read in range(1 + 10):  # then after 0.25 0.5 1 2 4 5 5 5 5 2.25 s: 30 s
            reread(calls, 1)
        post(calls, 1, json=snap(501, 1, on_peer=True))
        result, failed = run(["s1"])
    assert not failed, result
    assert writes(calls) == posted(1, 1)
    assert sum(clock.sleeps) == replication_snapshots.SETTLE_SECONDS


def test_a_post_without_an_answer_is_not_sent_again_when_the_deadline_cuts_its_settle_time_short(clock):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, error=requests.exceptions.ReadTimeout("read timed out"))
        for _read in range(1 + 3):  # 0.25 0.5 0.25: wait_timeout=1
            reread(calls, 1)
        result, failed = run(["s1"], wait_timeout=1)
    assert failed
    assert writes(calls) == posted(1)
    assert result["snapshots"][0]["msg"].endswith(
        "no new snapshot of replication session 's1' showed before wait_timeout ran out, and the array may still "
        "take it: not sent again")
    assert result["changed"] is False


def test_a_reread_the_array_refuses_fails_that_session_only():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        post(calls, 1, status=502)
        calls.add("GET", SNAPS, query=dict(PAGE, **{"replication_session.ref": SESSIONS + "/1",
                                                    "is_originating_from_peer": False, "triggered_by": "api"}),
                  status=500, json={"error_msg": "internal"})
        post(calls, 2, json=snap(502, 2, on_peer=True))
        result, failed = run(["s1", "s2"])
    assert failed
    assert by_session(result)["s1"]["msg"].startswith("GET /snapshots failed: HTTP 500 Internal Server Error: internal; "
                                                      "whether the array took the replication snapshot of replication "
                                                      "session 's1' is unknown (POST /snapshots: outcome unknown")
    assert "msg" not in by_session(result)["s2"]


def test_a_reread_that_cannot_reach_the_array_stops_the_run_saying_the_outcome_is_unknown():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        post(calls, 1, status=502)
        calls.add("GET", SNAPS, query=dict(PAGE, **{"replication_session.ref": SESSIONS + "/1",
                                                    "is_originating_from_peer": False, "triggered_by": "api"}),
                  error=requests.exceptions.ConnectionError("Connection refused"))
        result, failed = run(["s1", "s2"])
    assert failed
    s1, s2 = by_session(result)["s1"], by_session(result)["s2"]
    assert s1["msg"].startswith("GET /snapshots to 127.0.0.1: connection failed: ")
    assert "; whether the array took the replication snapshot of replication session 's1' is unknown (POST " \
           "/snapshots: outcome unknown (HTTP 502" in s1["msg"]
    assert s2["msg"].startswith("stopped before a replication snapshot of replication session 's2' was taken: GET "
                                "/snapshots to 127.0.0.1: connection failed")
    assert writes(calls) == posted(1)


# ---- per-session failures, array-wide errors --------------------------------------------------------


@pytest.mark.parametrize("answer", [{"name": "vg1:snap_9"}, [1], {"id": "none"}])
def test_a_post_answered_without_an_id_fails_that_session(answer):
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        post(calls, 1, json=answer)
        post(calls, 2, json=snap(502, 2, on_peer=True))
        result, failed = run(["s1", "s2"])
    assert failed
    assert by_session(result)["s1"]["msg"] == ("POST /snapshots: unexpected answer from the K2 API (HTTP 201): the new "
                                               "snapshot of replication session 's1' came back without an id")
    assert "msg" not in by_session(result)["s2"]


def test_a_session_that_disappears_before_its_post_fails_alone():
    with ExpectedCalls() as calls:
        read(calls, [1, 2, 3], sess(1), sess(2), sess(3))
        remember(calls, [1, 2, 3])
        post(calls, 1, json=snap(501, 1))
        post(calls, 2, status=400, json={"error_msg": "replication_session: no object /replication/sessions/2"})
        post(calls, 3, json=snap(503, 3))
        poll(calls, [501, 503], snap(501, 1, on_peer=True), snap(503, 3, on_peer=True))
        result, failed = run(["s1", "s2", "s3"])
    assert failed
    assert result["changed"] is True
    s2 = by_session(result)["s2"]
    assert s2["msg"] == ("POST /snapshots failed: HTTP 400 Bad Request: replication_session: no object "
                         "/replication/sessions/2; no replication snapshot of replication session 's2' was taken")
    assert (s2["snapshot"], s2["exists_on_peer"]) == ({}, False)
    assert [by_session(result)[n]["exists_on_peer"] for n in ("s1", "s3")] == [True, True]
    assert result["msg"] == "1 of 3 replication snapshots failed: " + s2["msg"]


def test_a_snapshot_that_disappears_while_travelling_fails_alone():
    with ExpectedCalls() as calls:
        read(calls, [1, 2], sess(1), sess(2))
        remember(calls, [1, 2])
        post(calls, 1, json=snap(501, 1))
        post(calls, 2, json=snap(502, 2))
        poll(calls, [501, 502], snap(502, 2))
        poll(calls, [502], snap(502, 2, on_peer=True))
        result, failed = run(["s1", "s2"])
    assert failed
    assert by_session(result)["s1"]["msg"] == ("the replication snapshot 'vg1:snap_501' (id 501) of replication session "
                                               "'s1' disappeared before it reached the peer array")
    assert "msg" not in by_session(result)["s2"]


def test_the_wait_ends_at_the_deadline_with_the_snapshot_named(clock):
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, json=snap(501, 1))
        for _round in range(3):  # 0.25 + 0.5 + 0.25 = wait_timeout
            poll(calls, [501], snap(501, 1))
        result, failed = run(["s1"], wait_timeout=1)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 0.25]
    assert result["snapshots"][0]["msg"] == (
        "the replication snapshot 'vg1:snap_501' (id 501) of replication session 's1' has not reached the peer array "
        "when wait_timeout (1 s) ran out; it is taken and may still arrive (running the task again takes another one)")
    assert result["changed"] is True


def test_an_array_wide_error_on_a_post_stops_the_run():
    with ExpectedCalls() as calls:
        read(calls, [1, 2, 3], sess(1), sess(2), sess(3))
        remember(calls, [1, 2, 3])
        post(calls, 1, json=snap(501, 1))
        post(calls, 2, status=401, json={"error_msg": "bad credentials"})
        result, failed = run(["s1", "s2", "s3"])
    assert failed
    entries = by_session(result)
    assert entries["s2"]["msg"] == ("POST /snapshots failed: HTTP 401 Unauthorized: bad credentials; no replication "
                                    "snapshot of replication session 's2' was taken")
    assert entries["s3"]["msg"] == ("stopped before a replication snapshot of replication session 's3' was taken: "
                                    "POST /snapshots failed: HTTP 401 Unauthorized: bad credentials")
    assert entries["s1"]["msg"] == ("stopped before the replication snapshot 'vg1:snap_501' (id 501) of replication "
                                    "session 's1' was seen on the peer array: POST /snapshots failed: HTTP 401 "
                                    "Unauthorized: bad credentials")
    assert writes(calls) == posted(1, 2)


def test_a_connection_lost_while_polling_stops_the_wait():
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        remember(calls, [1])
        post(calls, 1, json=snap(501, 1))
        poll(calls, [501], error=requests.exceptions.ConnectionError("Connection refused"))
        result, failed = run(["s1"])
    assert failed
    assert result["snapshots"][0]["msg"].startswith(
        "stopped before the replication snapshot 'vg1:snap_501' (id 501) of replication session 's1' was seen on the "
        "peer array: GET /snapshots")


def test_errors_while_reading_fail_the_task_before_any_write():
    with ExpectedCalls() as calls:
        read(calls, [1], sess(1))
        calls.add("GET", SNAPS, query=dict(PAGE, **{"replication_session.ref__in": SESSIONS + "/1",
                                                    "is_originating_from_peer": False, "triggered_by": "api",
                                                    "__fields": "id,replication_session"}),
                  status=400, json={"error_msg": "unknown field"})
        result, failed = run(["s1"])
    assert failed and result["msg"] == "GET /snapshots failed: HTTP 400 Bad Request: unknown field"
    assert writes(calls) == []
