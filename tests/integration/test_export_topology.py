# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/export_topology.yml through real ansible-playbook runs against the simulator: it
writes the k2_topology declaration of the pairs the arrays hold (both directions, by name, the
options fixed at creation included) with a header that records the arrays and the time; it reads
only (a read_only user, --check); a drift report right after it shows no drift and an apply of it on
empty arrays recreates the same pairs; inventory hosts named otherwise than the arrays are found by
address. It writes nothing when an array cannot be read or a pair is failed over (an existing file
stays byte for byte, the same file), and it leaves existing folders' modes as they are."""

import calendar
import json
import os
import stat
import sys
import time

import pytest
from harness import arrays_inventory
from harness.declaration import load
from harness.scene import Scene, writes
from harness.simulator import REPO_ROOT

EXPORT = os.path.join(REPO_ROOT, "playbooks", "export_topology.yml")
DRIFT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
APPLY = os.path.join(REPO_ROOT, "playbooks", "topology.yml")


@pytest.fixture
def existing(k2sim):
    """Sessions in both directions, with options that differ from the defaults; journals cleared."""
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", rpo=300, state="in_sync")
        api.session("k2-a", "sql", "vg_sql_prod", "k2-b", rpo=900, state="in_sync",
                    remote_replication_session_name="sql-dr", replication_peer_volume_group_name="vg_sql_dr",
                    retention_policy="Best_Effort_Retention", target_exposure="Read Only")
        api.transition("k2-a", "sql", "suspended")
        api.session("k2-a", "web", "vg_web_prod", "k2-b", rpo=60)
        api.session("k2-b", "rep", "vg_reports_dr", "k2-a", rpo=300, state="in_sync")
    k2sim.clear_journal()


def export(run_playbook, k2sim, path, inventory=None, **kwargs):
    """Run the export to `path`; (result, the file as Ansible loads it: `k2_topology_export` and `k2_topology`)."""
    result = run_playbook(EXPORT, extra_vars={"export_topology_path": str(path)},
                          inventory=inventory or arrays_inventory(k2sim), **kwargs)
    assert result.rc == 0, result
    return result, load(path)


def drift(run_playbook, k2sim, path, tmp_path, inventory=None, check=False):
    """The drift report of the declaration file at `path` (-e @path), read-only user; (result, JSON report)."""
    extra = {"fail_on_drift": True, "drift_report_dir": str(tmp_path / "reports")}
    result = run_playbook(DRIFT, user="monitor", extra_vars=extra, inventory=inventory or arrays_inventory(k2sim),
                          extra_args=("-e", "@%s" % path), check=check)
    with open(tmp_path / "reports" / "drift_report.json", encoding="utf-8") as handle:
        return result, json.load(handle)


