# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX guide's project, as written: every shipped playbook run as an AWX job (harness/awx.py:
ansible-runner, the "Kaminario K2" credential's injected environment) from the user's own project,
with the collection installed from its tarball and made read-only, on the oldest and the newest
ansible-core.

What AWX does and these tests do too: the project is the guide's (its playbooks written by the
guide's own command, its inventory and group variables taken from the guide's blocks, the reader's
array addresses replaced by the simulator's as harness/docs.py states); the inventory a job gets is
``ansible-inventory --list`` of the project's inventory file, as a project inventory source stores it;
a Check job for the drift report; survey answers as extra variables. As in an execution
environment: the collection is on the collections path alone (not this checkout), its files cannot be
written by the job's user (``chmod -R a-w``, and root's file override dropped: run_job(unprivileged));
the job has its own temporary folder (TMPDIR); the inventory, not the harness, names the Python (a
``python3`` that fails comes first on the PATH)."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pexpect
import pytest
import yaml
from harness import REPO_ROOT
from harness.awx import run_job
from harness.docs import doc_block, doc_commands, substitute
from harness.dr import sessions_on, snapshot_all

BIN = os.path.dirname(sys.executable)
PLAYBOOKS = ("topology", "drift_report", "export_topology", "failover", "failback")
REF = re.compile(r"/(replication|snapshots|volume_groups|retention_policies)\b|/\d+\b")


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, **kwargs)
    assert proc.returncode == 0, "%s\nrc=%d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def tree_state(folder):
    """{path: (mode, size, mtime)} of everything under `folder`."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            found[path] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The collection built into a tarball, installed from it into a collections path of its own,
    then made read-only: {"path": the collections path, "root": .../ansible_collections/kaminario/k2}."""
    dist = tmp_path_factory.mktemp("dist")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), REPO_ROOT])
    [tarball] = [p for p in dist.iterdir() if p.name.endswith(".tar.gz")]
    path = tmp_path_factory.mktemp("ee-collections")
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(path), str(tarball)],
        env=env)
    root = path / "ansible_collections" / "kaminario" / "k2"
    assert (root / "playbooks" / "drift_report.yml").is_file()
    run(["chmod", "-R", "a-w", str(path)])
    yield {"path": str(path), "root": str(root)}
    run(["chmod", "-R", "u+w", str(path)])


@pytest.fixture
def stub_pythons(tmp_path):
    """A folder of python3 and python3.N programs that fail, to put first on a job's PATH: interpreter
    discovery would find one of them (as on a machine with another python3 first on the PATH)."""
    folder = tmp_path / "stub-bin"
    folder.mkdir()
    for name in ["python3"] + ["python3.%d" % n for n in range(6, 15)]:
        stub = folder / name
        stub.write_text("#!/bin/sh\necho 'not the Python of the execution environment' >&2\nexit 1\n",
                        encoding="utf-8")
        stub.chmod(0o755)
    return str(folder)


def guide_file(block_id, sim):
    """(path, text) of a guide block whose first line names its file (``# inventories/k2/hosts.yml``),
    the reader's own values replaced."""
    text = doc_block(block_id).text
    first = text.splitlines()[0]
    assert first.startswith("# "), first
    return first[2:].strip(), substitute(text, sim)


@pytest.fixture
def project(k2sim, tmp_path):
    """The guide's project: the playbooks written by its command, its inventory and group variables."""
    folder = tmp_path / "k2-project"
    folder.mkdir()
    for command in doc_commands("awx-project-playbooks"):
        run(["bash", "-c", command], cwd=str(folder))
    assert sorted(p.name for p in folder.iterdir()) == sorted(n + ".yml" for n in PLAYBOOKS)
    assert (folder / "drift_report.yml").read_text(encoding="utf-8") == doc_block("awx-project-drift-report").text
    for block_id in ("awx-inventory", "awx-topology"):
        path, text = guide_file(block_id, k2sim)
        os.makedirs(folder / os.path.dirname(path), exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    return folder


def synced_inventory(project, collection):
    """The inventory as a project inventory source stores it: ``ansible-inventory --list`` of the
    project's inventory file (its group_vars and host_vars included)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection["path"])
    proc = run([os.path.join(BIN, "ansible-inventory"), "-i", "inventories/k2/hosts.yml", "--list"],
               cwd=str(project), env=env)
    return json.loads(proc.stdout)


def topology_of(project):
    with open(project / "inventories" / "k2" / "group_vars" / "k2_arrays.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["k2_topology"]


def credential(sim, user="admin"):
    with open(sim.ca_path, encoding="utf-8") as handle:
        return {"username": user, "password": sim.users[user]["password"], "ca_cert": handle.read()}


class Jobs:
    """Jobs from the project, as AWX runs them in an execution environment."""

    def __init__(self, sim, project, collection, stubs, tmp_path, temps):
        self.sim, self.project, self.collection, self.stubs, self.tmp_path = sim, project, collection, stubs, tmp_path
        self.temps = temps
        self.count = 0

    def run(self, name, inventory=None, check=False, extra_vars=None, user="admin", vault_password=None):
        self.count += 1
        label = "%02d-%s" % (self.count, name)
        temp = self.temps / label
        temp.mkdir()
        before = tree_state(self.collection["path"])
        job = run_job(str(self.project / (name + ".yml")), inventory or synced_inventory(self.project, self.collection),
                      credential_inputs=credential(self.sim, user), check=check, extra_vars=extra_vars,
                      project_dir=str(self.project), workdir=str(self.tmp_path / label), unprivileged=True,
                      vault_password=vault_password,
                      collections_path=self.collection["path"], python_interpreter=None,
                      envvars={"TMPDIR": str(temp),
                               "PATH": os.pathsep.join([self.stubs, BIN, os.environ["PATH"]])})
        assert tree_state(self.collection["path"]) == before, "the job changed the installed collection"
        job.temp = str(temp)
        return job

    def reports_dir(self, job):
        """Where the job's files go: the collection cannot be written, so the job's temporary folder."""
        return os.path.join(job.temp, "kaminario.k2-reports-%d" % os.getuid())


@pytest.fixture
def jobs(k2sim, project, collection, stub_pythons, tmp_path):
    # The jobs' TMPDIR is short, as an EE's /tmp is: ansible-core 2.21 starts a local RPC server on a
    # Unix socket under TMPDIR, and a socket path over 107 bytes (pytest's tmp_path and the names
    # multiprocessing adds) makes every job fail with "Local RPC server did not start".
    temps = Path(tempfile.mkdtemp(prefix="k2-ee-"))
    try:
        yield Jobs(k2sim, project, collection, stub_pythons, tmp_path, temps)
    finally:
        shutil.rmtree(temps, ignore_errors=True)


def task_paths(job):
    return {e["event_data"].get("task_path", "").rsplit(":", 1)[0] for e in job.events
            if e.get("event") == "runner_on_ok" and e["event_data"].get("task_path")}


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


class TaggedLoader(yaml.SafeLoader):
    """Reads an exported declaration, whose values from the arrays are tagged !unsafe, as plain values."""


TaggedLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_the_collection_is_read_only_to_the_jobs(collection):
    # What the jobs below rely on: the installed files allow no write, and (for root) run_job drops
    # the override, which the jobs' own os.access sees (the filter report_dir asks it).
    for root, dirs, files in os.walk(collection["path"]):
        for name in dirs + files:
            assert not os.lstat(os.path.join(root, name)).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_every_playbook_runs_as_a_job_from_the_guides_project(k2sim, project, collection, jobs):
    topology = topology_of(project)
    pairs = sorted(p["name"] for p in topology["pairs"])

    # Apply the topology (a Run job).
    job = jobs.run("topology")
    assert (job.rc, job.status) == (0, "successful"), job
    assert job.artifacts["replication_topology"] == {"done": 2, "failed": 0, "refused": 0, "failed_pairs": []}
    # The roles ran from the installed, read-only copy.
    assert {p for p in task_paths(job) if "/roles/" in p or "/playbooks/" in p}
    assert all(p.startswith(collection["root"]) for p in task_paths(job) if "/roles/" in p), task_paths(job)
    on_a, on_b = sessions_on(k2sim, "k2-a"), sessions_on(k2sim, "k2-b")
    assert on_a["oracle_prod"]["state"] == on_b["reports_dr"]["state"] == "in_sync"

    # The nightly drift report (a Check job, with the guide's extra variable): the reports are written
    # to the job's temporary folder, and their content is in the artifacts.
    k2sim.clear_journal()
    job = jobs.run("drift_report", check=True, extra_vars={"fail_on_drift": True}, user="monitor")
    assert (job.rc, job.status) == (0, "successful"), job
    summary = job.artifacts["drift_report_summary"]
    assert (summary["drift"], summary["total"], summary["in_sync"], summary["unread"]) == (False, 2, 2, 0)
    assert summary["json_report"] == os.path.join(jobs.reports_dir(job), "drift_report.json")
    assert summary["markdown_report"] == os.path.join(jobs.reports_dir(job), "drift_report.md")
    assert job.artifacts["drift_report_json"] == json.loads(read(summary["json_report"]))
    assert sorted(p["name"] for p in job.artifacts["drift_report_json"]["pairs"]) == pairs
    markdown = job.artifacts["drift_report_markdown"]
    assert markdown == read(summary["markdown_report"]) and "oracle\\_prod" in markdown
    assert not [e for a in ("k2-a", "k2-b") for e in k2sim.journal(a) if e["method"] != "GET"]
    assert job.host_stats("k2-a")["changed"] == job.host_stats("k2-b")["changed"] == 0

    # Export what the arrays hold: the declaration's text in the artifacts.
    job = jobs.run("export_topology", user="monitor")
    assert (job.rc, job.status) == (0, "successful"), job
    exported = job.artifacts["k2_topology_export"]
    assert exported["path"] == os.path.join(jobs.reports_dir(job), "k2_topology.yml")
    assert exported["document"] == read(exported["path"])
    assert exported["lines"][0].startswith("2 pairs exported from 2 arrays")
    declaration = yaml.load(exported["document"], Loader=TaggedLoader)["k2_topology"]
    assert sorted(p["name"] for p in declaration["pairs"]) == pairs
    # As the guide says: commit it as the group variables; after the next sync, no drift.
    (project / "inventories" / "k2" / "group_vars" / "k2_arrays.yml").write_text(exported["document"],
                                                                                 encoding="utf-8")
    # The sync keeps the !unsafe tags (as AWX stores them), so the jobs take the names as data.
    synced = synced_inventory(project, collection)["_meta"]["hostvars"]["k2-a"]["k2_topology"]
    assert sorted(p["name"]["__ansible_unsafe"] for p in synced["pairs"]) == pairs
    job = jobs.run("drift_report", check=True, extra_vars={"fail_on_drift": True}, user="monitor")
    assert (job.rc, job.status) == (0, "successful"), job
    assert job.artifacts["drift_report_summary"]["in_sync"] == 2

    # Fail over (k2-a down), the survey naming the source array.
    snapshot_all(k2sim, topology)
    k2sim.down("k2-a")
    job = jobs.run("failover", extra_vars={"k2_failover_source": "k2-a"})
    assert (job.rc, job.status) == (0, "successful"), job
    failover = job.artifacts["k2_failover"]
    assert (failover["failed_over"], failover["failed_pairs"]) == (1, [])
    [record] = failover["pairs"]
    assert (record["pair"], record["array"], record["session"]) == ("oracle_prod", "k2-b", "remote_oracle_prod")
    # Names, never refs or ids, in what a person reads.
    assert record["restored_snapshot"] and not REF.search(record["restored_snapshot"]), record
    assert not [line for line in failover["lines"] if REF.search(line)], failover["lines"]
    assert sessions_on(k2sim, "k2-b")["remote_oracle_prod"]["state"] == "failed_over"

    # Fail back (k2-a up).
    k2sim.up("k2-a")
    job = jobs.run("failback", extra_vars={"k2_failback_source": "k2-a"})
    assert (job.rc, job.status) == (0, "successful"), job
    failback = job.artifacts["k2_failback"]
    assert (failback["completed"], failback["unfinished"]) == (1, [])
    assert not [line for line in failback["lines"] if REF.search(line)], failback["lines"]
    a, b = sessions_on(k2sim, "k2-a")["oracle_prod"], sessions_on(k2sim, "k2-b")["remote_oracle_prod"]
    assert (a["current_role"], a["state"], b["current_role"], b["state"]) == ("source", "in_sync", "target", "in_sync")


def test_the_nightly_drift_job_fails_when_an_array_could_not_be_read(k2sim, jobs):
    k2sim.down("k2-b")
    # Whether or not fail_on_drift is set: a night that verified less than the declaration is red.
    for extra_vars in ({"fail_on_drift": True}, {}):
        job = jobs.run("drift_report", check=True, extra_vars=extra_vars, user="monitor")
        assert (job.rc, job.status) == (2, "failed"), job
        [(_host, event, result)] = job.task_results("Fail when an array could not be read")
        assert event == "runner_on_failed" and "1 array(s) could not be read" in result["msg"], result
        # Published before it failed: the reports, which say which array.
        summary = job.artifacts["drift_report_summary"]
        assert summary["unread"] == 1 and os.path.isfile(summary["json_report"])
        assert [a["name"] for a in job.artifacts["drift_report_json"]["arrays"] if not a["read"]] == ["k2-b"]
    # Told otherwise, it is green.
    job = jobs.run("drift_report", check=True, extra_vars={"fail_on_unread": False}, user="monitor")
    assert (job.rc, job.status) == (0, "successful"), job
    assert job.artifacts["drift_report_summary"]["unread"] == 1


def test_without_the_interpreter_line_the_job_takes_the_wrong_python(k2sim, project, collection, jobs):
    """What the guide's ansible_python_interpreter is for: without it, interpreter discovery finds the
    python3 that comes first on the PATH, every module fails, and the report verified nothing (and
    says so: the job fails)."""
    inventory = synced_inventory(project, collection)
    for hostvars in inventory["_meta"]["hostvars"].values():
        assert hostvars.pop("ansible_python_interpreter") == "{{ ansible_playbook_python }}"
    job = jobs.run("drift_report", inventory=inventory, check=True, user="monitor")
    assert (job.rc, job.status) == (2, "failed"), job
    assert job.artifacts["drift_report_summary"]["unread"] == 2
    # The issue as users met it: every array "not read: Module result deserialization failed"
    # (ansible-core 2.16: "MODULE FAILURE"), the stub's complaint in the module's stderr.
    assert re.search(r"not read: k2-a: (Module result deserialization failed|MODULE FAILURE)", job.stdout), job
    assert [e for e in job.events if "not the Python of the execution environment" in json.dumps(e)]


def test_an_array_with_its_own_account_in_an_encrypted_host_variable(k2sim, project, collection, jobs):
    """The guide's second way: the credential holds the account most arrays share (here the
    read_only one); k2-b's account is in its host_vars, the password appended by the guide's
    ansible-vault command (answered as the guide says); the inventory syncs without any vault
    password, and the job opens the value with its Vault credential."""
    vault_password = "vault-pass-of-the-test"
    admin_password = k2sim.users["admin"]["password"]
    host_vars = project / "inventories" / "k2" / "host_vars"
    host_vars.mkdir()
    (host_vars / "k2-b.yml").write_text("k2_username: admin\n", encoding="utf-8")  # the account's name
    [command] = doc_commands("awx-vault-password")
    child = pexpect.spawn("bash", ["-c", command], cwd=str(project), encoding="utf-8", timeout=120,
                          env=dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"]))
    try:
        for prompt in (r"New vault password \(k2\): ", r"Confirm new vault password \(k2\): "):
            child.expect(prompt)
            child.sendline(vault_password)
        child.send(admin_password)
        child.sendeof()  # Ctrl-D twice, without Enter
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    written = yaml.safe_load((host_vars / "k2-b.yml").read_text(encoding="utf-8").replace("!vault", "!!str"))
    assert written["k2_username"] == "admin" and written["k2_password"].startswith("$ANSIBLE_VAULT;1.2;AES256;k2")
    assert admin_password not in (host_vars / "k2-b.yml").read_text(encoding="utf-8")

    inventory = synced_inventory(project, collection)  # no vault password
    assert inventory["_meta"]["hostvars"]["k2-b"]["k2_password"] == {"__ansible_vault": written["k2_password"]}
    k2sim.clear_journal()
    job = jobs.run("drift_report", inventory=inventory, check=True, user="monitor", vault_password=vault_password)
    assert (job.rc, job.status) == (0, "successful"), job
    assert job.artifacts["drift_report_summary"]["unread"] == 0
    assert {e["user"] for e in k2sim.journal("k2-a")} == {"monitor"}
    assert {e["user"] for e in k2sim.journal("k2-b")} == {"admin"}
    assert job.leaks(admin_password) == [] and job.leaks(vault_password) == []
