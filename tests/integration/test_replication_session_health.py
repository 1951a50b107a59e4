# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session_info with health=true through real ansible-playbook runs against the
simulator: healthy sessions are ok, a slowed link makes a session late then critical, a stalled
transfer is stalled, a cut link makes sessions late, and 1,000 sessions cost ceil(N/100) requests
per resource read (from the journal).

The simulator replicates on a schedule, on an array clock running TIME_SCALE times faster than real
time (rpo 60: a round every real second). The sessions start together on the manual clock, so their
rounds start at the same simulated times; they then replicate freely for a few rounds (polled, with
deadlines derived from the rpo and the time scale). Before the module reads, the clock is frozen
again (the manual clock) and moved to the age each test wants: the module judges exactly that age,
whatever the load of the machine (its reads take the array's time from the Date header, which
stands still while frozen).
"""

import json
import math
import os
import time

import pytest
import requests
from harness import run_playbook, session_body, start_simulator

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "info", "query.yml")
TIME_SCALE = 60
RPO = 60
SESSIONS = "/replication/sessions"
VGS = {"s1": 5101, "s2": 5102}


def api_call(sim, method, path, body=None, array="k2-a"):
    with requests.Session() as http:
        http.auth = ("admin", sim.users["admin"]["password"])
        answer = http.request(method, sim.arrays[array]["url"] + path, json=body, verify=sim.ca_path, timeout=30)
    assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
    return answer.json() if answer.content else None


def rounds_deadline(rounds):
    """Real seconds to allow for `rounds` rounds: 10 times their time at TIME_SCALE, plus 30."""
    return 30 + 10 * rounds * RPO / TIME_SCALE


def wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.2)


def generations(sim, array="k2-b"):
    """{session name: generation of its latest replicated snapshot} on `array` (0: none yet)."""
    dump = sim.dump(array)
    snaps = {s["id"]: s for s in dump["objects"]["snapshots"]}
    found = {}
    for s in dump["objects"]["replication/sessions"]:
        latest = s["latest_replicated_snapshot"]
        found[s["name"]] = snaps[int(latest["ref"].rsplit("/", 1)[1])]["generation_number"] if latest else 0
    return found


def replicating(sim, names=tuple(VGS), rounds=3):
    """Sessions `names` (rpo RPO) start together and replicate freely until each has `rounds`
    rounds on k2-b; then the clock is frozen with no round in flight. Returns (ids, last round start)."""
    sim.set_time_scale(TIME_SCALE)
    sim.manual_clock(True)
    ids = {}
    for name in names:
        ids[name] = api_call(sim, "POST", SESSIONS, session_body(name, vg_id=VGS[name], rpo=RPO))["id"]
        api_call(sim, "PATCH", "%s/%d" % (SESSIONS, ids[name]), {"state": "in_sync"})
    sim.advance()  # both land at the same time: their rounds start at the same times from now on
    sim.manual_clock(False)
    wait(lambda: all(generations(sim).get("remote_" + n, 0) >= rounds for n in names), rounds_deadline(rounds),
         "%d rounds of %s" % (rounds, ", ".join(names)))
    sim.manual_clock(True)
    sim.advance()  # what is in flight arrives; the next periodic starts stay pending
    starts = {sim.dump("k2-a")["replication"][str(ids[n])]["next_round_at"] - RPO for n in names}
    assert len(starts) == 1, starts
    return ids, starts.pop()


def move_to_age(sim, last_start, age):
    """Move the frozen clock so that the last round started `age` seconds ago; when it is older
    already, the next round (at normal speed) comes first. Returns that round's start."""
    now = sim.clock()["now"]
    while last_start + age <= now:
        sim.advance(seconds=last_start + RPO + 1 - now)
        last_start, now = last_start + RPO, sim.clock()["now"]
    sim.advance(seconds=last_start + age - now)
    return last_start


