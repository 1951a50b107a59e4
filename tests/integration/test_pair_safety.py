# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety rules of the cross-array layer (issue 16), each case of the issue as a real
ansible-playbook run against the two simulator arrays, judged from BOTH arrays' journals: a pair
failed over with its source down is never resumed, nothing a pair names is pruned, a pair is removed
only with both arrays and target half first, duplicate pair names are refused, --limit that leaves
an array out fails before any write, a pair that cannot be applied stops the run before any write
(or, opted in, only that pair), missing halves have their own status and recovery, role input errors
name the pair and role variables convert from -e, and the failing run's summary names exactly the
failed pairs. The scenes are set through the API behind Ansible's back (harness.scene)."""

import json
import os

import pytest
from harness import REPO_ROOT, arrays_inventory, eventually
from harness import run_playbook as run_on_arrays
from harness.scene import Scene

TOPOLOGY = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
DRIFT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
FAILOVER = os.path.join(REPO_ROOT, "playbooks", "failover.yml")
FAILBACK = os.path.join(REPO_ROOT, "playbooks", "failback.yml")
ROLE = "kaminario.k2.replication_topology : "
REPORT = "kaminario.k2.drift_report : "
STOP = ROLE + "Stop before any write when a pair cannot be applied"
FAIL = ROLE + "Fail when a pair was not brought to its declaration"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
ARRAYS = ("k2-a", "k2-b")


def pair(name, volume_group, source="k2-a", target="k2-b", **options):
    found = {"name": name, "source": source, "target": target, "volume_group": volume_group, "rpo": 300}
    found.update(options)
    return found


def writes(sim):
    """Every write either array received: [(array, method, path, body)], in each array's order."""
    return [(array, e["method"], e["path"], e["body"]) for array in ARRAYS for e in sim.journal(array)
            if e["method"] in WRITES]


def requests_to(sim):
    return {array: len(sim.journal(array)) for array in ARRAYS}


def session_path(sim, array, name):
    return "/api/v2/replication/sessions/%d" % sessions(sim, array)[name]["id"]


def sessions(sim, array):
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


def settle(sim):
    """Wait until neither array has a transition or a mirror update still to land."""
    assert eventually(lambda: all(sim.dump(a)["scheduled_events"] == 0 for a in ARRAYS)), "the arrays never settled"


@pytest.fixture
def play(k2sim, tmp_path):
    """Run a playbook on both arrays (hosts of k2_arrays) with k2_topology = `declaration`."""
    runs = []

    def run(playbook, declaration, check=False, extra_args=(), **extra_vars):
        runs.append(1)
        extra_vars["k2_topology"] = declaration
        return run_on_arrays(k2sim, playbook, check=check, extra_vars=extra_vars, inventory=arrays_inventory(k2sim),
                            workdir=str(tmp_path / ("run%d" % len(runs))), extra_args=tuple(extra_args))
    return run


def drift_report(play, tmp_path, declaration, **extra_vars):
    """Run the drift report (check mode); returns (result, the JSON report)."""
    folder = tmp_path / ("reports%d" % len(os.listdir(tmp_path)))
    result = play(DRIFT, declaration, check=True, drift_report_dir=str(folder), **extra_vars)
    with open(folder / "drift_report.json", encoding="utf-8") as handle:
        return result, json.load(handle)


def statuses(report):
    return {p["name"]: p["status"] for p in report["pairs"]}


# ---- a pair failed over while its source was down ---------------------------------------------------

FAILED_OVER = {"pairs": [
    pair("ora", "vg_oracle_prod", replication_state="in_sync"),
    pair("sql", "vg_sql_prod"),  # no replication_state declared
    pair("web", "vg_web_prod", replication_state="in_sync"),  # missing: a converge would create it
]}


@pytest.fixture
def failed_over_source_down(k2sim):
    """ora and sql in_sync k2-a -> k2-b, failed over on k2-b while k2-a was down; k2-a back, its
    sessions read suspended with suspend_reason_code link_down (not peer_failed_over); journals
    cleared."""
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.session("k2-a", "sql", "vg_sql_prod", "k2-b", state="in_sync")
        k2sim.down("k2-a")
        api.transition("k2-b", "remote_ora", "failed_over")
        api.transition("k2-b", "remote_sql", "failed_over")
        settle(k2sim)  # the mirror updates towards k2-a were dropped
        k2sim.up("k2-a")
        assert eventually(lambda: all(sessions(k2sim, "k2-a")[n]["suspend_reason_code"] == "link_down"
                                      for n in ("ora", "sql")))
    on_a = sessions(k2sim, "k2-a")
    assert [(on_a[n]["state"], on_a[n]["current_role"]) for n in ("ora", "sql")] == [("suspended", "source")] * 2
    k2sim.clear_journal()
    return k2sim


