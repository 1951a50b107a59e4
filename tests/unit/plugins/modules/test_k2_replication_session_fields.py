# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session, run as the real module: the fields and booleans that reach the API, the
side a session is planned from, and the recovery limits as literal values (3 unknown outcomes per
run, 30 s for a transition in flight to show). Every HTTP request is asserted, in order."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils import session_apply
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, RecordingTime, connection_args, run_module

SESSIONS = "/replication/sessions"
S7 = SESSIONS + "/7"
PEER = {"ref": "/replication/peer_k2arrays/1"}
VG = {"ref": "/volume_groups/5"}


class FakeTime(RecordingTime):
    def sleep(self, seconds):
        assert seconds > 0
        super().sleep(seconds)


@pytest.fixture(autouse=True)
def clock():
    fake = FakeTime(now=500.0)
    with mock.patch.object(session_apply, "time", fake):
        yield fake


def sess(**over):
    data = {
        "id": 7, "name": "s1", "state": "idle", "current_role": "source", "primary": True, "rpo": 300,
        "replication_peer_k2array": PEER, "local_volume_group": VG,
        "retention_policy": {"ref": "/retention_policies/5"},
        "external_retention_policy": {"ref": "/retention_policies/6"},
        "target_exposure": "Read Only", "remote_replication_session_name": "remote_s1",
        "latest_replicated_snapshot": {"ref": "/snapshots/428"},
    }
    data.update(over)
    for key in [k for k, v in data.items() if v is None]:
        del data[key]
    return data


def hits(*objects):
    return {"hits": list(objects), "limit": 100, "offset": 0, "total": len(objects)}


def by_name(calls, *found):
    calls.add("GET", SESSIONS, query={"name": "s1"}, json=hits(*found))


def run(**module_args):
    return run_module(module, connection_args(name="s1", **module_args))


# ---- fields ------------------------------------------------------------------------------------------


def test_changing_the_external_retention_policy_is_one_patch_with_only_that_ref():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        calls.add("GET", "/retention_policies", query={"name": "Long_Term"}, json=hits({"id": 9, "name": "Long_Term"}))
        calls.add("PATCH", S7, body={"external_retention_policy": {"ref": "/retention_policies/9"}},
                  json=sess(external_retention_policy={"ref": "/retention_policies/9"}))
        # The other writable fields are given and equal: they must not be in the body.
        result, failed = run(external_retention_policy="Long_Term", rpo=300, retention_policy="5",
                             target_exposure="Read Only")
    assert not failed, result
    assert result["changed"] is True
    assert result["actions"] == [dict(name="update", method="PATCH", path=S7,
                                      body={"external_retention_policy": {"ref": "/retention_policies/9"}})]
    assert result["session"]["external_retention_policy"] == {"ref": "/retention_policies/9"}


def test_create_sends_auto_configure_and_the_peer_group_name():
    body = {"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG, "rpo": 300,
            "replication_peer_volume_group_name": "vg1-on-b", "auto_configure_peer_volumes": True}
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=body, status=201, json=sess())
        result, failed = run(replication_peer_k2array="1", local_volume_group="5", rpo=300,
                             replication_peer_volume_group_name="vg1-on-b", auto_configure_peer_volumes=True)
    assert not failed, result
    assert result["actions"] == [dict(name="create", method="POST", path=SESSIONS, body=body)]
    # A JSON true, not the string "True" nor 1.
    assert result["actions"][0]["body"]["auto_configure_peer_volumes"] is True


def test_create_sends_auto_configure_false_too():
    body = {"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG, "rpo": 300,
            "auto_configure_peer_volumes": False}
    with ExpectedCalls() as calls:
        by_name(calls)
        calls.add("POST", SESSIONS, body=body, status=201, json=sess())
        result, failed = run(replication_peer_k2array="1", local_volume_group="5", rpo=300,
                             auto_configure_peer_volumes=False)
    assert not failed, result
    assert result["actions"][0]["body"]["auto_configure_peer_volumes"] is False