def health(sim, tmp_path, label="health", **options):
    """Run the module with health=true on k2-a; returns (module result, {name: health})."""
    sim.clear_journal("k2-a")
    result = run_playbook(sim, PLAYBOOK, extra_vars={"queries": [dict(options, id=label, health=True)]},
                          workdir=str(tmp_path / label))
    assert result.rc == 0, result
    (item,) = result.task("List sessions")["results"]
    return item, {s["name"]: s["health"] for s in item["sessions"]}


def reads(sim):
    """[(path below /api/v2, query)] of the GETs k2-a received."""
    return [(e["path"][len("/api/v2"):], e["query"]) for e in sim.journal("k2-a") if e["method"] == "GET"]


def test_healthy_sessions_are_ok_and_three_reads_judge_them(k2sim, tmp_path):
    ids, start = replicating(k2sim)
    move_to_age(k2sim, start, 45)
    now = k2sim.clock()["now"]
    item, found = health(k2sim, tmp_path, fields=["name", "state"])
    assert item["health_summary"] == {"ok": 2, "late": 0, "critical": 0, "stalled": 0, "not_replicating": 0}
    dump = k2sim.dump("k2-a")
    snapshots = {s["id"]: s for s in dump["objects"]["snapshots"]}
    listed = {s["name"]: s for s in dump["objects"]["replication/sessions"]}
    for name in VGS:
        verdict = found[name]
        assert (verdict["status"], verdict["now"], verdict["rpo"]) == ("ok", int(now), RPO)
        latest = listed[name]["latest_replicated_snapshot"]
        assert verdict["recovery_point"] == snapshots[int(latest["ref"].rsplit("/", 1)[1])]["creation_time"]
        assert verdict["age"] == int(now) - verdict["recovery_point"] and 44 <= verdict["age"] <= 46
        assert verdict["reason"].startswith("OK: the recovery point is ")
        assert verdict["transfer"]["in_progress"] is False and verdict["generation_number"] >= 3
    assert all(set(s) == {"name", "state", "health"} for s in item["sessions"])
    # The listing (with what health needs added to the projection), then one request per resource.
    listed, snaps, rounds = reads(k2sim)
    assert listed[0] == SESSIONS and listed[1]["__fields"].startswith("name,state,id,")
    assert snaps[0] == "/snapshots" and len(snaps[1]["id__in"].split(",")) == 2
    assert rounds == ("/replication/rpo_history", {
        "round_end": "0", "session.ref__in": ",".join("%s/%d" % (SESSIONS, ids[n]) for n in VGS),
        "__fields": "id,session,round_start,round_end,generation_number", "__limit": "100", "__offset": "0"})


def test_a_slowed_link_turns_the_session_late_then_critical(k2sim, tmp_path):
    ids, start = replicating(k2sim, ("s1",))
    k2sim.slow_link(10 ** 6)  # the next round (due at start + 60) barely moves
    move_to_age(k2sim, start, 100)
    found = health(k2sim, tmp_path, "late")[1]["s1"]
    late_generation = found["generation_number"]
    assert found["status"] == "late", found
    assert found["transfer"]["in_progress"] is True and found["transfer"]["round_age"] in (39, 40, 41)
    assert found["reason"].startswith("Late: the recovery point is ") and "over 1.25 x rpo (75 s)" in found["reason"]
    move_to_age(k2sim, start, 150)
    found = health(k2sim, tmp_path, "critical")[1]["s1"]
    assert found["status"] == "critical", found
    assert "over 2 x rpo (120 s)" in found["reason"]
    k2sim.slow_link(1)  # back to normal: the round in flight arrives, then the one due meanwhile
    k2sim.advance()
    now = int(k2sim.clock()["now"])
    found = health(k2sim, tmp_path, "recovered")[1]["s1"]
    assert (found["status"], found["now"], found["generation_number"]) == ("ok", now, late_generation + 2), found
    # The recovery point is the catch-up round's start, shown in whole seconds; that round runs a
    # fraction of a second, so it ends in the same second or the next one.
    assert found["age"] == now - found["recovery_point"] and found["age"] in (0, 1), found


