# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_topology when the array does something unexpected in the middle of a run: a
rename onto a name in use, a session that disappears while it is polled, a poll or a write that
fails for the whole array, a create that loses a race with another client, and the prune listing
checked again on our side. Every HTTP request asserted in order."""

from __future__ import annotations

import requests

from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls
from ansible_collections.kaminario.k2.tests.unit.plugins.modules.test_k2_replication_topology import (
    PAGE, PEER, SESSIONS, by_name, clock, hits, item, read, run, sess, writes)

__all__ = ["clock"]  # the autouse fake clock of the topology tests applies here too

CREATE_7 = {"name": "s7", "replication_peer_k2array": {"ref": PEER}, "local_volume_group": {"ref": "/volume_groups/7"},
            "rpo": 300}


def test_a_rename_onto_a_name_in_use_fails_that_session_before_any_write():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2", "s3"], sess(1), sess(2), sess(3, rpo=600))
        calls.add("PATCH", SESSIONS + "/3", body={"rpo": 300}, json=sess(3))
        result, failed = run([item(1, new_name="s2"), item(3)])
    assert failed
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["refused"]) == ("failed", True)
    assert s1["msg"] == "cannot rename replication session 's1' to 's2': a session named 's2' exists already"
    assert by_name(result)["s3"]["status"] == "changed"
    assert writes(calls) == [("PATCH", SESSIONS + "/3", {"rpo": 300})]


def test_a_rename_to_a_free_name_is_sent_with_the_update():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s9"], sess(1, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"name": "s9", "rpo": 300}, json=sess(1, name="s9"))
        result, failed = run([item(1, new_name="s9")])
    assert not failed, result
    s1 = by_name(result)["s1"]
    assert (s1["status"], s1["session"]) == ("changed", sess(1, name="s9"))
    assert writes(calls) == [("PATCH", SESSIONS + "/1", {"name": "s9", "rpo": 300})]


def test_a_rename_that_already_happened_converges_the_renamed_session():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s9"], sess(1, name="s9", rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, json=sess(1, name="s9"))
        result, failed = run([item(1, new_name="s9")])
    assert not failed, result
    assert writes(calls) == [("PATCH", SESSIONS + "/1", {"rpo": 300})]


def test_one_session_that_disappears_while_polled_fails_naming_the_state_it_waited_for():
    with ExpectedCalls() as calls:
        read(calls, ["s1"], sess(1, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, json=sess(1, state="idle"))
        calls.add("GET", SESSIONS + "/1", status=404, json={"error_msg": "not found"})
        result, failed = run([item(1)])
    assert failed
    assert by_name(result)["s1"]["msg"].startswith(
        "GET /replication/sessions/1 failed: HTTP 404 Not Found: replication session 's1' disappeared while "
        "waiting for it to reach in_sync")


def test_a_session_missing_from_a_poll_round_fails_alone():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, state="idle"), sess(2, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, json=sess(1, state="idle"))
        calls.add("PATCH", SESSIONS + "/2", body={"state": "in_sync"}, json=sess(2, state="idle"))
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="1,2"), json=hits(sess(2, state="idle")))
        calls.add("GET", SESSIONS + "/2", json=sess(2))
        result, failed = run([item(1), item(2)])
    assert failed
    s1, s2 = by_name(result)["s1"], by_name(result)["s2"]
    assert "replication session 's1' disappeared while waiting for it to reach in_sync" in s1["msg"]
    assert (s2["status"], s2["session"]["state"]) == ("changed", "in_sync")


def test_a_poll_the_array_refuses_stops_every_session_in_transition():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, state="idle"), sess(2, state="idle"))
        calls.add("PATCH", SESSIONS + "/1", body={"state": "in_sync"}, json=sess(1, state="idle"))
        calls.add("PATCH", SESSIONS + "/2", body={"state": "in_sync"}, json=sess(2, state="idle"))
        calls.add("GET", SESSIONS, query=dict(PAGE, id__in="1,2"), status=401, json={"error_msg": "bad credentials"})
        result, failed = run([item(1), item(2)])
    assert failed
    for name in ("s1", "s2"):
        entry = by_name(result)[name]
        assert entry["status"] == "failed" and entry["refused"] is False
        assert entry["msg"].startswith("stopped before replication session %r was converged: GET /replication/sessions "
                                       "failed: HTTP 401" % name), entry["msg"]
        assert [a["name"] for a in entry["actions"]] == ["transition"]


def test_a_connection_lost_before_a_write_stops_every_session():
    with ExpectedCalls() as calls:
        read(calls, ["s1", "s2"], sess(1, rpo=600), sess(2, rpo=600))
        calls.add("PATCH", SESSIONS + "/1", body={"rpo": 300}, error=requests.exceptions.ConnectTimeout("no route"))
        result, failed = run([item(1), item(2)])
    assert failed
    assert "connect" in by_name(result)["s1"]["msg"]
    s2 = by_name(result)["s2"]
    assert s2["msg"].startswith("stopped before replication session 's2' was converged: PATCH /replication/sessions/1")
    assert s2["actions"] == []
    assert writes(calls) == [("PATCH", SESSIONS + "/1", {"rpo": 300})]


def test_a_create_that_loses_the_race_converges_the_session_the_other_client_made(clock):
    with ExpectedCalls() as calls:
        read(calls, ["s7"])
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json={"error_msg": "name s7 is already in use"})
        calls.add("GET", SESSIONS, query={"name": "s7"}, json=hits(sess(7, state="idle")))
        calls.add("PATCH", SESSIONS + "/7", body={"state": "in_sync"}, json=sess(7, state="idle"))
        calls.add("GET", SESSIONS + "/7", json=sess(7))
        result, failed = run([item(7)])
    assert not failed, result
    assert [a["name"] for a in by_name(result)["s7"]["actions"]] == ["transition"]
    assert by_name(result)["s7"]["session"]["state"] == "in_sync"


def test_a_create_refused_with_nothing_of_that_name_there_fails_once():
    with ExpectedCalls() as calls:
        read(calls, ["s7"])
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json={"error_msg": "bad volume group"})
        calls.add("GET", SESSIONS, query={"name": "s7"}, json=hits())
        result, failed = run([item(7)])
    assert failed
    assert "HTTP 400 Bad Request: bad volume group" in by_name(result)["s7"]["msg"]
    assert [m for m, _path, _body in writes(calls)] == ["POST"]


def test_a_create_that_loses_the_race_to_a_different_session_is_refused_naming_the_field():
    with ExpectedCalls() as calls:
        read(calls, ["s7"])
        calls.add("POST", SESSIONS, body=CREATE_7, status=400, json={"error_msg": "name s7 is already in use"})
        calls.add("GET", SESSIONS, query={"name": "s7"},
                  json=hits(sess(7, state="idle", local_volume_group={"ref": "/volume_groups/99"})))
        result, failed = run([item(7)])
    assert failed
    assert "local_volume_group" in by_name(result)["s7"]["msg"]
    assert [m for m, _path, _body in writes(calls)] == ["POST"]


def test_prune_leaves_declared_sessions_and_names_the_server_matched_loosely():
    """The server's name__prefix filter is trusted for nothing: a declared session and a name that does
    not start with the prefix as written (a case-insensitive match) are never removed."""
    listed = [sess(1, name="app-db"), sess(5, name="App-other", state="idle"), sess(7, name="app-old", state="idle")]
    with ExpectedCalls() as calls:
        read(calls, ["app-db"], sess(1, name="app-db"))
        calls.add("GET", SESSIONS, query=dict(PAGE, name__prefix="app"), json=hits(*listed))
        calls.add("DELETE", SESSIONS + "/7", status=204)
        result, failed = run([item(1, name="app-db")], prune=True, prune_prefix="app")
    assert not failed, result
    assert [(e["name"], e["status"]) for e in result["sessions"]] == [("app-db", "ok"), ("app-old", "pruned")]
    assert writes(calls) == [("DELETE", SESSIONS + "/7", None)]
