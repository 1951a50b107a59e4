# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DR cycle ends where it started (issue 16): pairs declared suspended come back suspended after
failover and failback, and a drift report right after shows no drift; a pair declared idle is
skipped by a source failover with a note, not a failure; a failover of a pair that has no replicated
snapshot yet says what to do; a failback that cannot finish every pair names only those. Real
ansible-playbook runs of playbooks/failover.yml, failback.yml and drift_report.yml against the
simulator, judged from both arrays' journals."""

import json
import os

from harness import REPO_ROOT, arrays_inventory, eventually
from harness import run_playbook as run_on_arrays
from harness.scene import Scene

DRIFT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
FAILOVER = os.path.join(REPO_ROOT, "playbooks", "failover.yml")
FAILBACK = os.path.join(REPO_ROOT, "playbooks", "failback.yml")
WRITES = ("POST", "PATCH", "PUT", "DELETE")
ARRAYS = ("k2-a", "k2-b")

DECLARATION = {"defaults": {"rpo": 300}, "pairs": [
    {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod", "replication_state": "in_sync"},
    {"name": "sql", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod",
     "replication_state": "suspended"},
    {"name": "web", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod", "replication_state": "idle"},
]}
DECLARED = {"ora": "in_sync", "sql": "suspended", "web": "idle"}


def sessions(sim, array):
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


def sides(sim):
    """{pair: (role, state) on k2-a, (role, state) of its target half on k2-b}."""
    on_a, on_b = sessions(sim, "k2-a"), sessions(sim, "k2-b")
    return {name: ((on_a[name]["current_role"], on_a[name]["state"]),
                   (on_b["remote_" + name]["current_role"], on_b["remote_" + name]["state"])) for name in DECLARED}


def writes_by_session(sim, array):
    """[(session name, method, body)] of the writes `array` received, in order (snapshots: the POST's
    session)."""
    names = {"/api/v2/replication/sessions/%d" % s["id"]: n for n, s in sessions(sim, array).items()}
    found = []
    for e in sim.journal(array):
        if e["method"] not in WRITES:
            continue
        if e["path"] == "/api/v2/snapshots":
            found.append((names.get("/api/v2" + e["body"]["replication_session"]["ref"]), "POST", e["body"]))
        else:
            found.append((names.get(e["path"], e["path"]), e["method"], e["body"]))
    return found


def replicate_a_snapshot(api, sim, name):
    """A replication snapshot of `name` on k2-a through the API, waited for on k2-b."""
    source = api.find("k2-a", "/replication/sessions", name)
    api.call("k2-a", "POST", "/snapshots", {"replication_session": {"ref": "/replication/sessions/%d" % source["id"]}})
    assert eventually(lambda: sessions(sim, "k2-b")["remote_" + name]["latest_replicated_snapshot"]), name


def run(sim, tmp_path, playbook, check=False, **extra_vars):
    extra_vars.setdefault("k2_topology", DECLARATION)
    folder = tmp_path / ("run%d" % len(os.listdir(tmp_path)))
    return run_on_arrays(sim, playbook, check=check, extra_vars=extra_vars, inventory=arrays_inventory(sim),
                         workdir=str(folder))


def test_the_dr_cycle_ends_where_it_started(k2sim, tmp_path):
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.session("k2-a", "sql", "vg_sql_prod", "k2-b", state="in_sync")
        api.session("k2-a", "web", "vg_web_prod", "k2-b")
        for name in ("ora", "sql"):
            replicate_a_snapshot(api, k2sim, name)
        api.transition("k2-a", "sql", "suspended")
    start = sides(k2sim)
    assert start == {"ora": (("source", "in_sync"), ("target", "in_sync")),
                     "sql": (("source", "suspended"), ("target", "suspended")),
                     "web": (("source", "idle"), ("target", "idle"))}
    k2sim.clear_journal()

    # Every pair of k2-a fails over with k2-a down: web, declared idle, is skipped with a note.
    k2sim.down("k2-a")
    result = run(k2sim, tmp_path, FAILOVER, k2_failover_source="k2-a")
    assert result.rc == 0, result
    summary = result.task("Publish the summary")["ansible_stats"]["data"]["k2_failover"]
    records = {p["pair"]: p for p in summary["pairs"]}
    assert {n: r["status"] for n, r in records.items()} == {
        "ora": "failed_over", "sql": "failed_over", "web": "skipped"}
    assert "the target half is idle: nothing replicates to it" in records["web"]["msg"]
    assert (summary["failed"], summary["refused"], summary["failed_pairs"]) == (0, 0, [])
    assert [(n, m, b["state"]) for n, m, b in writes_by_session(k2sim, "k2-b")] == [
        ("remote_ora", "PATCH", "failed_over"), ("remote_sql", "PATCH", "failed_over")]

    k2sim.up("k2-a")
    k2sim.clear_journal()
    result = run(k2sim, tmp_path, FAILBACK, k2_failback_source="k2-a")
    assert result.rc == 0, result
    assert sides(k2sim) == start
    # sql went back to in_sync on the way (the failover restores in_sync) and was suspended again
    # last; web was never touched.
    on_a = writes_by_session(k2sim, "k2-a")
    assert [(m, b["state"]) for n, m, b in on_a if n == "sql"] == [
        ("PATCH", "failed_over"), ("PATCH", "in_sync"), ("PATCH", "suspended")]
    assert [(m, b["state"]) for n, m, b in on_a if n == "ora"] == [("PATCH", "failed_over"), ("PATCH", "in_sync")]
    assert not [w for w in on_a + writes_by_session(k2sim, "k2-b") if w[0] in ("web", "remote_web")]
    failback = result.task("Publish the summary")["ansible_stats"]["data"]["k2_failback"]
    assert failback["unfinished"] == [] and failback["completed"] == 2

    # A drift report right after: no drift (it fails the play if there is any).
    k2sim.clear_journal()
    folder = tmp_path / "reports"
    result = run(k2sim, tmp_path, DRIFT, check=True, fail_on_drift=True, drift_report_dir=str(folder))
    assert result.rc == 0, result
    with open(folder / "drift_report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert {p["name"]: p["status"] for p in report["pairs"]} == {n: "in_sync" for n in DECLARED}
    assert report["summary"]["drift"] is False
    assert [e for a in ARRAYS for e in k2sim.journal(a) if e["method"] in WRITES] == []


def test_a_pair_with_no_replicated_snapshot_is_refused_saying_what_to_do(k2sim, tmp_path):
    declaration = {"pairs": DECLARATION["pairs"][:1]}
    # The replication link is cut before the pair starts: its first round never reaches k2-b.
    k2sim.cut_link("k2-a", "k2-b")
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")  # no snapshot replicated yet
    k2sim.clear_journal()
    k2sim.down("k2-a")
    result = run(k2sim, tmp_path, FAILOVER, check=True, k2_topology=declaration, k2_failover_pairs="ora")
    assert result.rc != 0, result
    [record] = result.task("Publish the summary")["ansible_stats"]["data"]["k2_failover"]["pairs"]
    assert record["status"] == "refused"
    assert "no snapshot has replicated to k2-b yet" in record["msg"]
    assert "wait for it and run again, or fail over with k2_failover_restored_snapshot=none" in record["msg"]
    assert [e for e in k2sim.journal("k2-b") if e["method"] in WRITES] == []
    # What the message offers works: the failover without a snapshot to restore.
    result = run(k2sim, tmp_path, FAILOVER, k2_topology=declaration, k2_failover_pairs="ora",
                 k2_failover_restored_snapshot="none")
    assert result.rc == 0, result
    assert writes_by_session(k2sim, "k2-b") == [
        ("remote_ora", "PATCH", {"state": "failed_over"})]


def test_a_failback_that_cannot_finish_a_pair_names_only_that_pair(k2sim, tmp_path):
    declaration = {"pairs": DECLARATION["pairs"][:2]}
    with Scene(k2sim) as api:
        for name in ("ora", "sql"):
            api.session("k2-a", name, "vg_oracle_prod" if name == "ora" else "vg_sql_prod", "k2-b", state="in_sync")
        k2sim.down("k2-a")
        api.transition("k2-b", "remote_ora", "failed_over")
        api.transition("k2-b", "remote_sql", "failed_over")
        k2sim.up("k2-a")
        # sql's target half is stopped and deleted on the DR array: it cannot be failed back.
        api.transition("k2-b", "remote_sql", "idle")
        api.delete("k2-b", "remote_sql")
    k2sim.clear_journal()
    result = run(k2sim, tmp_path, FAILBACK, k2_topology=declaration, k2_failback_source="k2-a")
    assert result.rc != 0, result
    message = result.task("Check that every pair replicates in its original direction, in its declared state")["msg"]
    assert message.startswith("1 pair(s) not failed back: sql (k2-a -> k2-b): blocked: the target-side session does "
                              "not exist"), message
    assert "ora" not in message
    on_a, on_b = sessions(k2sim, "k2-a"), sessions(k2sim, "k2-b")
    assert (on_a["ora"]["current_role"], on_a["ora"]["state"]) == ("source", "in_sync")
    assert (on_b["remote_ora"]["current_role"], on_b["remote_ora"]["state"]) == ("target", "in_sync")
    assert [w for w in writes_by_session(k2sim, "k2-a") if w[0] == "sql"] == []