def test_a_stalled_transfer_is_stalled_and_the_other_session_stays_ok(k2sim, tmp_path):
    ids, start = replicating(k2sim)
    k2sim.stall("k2-a", "s1")
    move_to_age(k2sim, start, 60 + 130)  # s1's round (started at +60) has run 130 s; s2 keeps replicating
    item, found = health(k2sim, tmp_path)
    assert found["s1"]["status"] == "stalled", found["s1"]
    assert found["s1"]["reason"] in ["Stalled: the running round started %d s ago, over 2 x rpo (120 s)." % age
                                     for age in (129, 130, 131)]
    assert found["s2"]["status"] == "ok", found["s2"]
    assert item["health_summary"] == {"ok": 1, "late": 0, "critical": 0, "stalled": 1, "not_replicating": 0}


def test_a_cut_link_makes_the_sessions_late_and_a_suspended_one_is_not_replicating(k2sim, tmp_path):
    ids, start = replicating(k2sim)
    k2sim.cut_link("k2-a", "k2-b")
    move_to_age(k2sim, start, 100)
    item, found = health(k2sim, tmp_path)
    assert [found[n]["status"] for n in VGS] == ["late", "late"], found
    assert all(found[n]["transfer"]["estimated_remaining_time"] is None for n in VGS)  # nothing moves
    api_call(k2sim, "PATCH", "%s/%d" % (SESSIONS, ids["s2"]), {"state": "suspended"})
    k2sim.advance(1)
    found = health(k2sim, tmp_path, "suspended")[1]
    assert found["s2"]["status"] == "not_replicating" and "suspend_reason_code user_request" in found["s2"]["reason"]


# ---- scale ------------------------------------------------------------------------------------------
COUNT = 1000
STALLED = (7, 150, 333, 512, 999)


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    """A simulator whose k2-a holds COUNT in_sync sessions (rpo 300) replicating to k2-b."""
    data = {"k2-a": {
        "volume_groups": [{"name": "vg-%04d" % i, "quota": 0} for i in range(1, COUNT + 1)],
        "replication/sessions": [{"name": "s-%04d" % i, "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%04d" % i, "rpo": 300, "state": "in_sync"}
                                 for i in range(1, COUNT + 1)],
    }}
    path = tmp_path_factory.mktemp("health-seed") / "seed.json"
    path.write_text(json.dumps(data))
    simulator = start_simulator(seed=str(path))
    try:
        yield simulator
    finally:
        simulator.stop()


def test_a_thousand_sessions_cost_ceil_n_over_100_requests_per_resource(thousand, tmp_path):
    sim = thousand
    wait(lambda: sum(1 for g in generations(sim).values() if g) == COUNT, 120, "every first round on k2-b")
    by_name = {s["name"]: s["id"] for s in sim.dump("k2-a")["objects"]["replication/sessions"]}
    for i in STALLED:  # a replication snapshot whose transfer is stalled: a round running
        name = "s-%04d" % i
        sim.stall("k2-a", name)
        api_call(sim, "POST", "/snapshots", {"replication_session": {"ref": "%s/%d" % (SESSIONS, by_name[name])}})
    item, found = health(sim, tmp_path)
    assert len(found) == COUNT and item["health_summary"]["ok"] == COUNT
    for i in STALLED:
        transfer = found["s-%04d" % i]["transfer"]
        assert transfer["in_progress"] is True and transfer["round_start"] is not None
    assert sum(1 for h in found.values() if h["transfer"]["round_start"] is not None) == len(STALLED)
    requested = reads(sim)
    per_resource = {}
    for path, query in requested:
        per_resource.setdefault(path, []).append(query)
    expected = math.ceil(COUNT / 100)
    assert {path: len(queries) for path, queries in per_resource.items()} == {
        SESSIONS: expected, "/snapshots": expected, "/replication/rpo_history": expected}
    assert len(sim.journal("k2-a")) == 3 * expected  # nothing else
    assert sum(len(q["id__in"].split(",")) for q in per_resource["/snapshots"]) == COUNT
    assert all(len(q["session.ref__in"].split(",")) == 100 and q["round_end"] == "0"
               for q in per_resource["/replication/rpo_history"])
