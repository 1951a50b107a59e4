"""Replication rounds and the array clock, over real HTTPS: the initial and periodic rounds, what a
round leaves on both arrays, progress worked out from the clock, the link (speed, slowdown, cut),
stalled transfers, arrays down, sessions leaving in_sync, user-requested snapshots queued behind a
round, bounded storage, the time scale and the Date header.

Most tests run on the manual clock: ``advance(1)`` runs the next event and moves the frozen array
clock to its due time, so times are exact. A round of ROUND_SECONDS is made by setting the link
speed to 1 MB per simulated second and the round size to ROUND_SECONDS MB."""

import email.utils
import json
import time

import pytest

from k2sim.control_client import ControlError
from k2sim.process import StartError, start
from k2sim_testlib import SESSIONS, create_pair, settle, state_of, transition, wait_for

MB = 1000 * 1000
ROUND_SECONDS = 100


def url(sid):
    return "%s/%d" % (SESSIONS, sid)


def session(client, sid):
    return client.ok("GET", url(sid))


def snapshots_of(client, sid):
    """The snapshots of session ``sid`` on ``client``'s array, oldest first."""
    hits = client.ok("GET", "/snapshots", params={"replication_session.ref": url(sid), "__sort": "id"})["hits"]
    return hits


def history_of(client, sid):
    return client.ok("GET", "/replication/rpo_history", params={"session.ref": url(sid), "__sort": "id"})["hits"]


def slow_rounds(sim, seconds=ROUND_SECONDS):
    """Each round takes ``seconds`` simulated seconds at the normal link speed."""
    sim.set_link_speed(MB)
    sim.set_round_bytes(seconds * MB)


def frozen_pair(sim, a, b, name="s1", vg_id=5101, rpo=300):
    """On the manual clock (delay 0): a pair whose source has just landed in_sync at the clock's
    time t0 and whose target followed; its first round started at t0. Returns (s, t, t0)."""
    sim.set_delay(0)
    sim.manual_clock(True)
    src, tgt = create_pair(a, b, name, vg_id=vg_id, rpo=rpo)
    t0 = sim.clock()["now"]
    a.ok("PATCH", url(src["id"]), {"state": "in_sync"})
    assert sim.advance(2) == {"ran": 2, "pending": 0}  # the transition and its mirror, both at t0
    assert sim.clock()["now"] == t0
    return src["id"], tgt["id"], t0


def date_of(response):
    return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()


