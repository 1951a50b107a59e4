# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guides and the README, run as written against the simulator: each console command and YAML
example is read from its file when the test runs (harness/docs.py: the blocks marked ``doc-test``,
the reader's own values replaced by the rules stated there), and judged by what the guide says it
does, from the simulator's journal and dump.

The reader's environment: the venv's tools first on the PATH, the checkout as the collection
(ANSIBLE_COLLECTIONS_PATH) unless the guide installs it, and the account and CA in K2_USERNAME,
K2_PASSWORD and K2_CA_PATH, as the guides assume (an AWX credential, or the reader's shell), unless
the commands export them. The reader's ``inventory.yml`` and ``topology.yml`` are the topology
guide's. Steps a guide leaves to the reader (an array going down, a snapshot having replicated) are
done by the test and named "glue" below.

The guide of the simulator and the README's DR commands use the fixed demo ports: see
test_docs_simulator.py. The AWX guide: test_awx_project.py; the EDA guide's rulebook: test_docs_eda.py."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import yaml
from harness import REPO_ROOT, collections_path, eventually
from harness.docs import assert_all_ran, doc_block, doc_commands, run_commands, substitute
from harness.dr import sessions_on, snapshot_all, writes_to

BIN = os.path.dirname(sys.executable)
RECAP = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
DEADLINE = 120


def reader_env(sim, tmp_path, user="admin", **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("K2_")}
    env.update({"PATH": BIN + os.pathsep + os.environ["PATH"], "ANSIBLE_COLLECTIONS_PATH": collections_path(),
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0", "K2_USERNAME": user,
                "K2_PASSWORD": sim.users[user]["password"], "K2_CA_PATH": sim.ca_path})
    env.update(extra)
    return env


def changed(output):
    """The sum of changed= over the PLAY RECAP lines of an ansible-playbook output."""
    recaps = RECAP.findall(output)
    assert recaps, output
    return sum(int(r[2]) for r in recaps)


def write_block(block_id, path, sim):
    text = substitute(doc_block(block_id).text, sim)
    path.write_text(text, encoding="utf-8")
    return yaml.safe_load(text)


def reader_files(sim, folder):
    """The topology guide's inventory.yml and topology.yml in `folder`; returns the declaration."""
    inventory = write_block("topo-inventory", folder / "inventory.yml", sim)
    assert set(inventory["all"]["children"]["k2_arrays"]["hosts"]) == {"k2-a", "k2-b"}
    return write_block("topo-declaration", folder / "topology.yml", sim)["k2_topology"]


def no_writes(sim):
    return [(a, w[0], w[1]) for a in ("k2-a", "k2-b") for w in writes_to(sim, a)]


def pairs_in_sync(sim, topology):
    on = {a: sessions_on(sim, a) for a in ("k2-a", "k2-b")}
    for pair in topology["pairs"]:
        source = on[pair["source"]].get(pair["name"])
        target = on[pair["target"]].get(pair.get("target_session", "remote_" + pair["name"]))
        if not (source and target and source["current_role"] == "source" and source["state"] == "in_sync"
                and target["current_role"] == "target" and target["state"] == "in_sync"):
            return False
    return True


def read_report(folder):
    with open(folder / "reports" / "drift_report.json", encoding="utf-8") as handle:
        return json.load(handle)


# ---- getting started -----------------------------------------------------------------------------


def test_getting_started(k2sim, tmp_path):
    work = tmp_path / "reader"
    work.mkdir()
    # Glue: the release tarball, as `ansible-galaxy collection build` names it in the checkout.
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work),
                           REPO_ROOT], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    install = doc_commands("gs-install-tarball")
    assert [name for name in os.listdir(work) if name.endswith(".tar.gz")] == \
        [re.search(r"(kaminario-k2-[0-9.]+\.tar\.gz)", install[0]).group(1)]

    # The reader's Ansible installs collections into its collections path: one of their own here.
    installed = tmp_path / "collections"
    env = reader_env(k2sim, tmp_path, ANSIBLE_COLLECTIONS_PATH=str(installed))
    assert_all_ran(run_commands(install, str(work), env), install)
    manifest = installed / "ansible_collections" / "kaminario" / "k2" / "MANIFEST.json"
    assert json.loads(manifest.read_text())["collection_info"]["name"] == "k2"
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "kaminario.k2.k2_replication_session"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "kaminario.k2.k2_replication_session" in proc.stdout, proc.stderr

    # Or from a requirements.yml (into an empty collections path).
    write_block("gs-requirements", work / "requirements.yml", k2sim)
    from_requirements = tmp_path / "collections-from-requirements"
    commands = doc_commands("gs-install-requirements")
    assert_all_ran(run_commands(commands, str(work), dict(env, ANSIBLE_COLLECTIONS_PATH=str(from_requirements))),
                   commands)
    assert (from_requirements / "ansible_collections" / "kaminario" / "k2" / "MANIFEST.json").is_file()

    # Connect: the play with module_defaults, the account from K2_* (k2_username left undefined).
    write_block("gs-read-array", work / "read_array.yml", k2sim)
    read_array = ["ansible-playbook read_array.yml"]  # the reader runs the play they saved
    runs = run_commands(read_array, str(work), env)
    assert_all_ran(runs, read_array)
    assert '"msg": []' in runs[0].output, runs[0]  # no session yet

    # The first session: check mode and diff first (no write), then for real, then again (no change).
    write_block("gs-first-session", work / "first_session.yml", k2sim)
    export, check, apply = [substitute(c, k2sim) for c in doc_commands("gs-first-session-run")]
    assert export.startswith("export ") and "--check --diff" in check and "--check" not in apply
    plain = {k: v for k, v in env.items() if not k.startswith("K2_")}  # the guide exports them itself
    k2sim.clear_journal()
    runs = run_commands([export, check], str(work), plain)
    assert_all_ran(runs, [export, check])
    assert "oracle-prod" in runs[1].output and no_writes(k2sim) == []
    runs = run_commands([export, apply], str(work), plain)
    assert_all_ran(runs, [export, apply])
    session = sessions_on(k2sim, "k2-a")["oracle-prod"]
    assert (session["rpo"], session["current_role"]) == (300, "source")
    assert eventually(lambda: sessions_on(k2sim, "k2-a")["oracle-prod"]["state"] == "in_sync", timeout=DEADLINE)
    k2sim.clear_journal()
    runs = run_commands([export, apply], str(work), plain)
    assert_all_ran(runs, [export, apply])
    assert changed(runs[1].output) == 0 and no_writes(k2sim) == []
    # The read play now lists it.
    runs = run_commands(read_array, str(work), env)
    assert_all_ran(runs, read_array)
    assert '"oracle-prod"' in runs[0].output, runs[0]


