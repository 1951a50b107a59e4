# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pair model and the pair_plan filter: defaults, checks naming the option, and what each
array converges, waits for and removes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.pair_plan import pair_plan

TOPOLOGY = {
    "defaults": {"rpo": 300, "replication_state": "in_sync", "retention_policy": "Replication_Retention"},
    "pairs": [
        {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ora"},
        {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_rep", "rpo": 900,
         "target_session": "rep-dr"},
        {"name": "old", "source": "k2-a", "target": "k2-b", "state": "absent"},
    ],
}


def test_each_array_converges_the_pairs_it_is_the_source_of():
    plan = pair_plan(TOPOLOGY, "k2-a")
    assert plan["converge"] == [{"name": "ora", "current_role": "source", "local_volume_group": "vg_ora",
                                 "replication_peer_k2array": "k2-b", "rpo": 300,
                                 "retention_policy": "Replication_Retention", "remote_replication_session_name": "remote_ora",
                                 "replication_state": "in_sync"}]
    assert plan["names"] == ["ora", "old", "rep-dr"]
    plan = pair_plan(TOPOLOGY, "k2-b")
    assert [i["name"] for i in plan["converge"]] == ["rep"] and plan["converge"][0]["rpo"] == 900
    assert plan["converge"][0]["replication_peer_k2array"] == "k2-a"
    assert plan["names"] == ["rep", "remote_ora", "remote_old"]


def test_an_absent_pair_is_stopped_on_its_source_then_removed_target_first():
    sessions_a = [{"name": "old", "state": "in_sync", "current_role": "source"}]
    plan_a = pair_plan(TOPOLOGY, "k2-a", sessions_a)
    assert plan_a["converge"][-1] == {"name": "old", "current_role": "source", "replication_state": "idle"}
    assert plan_a["source_removals"] == [{"name": "old", "current_role": "source", "state": "absent"}]
    plan_b = pair_plan(TOPOLOGY, "k2-b", [{"name": "remote_old", "state": "idle", "current_role": "target"}])
    assert plan_b["target_waits"] == ["remote_old"]
    assert plan_b["target_removals"] == [{"name": "remote_old", "current_role": "target", "state": "absent"}]
    # Already stopped, or gone: nothing to stop, wait for or remove on that side.
    assert pair_plan(TOPOLOGY, "k2-a", [{"name": "old", "state": "idle"}])["converge"][-1]["name"] == "ora"
    assert pair_plan(TOPOLOGY, "k2-b", [])["target_removals"] == []


def test_mirror_problems_name_what_does_not_follow():
    sessions = [{"name": "remote_ora", "state": "suspended", "current_role": "target", "rpo": "300"}]
    assert pair_plan(TOPOLOGY, "k2-b", sessions)["mirror_problems"] == [
        {"pair": "ora", "problem": "the target-side session 'remote_ora' on k2-b has state 'suspended', not 'in_sync'"}]
    assert pair_plan(TOPOLOGY, "k2-a", [])["mirror_problems"] == [
        {"pair": "rep", "problem": "the target-side session 'rep-dr' does not exist on k2-a"}]
    ok = [{"name": "rep-dr", "state": "in_sync", "current_role": "target", "rpo": 900}]
    assert pair_plan(TOPOLOGY, "k2-a", ok)["mirror_problems"] == []


@pytest.mark.parametrize("change, message", [
    ({"pairs": [{"source": "k2-a", "target": "k2-b"}]}, r"k2_topology.pairs\[0\]: name is required"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-a", "volume_group": "v"}]},
     r"source and target are both 'k2-a'"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-c", "volume_group": "v"}]},
     r"target 'k2-c' is not an array of the inventory \(known: k2-a, k2-b\)"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-b", "volume_group": "v", "rpo": 301}]},
     r"k2_topology.pairs\[0\] \(x\): rpo must be 60"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-b", "volume_group": "v", "replication_state":
                 "failed_over"}]}, r"replication_state must be one of in_sync, suspended, idle"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-b"}]}, r"volume_group is required"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-b", "volume_group": "v", "vg": "v"}]},
     r"unknown option\(s\) vg"),
    ({"pairs": [{"name": "x", "source": "k2-a", "target": "k2-b", "volume_group": "v"},
                {"name": "y", "source": "k2-a", "target": "k2-b", "volume_group": "w", "target_session": "remote_x"}]},
     r"pairs\[1\] \(y\): the session name 'remote_x' on k2-b is used by k2_topology.pairs\[0\] already"),
    ({"defaults": {"volume_group": "v"}, "pairs": []}, r"k2_topology.defaults: unknown or per-pair option\(s\) volume_group"),
    ({"pair": []}, r"k2_topology: unknown key\(s\) pair"),
])
def test_a_bad_declaration_names_the_pair_and_the_option(change, message):
    with pytest.raises(AnsibleFilterError, match=message):
        pair_plan(change, "k2-a", arrays=["k2-a", "k2-b"])


def test_removing_a_pair_needs_both_arrays_in_the_play():
    assert pair_plan(TOPOLOGY, "k2-a", play_hosts=["k2-a"])["removals_outside_play"] == ["old"]
    assert pair_plan(TOPOLOGY, "k2-a", play_hosts=["k2-a", "k2-b"])["removals_outside_play"] == []
    assert pair_plan(TOPOLOGY, "k2-a")["removals_outside_play"] == []
