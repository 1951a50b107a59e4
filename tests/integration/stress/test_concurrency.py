# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency (issue 10), through real ansible-playbook runs against one array.

1. 20 forks converging 200 sessions, one k2_replication_session task per session: a play over 200
   inventory hosts (one per session, connection local) with --forks 20, so 20 worker processes run
   the module against the array at the same time (not a loop in one worker, and not async jobs
   started by one worker). Busy answers are injected on every method: each session must exist
   exactly once with its declared values, and a second run changes nothing.
2. Two k2_replication_topology runs on the same array at the same time (two ansible-playbook
   processes started together, as two overlapping AWX jobs), declaring the same 40 new sessions:
   nothing is created twice and every session converges; a create the array refuses because the
   other run has just made that session is read again and converged from there.
"""

import collections
import json
import os
import re
import sys
import threading

from harness import eventually, run_playbook
from harness.fixtures import simulator_fixtures

SESSIONS = "/api/v2/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
PEER = "/replication/peer_k2arrays/1"
FORKS, MANY, RACED = 20, 200, 40
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _seed():
    groups = [{"id": 40000 + i, "name": "cvg%03d" % i, "quota": 0} for i in range(1, MANY + 1)]
    groups += [{"id": 41000 + i, "name": "rvg%03d" % i, "quota": 0} for i in range(1, RACED + 1)]
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "k2-concurrency-seed-%d.json" % os.getpid())
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"k2-a": {"volume_groups": groups}}, handle)
    return path


conc_sim_fixture, conc_sim_reset_fixture = simulator_fixtures(
    "conc_sim", seed=_seed(), transition_delay=0.05,
    users=["admin:admin-k2sim:admin", "admin2:admin2-k2sim:admin", "monitor:monitor-k2sim:read_only"])

ONE_PER_HOST = json.dumps([{
    "name": "One session per host", "hosts": "sessions", "gather_facts": False,
    "tasks": [{"name": "Session", "kaminario.k2.k2_replication_session": {
        "name": "{{ inventory_hostname }}", "replication_peer_k2array": PEER,
        "local_volume_group": "{{ vg_id }}", "rpo": "{{ rpo }}", "replication_state": "in_sync"}}]}])


def declared(index):
    return dict(vg_id=str(40000 + index), rpo=(60, 300, 900, 3600)[index % 4])


def recap(result):
    return dict((m.group(1), tuple(int(v) for v in m.groups()[1:])) for m in RECAP.finditer(result.stdout))


def test_20_forks_converge_200_sessions_with_busy_answers(conc_sim, tmp_path):
    hosts = dict(("c%03d" % i, dict(declared(i), ansible_connection="local",
                                    ansible_python_interpreter=sys.executable)) for i in range(1, MANY + 1))
    inventory = json.dumps({"all": {"children": {"sessions": {"hosts": hosts}}}})
    # At most 5 busy answers per method, so no request can meet more than its 5 retries allow.
    for kind, method, count, options in (("busy", "POST", 2, {"code": "MC_ERR_BUSY"}), ("503", "POST", 2, {}),
                                         ("busy", "POST", 1, {"code": "MC_ERR_START_TIMEOUT"}),
                                         ("busy", "PATCH", 2, {"code": "MC_ERR_INPROGRESS"}),
                                         ("429", "PATCH", 2, {"retry_after": 1}),
                                         ("busy", "PATCH", 1, {"code": "MC_ERR_BUSY_SPECIFIC"}),
                                         ("503", "GET", 5, {})):
        conc_sim.fault("k2-a", kind, method, "/replication/sessions*", count=count, **options)
    result = run_playbook(conc_sim, ONE_PER_HOST, inventory=inventory, workdir=str(tmp_path / "first"),
                          extra_args=("--forks", str(FORKS)), env={"K2_HARNESS_RESULTS": ""}, timeout=1200)
    assert result.rc == 0, result
    stats = recap(result)
    assert len(stats) == MANY and all(s == (1, 1, 0, 0) for s in stats.values()), result
    assert conc_sim.faults("k2-a") == [], "a busy answer was never given"

    journal = conc_sim.journal("k2-a", clear=True)
    refused = [e for e in journal if e["fault"]]
    assert len(refused) == 15
    # Many module runs were at the array at once.
    in_flight = _max_in_flight(journal)
    assert in_flight >= 2, "the module runs never overlapped (max %d requests in flight)" % in_flight
    posts = collections.Counter(e["body"]["name"] for e in journal if e["method"] == "POST" and e["status"] == 201)
    assert sorted(posts) == sorted(hosts) and set(posts.values()) == {1}
    sessions = conc_sim.dump("k2-a")["objects"]["replication/sessions"]
    names = collections.Counter(s["name"] for s in sessions)
    assert sorted(names) == sorted(hosts) and set(names.values()) == {1}
    for s in sessions:
        want = declared(int(s["name"][1:]))
        assert (int(s["rpo"]), s["local_volume_group"]["ref"], s["state"]) == (
            want["rpo"], "/volume_groups/%s" % want["vg_id"], "in_sync"), s

    again = run_playbook(conc_sim, ONE_PER_HOST, inventory=inventory, workdir=str(tmp_path / "second"),
                         extra_args=("--forks", str(FORKS)), env={"K2_HARNESS_RESULTS": ""}, timeout=1200)
    assert again.rc == 0, again
    assert all(s == (1, 0, 0, 0) for s in recap(again).values()) and len(recap(again)) == MANY, again
    assert [e for e in conc_sim.journal("k2-a") if e["method"] in WRITES] == []
    print("20 forks x 200 sessions: max %d requests in flight at once" % in_flight)


def _max_in_flight(journal):
    """The most requests the array was handling at the same moment (journal time and duration)."""
    edges = sorted([(e["time"], 1) for e in journal] + [(e["time"] + e["duration_ms"] / 1000.0, -1) for e in journal])
    best = current = 0
    for _t, step in edges:
        current += step
        best = max(best, current)
    return best


TOPOLOGY = {"defaults": {"replication_peer_k2array": PEER, "rpo": 300, "replication_state": "in_sync"},
            "sessions": [{"name": "r%03d" % i, "local_volume_group": str(41000 + i)} for i in range(1, RACED + 1)]}
TOPOLOGY_PLAY = json.dumps([{"name": "Topology", "hosts": "localhost", "gather_facts": False, "tasks": [
    {"name": "Topology", "kaminario.k2.k2_replication_topology": TOPOLOGY}]}])


def test_two_topology_runs_at_the_same_time(conc_sim, tmp_path):
    # The runs overlap by construction, however slowly either starts: with the manual clock on, no
    # transition lands, so the first run to write stays at the array (polling for its transitions)
    # until the other run has sent its first request too; only then does the clock run again
    # (transitions take 1.5 s, each request 10 ms).
    conc_sim.set_delay(1.5)
    conc_sim.set_latency(10)
    conc_sim.manual_clock(True)
    results = {}
    barrier = threading.Barrier(2)

    def job(user):  # each job with its own account, so the journal tells them apart
        barrier.wait()
        results[user] = run_playbook(conc_sim, TOPOLOGY_PLAY, user=user, workdir=str(tmp_path / user), timeout=600)

    threads = [threading.Thread(target=job, args=(user,)) for user in ("admin", "admin2")]
    for thread in threads:
        thread.start()
    both = eventually(lambda: {e["user"] for e in conc_sim.journal("k2-a")} >= {"admin", "admin2"}, timeout=500)
    conc_sim.manual_clock(False)
    for thread in threads:
        thread.join()
    assert both, "the two runs did not both reach the array within 500 s"
    journal = conc_sim.journal("k2-a", clear=True)
    # The two runs overlapped: each one's first request came before the other's last one.
    span = dict((u, (min(e["time"] for e in journal if e["user"] == u), max(e["time"] for e in journal
                                                                            if e["user"] == u))) for u in results)
    assert span["admin"][0] < span["admin2"][1] and span["admin2"][0] < span["admin"][1], span
    raced = [e for e in journal if e["method"] == "POST" and e["status"] == 400]

    created = collections.Counter(e["body"]["name"] for e in journal if e["method"] == "POST" and e["status"] == 201)
    assert sorted(created) == [s["name"] for s in TOPOLOGY["sessions"]] and set(created.values()) == {1}, created
    sessions = conc_sim.dump("k2-a")["objects"]["replication/sessions"]
    names = collections.Counter(s["name"] for s in sessions)
    assert set(names.values()) == {1} and len(names) == RACED
    assert all(s["state"] == "in_sync" for s in sessions), [(s["name"], s["state"]) for s in sessions]

    for name, result in results.items():
        task = result.task("Topology")
        failed = [e for e in task["sessions"] if e["status"] == "failed"]
        if result.rc == 0:
            assert not failed
            continue
        # A clean failure: the array's answer and where the session is, for each session named.
        assert failed and task["msg"].startswith("%d of %d sessions were not converged" % (len(failed), RACED)), task
        for entry in failed:
            assert "HTTP 400" in entry["msg"] and "when last read" in entry["msg"], entry
    # A create refused because the other run had just made that session is read again and
    # converged from there: at least one of the runs (in practice both) ends converged.
    assert any(r.rc == 0 for r in results.values()), results
    for entry in raced:  # a POST the array refused: the name was taken by the other run
        assert entry["body"]["name"] in created, entry
    print("two topology runs: %d POSTs refused as duplicates, rc %s" % (len(raced), sorted(
        (u, r.rc) for u, r in results.items())))
    again = run_playbook(conc_sim, TOPOLOGY_PLAY, workdir=str(tmp_path / "again"))
    assert again.rc == 0 and again.task("Topology")["changed"] is False, again
    assert [e for e in conc_sim.journal("k2-a") if e["method"] in WRITES] == []