# ---- topology as code ----------------------------------------------------------------------------


def test_topology_guide(k2sim, tmp_path):
    work = tmp_path / "reader"
    work.mkdir()
    topology = reader_files(k2sim, work)
    env = reader_env(k2sim, tmp_path)
    check, apply = doc_commands("topo-apply")
    assert "--check" in check and "--check" not in apply

    runs = run_commands([check], str(work), env)
    assert_all_ran(runs, [check])
    assert no_writes(k2sim) == []
    runs = run_commands([apply], str(work), env)
    assert_all_ran(runs, [apply])
    assert pairs_in_sync(k2sim, topology)
    # "A second run changes nothing."
    k2sim.clear_journal()
    runs = run_commands([apply], str(work), env)
    assert_all_ran(runs, [apply])
    assert changed(runs[0].output) == 0 and no_writes(k2sim) == []

    drift = doc_commands("topo-drift")
    assert_all_ran(run_commands(drift, str(work), env), drift)
    report = read_report(work)
    assert report["summary"]["drift"] is False and report["summary"]["in_sync"] == len(topology["pairs"])

    # Start from what the arrays hold: the export overwrites topology.yml; a drift report right
    # after it shows no drift.
    export = doc_commands("topo-export")
    assert_all_ran(run_commands(export, str(work), env), export)
    with open(work / "topology.yml", encoding="utf-8") as handle:
        assert "k2_topology_export:" in handle.read()
    (work / "reports" / "drift_report.json").unlink()
    assert_all_ran(run_commands(drift, str(work), env), drift)
    assert read_report(work)["summary"]["drift"] is False
    assert no_writes(k2sim) == []

    # "Is replication meeting its RPO?": glue, the link between the arrays cut and the (frozen)
    # array clock moved 3 x the largest rpo on, so no pair's recovery point can be younger than that;
    # every pair (all declared in_sync) breaches its RPO and the play fails, after the report is written.
    k2sim.cut_link("k2-a", "k2-b")
    k2sim.manual_clock(True)
    k2sim.advance(seconds=3 * max(p.get("rpo", topology["defaults"]["rpo"]) for p in topology["pairs"]))
    (work / "reports" / "drift_report.json").unlink()
    rpo = doc_commands("topo-rpo")
    runs = run_commands(rpo, str(work), env)
    assert len(runs) == 1 and runs[0].rc == 2, runs[0]
    report = read_report(work)
    assert report["summary"]["rpo_breach"] == len(topology["pairs"]) and report["summary"]["drift"] is False
    assert "%d RPO breaches" % len(topology["pairs"]) in runs[0].output
    assert "pair(s) breach their RPO" in runs[0].output
    assert no_writes(k2sim) == []


# ---- the DR runbook ------------------------------------------------------------------------------


