# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets (issue 10): every module, role and playbook run at -vvvv, with failing requests and a
failing write among them, and the password searched for everywhere a run leaves words: stdout,
stderr, the harness's per-task results (every result, diff and error), Ansible's log file
(ANSIBLE_LOG_PATH), the report and export files the playbooks write, and anything else left in
the run's folder. The simulator's own log is not searched: it is the server.

The simulator gets users with distinctive passwords (a password that is also a common word could
appear by chance); a wrong password used for a 401 is searched for too, and so is the HTTP Basic
credential as it travels (base64 of user:password).
"""

import base64
import glob
import json
import os

import pytest
from ansible.release import __version__ as ansible_version
from harness import REPO_ROOT, arrays_inventory, run_playbook
from harness.fixtures import simulator_fixtures

ADMIN_PASSWORD = "Kq7-zz9Secr3t-adm1n-4471"
MONITOR_PASSWORD = "Mon-8pX2-Secr3t-ro-1193"
WRONG_PASSWORD = "Wr0ng-9Jd-Secr3t-6620"
# A secret put where it does not belong (inside host): it is no module's password, so only the
# module's own refusal and masking keep it out of the output.
HOST_SECRET = "H0st-4Tq-Secr3t-8852"
SECRETS = (ADMIN_PASSWORD, MONITOR_PASSWORD, WRONG_PASSWORD, HOST_SECRET)
CORE = tuple(int(part) for part in ansible_version.split(".")[:2])

secret_sim_fixture, secret_sim_reset_fixture = simulator_fixtures(
    "secret_sim", transition_delay=0.1,
    users=["admin:%s:admin" % ADMIN_PASSWORD, "monitor:%s:read_only" % MONITOR_PASSWORD])

TOPOLOGY = {
    "defaults": {"rpo": 300, "replication_state": "in_sync"},
    "pairs": [{"name": "p1", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
              {"name": "p2", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod"}],
}

MODULES_PLAY = """
- name: Every module, with failures, at -vvvv
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A failing request (500 on the list)
      kaminario.k2.k2_replication_session_info:
        filters: {name__prefix: s}
      ignore_errors: true
    - name: Create (diff)
      kaminario.k2.k2_replication_session:
        name: s1
        replication_peer_k2array: k2-b
        local_volume_group: vg_web_prod
        rpo: 300
      diff: true
    - name: Password as a task argument (check and diff)
      kaminario.k2.k2_replication_session:
        password: "{{ k2_password_var }}"
        name: s1
        rpo: 900
      check_mode: true
      diff: true
    - name: A failing write (500 on the PATCH)
      kaminario.k2.k2_replication_session:
        name: s1
        rpo: 600
      ignore_errors: true
    - name: A write whose outcome is unknown (502 after the PATCH), then re-read
      kaminario.k2.k2_replication_session:
        name: s1
        rpo: 1200
    - name: Topology with a failing write (500 on a PATCH)
      kaminario.k2.k2_replication_topology:
        sessions:
          - {name: s1, rpo: 300}
      ignore_errors: true
    - name: List with names resolved
      kaminario.k2.k2_replication_session_info:
        resolve_names: true
    - name: Wrong password (401)
      kaminario.k2.k2_replication_session_info:
        password: "{{ wrong_password }}"
      ignore_errors: true
    - name: Read-only user writing (403)
      kaminario.k2.k2_replication_session:
        username: monitor
        password: "{{ monitor_password }}"
        name: s1
        rpo: 300
      ignore_errors: true
    - name: Topology (check, diff), one item refused
      kaminario.k2.k2_replication_topology:
        sessions:
          - {name: s1, rpo: 1200}
          - {name: s2, local_volume_group: vg_nope, replication_peer_k2array: k2-b, rpo: 300}
      check_mode: true
      diff: true
      ignore_errors: true
    - name: Module defaults with the password, and a failure
      kaminario.k2.k2_replication_session:
        name: s9
        rpo: 300
      module_defaults:
        group/kaminario.k2.k2:
          password: "{{ k2_password_var }}"
      ignore_errors: true
    - name: Peer arrays
      kaminario.k2.k2_peer_array_info:
    - name: Replication snapshot refused (the session is idle)
      kaminario.k2.k2_replication_snapshot:
        sessions: [s1]
      ignore_errors: true
    - name: The password inside host (refused)
      kaminario.k2.k2_peer_array_info:
        host: "admin:{{ host_secret }}@127.0.0.1"
      ignore_errors: true
    - name: The password inside host as a URL (refused)
      kaminario.k2.k2_replication_snapshot:
        host: "https://admin:{{ host_secret }}@127.0.0.1"
        sessions: [s1]
      ignore_errors: true
