# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_peer_array_info through real ansible-playbook runs against the K2 simulator: what it returns
compared with the simulator's own data (its dump), every request read from its journal."""

import yaml
from harness import run_playbook as run_with, start_simulator

from ansible_collections.kaminario.k2.plugins.modules import k2_peer_array_info

PEERS = "/api/v2/replication/peer_k2arrays"
PAGE = {"__limit": "100", "__offset": "0"}


def play(*module_args):
    """A play with one k2_peer_array_info task per item of `module_args` (named "peers N")."""
    tasks = [{"name": "peers %d" % i, "kaminario.k2.k2_peer_array_info": args, "ignore_errors": True}
             for i, args in enumerate(module_args)]
    return yaml.safe_dump([{"name": "peer arrays", "hosts": "localhost", "gather_facts": False, "tasks": tasks}])


def requests_to(sim, array):
    return [(e["method"], e["path"], e["query"], e["status"]) for e in sim.journal(array)]


def test_lists_the_peer_array_as_the_simulator_holds_it(k2sim, run_playbook):
    result = run_playbook(play({}, {"name": "k2-b"}, {"filters": {"mgmt_connectivity_state__neq": "ok"}}))
    assert result.rc == 0, result
    (peer,) = result.task("peers 0")["peer_arrays"]
    (held,) = k2sim.dump("k2-a")["objects"]["replication/peer_k2arrays"]
    assert peer == held
    assert (peer["name"], peer["mgmt_host"], peer["system_id"], peer["mgmt_connectivity_state"]) == (
        "k2-b", k2sim.arrays["k2-b"]["host"], k2sim.arrays["k2-b"]["system_id"], "ok")
    assert result.status("peers 0") == "ok" and result.task("peers 0")["changed"] is False
    assert [p["name"] for p in result.task("peers 1")["peer_arrays"]] == ["k2-b"]
    assert result.task("peers 2")["peer_arrays"] == []
    assert requests_to(k2sim, "k2-a") == [
        ("GET", PEERS, PAGE, 200),
        ("GET", PEERS, dict(PAGE, name="k2-b"), 200),
        ("GET", PEERS, dict(PAGE, mgmt_connectivity_state__neq="ok"), 200),
    ]


def test_a_peer_that_is_down_reads_disconnected_and_check_mode_sends_the_same_reads(k2sim, run_playbook):
    k2sim.down("k2-b")
    result = run_playbook(play({"filters": {"mgmt_connectivity_state__neq": "ok"}}), check=True)
    assert result.rc == 0, result
    assert [(p["name"], p["mgmt_connectivity_state"]) for p in result.task("peers 0")["peer_arrays"]] == [
        ("k2-b", "disconnected")]
    assert requests_to(k2sim, "k2-a") == [("GET", PEERS, dict(PAGE, mgmt_connectivity_state__neq="ok"), 200)]


def test_invalid_filters_fail_before_any_request(k2sim, run_playbook):
    result = run_playbook(play({"filters": {"state": "in_sync"}}, {"filters": {"id__gt": "two"}}))
    assert result.status("peers 0") == result.status("peers 1") == "failed"
    assert result.task("peers 0")["msg"].startswith("filters: unknown field 'state' in 'state'; valid fields: ")
    assert result.task("peers 1")["msg"] == "filters.id__gt: expected an integer, got 'two'"
    assert k2sim.journal("k2-a") == []


def test_the_documented_examples_run(tmp_path):
    """EXAMPLES, as written, against two arrays named as in them (array-a, array-b)."""
    sim = start_simulator(arrays=["array-a", "array-b"])
    try:
        tasks = yaml.safe_load(k2_peer_array_info.EXAMPLES)
        playbook = [{"name": "EXAMPLES of k2_peer_array_info", "hosts": "localhost", "gather_facts": False,
                     "tasks": tasks}]
        result = run_with(sim, yaml.safe_dump(playbook, sort_keys=False), array="array-a",
                          workdir=str(tmp_path / "run"), extra_vars={
                              "k2_host": sim.arrays["array-a"]["host"], "k2_username": "admin",
                              "k2_password": sim.users["admin"]["password"]})
        assert result.rc == 0, result
        assert len(result.tasks) == len(tasks) and all(t["status"] == "ok" for t in result.tasks), result.tasks
        assert [p["name"] for p in result.task("List the peer arrays of this array")["peer_arrays"]] == ["array-b"]
        assert [p["mgmt_host"] for p in result.task("Read one peer array by name")["peer_arrays"]] == [
            sim.arrays["array-b"]["host"]]
        assert result.task("The peer arrays this array cannot reach now")["peer_arrays"] == []
        assert [e["method"] for e in sim.journal("array-a")] == ["GET"] * 3
    finally:
        sim.stop()
