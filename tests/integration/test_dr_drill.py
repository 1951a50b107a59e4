# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DR drill (issue 16), as an operator runs it, against the two simulator arrays with the example
topology (examples/simulator/topology.yml): apply it; the source array k2-a goes down; an unplanned
failover of every pair of k2-a; k2-a comes back; a drift report (failed over, not drifted); the
failback; a drift report (no drift). A busy array and dropped connections are injected along the
way. Then, from both arrays' journals over the whole drill, no write that the rules forbid: no
resume of a source while its peer is failed over, no DELETE, and while k2-a was down, failover
PATCHes on the DR array only."""

import json
import time

from harness import eventually
from harness.dr import (
    DRIFT_REPORT,
    FAILBACK,
    FAILOVER,
    TOPOLOGY,
    example_topology,
    pairs_of,
    run_dr,
    sessions_on,
    snapshot_all,
)

WRITES = ("POST", "PATCH", "PUT", "DELETE")
ARRAYS = ("k2-a", "k2-b")
FROM_A = ("oracle_prod", "sql_prod")  # the pairs of the example replicating k2-a -> k2-b


def journal(sim):
    """Every request both arrays received, in time order: [(time, array, method, path, body, fault)]."""
    return sorted((e["time"], array, e["seq"], e["method"], e["path"], e["body"], e["fault"]) for array in ARRAYS
                  for e in sim.journal(array))


def ids(sim):
    """{(array, session path): session name} of every session now."""
    return {(array, "/api/v2/replication/sessions/%d" % s["id"]): name for array in ARRAYS
            for name, s in sessions_on(sim, array).items()}


def sides(sim):
    found = {}
    for pair, (source, name, target, remote) in pairs_of(example_topology()).items():
        a, b = sessions_on(sim, source)[name], sessions_on(sim, target)[remote]
        found[pair] = (a["current_role"], a["state"], b["current_role"], b["state"])
    return found


ORIGINAL = {pair: ("source", "in_sync", "target", "in_sync") for pair in ("oracle_prod", "sql_prod", "reports_dr")}


def report(sim, tmp_path, name, **extra):
    folder = tmp_path / name
    result = run_dr(sim, DRIFT_REPORT, str(tmp_path / ("run-" + name)), dict(extra, drift_report_dir=str(folder)),
                    check=True)
    with open(folder / "drift_report.json", encoding="utf-8") as handle:
        return result, json.load(handle)


def test_dr_drill(k2sim, tmp_path):
    sim = k2sim
    # 1. Apply the example topology; k2-a is busy for the first two creates (retried).
    sim.fault("k2-a", "busy", "POST", "/replication/sessions", count=2)
    result = run_dr(sim, TOPOLOGY, str(tmp_path / "apply"))
    assert result.rc == 0, result
    assert sides(sim) == ORIGINAL
    snapshot_all(sim)  # a replication round: each target half has a snapshot to restore

    # 2. k2-a goes down. Unplanned failover of every pair of k2-a, on k2-b alone; k2-b is busy once
    #    and drops the connection of one PATCH after carrying it out (the outcome is read back).
    sim.down("k2-a")
    sim.fault("k2-b", "busy", "PATCH", "/replication/sessions/*", count=1)
    sim.fault("k2-b", "502_after", "PATCH", "/replication/sessions/*", count=1)
    disaster = time.time()  # the simulator journals with this machine's clock
    result = run_dr(sim, FAILOVER, str(tmp_path / "failover"), {"k2_failover_source": "k2-a"})
    assert result.rc == 0, result
    during_failover = [e for e in journal(sim) if e[0] >= disaster]
    summary = result.task("Publish the summary")["ansible_stats"]["data"]["k2_failover"]
    assert {p["pair"]: p["status"] for p in summary["pairs"]} == {
        "oracle_prod": "failed_over", "sql_prod": "failed_over"}
    on_b = sessions_on(sim, "k2-b")
    assert [on_b["remote_" + n]["state"] for n in FROM_A] == ["failed_over", "failed_over"]
    assert {t["host"] for t in result.tasks if t["action"].startswith("kaminario.")} == {"k2-b"}

    # 3. k2-a comes back: its sessions read suspended (link_down), their peers failed over.
    sim.up("k2-a")
    assert eventually(lambda: all(sessions_on(sim, "k2-a")[n]["state"] == "suspended" for n in FROM_A))

    # 4. Drift report (a read of k2-b drops its connection once, and is retried): failed over, not drifted.
    sim.fault("k2-b", "reset", "GET", "/replication/sessions*", count=1)
    result, found = report(sim, tmp_path, "after-failover")
    assert result.rc == 0, result
    assert {p["name"]: p["status"] for p in found["pairs"]} == {
        "oracle_prod": "failed_over", "sql_prod": "failed_over", "reports_dr": "in_sync"}
    assert all("failback" in p["fix"] for p in found["pairs"] if p["status"] == "failed_over")

    # 5. Failback; k2-b is busy for the first snapshot, and k2-a drops the connection of a PATCH
    #    after carrying it out.
    sim.fault("k2-b", "busy", "POST", "/snapshots", count=1)
    sim.fault("k2-a", "502_after", "PATCH", "/replication/sessions/*", count=1)
    result = run_dr(sim, FAILBACK, str(tmp_path / "failback"), {"k2_failback_source": "k2-a"})
    assert result.rc == 0, result
    assert sides(sim) == ORIGINAL

    # 6. Drift report: no drift (it fails the play if there is any).
    result, found = report(sim, tmp_path, "after-failback", fail_on_drift=True)
    assert result.rc == 0, result
    assert found["summary"]["drift"] is False and found["summary"]["in_sync"] == 3

    # Every fault injected was met along the way.
    assert sim.faults("k2-a") == [] and sim.faults("k2-b") == []
    entries = journal(sim)
    assert sorted({(array, fault) for _t, array, _s, _m, _p, _b, fault in entries if fault}) == [
        ("k2-a", "502_after"), ("k2-a", "busy"), ("k2-b", "502_after"), ("k2-b", "busy"), ("k2-b", "reset")]

    # The rules, from both journals over the whole drill.
    names = ids(sim)
    writes = [(t, array, names.get((array, path), path), method, body) for t, array, _s, method, path, body, _f
              in entries if method in WRITES]
    assert [w for w in writes if w[3] == "DELETE"] == []
    # While k2-a was down: no task asked k2-a anything (above; its journal could not show it), and
    # k2-b got failover PATCHes of the target halves only.
    assert {array for _t, array, *_rest in during_failover} == {"k2-b"}
    patched = [(names.get((array, path), path), method, body) for _t, array, _s, method, path, body, _f
               in during_failover if method in WRITES]
    assert {(name, method, body["state"]) for name, method, body in patched} == {
        ("remote_oracle_prod", "PATCH", "failed_over"), ("remote_sql_prod", "PATCH", "failed_over")}
    # From the failover on, a source of k2-a is resumed (PATCH in_sync) only by the failback's
    # restore: after its own failover on k2-a (it is then the target of its DR half, which reads
    # suspended, not failed over).
    for name in FROM_A:
        on_a = [(t, body) for t, array, session, method, body in writes if array == "k2-a" and session == name
                and method == "PATCH" and t >= disaster]
        resumes = [t for t, body in on_a if body.get("state") == "in_sync"]
        failovers = [t for t, body in on_a if body.get("state") == "failed_over"]
        assert resumes and failovers and min(resumes) > min(failovers), (name, on_a)
    # And the DR half was never touched by a converge while failed over: its only writes are the
    # failover and the failback's reverse (and, from the sync, its snapshot).
    for name in FROM_A:
        states = [body.get("state") for t, array, session, method, body in writes
                  if array == "k2-b" and session == "remote_" + name and method == "PATCH" and t >= disaster]
        assert set(states) == {"failed_over", "in_sync"} and states.index("in_sync") > states.index("failed_over")
