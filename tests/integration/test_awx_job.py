# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Playbooks run the way AWX runs a job (harness/awx.py: ansible_runner, private data dir, the
environment rendered from the "Kaminario K2" credential type) against the simulator: a Check job
writes nothing, reports its stats and set_stats artifacts, and never shows the password; the CA
reaches the modules as the injected file; two arrays with different accounts in one job."""

import os
import stat

import pytest
import requests
from ansible.parsing.vault import VaultLib, VaultSecret
from harness import session_body
from harness.awx import k2_arrays_inventory, load_credential_type, render_credential, run_job

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "awx", "check_job.yml")
EXTRA_VARS = {"awx_session": "awx-s1", "awx_rpo": 600}
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def ca_pem(k2sim):
    with open(k2sim.ca_path, encoding="utf-8") as handle:
        return handle.read()


def credential(k2sim, user="admin", **extra):
    inputs = {"username": user, "password": k2sim.users[user]["password"], "ca_cert": ca_pem(k2sim)}
    inputs.update(extra)
    return inputs


@pytest.fixture
def awx_s1(k2sim):
    """Session awx-s1 on k2-a (its mirror remote_awx-s1 on k2-b), made through the API; journals cleared."""
    answer = requests.post("%s/replication/sessions" % k2sim.arrays["k2-a"]["url"],
                           json=session_body(name="awx-s1", rpo=300),
                           auth=("admin", k2sim.users["admin"]["password"]), verify=k2sim.ca_path, timeout=30)
    assert answer.status_code == 201, answer.text
    k2sim.clear_journal()


def assert_hidden(job, secret):
    """`secret` is in no output, event or file of the job, but for ansible-runner's record of the
    job environment (0600) when it was injected as an environment variable."""
    assert set(job.leaks(secret)) <= {job.env_record}, job.leaks(secret)
    assert stat.S_IMODE(os.stat(os.path.join(job.private_data_dir, job.env_record)).st_mode) == 0o600


def requests_to(k2sim, array):
    return [(e["method"], e["path"], e["user"]) for e in k2sim.journal(array)]


def test_check_job_reports_stats_and_artifacts_and_writes_nothing(k2sim, awx_s1, tmp_path):
    job = run_job(PLAYBOOK, k2_arrays_inventory(k2sim), credential_inputs=credential(k2sim), check=True,
                  extra_vars=EXTRA_VARS, workdir=str(tmp_path / "job"))
    assert (job.rc, job.status) == (0, "successful"), job
    # k2-a: list, plan (changed: an rpo change is planned), publish; k2-b: list, plan skipped, publish.
    assert job.host_stats("k2-a") == dict(ok=3, changed=1, failures=0, dark=0, skipped=0, rescued=0, ignored=0)
    assert job.host_stats("k2-b") == dict(ok=2, changed=0, failures=0, dark=0, skipped=1, rescued=0, ignored=0)
    assert job.artifacts == {"k2_sessions": {"k2-a": ["awx-s1"], "k2-b": ["remote_awx-s1"]},
                             "k2_planned": {"k2-a": ["update"], "k2-b": []}}
    [(host, _event, plan)] = [r for r in job.task_results("Plan an rpo change") if r[1] == "runner_on_ok"]
    assert host == "k2-a" and [(a["method"], a["body"]) for a in plan["actions"]] == [("PATCH", {"rpo": 600})]
    for array in ("k2-a", "k2-b"):
        seen = requests_to(k2sim, array)
        assert seen, "no request reached %s" % array
        assert not [r for r in seen if r[0] in WRITES], seen
        assert {user for _method, _path, user in seen} == {"admin"}
    assert k2sim.dump("k2-a")["objects"]["replication/sessions"][0]["rpo"] == 300
    assert_hidden(job, k2sim.users["admin"]["password"])


def test_the_ca_reaches_the_modules_as_the_injected_file(k2sim, tmp_path):
    job = run_job(PLAYBOOK, k2_arrays_inventory(k2sim, arrays=["k2-a"]), credential_inputs=credential(k2sim),
                  check=True, extra_vars=EXTRA_VARS, workdir=str(tmp_path / "job"))
    assert job.rc == 0, job
    env = job.injected_env
    assert env["K2_PASSWORD"] == "*" * 10 and env["K2_USERNAME"] == "admin"
    assert env["K2_VALIDATE_CERTS"] == "true"
    ca_file = env["K2_CA_PATH"]
    assert os.path.dirname(ca_file) == os.path.join(job.private_data_dir, "env")
    assert stat.S_IMODE(os.stat(ca_file).st_mode) == 0o600
    with open(ca_file, encoding="utf-8") as handle:
        assert handle.read() == ca_pem(k2sim)


def test_without_the_ca_the_job_fails_on_certificate_verification(k2sim, tmp_path):
    # An empty CA input: K2_CA_PATH is empty, the modules fall back to the default trust store,
    # which does not know the simulator's CA.
    job = run_job(PLAYBOOK, k2_arrays_inventory(k2sim, arrays=["k2-a"]),
                  credential_inputs=credential(k2sim, ca_cert=""), check=True, extra_vars=EXTRA_VARS,
                  workdir=str(tmp_path / "job"))
    assert job.injected_env["K2_CA_PATH"] == ""
    assert (job.rc, job.status) == (2, "failed"), job
    assert job.host_stats("k2-a")["failures"] == 1
    [(_host, event, result)] = job.task_results("List sessions")
    assert event == "runner_on_failed" and "certificate verify failed" in result["msg"], result
    assert_hidden(job, k2sim.users["admin"]["password"])


def test_two_arrays_with_different_accounts_in_one_job(k2sim, awx_s1, tmp_path):
    # The job's K2 credential holds the read_only account; k2-b's host vars carry another account,
    # its password an inline-vaulted value as an SCM inventory sync stores it, opened by the job's
    # Vault credential.
    vault_password = "vault-pass-for-the-test"
    admin_password = k2sim.users["admin"]["password"]
    secret = VaultLib([("default", VaultSecret(vault_password.encode()))]).encrypt(admin_password)
    host_vars = {"k2-b": {"k2_username": "admin", "k2_password": {"__ansible_vault": secret.decode()}}}
    job = run_job(PLAYBOOK, k2_arrays_inventory(k2sim, host_vars=host_vars),
                  credential_inputs=credential(k2sim, user="monitor"), check=True, extra_vars=EXTRA_VARS,
                  vault_password=vault_password, workdir=str(tmp_path / "job"))
    assert (job.rc, job.status) == (0, "successful"), job
    assert {user for _method, _path, user in requests_to(k2sim, "k2-a")} == {"monitor"}
    assert {user for _method, _path, user in requests_to(k2sim, "k2-b")} == {"admin"}
    assert job.artifacts["k2_sessions"] == {"k2-a": ["awx-s1"], "k2-b": ["remote_awx-s1"]}
    assert_hidden(job, k2sim.users["monitor"]["password"])
    # Not environment variables: these two appear nowhere at all.
    assert job.leaks(admin_password) == []
    assert job.leaks(vault_password) == []


def test_rendering_follows_awx(tmp_path):
    ctype = load_credential_type()
    # No CA, no skip_tls_verify stored: verification on with the default trust store.
    env, args = render_credential(ctype, {"username": "u", "password": "p", "ca_cert": ""}, str(tmp_path))
    assert env == {"K2_USERNAME": "u", "K2_PASSWORD": "p", "K2_CA_PATH": "", "K2_VALIDATE_CERTS": "true"}
    assert args == []
    # AWX writes the file template even when it renders empty.
    assert len(os.listdir(tmp_path / "env")) == 1
    env, _files = render_credential(ctype, {"username": "u", "password": "p", "skip_tls_verify": True}, str(tmp_path))
    assert env["K2_VALIDATE_CERTS"] == "false"
    with pytest.raises(ValueError, match="password"):
        render_credential(ctype, {"username": "u"}, str(tmp_path))
    with pytest.raises(ValueError, match="host"):
        render_credential(ctype, {"username": "u", "password": "p", "host": "k2-a"}, str(tmp_path))
