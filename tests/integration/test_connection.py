# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options through real ansible-playbook runs: the action group in module_defaults,
TLS verification on by default, and errors that name the request but never the password."""

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