"""


def leaks(result, workdir):
    """Where a secret (or its Basic credential) appears: stdout, stderr, a task result, any file."""
    needles = list(SECRETS) + [base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
                               for user, pw in (("admin", ADMIN_PASSWORD), ("monitor", MONITOR_PASSWORD),
                                                ("admin", WRONG_PASSWORD))]
    found = []
    for needle in needles:
        if needle in result.stdout:
            found.append(("stdout", needle))
        if needle in result.stderr:
            found.append(("stderr", needle))
        for task in result.tasks:
            if needle in json.dumps(task):
                found.append(("result of %r" % task["task"], needle))
        for path in glob.glob(os.path.join(workdir, "**"), recursive=True):
            # The inputs the test wrote (extra vars, inventory) hold the passwords on purpose.
            if os.path.isfile(path) and os.path.basename(path) not in ("extra-vars.json", "inventory.yml"):
                with open(path, "rb") as handle:
                    if needle.encode() in handle.read():
                        found.append((os.path.relpath(path, workdir), needle))
    return found


@pytest.fixture
def run(secret_sim, tmp_path):
    runs = []

    def go(playbook, name, **kwargs):
        workdir = str(tmp_path / name)
        env = dict(kwargs.pop("env", {}), ANSIBLE_LOG_PATH=os.path.join(workdir, "ansible.log"))
        result = run_playbook(secret_sim, playbook, workdir=workdir, verbosity=4, env=env, **kwargs)
        runs.append(name)
        assert os.path.getsize(os.path.join(workdir, "ansible.log")) > 0
        assert "<127.0.0.1> EXEC" in result.stdout or "EXEC /bin/sh" in result.stdout, "not -vvvv output?"
        return result, workdir
    return go


def test_no_module_run_shows_the_password(secret_sim, run):
    # The extra vars file holds the password variables the play uses (an input, not an output).
    # In the order the play meets them: the list's GET, then the first three PATCHes.
    secret_sim.fault("k2-a", "500", "GET", "/replication/sessions")
    secret_sim.fault("k2-a", "500", "PATCH", "/replication/sessions/*")
    secret_sim.fault("k2-a", "502_after", "PATCH", "/replication/sessions/*")
    secret_sim.fault("k2-a", "500", "PATCH", "/replication/sessions/*")
    result, workdir = run(MODULES_PLAY, "modules", extra_vars={
        "k2_password_var": ADMIN_PASSWORD, "wrong_password": WRONG_PASSWORD, "monitor_password": MONITOR_PASSWORD,
        "host_secret": HOST_SECRET})
    assert result.rc == 0, result
    statuses = dict((t["task"], t["status"]) for t in result.tasks)
    assert statuses["A failing request (500 on the list)"] == "failed"
    assert statuses["A failing write (500 on the PATCH)"] == "failed"
    assert statuses["A write whose outcome is unknown (502 after the PATCH), then re-read"] == "changed"
    assert statuses["Topology with a failing write (500 on a PATCH)"] == "failed"
    assert secret_sim.faults("k2-a") == []
    assert statuses["Wrong password (401)"] == "failed" and statuses["Read-only user writing (403)"] == "failed"
    assert statuses["Peer arrays"] == "ok"
    assert statuses["Replication snapshot refused (the session is idle)"] == "failed"
    for name in ("The password inside host (refused)", "The password inside host as a URL (refused)"):
        assert statuses[name] == "failed"
        assert "credentials in host are not accepted" in result.task(name)["msg"]
    if CORE < (2, 21):
        # The core echoes each module's arguments (invocation) at -vvvv: the password was there, masked.
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in result.stdout
    else:
        assert '"invocation"' not in result.stdout  # 2.21 no longer echoes module arguments
    assert leaks(result, workdir) == []


def test_no_role_or_playbook_shows_the_password(secret_sim, run, tmp_path):
    """Every playbook under playbooks/ (and so every role), in an order that makes each one work:
    topology, drift report, export, failover, failback, with failures injected along the way."""
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO_ROOT, "playbooks", "*.yml")))
    order = ["topology.yml", "drift_report.yml", "export_topology.yml", "failover.yml", "failback.yml"]
    unknown = [n for n in names if n not in order]
    assert not unknown, "a playbook this test does not run yet: %s" % unknown
    # Per-array credentials in the inventory, as users give them (and the K2_* environment too).
    inventory = arrays_inventory(secret_sim, host_vars=dict(
        (a, {"k2_username": "admin", "k2_password": ADMIN_PASSWORD}) for a in secret_sim.arrays))
    ran = []
    for name in [n for n in order if n in names]:
        extra = {"k2_topology": TOPOLOGY}
        if name == "topology.yml":
            # A failing write: the first create is refused once with 500; a rerun converges.
            secret_sim.fault("k2-a", "500", "POST", "/replication/sessions", count=1)
            extra["replication_topology_mirror_timeout"] = 2  # p1's target never comes: do not wait for it
        elif name == "drift_report.yml":
            extra["drift_report_dir"] = str(tmp_path / "reports")
            secret_sim.fault("k2-b", "500", "GET", "/replication/sessions", count=1)  # a failing request
        elif name == "export_topology.yml":
            extra["export_topology_path"] = str(tmp_path / "reports" / "k2_topology.yml")
        elif name == "failover.yml":
            extra.update(k2_failover_pairs=["p1"], k2_failover_restored_snapshot="none")
        elif name == "failback.yml":
            extra["k2_failback_pairs"] = ["p1"]
        result, workdir = run(os.path.join(REPO_ROOT, "playbooks", name), name.replace(".yml", ""),
                              inventory=inventory, extra_vars=extra)
        if name == "topology.yml":
            assert result.rc != 0 and "HTTP 500" in result.stdout, result
            assert leaks(result, workdir) == []
            extra.pop("replication_topology_mirror_timeout")
            result, workdir = run(os.path.join(REPO_ROOT, "playbooks", name), "topology-again",
                                  inventory=inventory, extra_vars=extra)
        if name != "drift_report.yml":  # the injected read failure is a finding of the report
            assert result.rc == 0, result
        assert leaks(result, workdir) == [], name
        ran.append(name)
    reports = glob.glob(str(tmp_path / "reports" / "*"))
    assert len(reports) >= 2, reports  # the drift report's files and the export were written
    for path in reports:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert not any(secret in text for secret in SECRETS), path
    assert ran == [n for n in order if n in names]