# ---- the first round and what a round leaves behind ---------------------------------------------
def test_a_session_entering_in_sync_replicates_at_once(sim, a, b):
    s, t, t0 = frozen_pair(sim, a, b)
    source = session(a, s)
    assert source["current_snapshot"] and source["current_snapshot_progress"] == 0
    assert source["estimated_remaining_time"] == 1  # 32 MiB at 1 GiB/s: 31 ms, shown as 1 s
    (snap,) = snapshots_of(a, s)
    assert snap["name"] == source["current_snapshot"]
    assert (snap["creation_time"], snap["generation_number"], snap["triggered_by"]) == (int(t0), 1, "Replication")
    assert snap["is_exist_on_peer"] is False
    (running,) = history_of(a, s)
    assert source["replication_rpo_history"] == {"ref": "/replication/rpo_history/%d" % running["id"]}
    assert (running["round_start"], running["round_end"], running["role"], running["target_rpo"]) == (
        int(t0), 0, "source", 300)
    assert history_of(b, t)[0]["round_end"] == 0  # the target records the round from its start
    assert sim.advance() == {"ran": 1, "pending": 0}  # the round reaches k2-b; the next periodic start stays
    source, target = session(a, s), session(b, t)
    (copy,) = snapshots_of(b, t)
    assert source["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % snap["id"]}
    assert target["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % copy["id"]}
    assert (copy["creation_time"], copy["generation_number"], copy["triggered_by"]) == (int(t0), 1, "Replication")
    assert copy["is_originating_from_peer"] is True and copy["is_exist_on_peer"] is True
    assert copy["source"] == target["local_volume_group"] and copy["name"].startswith("vg_oracle_prod:")
    assert a.ok("GET", "/snapshots/%d" % snap["id"])["is_exist_on_peer"] is True
    for side in (source, target):
        assert (side["common_snapshots_count"], side["current_snapshot"], side["current_snapshot_progress"]) == (
            1, None, 100)
        assert side["estimated_remaining_time"] is None and side["state"] == "in_sync"
    for client, sid, role in ((a, s, "source"), (b, t, "target")):
        (record,) = history_of(client, sid)
        assert (record["round_start"], record["round_end"], record["role"], record["generation_number"]) == (
            int(t0), int(t0 + 1 / 32.0), role, 1)
        assert record["bytes_transmitted_logical"] == 32 * 1024 * 1024 and record["target_rpo"] == 300
        assert record["session"] == {"ref": url(sid)}
    assert sim.dump("k2-a")["replication"][str(s)]["next_round_at"] == t0 + 300


def test_the_next_round_starts_rpo_after_the_previous_one_started(sim, a, b):
    s, t, t0 = frozen_pair(sim, a, b, rpo=60)
    sim.advance(1)  # the initial round arrives
    assert sim.advance(1) == {"ran": 1, "pending": 0}  # the next round starts ...
    assert sim.clock()["now"] == t0 + 60  # ... exactly one rpo after the first
    source = session(a, s)
    assert source["current_snapshot"] == snapshots_of(a, s)[-1]["name"]
    assert snapshots_of(a, s)[-1]["creation_time"] == int(t0 + 60)
    sim.advance(1)
    assert [c["generation_number"] for c in snapshots_of(b, t)] == [1, 2]
    assert session(b, t)["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % snapshots_of(b, t)[-1]["id"]}


def test_a_round_still_running_when_the_next_is_due_delays_it_until_it_ends(sim, a, b):
    slow_rounds(sim, 90)  # longer than the rpo of 60
    s, t, t0 = frozen_pair(sim, a, b, rpo=60)
    sim.advance(1)  # t0 + 60: the next round is due, the first still runs
    assert sim.clock()["now"] == t0 + 60 and len(snapshots_of(a, s)) == 1
    sim.advance(1)  # t0 + 90: the first arrives and the next starts at once
    assert sim.clock()["now"] == t0 + 90
    assert [x["creation_time"] for x in snapshots_of(a, s)] == [int(t0), int(t0 + 90)]
    assert [(h["round_start"], h["round_end"]) for h in history_of(a, s)] == [(int(t0), int(t0 + 90)),
                                                                              (int(t0 + 90), 0)]
    sim.advance(2)  # t0 + 150 due while running; t0 + 180 it arrives and the third starts
    assert [x["creation_time"] for x in snapshots_of(a, s)] == [int(t0), int(t0 + 90), int(t0 + 180)]


# ---- progress and the link ------------------------------------------------------------------------
def test_progress_and_remaining_time_are_worked_out_from_the_clock(sim, a, b):
    slow_rounds(sim)
    s, t, t0 = frozen_pair(sim, a, b)
    shown = session(a, s)
    assert (shown["current_snapshot_progress"], shown["estimated_remaining_time"]) == (0, 100)
    sim.advance(seconds=25)
    shown = session(a, s)
    assert (shown["current_snapshot_progress"], shown["estimated_remaining_time"]) == (25, 75)
    assert [x["id"] for x in a.ok("GET", SESSIONS, params={"current_snapshot_progress__gte": 25})["hits"]] == [s]
    sim.slow_link(2, "k2-a", "k2-b")  # half the speed from now on
    shown = session(a, s)
    assert (shown["current_snapshot_progress"], shown["estimated_remaining_time"]) == (25, 150)
    link = sim.link("k2-a", "k2-b")
    assert (link["slowdown"], link["effective_speed"], link["cut"]) == (2.0, MB / 2, False)
    sim.set_link_speed(4 * MB, "k2-a", "k2-b")  # the pair's own speed, still slowed down by 2
    assert session(a, s)["estimated_remaining_time"] == 38  # 75 MB at 2 MB/s
    sim.advance(1)
    assert sim.clock()["now"] == t0 + 25 + 37.5
    assert session(a, s)["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % snapshots_of(a, s)[0]["id"]}


def test_a_global_slowdown_and_speed(sim, a, b):
    slow_rounds(sim)
    s = frozen_pair(sim, a, b)[0]
    sim.slow_link(4)
    assert session(a, s)["estimated_remaining_time"] == 400
    assert sim.config()["link_slowdown"] == 4.0
    sim.set_link_speed(8 * MB)
    assert session(a, s)["estimated_remaining_time"] == 50
    assert sim.links() == [{"arrays": ["k2-a", "k2-b"], "speed": None, "slowdown": 1.0, "cut": False,
                            "effective_speed": 2.0 * MB}]


def test_a_stalled_transfer_never_completes_until_let_go(sim, a, b):
    slow_rounds(sim)
    s, t, t0 = frozen_pair(sim, a, b)
    sim.advance(seconds=10)
    assert sim.stall("k2-a", "s1") == {"array": "k2-a", "session": s, "name": "s1", "stalled": True}
    sim.advance(seconds=30)
    shown = session(a, s)
    assert (shown["current_snapshot_progress"], shown["estimated_remaining_time"], shown["state"]) == (
        10, None, "in_sync")
    sim.advance()  # nothing in flight can arrive: it returns, the round still running
    assert session(a, s)["current_snapshot"] and session(b, t)["latest_replicated_snapshot"] is None
    assert sim.dump("k2-a")["replication"][str(s)]["stalled"] is True
    assert sim.unstall("k2-a", s)["stalled"] is False
    assert session(a, s)["estimated_remaining_time"] == 90
    sim.advance()
    assert session(b, t)["latest_replicated_snapshot"] is not None


def test_a_cut_link_stops_rounds_but_sessions_stay_in_sync_and_transitions_still_pass(sim, a, b):
    sim.cut_link("k2-a", "k2-b")
    s, t, t0 = frozen_pair(sim, a, b, rpo=60)
    assert (state_of(a, s), state_of(b, t)) == ("in_sync", "in_sync")
    assert sim.advance(seconds=180)["ran"] == 1  # the next round falls due; the first still cannot arrive
    assert sim.clock()["now"] == t0 + 180
    shown = session(a, s)
    assert shown["state"] == "in_sync" and shown["current_snapshot_progress"] == 0
    assert shown["estimated_remaining_time"] is None and shown["latest_replicated_snapshot"] is None
    assert sim.links()[0]["cut"] is True and sim.links()[0]["effective_speed"] == 0
    sim.restore_link("k2-a", "k2-b")
    sim.advance(1)  # the first round arrives, and the second (due long ago) starts at once
    assert session(b, t)["latest_replicated_snapshot"] is not None
    assert [x["creation_time"] for x in snapshots_of(a, s)] == [int(t0), int(t0 + 180 + 1 / 32.0)]
    sim.cut_link("k2-a", "k2-b")
    a.ok("PATCH", url(s), {"state": "suspended"})  # management still reaches the peer
    sim.advance()
    assert (state_of(a, s), state_of(b, t)) == ("suspended", "suspended")


def test_a_down_array_stops_the_transfer_without_suspending_the_session(sim, a, b):
    s, t, t0 = frozen_pair(sim, a, b)
    sim.down("k2-b")
    sim.advance()
    assert state_of(a, s) == "in_sync" and session(a, s)["estimated_remaining_time"] is None
    sim.up("k2-b")
    sim.advance()
    source, target = session(a, s), session(b, t)
    assert (source["state"], target["state"]) == ("in_sync", "in_sync")
    assert target["latest_replicated_snapshot"] is not None and source["current_snapshot"] is None


# ---- leaving in_sync, resuming, the rpo -------------------------------------------------------------
def test_leaving_in_sync_drops_the_running_round_and_a_resume_starts_one(sim, a, b):
    slow_rounds(sim)
    s, t, t0 = frozen_pair(sim, a, b)
    sim.set_delay(25)
    a.ok("PATCH", url(s), {"state": "suspended"})
    sim.advance(1)  # lands at t0 + 25: the round is dropped
    shown = session(a, s)
    assert (shown["state"], shown["current_snapshot"], shown["current_snapshot_progress"]) == ("suspended", None, 0)
    assert shown["estimated_remaining_time"] is None and shown["latest_replicated_snapshot"] is None
    (record,) = history_of(a, s)
    assert (record["round_end"], record["bytes_transmitted_logical"]) == (int(t0 + 25), 25 * MB)
    (dropped,) = snapshots_of(a, s)
    assert dropped["is_exist_on_peer"] is False and snapshots_of(b, t) == []
    sim.advance(1)  # the mirror: k2-b suspended
    assert state_of(b, t) == "suspended"
    a.ok("PATCH", url(s), {"state": "in_sync"})
    sim.advance(1)  # t0 + 75: resumed, a round starts at once
    assert [x["creation_time"] for x in snapshots_of(a, s)] == [int(t0), int(t0 + 75)]
    assert snapshots_of(a, s)[-1]["generation_number"] == 2 and session(a, s)["current_snapshot_progress"] == 0


def test_a_failover_drops_the_round_and_a_reverse_replicates_from_the_other_side(sim, a, b):
    slow_rounds(sim)
    s, t, t0 = frozen_pair(sim, a, b)
    b.ok("PATCH", url(t), {"state": "failed_over"})
    sim.advance(2)  # the failover, then the source suspended (peer_failed_over): its round is dropped
    assert session(a, s)["current_snapshot"] is None and sim.dump("k2-a")["replication"][str(s)]["replicating"] is False
    b.ok("PATCH", url(t), {"state": "in_sync"})
    sim.advance(1)  # reversed: k2-b is the source and starts a round
    assert session(b, t)["current_snapshot"] and snapshots_of(b, t)[-1]["triggered_by"] == "Replication"
    sim.advance()
    assert session(a, s)["latest_replicated_snapshot"] is not None
    assert snapshots_of(a, s)[-1]["is_originating_from_peer"] is True


def test_an_rpo_change_moves_the_next_round(sim, a, b):
    s, t, t0 = frozen_pair(sim, a, b)
    sim.advance(1)
    a.ok("PATCH", url(s), {"rpo": 60})
    sim.advance(1)
    assert sim.clock()["now"] == t0 + 60 and snapshots_of(a, s)[-1]["creation_time"] == int(t0 + 60)
    assert history_of(a, s)[-1]["target_rpo"] == 60


# ---- user-requested replication snapshots -------------------------------------------------------------
def test_a_user_snapshot_waits_for_the_running_round_then_travels_as_one(sim, a, b):
    slow_rounds(sim)
    s, t, t0 = frozen_pair(sim, a, b)
    first = session(a, s)["current_snapshot"]
    mine = a.ok("POST", "/snapshots", {"replication_session": {"ref": url(s)}, "short_name": "before_dr"})
    assert (mine["generation_number"], mine["triggered_by"], mine["creation_time"]) == (2, "api", int(t0))
    assert session(a, s)["current_snapshot"] == first  # queued behind the running round
    assert sim.dump("k2-a")["replication"][str(s)]["queue"] == [mine["id"]]
    sim.advance(1)  # t0 + 100: the first round arrives, the user's starts
    assert session(a, s)["current_snapshot"] == mine["name"] == "vg_oracle_prod:before_dr"
    sim.advance(1)  # t0 + 200
    copy = snapshots_of(b, t)[-1]
    assert session(b, t)["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % copy["id"]}
    assert (copy["short_name"], copy["triggered_by"], copy["creation_time"]) == ("before_dr", "Replication_API", int(t0))
    sim.advance(1)  # the schedule counts the user's round: the next starts rpo after it started
    assert sim.clock()["now"] == t0 + 100 + 300
    assert history_of(a, s)[-1]["generation_number"] == 3


# ---- bounded storage ------------------------------------------------------------------------------------
def test_only_the_last_rounds_are_kept_on_both_arrays(sim, a, b):
    s, t, t0 = frozen_pair(sim, a, b, rpo=60)
    sim.advance(1)
    mine = a.ok("POST", "/snapshots", {"replication_session": {"ref": url(s)}})
    sim.advance(1)
    for rounds in range(8):
        assert sim.advance(2)["ran"] == 2, rounds  # a periodic round starts and arrives
    source, target = session(a, s), session(b, t)
    kept = [x for x in snapshots_of(a, s) if x["triggered_by"] == "Replication"]
    copies = [x for x in snapshots_of(b, t) if x["triggered_by"] == "Replication"]
    assert [x["generation_number"] for x in kept] == [x["generation_number"] for x in copies] == [6, 7, 8, 9, 10]
    assert [x["id"] for x in snapshots_of(a, s) if x["triggered_by"] == "api"] == [mine["id"]]  # the user's stays
    assert len([x for x in snapshots_of(b, t) if x["triggered_by"] == "Replication_API"]) == 1
    assert source["common_snapshots_count"] == target["common_snapshots_count"] == 6
    assert source["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % kept[-1]["id"]}
    assert [h["generation_number"] for h in history_of(a, s)] == [6, 7, 8, 9, 10]
    assert len(history_of(b, t)) == 5


# ---- the clock --------------------------------------------------------------------------------------------
def test_the_date_header_and_every_timestamp_follow_the_array_clock(sim, a, b):
    sim.manual_clock(True)
    now = sim.clock()["now"]
    response = a.get("/system/state")
    assert date_of(response) == int(now)
    vg = a.ok("POST", "/volume_groups", {"name": "vg_clock", "quota": 0})
    assert vg["creation_time"] == int(now)
    sim.advance(seconds=7200)
    assert date_of(a.get("/system/state")) == int(now + 7200) and sim.clock()["frozen"] is True
    sim.manual_clock(False)
    assert sim.clock()["now"] >= now + 7200  # it goes on from where it was


def test_the_time_scale_runs_the_clock_and_the_rounds_faster(sim, a, b):
    sim.set_time_scale(600)  # rpo 60: a round every 0.1 real seconds
    assert sim.config()["time_scale"] == 600.0
    wait_for(lambda: date_of(a.get("/system/state")) - time.time() > 600, timeout=30, what="the array clock ahead")
    src, tgt = create_pair(a, b, rpo=60)
    transition(a, src["id"], "in_sync")
    wait_for(lambda: len(snapshots_of(b, tgt["id"])) >= 4, timeout=60, what="four rounds on k2-b")
    starts = [x["creation_time"] for x in snapshots_of(b, tgt["id"])]
    assert all(abs(later - earlier - 60) <= 1 for earlier, later in zip(starts, starts[1:])), starts


def test_manual_clock_runs_rounds_and_transitions_in_due_order(sim, a, b):
    slow_rounds(sim, 10)
    s, t, t0 = frozen_pair(sim, a, b)
    sim.set_delay(5)
    a.ok("PATCH", url(s), {"state": "suspended"})  # due at t0 + 5, before the round's end at t0 + 10
    assert sim.advance(1) == {"ran": 1, "pending": 1}
    assert state_of(a, s) == "suspended" and session(a, s)["current_snapshot"] is None
    assert sim.dump("k2-a")["scheduled"]["round_end"] == 0  # the dropped round's end is gone


# ---- seeds, reset, control errors ------------------------------------------------------------------------
def test_a_seeded_in_sync_session_replicates_from_the_start(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"k2-a": {
        "volume_groups": [{"name": "vg_app", "quota": 0}],
        "replication/sessions": [{"name": "app", "replication_peer_k2array": "k2-b", "local_volume_group": "vg_app",
                                  "rpo": 300, "state": "in_sync"}],
    }}))
    with start(seed=str(seed), transition_delay=0.05, time_scale=2.0) as sim:
        assert sim.config()["time_scale"] == 2.0
        session_id = sim.dump("k2-a")["objects"][SESSIONS.strip("/")][0]["id"]
        wait_for(lambda: sim.dump("k2-b")["objects"]["replication/sessions"][0]["latest_replicated_snapshot"],
                 timeout=30, what="the seeded session's first round on k2-b")
        assert sim.dump("k2-a")["replication"][str(session_id)]["replicating"] is True
        sim.reset()
        assert sim.dump("k2-a")["replication"][str(session_id)]["replicating"] is True


@pytest.mark.parametrize("option", [{"time_scale": 0}, {"round_bytes": 0}, {"link_speed": -5}])
def test_bad_round_options_stop_the_start(option):
    with pytest.raises(StartError, match="exited with code 2") as info:
        start(**option)
    assert "--time-scale, --round-bytes and --link-speed must be positive" in str(info.value)


def test_reset_restores_links_transfers_and_the_clock(sim, a, b):
    src = create_pair(a, b)[0]
    sim.cut_link("k2-a", "k2-b")
    sim.stall("k2-a", src["id"])
    sim.set_time_scale(1000)
    sim.manual_clock(True)
    sim.reset()
    assert sim.links() == [{"arrays": ["k2-a", "k2-b"], "speed": None, "slowdown": 1.0, "cut": False,
                            "effective_speed": 1024.0 ** 3}]
    clock = sim.clock()
    assert clock["frozen"] is False and clock["time_scale"] == 1.0 and abs(clock["now"] - time.time()) < 60


@pytest.mark.parametrize("call, status", [
    (lambda s: s.link("k2-a", "k2-z"), "404"),
    (lambda s: s.set_link("k2-a", "k2-a", cut=True), "400"),
    (lambda s: s.set_link("k2-a", "k2-b", speed=0), "400"),
    (lambda s: s.set_link("k2-a", "k2-b", slowdown="x"), "400"),
    (lambda s: s.set_link("k2-a", "k2-b", cut="yes"), "400"),
    (lambda s: s.set_link("k2-a", "k2-b", colour="red"), "400"),
    (lambda s: s.stall("k2-a", "nothing"), "404"),
    (lambda s: s.stall("k2-z", 1), "404"),
    (lambda s: s.set_time_scale(0), "400"),
    (lambda s: s.set_round_bytes(1.5), "400"),
    (lambda s: s.set_link_speed(-1), "400"),
    (lambda s: s.slow_link(0), "400"),
    (lambda s: s.call("DELETE", "/clock"), "405"),
])
def test_control_errors(sim, call, status):
    with pytest.raises(ControlError, match=status):
        call(sim)
    assert sim.links()[0]["cut"] is False


def test_with_the_default_settings_the_first_round_arrives_with_the_transition(sim, a, b):
    # 32 MiB at 1 GiB/s takes 31 ms: by the time the target has followed (one transition delay
    # after the source landed) the first replicated snapshot is there.
    src, tgt = create_pair(a, b)
    transition(a, src["id"], "in_sync")
    settle(a, b, src["id"], tgt["id"], "in_sync", "in_sync")
    target = session(b, tgt["id"])
    assert target["latest_replicated_snapshot"] is not None and target["common_snapshots_count"] == 1


def test_advance_by_seconds_needs_the_manual_clock(sim, a):
    with pytest.raises(ControlError, match="manual_clock"):
        sim.advance(seconds=5)
    sim.manual_clock(True)
    with pytest.raises(ControlError, match="400"):
        sim.call("POST", "/advance", {"events": 1, "seconds": 5})
    with pytest.raises(ControlError, match="400"):
        sim.call("POST", "/advance", {"minutes": 5})
    now = sim.clock()["now"]
    assert sim.advance(seconds=90) == {"ran": 0, "pending": 0}
    assert sim.clock()["now"] == now + 90