def test_a_pair_failed_over_with_its_source_down_is_reported_failed_over_and_never_resumed(
        failed_over_source_down, play, tmp_path):
    sim = failed_over_source_down
    # The drift report: failed over (declared in_sync, or with no replication_state), the failback as
    # the fix; never "drifted" with a resume to suggest.
    result, report = drift_report(play, tmp_path, FAILED_OVER)
    assert result.rc == 0, result
    assert statuses(report) == {"ora": "failed_over", "sql": "failed_over", "web": "missing"}
    for name in ("ora", "sql"):
        found = next(p for p in report["pairs"] if p["name"] == name)
        assert "%s on k2-a reads source suspended (link_down)" % name in found["reason"]
        assert "failback" in found["fix"] and found["actions"] == []
    lines = result.task(REPORT + "Print the summary")["msg"]
    assert [line.split(":")[0] for line in lines[1:3]] == ["failed_over", "failed_over"]

    # topology.yml --check refuses before any write, naming each failed-over pair and the failback.
    result = play(TOPOLOGY, FAILED_OVER, check=True)
    assert result.rc != 0, result
    message = result.task(STOP)["msg"]
    assert message.startswith("2 of 3 pairs cannot be applied: ora (k2-a -> k2-b): failed_over: failed over to k2-b")
    assert "sql (k2-a -> k2-b): failed_over: failed over to k2-b" in message
    assert message.count("fix: run playbooks/failback.yml for this pair") == 2
    assert "Nothing was changed on any array" in message

    # A real apply refuses the same way, before any write: no PATCH in_sync to the old source, and
    # the pair that could be created (web) is not created either.
    result = play(TOPOLOGY, FAILED_OVER)
    assert result.rc != 0, result
    assert result.task(STOP)["msg"] == message
    assert writes(sim) == []
    assert not [t for t in result.tasks if t["task"].startswith(ROLE + "Converge the source halves")]
    assert [(sessions(sim, "k2-a")[n]["state"], sessions(sim, "k2-b")["remote_" + n]["state"])
            for n in ("ora", "sql")] == [("suspended", "failed_over")] * 2


# ---- prune during a failback ---------------------------------------------------------------------


def test_prune_during_a_failback_stopped_after_its_reverse_never_deletes_what_a_pair_names(k2sim, play, tmp_path):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod", replication_state="in_sync")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.transition("k2-b", "remote_ora", "failed_over")
        # An undeclared source session on k2-b whose name has the prefix: the one thing to prune.
        api.volume_group("k2-b", "vg_junk")
        api.session("k2-b", "remote_junk", "vg_junk", "k2-a")
    result = play(FAILBACK, declaration, k2_failback_pairs="ora", k2_failback_stop_after="reverse")
    assert result.rc == 0, result
    # The DR half now reads current_role source on k2-b, in_sync; its name has the prefix.
    remote = sessions(k2sim, "k2-b")["remote_ora"]
    assert (remote["current_role"], remote["state"]) == ("source", "in_sync")
    junk = session_path(k2sim, "k2-b", "remote_junk")
    k2sim.clear_journal()

    # Refused (the pair is mid-failback): nothing is written, nothing pruned.
    prune = {"replication_topology_prune": True, "replication_topology_prune_prefix": "remote_"}
    result = play(TOPOLOGY, declaration, **prune)
    assert result.rc != 0, result
    assert "ora (k2-a -> k2-b): reversed" in result.task(STOP)["msg"]
    assert writes(k2sim) == []

    # Opted in to apply the rest: the prune runs, and removes only the undeclared session.
    result = play(TOPOLOGY, declaration, replication_topology_allow_partial=True, **prune)
    assert result.rc != 0, result
    assert [(a, m, p) for a, m, p, _b in writes(k2sim)] == [("k2-b", "DELETE", junk)]
    assert "remote_ora" in sessions(k2sim, "k2-b") and "ora" in sessions(k2sim, "k2-a")
    lines = result.task(ROLE + "Show what was done")["msg"]
    assert "prune: remote_junk on k2-b: pruned" in lines
    assert not [line for line in lines if "remote_ora" in line and line.startswith("prune")]
    assert "refused: ora (k2-a -> k2-b): reversed" in result.task(FAIL)["msg"]

