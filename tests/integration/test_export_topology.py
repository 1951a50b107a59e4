# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/export_topology.yml through real ansible-playbook runs against the simulator: it
writes the k2_topology declaration of the pairs the arrays hold (both directions, by name), reads
only (a read_only user, --check), and a drift report right after it shows no drift; inventory hosts
named otherwise than the arrays are found by address."""

import json
import os
import sys

import pytest
import yaml
from harness import arrays_inventory
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
                    remote_replication_session_name="sql-dr", retention_policy="Best_Effort_Retention",
                    target_exposure="Read Only")
        api.transition("k2-a", "sql", "suspended")
        api.session("k2-a", "web", "vg_web_prod", "k2-b", rpo=60)
        api.session("k2-b", "rep", "vg_reports_dr", "k2-a", rpo=300, state="in_sync")
    k2sim.clear_journal()


class TaggedLoader(yaml.SafeLoader):
    """Reads an exported declaration, whose values from the arrays are tagged !unsafe, as plain values."""


TaggedLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def export(run_playbook, k2sim, path, inventory=None, **kwargs):
    result = run_playbook(EXPORT, extra_vars={"export_topology_path": str(path)},
                          inventory=inventory or arrays_inventory(k2sim), **kwargs)
    assert result.rc == 0, result
    with open(path, encoding="utf-8") as handle:
        return result, yaml.load(handle, Loader=TaggedLoader)  # noqa: S506 (a SafeLoader)


def drift(run_playbook, k2sim, declaration, tmp_path, inventory=None):
    extra = dict(declaration, fail_on_drift=True, drift_report_dir=str(tmp_path / "reports"))
    result = run_playbook(DRIFT, user="monitor", extra_vars=extra, inventory=inventory or arrays_inventory(k2sim))
    with open(tmp_path / "reports" / "drift_report.json", encoding="utf-8") as handle:
        return result, json.load(handle)


def test_export_writes_the_pairs_by_name_and_a_drift_report_after_it_shows_no_drift(
        run_playbook, k2sim, existing, tmp_path):
    result, declaration = export(run_playbook, k2sim, tmp_path / "topology.yml", user="monitor", check=True)
    assert declaration["k2_topology_export"]["arrays"] == ["k2-a", "k2-b"]
    assert {"k2_topology": declaration["k2_topology"]} == {"k2_topology": {
        "defaults": {"rpo": 300, "replication_state": "in_sync", "retention_policy": "Replication_Retention",
                     "external_retention_policy": "Replication_Retention", "target_exposure": "unmapped"},
        "pairs": [
            {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
            {"name": "sql", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod",
             "target_session": "sql-dr", "rpo": 900, "replication_state": "suspended",
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
    result, report = drift(run_playbook, k2sim, declaration, tmp_path)
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
    pairs = {p["name"]: p for p in declaration["k2_topology"]["pairs"]}
    assert {n: (p["source"], p["target"], p["peer_array"]) for n, p in pairs.items()} == {
        "ora": ("site-a", "site-b", "k2-b"), "sql": ("site-a", "site-b", "k2-b"), "web": ("site-a", "site-b", "k2-b"),
        "rep": ("site-b", "site-a", "k2-a")}
    result, report = drift(run_playbook, k2sim, declaration, tmp_path, inventory=inventory)
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
    _result, declaration = export(run_playbook, k2sim, tmp_path / "topology.yml")
    result = run_playbook(APPLY, extra_vars=declaration, inventory=arrays_inventory(k2sim))
    assert result.rc == 0, result
    assert [t["task"] for t in result.tasks if t["status"] == "changed"] == []
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []
