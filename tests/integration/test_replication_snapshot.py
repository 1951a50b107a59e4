# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_snapshot through real ansible-playbook runs against the K2 simulator: the requests
it sends (the simulator's journal), the snapshots the arrays hold afterwards (their dumps, the peer
array's included), check mode, and faults injected on the POST."""

import json
import math
import os
import tempfile

import pytest
import yaml
from harness import run_playbook as run_with, start_simulator
from harness.fixtures import simulator_fixtures

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_snapshot

API = "/api/v2"
SESSIONS = API + "/replication/sessions"
SNAPSHOTS = API + "/snapshots"
WRITES = ("POST", "PATCH", "DELETE")
COUNT = 150  # r001..r150 replicate vg001..vg150 from k2-a to k2-b, in_sync; idle1 replicates vg151, idle


def _seed():
    groups = [{"name": "vg%03d" % i, "quota": 0} for i in range(1, COUNT + 2)]
    sessions = [{"name": "r%03d" % i, "replication_peer_k2array": "k2-b", "local_volume_group": "vg%03d" % i,
                 "rpo": 300, "state": "in_sync"} for i in range(1, COUNT + 1)]
    sessions.append({"name": "idle1", "replication_peer_k2array": "k2-b", "local_volume_group": "vg%03d" % (COUNT + 1),
                     "rpo": 300})
    handle, path = tempfile.mkstemp(prefix="k2-snapshot-seed-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump({"k2-a": {"volume_groups": groups, "replication/sessions": sessions}}, out)
    return path


# The array clock at a crawl, rounds of one byte: each in_sync session's first replication round
# lands at once, and no other round comes during a test.
snap_sim_fixture, snap_sim_reset_fixture = simulator_fixtures("snap_sim", seed=_seed(), time_scale=0.001,
                                                              round_bytes=1)


@pytest.fixture
def take(snap_sim, tmp_path):
    """Run k2_replication_snapshot on `array` with `args`; returns (PlaybookResult, the task's result)."""
    def run(check=False, array="k2-a", **args):
        play = [{"name": "snapshots", "hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "Snapshots", "kaminario.k2.k2_replication_snapshot": args}]}]
        result = run_with(snap_sim, yaml.safe_dump(play), array=array, check=check, workdir=str(tmp_path / "playbook"))
        return result, result.task("Snapshots")
    return run


def names(*numbers):
    return ["r%03d" % i for i in numbers]


def journal(sim, array="k2-a"):
    return [(e["method"], e["path"], e["query"], e["body"], e["status"], e["fault"]) for e in sim.journal(array)]


def writes(sim, array="k2-a"):
    return [e for e in journal(sim, array) if e[0] in WRITES]


def sessions_on(sim, array):
    return dict((s["name"], s) for s in sim.dump(array)["objects"]["replication/sessions"])


def snapshots_on(sim, array):
    """The snapshots taken through the API and their copies, not those of the array's own rounds."""
    return [s for s in sim.dump(array)["objects"]["snapshots"] if s.get("triggered_by") != "Replication"]


def ref(session):
    return {"ref": "/replication/sessions/%d" % session["id"]}


def session_read(numbers):
    query = {"__limit": "100", "__offset": "0", "name__in": ",".join(names(*numbers))}
    return ("GET", SESSIONS, query, None, 200, None)


def snapshot_read(sessions):
    query = {"__limit": "100", "__offset": "0", "__fields": "id,replication_session", "is_originating_from_peer": "False",
             "triggered_by": "api", "replication_session.ref__in": ",".join(ref(s)["ref"] for s in sessions)}
    return ("GET", SNAPSHOTS, query, None, 200, None)


def reread(session):
    query = {"__limit": "100", "__offset": "0", "is_originating_from_peer": "False", "triggered_by": "api",
             "replication_session.ref": ref(session)["ref"]}
    return ("GET", SNAPSHOTS, query, None, 200, None)


def post(session, status=201, fault=None):
    return ("POST", SNAPSHOTS, {}, {"replication_session": ref(session)}, status, fault)


def polls(entries):
    """The poll requests (GET /snapshots?id__in=...) among journal entries, as lists of ids."""
    return [[int(i) for i in e[2]["id__in"].split(",")] for e in entries if e[0] == "GET" and "id__in" in (e[2] or {})]


def check_on_peer(sim, task, numbers):
    """Each entry's snapshot is on k2-a as returned and reached k2-b: a copy of the same generation,
    originating from the peer, in the mirror session's volume group."""
    on_a = dict((s["id"], s) for s in snapshots_on(sim, "k2-a"))
    on_b, remote = snapshots_on(sim, "k2-b"), sessions_on(sim, "k2-b")
    for entry in task["snapshots"]:
        held = on_a[entry["id"]]
        assert entry["snapshot"] == held and held["is_exist_on_peer"] is True, entry
        assert entry["exists_on_peer"] is True and entry["generation_number"] == held["generation_number"]
        mirror = remote["remote_" + entry["session"]]
        copies = [s for s in on_b if s["replication_session"] == ref(mirror)]
        assert [(c["generation_number"], c["is_originating_from_peer"], c["triggered_by"]) for c in copies] == [
            (held["generation_number"], True, "Replication_API")], entry
    assert [e["session"] for e in task["snapshots"]] == names(*numbers)


# ---- the plain run ------------------------------------------------------------------------------


def test_150_sessions_in_one_run_cost_batched_reads_one_post_each_and_polls_by_id(snap_sim, take):
    numbers = list(range(1, COUNT + 1))
    result, task = take(sessions=names(*numbers))
    assert result.rc == 0, result
    assert result.status("Snapshots") == "changed"
    sessions = sessions_on(snap_sim, "k2-a")
    ordered = [sessions[n] for n in names(*numbers)]
    entries = journal(snap_sim)
    reads = math.ceil(COUNT / 100)
    assert entries[:2 * reads] == [session_read(numbers[:100]), session_read(numbers[100:]),
                                   snapshot_read(ordered[:100]), snapshot_read(ordered[100:])]
    assert entries[2 * reads:2 * reads + COUNT] == [post(s) for s in ordered]
    rest = entries[2 * reads + COUNT:]
    assert rest and polls(rest) and len(polls(rest)) == len(rest)  # nothing but polls by id__in after the POSTs
    ids = [e["id"] for e in task["snapshots"]]
    assert polls(rest[:reads]) == [ids[:100], ids[100:]]  # the first round asks for every snapshot
    assert all(len(batch) <= 100 for batch in polls(rest))
    check_on_peer(snap_sim, task, numbers)


def test_one_session_exact_requests(snap_sim, take):
    result, task = take(sessions=names(7))
    assert result.rc == 0, result
    session = sessions_on(snap_sim, "k2-a")["r007"]
    entries = journal(snap_sim)
    assert entries[:3] == [("GET", SESSIONS, {"name": "r007"}, None, 200, None), snapshot_read([session]), post(session)]
    assert polls(entries[3:]) == [[task["snapshots"][0]["id"]]] * len(entries[3:])
    check_on_peer(snap_sim, task, [7])


def test_check_mode_sends_no_write(snap_sim, take):
    result, task = take(check=True, sessions=names(1, 2, 3))
    assert result.rc == 0, result
    assert result.status("Snapshots") == "changed"
    assert [(e["session"], e["snapshot"], e["exists_on_peer"]) for e in task["snapshots"]] == [
        (n, {}, False) for n in names(1, 2, 3)]
    assert journal(snap_sim) == [session_read([1, 2, 3])]
    assert snapshots_on(snap_sim, "k2-a") == snapshots_on(snap_sim, "k2-b") == []


@pytest.mark.parametrize("check", [False, True])
def test_sessions_that_cannot_take_one_are_named_before_any_write(snap_sim, take, check):
    result, task = take(check=check, sessions=["r001", "idle1", "ghost", "remote_r002"])
    assert result.rc != 0
    assert task["msg"] == (
        "3 of 4 replication sessions cannot take a replication snapshot, nothing was done: "
        "replication session 'idle1' is idle, not in_sync: only a session in sync takes a replication snapshot; "
        "replication session 'ghost' does not exist on this array; "
        "replication session 'remote_r002' does not exist on this array")
    assert writes(snap_sim) == [] and len(journal(snap_sim)) == 1


def test_on_the_target_array_the_sessions_are_refused(snap_sim, take):
    result, task = take(array="k2-b", sessions=["remote_r001"])
    assert result.rc != 0
    assert task["msg"].endswith("replication session 'remote_r001' is the target side of its pair: a replication "
                                "snapshot is taken on the array of the source side")
    assert writes(snap_sim, "k2-b") == []


# ---- faults on the POST -------------------------------------------------------------------------


@pytest.mark.parametrize("kind, status", [("busy", 400), ("503", 503)])
def test_a_busy_array_is_retried_and_one_snapshot_taken(snap_sim, take, kind, status):
    snap_sim.fault("k2-a", kind, "POST", "/snapshots", count=1)
    result, task = take(sessions=names(1, 2))
    assert result.rc == 0, result
    s1, s2 = (sessions_on(snap_sim, "k2-a")[n] for n in names(1, 2))
    assert writes(snap_sim) == [post(s1, status, kind), post(s1), post(s2)]
    assert len(snapshots_on(snap_sim, "k2-a")) == 2
    check_on_peer(snap_sim, task, [1, 2])


def test_502_after_the_post_adopts_the_snapshot_and_sends_no_second_post(snap_sim, take):
    snap_sim.fault("k2-a", "502_after", "POST", "/snapshots", count=1)
    result, task = take(sessions=names(1, 2))
    assert result.rc == 0, result
    s1, s2 = (sessions_on(snap_sim, "k2-a")[n] for n in names(1, 2))
    entries = journal(snap_sim)
    assert entries[:5] == [session_read([1, 2]), snapshot_read([s1, s2]), post(s1, 502, "502_after"), reread(s1),
                           post(s2)]
    assert len(polls(entries[5:])) == len(entries[5:]) > 0
    assert writes(snap_sim) == [post(s1, 502, "502_after"), post(s2)]
    assert [s["replication_session"] for s in snapshots_on(snap_sim, "k2-a")] == [ref(s1), ref(s2)]
    check_on_peer(snap_sim, task, [1, 2])


def test_502_before_the_post_sends_it_again_and_one_snapshot_exists_in_the_end(snap_sim, take):
    snap_sim.fault("k2-a", "502_before", "POST", "/snapshots", count=1)
    result, task = take(sessions=names(1))
    assert result.rc == 0, result
    s1 = sessions_on(snap_sim, "k2-a")["r001"]
    entries = journal(snap_sim)
    assert entries[1:5] == [snapshot_read([s1]), post(s1, 502, "502_before"), reread(s1), post(s1)]
    assert [s["replication_session"] for s in snapshots_on(snap_sim, "k2-a")] == [ref(s1)]
    check_on_peer(snap_sim, task, [1])


def test_a_post_that_times_out_gets_time_to_show_and_is_adopted(snap_sim, take):
    """The array answers after the module's timeout (1 s) but takes the snapshot: the module re-reads
    until it shows (at most 30 s), and sends no second POST."""
    snap_sim.fault("k2-a", "delay", "POST", "/snapshots", count=1, seconds=2)
    result, task = take(sessions=names(1), timeout=1)
    assert result.rc == 0, result
    s1 = sessions_on(snap_sim, "k2-a")["r001"]
    entries = journal(snap_sim)
    # The simulator journals a request when it has answered it: the POST shows among the re-reads.
    assert entries[:2] == [("GET", SESSIONS, {"name": "r001"}, None, 200, None), snapshot_read([s1])]
    assert writes(snap_sim) == [post(s1, 201, "delay")]
    settle = entries[2:entries.index(post(s1, 201, "delay")) + 2]
    assert settle.count(reread(s1)) == len(settle) - 1 >= 2
    assert len(polls(entries[2 + len(settle):])) == len(entries[2 + len(settle):])
    assert [s["replication_session"] for s in snapshots_on(snap_sim, "k2-a")] == [ref(s1)]
    check_on_peer(snap_sim, task, [1])


@pytest.mark.parametrize("kind, posts", [("502_after", 1), ("502_before", 2)])
def test_a_snapshot_taken_before_the_run_is_never_adopted(snap_sim, take, kind, posts):
    """After a first run, a second run whose POST gets 502 adopts only a snapshot taken by that POST
    (502_after), and sends the POST again when there is none (502_before), though the session has the
    first run's snapshot."""
    result, first = take(sessions=names(3))
    assert result.rc == 0, result
    snap_sim.clear_journal()
    snap_sim.fault("k2-a", kind, "POST", "/snapshots", count=1)
    result, second = take(sessions=names(3))
    assert result.rc == 0, result
    (old,), (new,) = first["snapshots"], second["snapshots"]
    assert new["generation_number"] == old["generation_number"] + 1 and new["id"] != old["id"]
    assert len(writes(snap_sim)) == posts and len(snapshots_on(snap_sim, "k2-a")) == 2
    on_peer = sorted(s["generation_number"] for s in snapshots_on(snap_sim, "k2-b"))
    assert on_peer == [old["generation_number"], new["generation_number"]]


# ---- the documented examples run ------------------------------------------------------------------


def test_the_module_examples_run(tmp_path):
    """EXAMPLES, as written, against two arrays named as in them (array-a, array-b), with the prod-
    sessions they name, in sync."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"array-a": {
        "volume_groups": [{"name": n, "quota": 0} for n in ("prod-vg", "web-vg")],
        "replication/sessions": [{"name": name, "replication_peer_k2array": "array-b", "local_volume_group": vg,
                                  "rpo": 300, "state": "in_sync"}
                                 for name, vg in (("prod-db", "prod-vg"), ("prod-web", "web-vg"))]}}))
    sim = start_simulator(arrays=["array-a", "array-b"], seed=str(seed), time_scale=0.001, round_bytes=1)
    try:
        tasks = yaml.safe_load(k2_replication_snapshot.EXAMPLES)
        play = [{"name": "EXAMPLES of k2_replication_snapshot", "hosts": "localhost", "gather_facts": False,
                 "tasks": tasks}]
        result = run_with(sim, yaml.safe_dump(play, sort_keys=False), array="array-a", workdir=str(tmp_path / "run"),
                          extra_vars={"k2_host": sim.arrays["array-a"]["host"], "k2_username": "admin",
                                      "k2_password": sim.users["admin"]["password"]})
        assert result.rc == 0, result
        statuses = [(t["task"], t["status"]) for t in result.tasks if t["action"].startswith("kaminario.")]
        assert [s for _t, s in statuses] == ["changed", "changed", "ok", "changed"], statuses
        taken = result.task("Take a replication snapshot of two sessions and wait until both are on the peer array")
        assert [(e["session"], e["exists_on_peer"]) for e in taken["snapshots"]] == [("prod-db", True),
                                                                                     ("prod-web", True)]
        last = result.task("Take their snapshots in one module run")
        assert sorted(e["session"] for e in last["snapshots"]) == ["prod-db", "prod-web"]
        assert all(e["exists_on_peer"] for e in last["snapshots"])
        assert len(snapshots_on(sim, "array-b")) == 4
        assert [e["method"] for e in sim.journal("array-a")].count("POST") == 4
    finally:
        sim.stop()
