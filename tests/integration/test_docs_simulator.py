# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands of the simulator guide and the README's DR commands, run as written (harness/docs.py)
in a folder that looks like the checkout to their relative paths. They use the demo's fixed ports
(127.0.0.1:18443 and :18444, the control API on :18440): marked fixed_ports (one xdist worker for all
such tests) and newest (never in the oldest pass beside the newest one), as the demo test is."""

import json
import os
import signal

import pytest
from harness import collections_path, eventually, start_simulator
from harness.docs import assert_all_ran, doc_commands, run_commands
from harness.dr import EXAMPLE_TOPOLOGY, pairs_of, sessions_on, example_topology
from test_docs_guides import checkout_like, reader_env

pytestmark = [pytest.mark.newest, pytest.mark.fixed_ports]

PORTS = [18443, 18444]
GUIDE = ("sim-start", "sim-environment", "sim-playbooks", "sim-snapshot", "sim-drill", "sim-stop")


def alive(pid):
    """The process runs (a zombie, ended but not reaped by whoever adopted it, does not)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_simulator_guide_runs_as_written(tmp_path):
    work = checkout_like(tmp_path / "checkout")
    commands = [command for block_id in GUIDE for command in doc_commands(block_id)]
    # The reader's shell: no K2_* and no collections path yet (the guide exports them).
    env = {k: v for k, v in os.environ.items() if not k.startswith("K2_") and k != "ANSIBLE_COLLECTIONS_PATH"}
    env.update(ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_NOCOLOR="1")
    start_line = work / "build" / "k2sim.json"
    try:
        runs = run_commands(commands, str(work), env)
        assert_all_ran(runs, commands)
    finally:
        # Whatever happened, the simulator the guide started is stopped (its pid is in its start line).
        if start_line.exists() and start_line.read_text(encoding="utf-8").strip():
            pid = json.loads(start_line.read_text(encoding="utf-8"))["pid"]
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
    outputs = {run.command: run.output for run in runs}
    started = json.loads(start_line.read_text(encoding="utf-8"))
    assert [started["arrays"][a]["port"] for a in ("k2-a", "k2-b")] == PORTS
    with open(work / "build" / "reports" / "drift_report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["summary"]["drift"] is False and report["summary"]["in_sync"] == len(example_topology()["pairs"])
    assert (work / "build" / "exported.yml").is_file()
    [failover] = [c for c in commands if "kaminario.k2.failover " in c]
    assert "oracle_prod: remote_oracle_prod on k2-b failed_over" in outputs[failover], outputs[failover]
    [failback] = [c for c in commands if "kaminario.k2.failback " in c]
    assert "oracle_prod (k2-a -> k2-b): done" in outputs[failback], outputs[failback]
    assert eventually(lambda: not alive(started["pid"])), "the guide's last command did not stop the simulator"


def test_the_readme_dr_commands_run_as_written(tmp_path):
    work = checkout_like(tmp_path / "checkout")
    snapshot, failover, failback = doc_commands("readme-dr")
    with start_simulator(ports=PORTS, transition_delay=0.2) as sim:
        env = reader_env(sim, tmp_path, ANSIBLE_COLLECTIONS_PATH=collections_path())
        # Glue: the example topology applied, as `make demo` and the simulator guide do.
        apply = "ansible-playbook -i examples/simulator/inventory.yml -e @%s playbooks/topology.yml" % EXAMPLE_TOPOLOGY
        assert_all_ran(run_commands([apply], str(work), env), [apply])
        runs = run_commands([snapshot], str(work), env)
        assert_all_ran(runs, [snapshot])
        on_b = sessions_on(sim, "k2-b")
        assert on_b["remote_oracle_prod"]["latest_replicated_snapshot"] and on_b["remote_sql_prod"]["latest_replicated_snapshot"]
        sim.down("k2-a")  # glue: "k2-a is down"
        assert_all_ran(run_commands([failover], str(work), env), [failover])
        on_b = sessions_on(sim, "k2-b")
        assert on_b["remote_oracle_prod"]["state"] == on_b["remote_sql_prod"]["state"] == "failed_over"
        sim.up("k2-a")  # glue: "k2-a is back"
        assert_all_ran(run_commands([failback], str(work), env), [failback])
        on_a, on_b = sessions_on(sim, "k2-a"), sessions_on(sim, "k2-b")
        for _pair, (source, name, target, remote) in pairs_of(example_topology()).items():
            found = {"k2-a": on_a, "k2-b": on_b}
            assert (found[source][name]["current_role"], found[source][name]["state"]) == ("source", "in_sync")
            assert (found[target][remote]["current_role"], found[target][remote]["state"]) == ("target", "in_sync")