def test_offline_initial_sync_reaches_the_start_patch():
    body = {"state": "in_sync", "offline_initial_sync": True}
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="idle"))
        calls.add("PATCH", S7, body=body, json=sess(state="in_sync"))
        result, failed = run(replication_state="in_sync", offline_initial_sync=True)
    assert not failed, result
    assert result["actions"] == [dict(name="transition", method="PATCH", path=S7, body=body)]
    assert result["actions"][0]["body"]["offline_initial_sync"] is True


def test_offline_initial_sync_goes_with_the_last_hop_only():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="suspended"))
        calls.add("PATCH", S7, body={"state": "in_sync", "offline_initial_sync": False}, json=sess(state="in_sync"))
        result, failed = run(replication_state="in_sync", offline_initial_sync=False)
    assert not failed, result
    assert result["actions"][0]["body"] == {"state": "in_sync", "offline_initial_sync": False}


@pytest.mark.parametrize("primary", [False, "False"])
def test_primary_false_without_current_role_is_the_target_side(primary):
    """Failover is sent only from the target side: planned as the source, this would fail."""
    target = sess(state="in_sync", current_role=None, primary=primary)
    body = {"state": "failed_over", "restored_snapshot": {"ref": "/snapshots/428"}}
    with ExpectedCalls() as calls:
        by_name(calls, target)
        calls.add("PATCH", S7, body=body, json=dict(target, state="failed_over"))
        result, failed = run(replication_state="failed_over", restored_snapshot="latest")
    assert not failed, result
    assert result["actions"] == [dict(name="transition", method="PATCH", path=S7, body=body)]


def test_primary_false_without_current_role_cannot_be_stopped_from_this_side():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync", current_role=None, primary=False))
        result, failed = run(state="absent")
    assert failed
    assert result["msg"] == (
        "cannot stop replication session 's1' to delete it: it is in_sync on the target side, and a target-side "
        "session follows its source. Stop the session on the source array first, or fail it over deliberately "
        "(replication_state: failed_over)")


def test_primary_true_without_current_role_is_the_source_side():
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync", current_role=None, primary=True))
        result, failed = run(replication_state="failed_over")
    assert failed
    assert result["msg"].endswith("it is in_sync on the source side, and failover is done on the target-side "
                                  "session, on the peer array")


def test_current_role_wins_over_primary():
    """current_role says the side when the API shows it; primary is only the fallback."""
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync", current_role="source", primary=False))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="suspended", primary=False))
        result, failed = run(replication_state="suspended")
    assert not failed, result
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync", current_role="target", primary=True))
        result, failed = run(replication_state="suspended")
    assert failed
    assert "it is in_sync on the target side" in result["msg"]


# ---- recovery limits: literal values -------------------------------------------------------------------


def test_three_unknown_outcomes_are_tolerated():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        for _attempt in range(3):
            calls.add("PATCH", S7, body={"rpo": 600}, status=502, json={"error_msg": "gateway"})
            calls.add("GET", S7, json=sess())  # not taken: sent again
        calls.add("PATCH", S7, body={"rpo": 600}, json=sess(rpo=600))
        result, failed = run(rpo=600)
    assert not failed, result
    assert result["actions"] == [dict(name="update", method="PATCH", path=S7, body={"rpo": 600})]
    assert result["session"]["rpo"] == 600


def test_the_fourth_unknown_outcome_fails_without_a_re_read():
    with ExpectedCalls() as calls:
        by_name(calls, sess())
        for _attempt in range(3):
            calls.add("PATCH", S7, body={"rpo": 600}, status=502, json={"error_msg": "gateway"})
            calls.add("GET", S7, json=sess())
        calls.add("PATCH", S7, body={"rpo": 600}, status=502, json={"error_msg": "gateway"})
        result, failed = run(rpo=600)
    assert failed
    assert result["msg"] == ("PATCH /replication/sessions/7: outcome unknown (HTTP 502: gateway); the array may or "
                             "may not have carried it out, re-read the object before repeating the request; "
                             "replication session 's1' (id 7) was idle (source side, rpo 300) when last read; no "
                             "change was accepted by the array; whether it took PATCH /replication/sessions/7 is "
                             "unknown")
    assert (result["method"], result["path"], result["status"]) == ("PATCH", S7, 502)


