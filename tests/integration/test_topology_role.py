# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/topology.yml (role kaminario.k2.replication_topology) through real ansible-playbook runs
against the two simulator arrays: pairs in both directions converged and checked on both sides,
applying twice changes nothing, pairs removed across both arrays in the safe order, and the checks
that refuse before any write."""

import os
import time

from harness import REPO_ROOT, arrays_inventory

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
SESSIONS = "/api/v2/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")

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
    converge = [t for t in result.tasks if t["task"].endswith("Converge the pairs this array is the source of (one module run)")]
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
    assert "Removing a pair needs both of its arrays in the play" in result.stdout
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
    assert apply(k2sim, run_playbook).rc == 0
    # Someone suspends the target's source outside Ansible... then the declaration says in_sync again,
    # but the target side of reports (on k2-a) was failed over by hand: it cannot follow.
    import requests
    b = k2sim.arrays["k2-a"]["url"]
    auth, ca = ("admin", k2sim.users["admin"]["password"]), k2sim.ca_path
    copy = requests.get(b + "/replication/sessions", params={"name": "reports-copy"}, auth=auth, verify=ca,
                        timeout=30).json()["hits"][0]
    requests.patch("%s/replication/sessions/%d" % (b, copy["id"]), json={"state": "failed_over"}, auth=auth,
                   verify=ca, timeout=30).raise_for_status()
    deadline = time.monotonic() + 10
    while sessions_on(k2sim, "k2-b")["reports"]["suspend_reason_code"] != "peer_failed_over":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    result = apply(k2sim, run_playbook, replication_topology_mirror_timeout=2)
    assert result.rc != 0
    assert "cannot resume replication session 'reports'" in result.stdout
    assert "the target-side session 'reports-copy' on k2-a has state 'failed_over', not 'in_sync'" in result.stdout
