# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/topology.yml (role kaminario.k2.replication_topology) through real ansible-playbook runs
against the two simulator arrays: pairs in both directions converged and checked on both sides,
applying twice changes nothing, pairs removed across both arrays in the safe order, and the checks
that refuse before any write."""

import os

from harness import REPO_ROOT, arrays_inventory, eventually
from harness.scene import Scene

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
SESSIONS = "/api/v2/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
ROLE = "kaminario.k2.replication_topology : "

TOPOLOGY = {
    "defaults": {"rpo": 300, "replication_state": "in_sync", "retention_policy": "Replication_Retention"},
    "pairs": [
        {"name": "oracle-prod", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
        {"name": "sql-prod", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod", "rpo": 900},
        {"name": "reports", "source": "k2-b", "target": "k2-a", "volume_group": "vg_reports_dr",
         "target_session": "reports-copy"},
    ],
}


def apply(k2sim, run_playbook, topology=None, check=False, **extra):
    result = run_playbook(PLAYBOOK, check=check, inventory=arrays_inventory(k2sim),
                          extra_vars=dict(extra, k2_topology=topology or TOPOLOGY))
    return result


def sessions_on(k2sim, array):
    return {s["name"]: s for s in k2sim.dump(array)["objects"]["replication/sessions"]}


def writes(k2sim):
    return [(array, e["method"], e["path"], e["body"]) for array in ("k2-a", "k2-b") for e in k2sim.journal(array)
            if e["method"] in WRITES]


def changed(result):
    return [(t["task"], t["host"]) for t in result.tasks if t["status"] == "changed"]


def test_pairs_in_both_directions_converge_then_a_second_apply_changes_nothing(k2sim, run_playbook):
    result = apply(k2sim, run_playbook)
    assert result.rc == 0, result
    a, b = sessions_on(k2sim, "k2-a"), sessions_on(k2sim, "k2-b")
    assert (a["oracle-prod"]["state"], a["oracle-prod"]["current_role"]) == ("in_sync", "source")
    assert (b["remote_oracle-prod"]["state"], b["remote_oracle-prod"]["current_role"]) == ("in_sync", "target")
    assert (int(a["sql-prod"]["rpo"]), int(b["remote_sql-prod"]["rpo"])) == (900, 900)
    assert (b["reports"]["current_role"], a["reports-copy"]["current_role"]) == ("source", "target")
    assert a["reports-copy"]["state"] == "in_sync"
    # One module run per array converged its sources.
    converge = [t for t in result.tasks if t["task"].endswith("Converge the source halves on this array (one module run)")]
    assert sorted((t["host"], t["status"]) for t in converge) == [("k2-a", "changed"), ("k2-b", "changed")]

    k2sim.clear_journal()
    result = apply(k2sim, run_playbook)
    assert result.rc == 0, result
    assert changed(result) == [] and writes(k2sim) == []
    assert "changed=0" in result.stdout


def test_removing_a_pair_leaves_nothing_on_either_array_in_the_safe_order(k2sim, run_playbook):
    assert apply(k2sim, run_playbook).rc == 0
    k2sim.clear_journal()
    topology = {"defaults": TOPOLOGY["defaults"],
                "pairs": TOPOLOGY["pairs"][:1] + [dict(TOPOLOGY["pairs"][1], state="absent")] + TOPOLOGY["pairs"][2:]}
    result = apply(k2sim, run_playbook, topology)
    assert result.rc == 0, result
    assert "sql-prod" not in sessions_on(k2sim, "k2-a") and "remote_sql-prod" not in sessions_on(k2sim, "k2-b")
    journal = sorted((e["time"], array, e["method"], e["body"]) for array in ("k2-a", "k2-b")
                     for e in k2sim.journal(array) if e["method"] in WRITES)
    assert [(array, method, body) for _t, array, method, body in journal] == [
        ("k2-a", "PATCH", {"state": "suspended"}), ("k2-a", "PATCH", {"state": "idle"}),
        ("k2-b", "DELETE", None), ("k2-a", "DELETE", None)]
    # The others are untouched, and a second run changes nothing.
    assert sessions_on(k2sim, "k2-a")["oracle-prod"]["state"] == "in_sync"
    k2sim.clear_journal()
    result = apply(k2sim, run_playbook, topology)
    assert result.rc == 0 and changed(result) == [] and writes(k2sim) == [], result


def test_removing_a_pair_with_one_array_out_of_the_play_is_refused_before_any_write(k2sim, run_playbook):
    assert apply(k2sim, run_playbook).rc == 0
    k2sim.clear_journal()
    topology = {"pairs": [dict(TOPOLOGY["pairs"][0], state="absent")]}
    result = run_playbook(PLAYBOOK, inventory=arrays_inventory(k2sim), extra_args=("--limit", "k2-a"),
                          extra_vars={"k2_topology": topology})
    assert result.rc != 0
    message = result.task(ROLE + "Stop before any write when a pair cannot be applied")["msg"]
    assert message.startswith("1 of 1 pairs cannot be applied: oracle-prod (k2-a -> k2-b): blocked: array k2-b not "
                              "read: not in this run (the play was limited or sliced"), message
    assert "Nothing was changed on any array" in message
    assert writes(k2sim) == []


def test_a_declaration_error_names_the_pair_and_option_before_any_request(k2sim, run_playbook):
    bad = {"pairs": [dict(TOPOLOGY["pairs"][0], rpo=301)]}
    result = apply(k2sim, run_playbook, bad)
    assert result.rc != 0
    assert "k2_topology.pairs[0] (oracle-prod): rpo must be 60" in result.stdout
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []
    typo = {"pairs": [dict(TOPOLOGY["pairs"][0], volume_grup="x")]}
    result = apply(k2sim, run_playbook, typo)
    assert result.rc != 0 and "volume_grup" in result.stdout, result
    assert k2sim.journal("k2-a") == []


def test_a_target_side_that_does_not_follow_fails_the_apply_naming_it(k2sim, run_playbook):
    # late was started on k2-a while k2-b was down: its target half on k2-b never followed (idle).
    with Scene(k2sim) as api:
        api.session("k2-a", "late", "vg_web_prod", "k2-b")
        k2sim.down("k2-b")
        api.transition("k2-a", "late", "in_sync")
        assert eventually(lambda: k2sim.dump("k2-a")["scheduled_events"] == 0), "the mirror was never dropped"
        k2sim.up("k2-b")
    k2sim.clear_journal()
    topology = {"pairs": [{"name": "late", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod",
                           "replication_state": "in_sync"}]}
    result = apply(k2sim, run_playbook, topology, replication_topology_mirror_timeout=2)
    assert result.rc != 0
    assert result.task(ROLE + "Fail when a pair was not brought to its declaration")["msg"] == (
        "1 pair(s) not as declared: failed: late (k2-a -> k2-b): on k2-b, follow: remote_late did not show "
        "current_role target, rpo 300, state in_sync in time (it shows current_role target, rpo 300, state idle)")
    # The source half needed nothing: the run only waited, and wrote nothing.
    assert writes(k2sim) == []
