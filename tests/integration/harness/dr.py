"""Helpers for the disaster-recovery playbook tests: the example topology of the simulator arrays,
applied with playbooks/topology.yml, replication snapshots taken through the API, and what
the simulator's journal and dump show.

    from harness.dr import converge_example, run_dr, snapshot_all, sessions_on, writes_to
"""

import os

import requests
import yaml

from harness.playbook import arrays_inventory, run_playbook
from harness.simulator import REPO_ROOT, eventually

EXAMPLE_TOPOLOGY = os.path.join(REPO_ROOT, "examples", "simulator", "topology.yml")
EXAMPLE_INVENTORY = os.path.join(REPO_ROOT, "examples", "simulator", "inventory.yml")
TOPOLOGY = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
FAILOVER = os.path.join(REPO_ROOT, "playbooks", "failover.yml")
FAILBACK = os.path.join(REPO_ROOT, "playbooks", "failback.yml")
DRIFT_REPORT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
WRITES = ("POST", "PATCH", "DELETE")


def example_topology():
    """The k2_topology of examples/simulator/topology.yml."""
    with open(EXAMPLE_TOPOLOGY, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["k2_topology"]


def pairs_of(topology):
    """{pair name: (source, source session, target, target session)}."""
    return {p["name"]: (p["source"], p["name"], p["target"], p.get("target_session") or "remote_" + p["name"])
            for p in topology["pairs"]}


def run_dr(sim, playbook, workdir, extra_vars=None, topology=None, **kwargs):
    """Run a playbook on the simulator arrays as hosts of k2_arrays with the example topology (the
    same file, as a vars file) and `extra_vars`."""
    variables = {"k2_topology": topology if topology is not None else example_topology()}
    variables.update(extra_vars or {})
    return run_playbook(sim, playbook, extra_vars=variables, inventory=arrays_inventory(sim), workdir=workdir,
                        **kwargs)


def converge_example(sim, workdir):
    """Apply the example topology with playbooks/topology.yml (both directions, in_sync; it waits
    until the target sides follow)."""
    result = run_dr(sim, TOPOLOGY, workdir)
    assert result.rc == 0, result
    return result


def sessions_on(sim, array):
    """{name: session} on `array` (the simulator's dump)."""
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


def writes_to(sim, array):
    return [(e["method"], e["path"], e["body"]) for e in sim.journal(array) if e["method"] in WRITES]


def snapshot_all(sim, topology=None):
    """Take a replication snapshot of every pair's source session through the API, and wait until
    each has reached the target array (its session's latest_replicated_snapshot is set)."""
    taken = {}
    for pair, (source, name, target, remote) in pairs_of(topology or example_topology()).items():
        session = sessions_on(sim, source)[name]
        with requests.Session() as http:
            http.auth = ("admin", sim.users["admin"]["password"])
            answer = http.post(sim.arrays[source]["url"] + "/snapshots", verify=sim.ca_path, timeout=30,
                               json={"replication_session": {"ref": "/replication/sessions/%d" % session["id"]}})
            assert answer.status_code == 201, answer.text
        taken[pair] = answer.json()
    assert eventually(lambda: all(sessions_on(sim, t)[r]["latest_replicated_snapshot"]
                                  for _s, _n, t, r in pairs_of(topology or example_topology()).values()))
    return taken
