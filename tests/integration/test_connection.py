# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options through real ansible-playbook runs: the action group in module_defaults,
TLS verification on by default, errors that name the request but never the password, and a host
with credentials in it refused before any request."""

import json

import pytest

SESSIONS = "/api/v2/replication/sessions"

MODULE_DEFAULTS_PLAY = """
- name: Connection options set once for the whole collection
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/kaminario.k2.k2:
      host: "{{ k2_host }}"
      username: "{{ k2_user }}"
      password: "{{ k2_password }}"
      ca_path: "{{ k2_ca }}"
  tasks:
    - name: Create
      kaminario.k2.k2_replication_session:
        name: grouped
        replication_peer_k2array: k2-b
        local_volume_group: vg_oracle_prod
        rpo: 300
    - name: List
      kaminario.k2.k2_replication_session_info:
        name: grouped
"""

LIST_PLAY = """
- name: List sessions with the connection from the environment
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List
      kaminario.k2.k2_replication_session_info:
"""

CREATE_PLAY = """
- name: Create a session with the connection from the environment
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Create
      kaminario.k2.k2_replication_session:
        name: not-allowed
        replication_peer_k2array: k2-b
        local_volume_group: vg_oracle_prod
        rpo: 300
"""


def test_module_defaults_group_sets_the_connection_once(k2sim, run_playbook):
    # The environment points nowhere useful: only module_defaults can make these tasks work.
    broken_env = {"K2_HOST": "", "K2_USERNAME": "", "K2_PASSWORD": "", "K2_CA_PATH": ""}
    extra = {"k2_host": k2sim.arrays["k2-a"]["host"], "k2_user": "admin",
             "k2_password": k2sim.users["admin"]["password"], "k2_ca": k2sim.ca_path}
    result = run_playbook(MODULE_DEFAULTS_PLAY, extra_vars=extra, env=broken_env)
    assert result.rc == 0, result
    assert result.status("Create") == "changed"
    assert result.status("List") == "ok"
    assert [s["name"] for s in result.task("List")["sessions"]] == ["grouped"]
    assert [(e["method"], e["path"]) for e in k2sim.journal("k2-a") if e["method"] == "POST"] == [("POST", SESSIONS)]


def test_tls_verification_is_on_by_default(k2sim, run_playbook):
    # Without ca_path the simulator's private CA is not trusted: the handshake fails, nothing is sent.
    result = run_playbook(LIST_PLAY, env={"K2_CA_PATH": ""})
    assert result.rc != 0
    assert result.status("List") == "failed"
    assert "certificate verify failed" in result.task("List")["msg"]
    assert k2sim.journal("k2-a") == []


def test_validate_certs_false_skips_verification(k2sim, run_playbook):
    result = run_playbook(LIST_PLAY, env={"K2_CA_PATH": "", "K2_VALIDATE_CERTS": "false"})
    assert result.rc == 0, result
    assert result.status("List") == "ok"
    assert [(e["method"], e["path"]) for e in k2sim.journal("k2-a")] == [("GET", SESSIONS)]


def test_bad_password_is_a_401_that_never_shows_the_password(k2sim, run_playbook):
    secret = "Wr0ng-pa55word-XYZ"
    result = run_playbook(LIST_PLAY, env={"K2_PASSWORD": secret}, verbosity=3)
    assert result.rc != 0
    task = result.task("List")
    assert task["status"] == 401
    assert "GET /replication/sessions" in task["msg"] and "401" in task["msg"]
    assert secret not in result.stdout and secret not in result.stderr
    assert secret not in str(result.tasks)


def test_read_only_user_cannot_write(k2sim, run_playbook):
    result = run_playbook(CREATE_PLAY, user="monitor")
    assert result.rc != 0
    task = result.task("Create")
    assert task["status"] == 403
    assert "POST /replication/sessions" in task["msg"]
    assert "not-allowed" not in [s["name"] for s in k2sim.dump("k2-a")["objects"]["replication/sessions"]]


HOST_SECRET = "Hq7-in-host-S3cret-8812"
HOST_REFUSAL = ("host: must be a name or address with an optional port; credentials in host are not accepted: "
                "use username and password")
# One task per module, each with what it needs to reach its first request.
EVERY_MODULE = [
    ("kaminario.k2.k2_replication_session_info", {}),
    ("kaminario.k2.k2_peer_array_info", {}),
    ("kaminario.k2.k2_replication_snapshot", {"sessions": ["s1"]}),
    ("kaminario.k2.k2_replication_session", {"name": "s1", "replication_peer_k2array": "k2-b",
                                             "local_volume_group": "vg_oracle_prod", "rpo": 300}),
    ("kaminario.k2.k2_replication_topology", {"sessions": [{"name": "s1", "replication_peer_k2array": "k2-b",
                                                            "local_volume_group": "vg_oracle_prod", "rpo": 300}]}),
]


def every_module_play(host=None):
    tasks = []
    for module, args in EVERY_MODULE:
        args = dict(args, host=host) if host else args
        tasks.append({"name": module, module: args, "ignore_errors": True})
    return json.dumps([{"name": "Credentials in host", "hosts": "localhost", "gather_facts": False, "tasks": tasks}])


@pytest.mark.parametrize("where", ["task", "environment"])
def test_credentials_in_host_are_refused_before_any_request_and_never_shown(k2sim, run_playbook, where):
    """A host value with user:secret@ in it, given to each module in its task or as K2_HOST, is refused
    before any request (the journals are empty), and the secret is in no output, even at -vvv."""
    address = k2sim.arrays["k2-a"]["host"]
    spelled = "admin:%s@%s" % (HOST_SECRET, address)
    if where == "task":
        result = run_playbook(every_module_play(spelled), verbosity=3)
    else:
        result = run_playbook(every_module_play(), verbosity=3, env={"K2_HOST": spelled})
    assert result.rc == 0, result  # every task failed, and was ignored
    for module, _args in EVERY_MODULE:
        assert result.status(module) == "failed", result
        assert result.task(module)["msg"] == HOST_REFUSAL
        assert result.task(module)["option"] == "host"
    for secret in (HOST_SECRET, spelled):
        assert secret not in result.stdout and secret not in result.stderr
        assert secret not in json.dumps(result.tasks)
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []
