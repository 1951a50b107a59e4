"""The integration harness end to end: the real ansible-playbook, the collection path, connection
details through the environment, the JSON-lines callback and PlaybookResult."""

import os
import sys

import pytest

from harness import run_playbook

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    k2_url: "https://{{ lookup('env', 'K2_HOST') }}/api/v2"
    k2_auth: &k2_auth
      url_username: "{{ lookup('env', 'K2_USERNAME') }}"
      url_password: "{{ lookup('env', 'K2_PASSWORD') }}"
      force_basic_auth: true
      ca_path: "{{ lookup('env', 'K2_CA_PATH') }}"
  tasks:
    - name: read the system state
      ansible.builtin.uri:
        url: "{{ k2_url }}/system/state/1"
        <<: *k2_auth
      register: state

    - name: create a volume group
      ansible.builtin.uri:
        url: "{{ k2_url }}/volume_groups"
        method: POST
        body_format: json
        body: {name: "{{ vg_name }}", quota: 0}
        status_code: 201
        <<: *k2_auth
      changed_when: true

    - name: read a missing object
      ansible.builtin.uri:
        url: "{{ k2_url }}/volume_groups/999999"
        <<: *k2_auth
      ignore_errors: true

    - name: only on k2-b
      ansible.builtin.debug:
        msg: never
      when: state.json is defined and state.json.system_name == 'k2-b'
"""


def test_a_playbook_runs_against_the_simulator(sim, tmp_path):
    result = run_playbook(sim, PLAYBOOK, extra_vars={"vg_name": "vg_from_ansible"}, workdir=str(tmp_path))
    assert result.rc == 0, result
    assert [(t["task"], t["status"]) for t in result.tasks] == [
        ("read the system state", "ok"),
        ("create a volume group", "changed"),
        ("read a missing object", "failed"),
        ("only on k2-b", "skipped"),
    ]
    assert result.task("read the system state")["json"]["system_id"] == "d501"
    assert result.task("create a volume group")["json"]["name"] == "vg_from_ansible"
    assert result.task("read a missing object")["status"] == 404
    assert result.entry("create a volume group")["action"] == "ansible.builtin.uri"
    assert "PLAY RECAP" in result.stdout
    journal = sim.journal("k2-a")
    assert [(e["method"], e["path"], e["status"], e["user"]) for e in journal] == [
        ("GET", "/api/v2/system/state/1", 200, "admin"),
        ("POST", "/api/v2/volume_groups", 201, "admin"),
        ("GET", "/api/v2/volume_groups/999999", 404, "admin"),
    ]
    assert sim.journal("k2-b") == []
    password = sim.users["admin"]["password"]
    assert not any(password in arg for arg in result.command)  # only in the environment
    with pytest.raises(KeyError, match="no task 'nope'"):
        result.task("nope")


def test_array_user_and_check_mode(sim, tmp_path):
    result = run_playbook(
        sim, PLAYBOOK, array="k2-b", user="monitor", extra_vars={"vg_name": "vg_ro"}, workdir=str(tmp_path / "ro")
    )
    assert result.rc != 0
    assert result.status("read the system state") == "ok"
    assert result.status("create a volume group") == "failed"
    assert result.task("create a volume group")["status"] == 403
    assert [e["user"] for e in sim.journal("k2-b")] == ["monitor", "monitor"]
    sim.clear_journal()
    playbook = tmp_path / "check.yml"
    playbook.write_text(PLAYBOOK)
    checked = run_playbook(
        sim, str(playbook), check=True, diff=True, extra_vars={"vg_name": "vg_check"}, workdir=str(tmp_path / "check")
    )
    assert checked.rc == 0, checked
    assert checked.status("create a volume group") == "skipped"  # uri does not support check mode
    assert sim.journal("k2-a") == []  # nothing was sent in check mode
    assert "--check" in checked.command and "--diff" in checked.command


def test_the_collection_resolves_to_this_checkout(sim, tmp_path):
    result = run_playbook(
        sim,
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: where is kaminario.k2
      ansible.builtin.command: ansible-galaxy collection list kaminario.k2 --format json
      changed_when: false
""",
        workdir=str(tmp_path),
        env={"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]},
    )
    assert result.rc == 0, result
    assert "kaminario.k2" in result.task("where is kaminario.k2")["stdout"]