def test_dr_runbook(k2sim, tmp_path):
    work = tmp_path / "reader"
    work.mkdir()
    topology = reader_files(k2sim, work)
    env = reader_env(k2sim, tmp_path)
    apply = doc_commands("topo-apply")[1]
    assert_all_ran(run_commands([apply], str(work), env), [apply])
    # Glue: every pair has a replicated snapshot; then k2-a, the source of two pairs, goes down.
    snapshot_all(k2sim, topology)
    k2sim.down("k2-a")
    k2sim.clear_journal()

    check, failover = doc_commands("dr-failover-source")
    assert "--check" in check
    runs = run_commands([check], str(work), env)
    assert_all_ran(runs, [check])
    assert no_writes(k2sim) == [] and "would_fail_over" in runs[0].output
    runs = run_commands([failover], str(work), env)
    assert_all_ran(runs, [failover])
    on_b = sessions_on(k2sim, "k2-b")
    assert on_b["remote_oracle_prod"]["state"] == on_b["remote_sql_prod"]["state"] == "failed_over"
    assert on_b["reports_dr"]["current_role"] == "source"  # k2-b's own pair: not selected
    # The summary names the restored snapshots, never a ref or an id.
    restored = re.findall(r"restoring snapshot (\S+?)[\",]", runs[0].output)
    assert len(restored) == 2 and not [r for r in restored if r.startswith("/") or r.isdigit()], runs[0]

    # By name, the same pairs again: a no-op.
    k2sim.clear_journal()
    by_name = doc_commands("dr-failover-pairs")
    runs = run_commands(by_name, str(work), env)
    assert_all_ran(runs, by_name)
    assert no_writes(k2sim) == [] and "already_failed_over" in runs[0].output

    k2sim.up("k2-a")
    k2sim.clear_journal()
    check, failback = doc_commands("dr-failback")
    runs = run_commands([check], str(work), env)
    assert_all_ran(runs, [check])
    assert no_writes(k2sim) == []
    runs = run_commands([failback], str(work), env)
    assert_all_ran(runs, [failback])
    assert pairs_in_sync(k2sim, topology)
    # "A drift report right after it shows no drift" (the topology guide's command).
    drift = doc_commands("topo-drift")
    assert_all_ran(run_commands(drift, str(work), env), drift)
    assert read_report(work)["summary"]["drift"] is False


# ---- README --------------------------------------------------------------------------------------


def test_readme_connection_and_examples(k2sim, tmp_path):
    work = tmp_path / "reader"
    work.mkdir()
    env = reader_env(k2sim, tmp_path)
    write_block("readme-connection", work / "connection.yml", k2sim)
    command = ["ansible-playbook connection.yml"]
    runs = run_commands(command, str(work), env)
    assert_all_ran(runs, command)
    assert [e["query"] for e in k2sim.journal("k2-a") if e["path"] == "/api/v2/replication/sessions"][-1]["state"] \
        == "in_sync"

    # The examples are tasks: glue, a play that gives them the connection in module_defaults, as
    # the section above does.
    tasks = yaml.safe_load(substitute(doc_block("readme-examples").text, k2sim))
    play = [{"name": "README examples", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/kaminario.k2.k2": {"host": k2sim.arrays["k2-a"]["host"]}}, "tasks": tasks}]
    (work / "examples.yml").write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    command = ["ansible-playbook examples.yml"]
    runs = run_commands(command, str(work), env)
    assert_all_ran(runs, command)
    on_a, on_b = sessions_on(k2sim, "k2-a"), sessions_on(k2sim, "k2-b")
    assert on_a["oracle-prod"]["rpo"] == 300 and on_a["sql-prod"]["rpo"] == 900
    assert on_b["remote_oracle-prod"]["state"] == "failed_over"
    assert "old-app" not in on_a


def test_readme_drift_report(k2sim, tmp_path):
    work = tmp_path / "reader"
    work.mkdir()
    topology = reader_files(k2sim, work)
    env = reader_env(k2sim, tmp_path)
    command = doc_commands("readme-drift-report")
    # Nothing applied yet: every pair missing, and fail_on_drift fails the run after the reports.
    runs = run_commands(command, str(work), env)
    assert runs[0].rc == 2 and "fail_on_drift is set" in runs[0].output, runs[0]
    assert read_report(work)["summary"]["missing"] == len(topology["pairs"])
    apply = doc_commands("topo-apply")[1]
    assert_all_ran(run_commands([apply], str(work), env), [apply])
    assert_all_ran(run_commands(command, str(work), env), command)
    assert read_report(work)["summary"]["in_sync"] == len(topology["pairs"])


def checkout_like(folder):
    """A folder that looks like the checkout to a reader's relative paths: every top-level entry of
    the repository linked (not build/ nor the venvs), and .venv the venv this test runs in."""
    folder.mkdir()
    for name in os.listdir(REPO_ROOT):
        if name not in ("build", ".git") and not name.startswith(".venv"):
            os.symlink(os.path.join(REPO_ROOT, name), folder / name)
    os.symlink(sys.prefix, folder / ".venv")
    return folder


def test_readme_simulator_start(tmp_path):
    [command] = doc_commands("readme-simulator")
    work = checkout_like(tmp_path / "checkout")
    proc = subprocess.Popen(["bash", "-c", command], cwd=str(work), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    try:
        reader.join(DEADLINE)
        assert lines and lines[0].strip(), "no start line within %s s" % DEADLINE
        start = json.loads(lines[0])
        assert sorted(start["arrays"]) == ["k2-a", "k2-b"] and os.path.isfile(start["ca_path"])
        assert start["users"]["admin"]["password"] == "admin-k2sim"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=DEADLINE)
    assert rc == 0  # SIGTERM stops it cleanly