def test_unknown_outcomes_are_counted_over_the_whole_run_not_per_write():
    """A create and then a transition, each lost twice: the 4th unknown outcome of the run fails."""
    with ExpectedCalls() as calls:
        by_name(calls)
        create = {"name": "s1", "replication_peer_k2array": PEER, "local_volume_group": VG, "rpo": 300}
        for _attempt in range(2):
            calls.add("POST", SESSIONS, body=create, status=502)
            by_name(calls)
        calls.add("POST", SESSIONS, body=create, status=201, json=sess())
        calls.add("PATCH", S7, body={"state": "in_sync"}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync"))  # it was taken
        result, failed = run(replication_peer_k2array="1", local_volume_group="5", rpo=300, replication_state="in_sync")
    assert not failed, result
    assert [a["name"] for a in result["actions"]] == ["create", "transition"]
    with ExpectedCalls() as calls:
        by_name(calls)
        for _attempt in range(2):
            calls.add("POST", SESSIONS, body=create, status=502)
            by_name(calls)
        calls.add("POST", SESSIONS, body=create, status=201, json=sess())
        calls.add("PATCH", S7, body={"state": "in_sync"}, status=502)
        calls.add("GET", S7, json=sess(state="idle"))
        for _poll in range(10):  # 30 s of polls (below) without the state showing
            calls.add("GET", S7, json=sess(state="idle"))
        calls.add("PATCH", S7, body={"state": "in_sync"}, status=502)
        result, failed = run(replication_peer_k2array="1", local_volume_group="5", rpo=300, replication_state="in_sync")
    assert failed
    assert result["msg"].startswith("PATCH /replication/sessions/7: outcome unknown (HTTP 502)")


def test_a_transition_in_flight_gets_exactly_30_seconds_to_show(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync"))  # the re-read: not moved yet
        for _poll in range(10):
            calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="suspended"))
        result, failed = run(replication_state="suspended")
    assert not failed, result
    # The poll back-off (0.25 s doubling to 5 s), cut so that the last poll is at exactly 30 s.
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 2.25]
    assert clock.now == 530.0


def test_a_transition_that_shows_at_30_seconds_is_not_sent_again(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync"))
        for _poll in range(9):
            calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="suspended"))  # the poll at 30 s
        result, failed = run(replication_state="suspended")
    assert not failed, result
    assert result["actions"] == [dict(name="transition", method="PATCH", path=S7, body={"state": "suspended"})]
    assert result["session"]["state"] == "suspended"
    assert sum(clock.sleeps) == 30.0


def test_the_settle_time_never_passes_wait_timeout(clock):
    with ExpectedCalls() as calls:
        by_name(calls, sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, status=502)
        calls.add("GET", S7, json=sess(state="in_sync"))
        for _poll in range(4):  # 0.25 + 0.5 + 1 + 2 = 3.75 s, then the 0.25 s left of wait_timeout
            calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("GET", S7, json=sess(state="in_sync"))
        calls.add("PATCH", S7, body={"state": "suspended"}, json=sess(state="in_sync"))
        result, failed = run(replication_state="suspended", wait_timeout=4)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 0.25]
    assert result["msg"].startswith("replication session 's1' (id 7) is still in_sync, not suspended, when "
                                    "wait_timeout (4 s) ran out")


# ---- a session found by name without an id -------------------------------------------------------------


@pytest.mark.parametrize("answer", [sess(id=None), dict(sess(), id=None), dict(sess(), id="")],
                         ids=["no id", "null id", "empty id"])
def test_a_session_answer_without_an_id_is_a_protocol_error(answer):
    """Found by name, then addressed by id: without one, the module fails cleanly before any write."""
    with ExpectedCalls() as calls:
        by_name(calls, answer)
        result, failed = run(rpo=600)
    assert failed
    assert result["msg"] == ("GET /replication/sessions: unexpected answer from the K2 API (HTTP 200): the object "
                             "named 's1' has no id")
    assert result["status"] == 200
