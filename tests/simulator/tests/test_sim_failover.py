"""Arrays down and up: refused or reset connections, failover while the source is down, and what a
session shows when a mirror update could not reach it."""

import pytest
import requests

from k2sim_testlib import SESSIONS, create_pair, session_body, settle, state_of, transition


def url(sid):
    return "%s/%d" % (SESSIONS, sid)


def in_sync_pair(sim, a, b):
    sim.set_delay(0)
    src, tgt = create_pair(a, b)
    transition(a, src["id"], "in_sync")
    settle(a, b, src["id"], tgt["id"], "in_sync", "in_sync")
    return src["id"], tgt["id"]


@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_a_down_array_refuses_or_resets_and_comes_back(sim, api, mode):
    a = api("k2-a")
    a.ok("GET", "/system/state")  # a pooled keep-alive connection exists
    sim.down("k2-a", mode)
    with pytest.raises(requests.ConnectionError):
        a.get("/system/state")
    with pytest.raises(requests.ConnectionError):
        api("k2-a").get("/system/state")  # a new connection too
    assert api("k2-b").ok("GET", "/replication/peer_k2arrays/1")["mgmt_connectivity_state"] == "disconnected"
    sim.up("k2-a")
    assert a.ok("GET", "/system/state")["hits"][0]["state"] == "ONLINE"
    assert api("k2-b").ok("GET", "/replication/peer_k2arrays/1")["mgmt_connectivity_state"] == "ok"
    assert all(e["status"] == 200 for e in sim.journal("k2-a"))  # refused/reset requests never reached the API


@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_failover_while_the_source_is_down_then_failback(sim, a, b, mode):
    s, t = in_sync_pair(sim, a, b)
    sim.down("k2-a", mode)
    transition(b, t, "failed_over")
    b.ok("GET", "/system/state")  # give the mirror update its chance to (not) arrive
    sim.advance()
    target = b.ok("GET", url(t))
    assert (target["state"], target["current_role"]) == ("failed_over", "target")
    sim.up("k2-a")
    source = a.ok("GET", url(s))  # it missed the failover: it shows the lost link
    assert (source["state"], source["suspend_reason_code"], source["current_role"]) == (
        "suspended",
        "link_down",
        "source",
    )
    transition(b, t, "in_sync")  # reverse: k2-b replicates to k2-a now
    settle(a, b, s, t, "in_sync", "in_sync")
    assert (a.ok("GET", url(s))["current_role"], b.ok("GET", url(t))["current_role"]) == ("target", "source")


def test_mirror_updates_to_a_down_peer_are_lost_and_it_comes_back_suspended(sim, a, b):
    s, t = in_sync_pair(sim, a, b)
    sim.manual_clock(True)
    a.ok("PATCH", url(s), {"state": "suspended"})
    sim.down("k2-b")
    sim.advance()
    assert state_of(a, s) == "suspended"
    sim.up("k2-b")
    target = b.ok("GET", url(t))
    assert (target["state"], target["suspend_reason_code"]) == ("suspended", "link_down")
    assert "link" in target["suspend_reason"]


def test_a_mirror_update_from_a_down_array_suspends_the_peer_at_once(sim, a, b):
    s, t = in_sync_pair(sim, a, b)
    sim.manual_clock(True)
    b.ok("PATCH", url(t), {"state": "failed_over"})
    sim.down("k2-b")
    sim.advance(1)  # the failover lands on k2-b (down: off the network, still running)
    assert state_of(a, s) == "in_sync"
    sim.advance(1)  # its mirror update cannot leave k2-b
    source = a.ok("GET", url(s))
    assert (source["state"], source["suspend_reason_code"]) == ("suspended", "link_down")
    sim.up("k2-b")
    assert state_of(b, t) == "failed_over"


def test_an_idle_or_failed_over_session_keeps_its_state_across_a_lost_update(sim, a, b):
    s, t = in_sync_pair(sim, a, b)
    transition(b, t, "failed_over")
    settle(a, b, s, t, "suspended", "failed_over")
    sim.manual_clock(True)
    a.ok("PATCH", url(s), {"state": "idle"})
    sim.down("k2-b")
    sim.advance()
    sim.up("k2-b")
    assert (state_of(a, s), state_of(b, t)) == ("idle", "failed_over")


def test_no_session_can_be_created_towards_a_down_peer(sim, a):
    sim.down("k2-b")
    response = a.post(SESSIONS, session_body())
    assert response.status_code == 400 and "unreachable" in response.json()["error_msg"]
    sim.up("k2-b")
    a.ok("POST", SESSIONS, session_body())


def test_reset_brings_every_array_back_up(sim, api):
    sim.down("k2-a")
    sim.down("k2-b", "reset")
    sim.reset()
    assert api("k2-a").ok("GET", "/system/state")["total"] == 1
    assert api("k2-b").ok("GET", "/system/state")["total"] == 1


def test_a_transition_lands_while_its_array_is_down(sim, a, b):
    s = in_sync_pair(sim, a, b)[0]
    sim.manual_clock(True)
    a.ok("PATCH", url(s), {"state": "suspended"})
    sim.down("k2-a")
    sim.advance(1)
    sim.up("k2-a")
    assert state_of(a, s) == "suspended"


def test_a_stop_reaches_the_target_although_the_source_is_deleted_before_it_arrives(sim, a, b):
    # Removing a pair: stop the source, delete it at once; the stop was due and still reaches the
    # target, which can then be deleted (no half left suspended and undeletable).
    s, t = in_sync_pair(sim, a, b)
    transition(a, s, "suspended")
    settle(a, b, s, t, "suspended", "suspended")
    sim.manual_clock(True)
    a.ok("PATCH", url(s), {"state": "idle"})
    sim.advance(1)  # the stop lands on the source; its mirror update is due
    assert state_of(a, s) == "idle" and state_of(b, t) == "suspended"
    a.ok("DELETE", url(s), status=204)
    sim.advance(1)
    assert state_of(b, t) == "idle"
    b.ok("DELETE", url(t), status=204)
    assert b.ok("GET", SESSIONS)["total"] == 0 and a.ok("GET", SESSIONS)["total"] == 0