def utc(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def test_export_writes_the_pairs_by_name_and_a_drift_report_after_it_shows_no_drift(
        run_playbook, k2sim, existing, tmp_path):
    before = int(time.time())
    result, declaration = export(run_playbook, k2sim, tmp_path / "topology.yml", user="monitor", check=True)
    after = time.time()
    header = declaration["k2_topology_export"]
    assert header["arrays"] == ["k2-a", "k2-b"] and before <= utc(header["generated_at"]) <= after
    with open(tmp_path / "topology.yml", encoding="utf-8") as handle:
        assert "# The replication topology exported from k2-a, k2-b at %s: 4 pairs.\n" % header["generated_at"] \
            in handle.read()
    assert {"k2_topology": declaration["k2_topology"]} == {"k2_topology": {
        "defaults": {"rpo": 300, "replication_state": "in_sync", "retention_policy": "Replication_Retention",
                     "external_retention_policy": "Replication_Retention", "target_exposure": "unmapped"},
        "pairs": [
            {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
            {"name": "sql", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod",
             "target_session": "sql-dr", "target_volume_group": "vg_sql_dr", "rpo": 900, "replication_state": "suspended",
             "retention_policy": "Best_Effort_Retention", "target_exposure": "Read Only"},
            {"name": "web", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod", "rpo": 60,
             "replication_state": "idle"},
            {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_reports_dr"},
        ]}}
    assert result.task("Print what was exported and what was left out")["msg"] == [
        "4 pairs exported from 2 arrays (0 sessions left out, 0 arrays not read, 0 sessions failed over)"]
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []
        assert {e["user"] for e in k2sim.journal(array)} == {"monitor"}
    result, report = drift(run_playbook, k2sim, tmp_path / "topology.yml", tmp_path, check=True)
    assert result.rc == 0, result
    assert report["summary"]["drift"] is False, report["lines"]
    assert (report["summary"]["in_sync"], report["summary"]["total"], report["undeclared"]) == (4, 4, [])
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []


def test_hosts_named_otherwise_are_found_by_address_and_the_peer_array_is_declared(
        run_playbook, k2sim, existing, tmp_path):
    hosts = {}
    for host, array in (("site-a", "k2-a"), ("site-b", "k2-b")):
        hosts[host] = {"k2_host": k2sim.arrays[array]["host"], "ansible_connection": "local",
                       "ansible_python_interpreter": sys.executable}
    inventory = json.dumps({"all": {"children": {"k2_arrays": {"hosts": hosts}}}})
    _result, declaration = export(run_playbook, k2sim, tmp_path / "topology.yml", inventory=inventory)
    assert declaration["k2_topology_export"]["arrays"] == ["site-a", "site-b"]
    pairs = {p["name"]: p for p in declaration["k2_topology"]["pairs"]}
    assert {n: (p["source"], p["target"], p["peer_array"]) for n, p in pairs.items()} == {
        "ora": ("site-a", "site-b", "k2-b"), "sql": ("site-a", "site-b", "k2-b"), "web": ("site-a", "site-b", "k2-b"),
        "rep": ("site-b", "site-a", "k2-a")}
    result, report = drift(run_playbook, k2sim, tmp_path / "topology.yml", tmp_path, inventory=inventory)
    assert result.rc == 0, result
    assert report["summary"]["drift"] is False, report["lines"]


def test_a_session_towards_an_array_outside_the_inventory_is_left_out_and_listed(
        run_playbook, k2sim, existing, tmp_path):
    result, declaration = export(run_playbook, k2sim, tmp_path / "topology.yml",
                                 inventory=arrays_inventory(k2sim, arrays=["k2-a"]))
    assert declaration["k2_topology"]["pairs"] == []
    lines = result.task("Print what was exported and what was left out")["msg"]
    assert "left out: ora on k2-a: its peer array k2-b (%s) is not an inventory host" % k2sim.arrays["k2-b"]["host"] \
        in lines
    assert "left out: remote_rep on k2-a: a target side whose source session is on no array read here" in lines


def test_export_then_apply_changes_nothing(run_playbook, k2sim, existing, tmp_path):
    export(run_playbook, k2sim, tmp_path / "topology.yml")
    result = run_playbook(APPLY, inventory=arrays_inventory(k2sim), extra_args=("-e", "@%s" % (tmp_path / "topology.yml")))
    assert result.rc == 0, result
    assert [t["task"] for t in result.tasks if t["status"] == "changed"] == []
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []


def described(sim):
    """{array: {session name: what a pair declares of it, references by name}, and the volume group
    names of each array (the target volume groups included)}."""
    found = {}
    for array in ("k2-a", "k2-b"):
        objects = sim.dump(array)["objects"]
        by_ref = {"/%s/%d" % (kind, o["id"]): o["name"]
                  for kind in ("volume_groups", "retention_policies", "replication/peer_k2arrays") for o in objects[kind]}
        sessions = {s["name"]: (s["current_role"], s["state"], s["rpo"], by_ref[s["local_volume_group"]["ref"]],
                                by_ref[s["retention_policy"]["ref"]], by_ref[s["external_retention_policy"]["ref"]],
                                s["target_exposure"], s["remote_replication_session_name"],
                                by_ref[s["replication_peer_k2array"]["ref"]])
                    for s in objects["replication/sessions"]}
        found[array] = {"sessions": sessions, "volume_groups": sorted(o["name"] for o in objects["volume_groups"])}
    return found


def test_export_then_apply_on_empty_arrays_recreates_the_same_pairs(run_playbook, k2sim, existing, tmp_path):
    path = tmp_path / "topology.yml"
    export(run_playbook, k2sim, path)
    held = described(k2sim)
    assert "vg_sql_dr" in held["k2-b"]["volume_groups"]  # the target volume group named at creation
    k2sim.reset()  # the seed again: the volume groups, no session, no target volume group
    assert described(k2sim)["k2-a"]["sessions"] == {} and "vg_sql_dr" not in described(k2sim)["k2-b"]["volume_groups"]
    result = run_playbook(APPLY, inventory=arrays_inventory(k2sim), extra_args=("-e", "@%s" % path))
    assert result.rc == 0, result
    assert described(k2sim) == held
    result, report = drift(run_playbook, k2sim, path, tmp_path)
    assert result.rc == 0, result
    assert (report["summary"]["drift"], report["summary"]["in_sync"]) == (False, 4), report["lines"]


def folder_state(folder):
    """(mode with the sticky bit, owner, sorted entries) of a folder."""
    info = os.stat(str(folder))
    return stat.S_IMODE(info.st_mode), info.st_uid, sorted(os.listdir(str(folder)))


@pytest.mark.parametrize("check, export_mode, report_mode", [(False, 0o1777, 0o700), (True, 0o700, 0o1777)],
                         ids=["run", "check"])
def test_existing_folders_keep_their_modes_and_missing_ones_are_created(
        run_playbook, k2sim, existing, tmp_path, check, export_mode, report_mode):
    exports, reports = tmp_path / "exports", tmp_path / "reports"
    for folder, mode in ((exports, export_mode), (reports, report_mode)):
        folder.mkdir()
        os.chmod(str(folder), mode)
    export(run_playbook, k2sim, exports / "topology.yml", check=check)
    result, report = drift(run_playbook, k2sim, exports / "topology.yml", tmp_path, check=check)
    assert result.rc == 0, result
    assert folder_state(exports) == (export_mode, os.getuid(), ["topology.yml"])
    mode, owner, entries = folder_state(reports)
    assert (mode, owner) == (report_mode, os.getuid()) and {"drift_report.json", "drift_report.md"} <= set(entries)
    # A folder that does not exist is created, with its parents.
    export(run_playbook, k2sim, tmp_path / "new" / "sub" / "topology.yml", check=check)
    assert os.listdir(str(tmp_path / "new" / "sub")) == ["topology.yml"]


@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_with_an_array_down_nothing_is_written_and_the_run_fails_naming_it(
        run_playbook, k2sim, existing, tmp_path, mode):
    path = tmp_path / "topology.yml"
    export(run_playbook, k2sim, path)
    with open(path, "rb") as handle:
        before = handle.read()
    kept = os.stat(str(path))
    k2sim.down("k2-b", mode=mode)
    result = run_playbook(EXPORT, extra_vars={"export_topology_path": str(path)}, inventory=arrays_inventory(k2sim))
    assert result.rc != 0, result
    failed = result.task("Refuse to write a declaration of less than every array, or of pairs failed over")
    assert failed["msg"].startswith("Nothing was written (%s is left as it was): not read: k2-b: " % path), failed["msg"]
    assert "k2-a" not in failed["msg"].split(": not read: ", 1)[1]
    assert not result.entries("Write the declaration (atomically)")
    with open(path, "rb") as handle:
        assert handle.read() == before
    now = os.stat(str(path))
    assert (now.st_ino, now.st_mtime_ns, now.st_size) == (kept.st_ino, kept.st_mtime_ns, kept.st_size)
    assert sorted(os.listdir(str(tmp_path))) == ["playbook", "topology.yml"]  # no temporary file left beside it
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []


def test_during_a_failover_the_export_refuses_naming_the_pair(run_playbook, k2sim, existing, tmp_path):
    with Scene(k2sim) as api:
        api.transition("k2-b", "remote_ora", "failed_over")
    path = tmp_path / "topology.yml"
    result = run_playbook(EXPORT, extra_vars={"export_topology_path": str(path)}, inventory=arrays_inventory(k2sim))
    assert result.rc != 0, result
    failed = result.task("Refuse to write a declaration of less than every array, or of pairs failed over")
    assert failed["msg"] == (
        "Nothing was written (%s is left as it was): refused: remote_ora on k2-b: it is failed over (pair ora): the "
        "declared direction and state of its pair cannot be told now; export after the failback" % path)
    assert not path.exists()
