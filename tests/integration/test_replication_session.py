# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session through real ansible-playbook runs against the K2 simulator: what the
module returns, what the arrays hold afterwards (the simulator's dump) and every request it sent
(the simulator's journal)."""

import json
import os

import pytest
import requests
import yaml
from harness import eventually, run_playbook as run_with, start_simulator

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "session", "session.yml")
API = "/api/v2"
SESSIONS = API + "/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
# Created on k2-a, replicating to k2-b; references by name (two lookups).
S1 = {"name": "s1", "replication_peer_k2array": "k2-b", "local_volume_group": "vg_oracle_prod", "rpo": 300,
      "replication_state": "in_sync"}


def run(run_playbook, array="k2-a", check=False, diff=False, **session):
    result = run_playbook(PLAYBOOK, array=array, check=check, diff=diff, extra_vars={"session": session})
    return result, result.task("Session")


def start_s1(k2sim, run_playbook):
    """Create and start s1 on k2-a, then forget the requests that took."""
    result, task = run(run_playbook, **S1)
    assert result.rc == 0, result
    assert task["session"]["state"] == "in_sync"
    k2sim.clear_journal()
    return task["session"]


def requests_to(k2sim, array):
    return [(e["method"], e["path"], e["body"]) for e in k2sim.journal(array)]


def writes_to(k2sim, array):
    return [(m, p, b) for m, p, b in requests_to(k2sim, array) if m in WRITES]


def sessions_on(k2sim, array):
    return {s["name"]: s for s in k2sim.dump(array)["objects"]["replication/sessions"]}


def action_list(task):
    return [(a["name"], a["method"], a["path"], a["body"]) for a in task["actions"]]


# ---- create, idempotence, request counts ---------------------------------------------------------


def test_create_and_start_then_a_second_run_is_a_noop(k2sim, run_playbook):
    result, task = run(run_playbook, **S1)
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    sid = task["session"]["id"]
    peer_ref = task["session"]["replication_peer_k2array"]["ref"]
    body = {"name": "s1", "replication_peer_k2array": {"ref": peer_ref}, "local_volume_group": {"ref": "/volume_groups/5101"},
            "rpo": 300}
    assert action_list(task) == [("create", "POST", "/replication/sessions", body),
                                 ("transition", "PATCH", "/replication/sessions/%d" % sid, {"state": "in_sync"})]
    assert writes_to(k2sim, "k2-a") == [("POST", SESSIONS, body), ("PATCH", "%s/%d" % (SESSIONS, sid), {"state": "in_sync"})]
    assert sessions_on(k2sim, "k2-a")["s1"]["state"] == "in_sync"
    remote = eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    assert remote and sessions_on(k2sim, "k2-b")["remote_s1"]["current_role"] == "target"

    # Second run, references by name: one GET for the session plus one per name, no write.
    k2sim.clear_journal()
    result, task = run(run_playbook, **S1)
    assert result.rc == 0, result
    assert result.status("Session") == "ok" and task["actions"] == []
    assert [(m, p) for m, p, _body in requests_to(k2sim, "k2-a")] == [
        ("GET", SESSIONS), ("GET", API + "/replication/peer_k2arrays"), ("GET", API + "/volume_groups")]

    # References as a ref and an id, rpo as a string: exactly one request.
    k2sim.clear_journal()
    by_ids = {**S1, "replication_peer_k2array": peer_ref, "local_volume_group": 5101, "rpo": "300"}
    result, task = run(run_playbook, **by_ids)
    assert result.rc == 0, result
    assert result.status("Session") == "ok"
    assert requests_to(k2sim, "k2-a") == [("GET", SESSIONS, None)]
    assert requests_to(k2sim, "k2-b") == []


def test_check_diff_shows_the_plan_and_sends_no_write(k2sim, run_playbook):
    # A new session: the predicted session, with names looked up (reads only).
    result, task = run(run_playbook, check=True, diff=True, **S1)
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    assert [a["name"] for a in task["actions"]] == ["create", "transition"]
    assert task["actions"][1]["path"] == "/replication/sessions/(new)"
    assert task["diff"]["before"] == {}
    assert task["diff"]["after"]["state"] == "in_sync"
    assert writes_to(k2sim, "k2-a") == [] and "s1" not in sessions_on(k2sim, "k2-a")

    start_s1(k2sim, run_playbook)
    result, task = run(run_playbook, check=True, diff=True, name="s1", rpo=1200, replication_state="idle")
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    assert [a["body"] for a in task["actions"]] == [{"rpo": 1200}, {"state": "suspended"}, {"state": "idle"}]
    diff = task["diff"]
    assert (diff["before"]["rpo"], diff["before"]["state"]) == (300, "in_sync")
    assert (diff["after"]["rpo"], diff["after"]["state"]) == (1200, "idle")
    assert task["session"]["rpo"] == 1200 and task["session"]["state"] == "idle"  # predicted
    # ansible-playbook --diff prints it, and nothing was written.
    assert '-    "rpo": 300,' in result.stdout and '+    "rpo": 1200,' in result.stdout
    # References show by name: one lookup (by id) per resource type, after the read.
    assert (diff["before"]["local_volume_group"], diff["before"]["replication_peer_k2array"]) == ("vg_oracle_prod", "k2-b")
    assert [(m, p) for m, p, _b in requests_to(k2sim, "k2-a")] == [("GET", SESSIONS)] + [
        ("GET", API + path) for path in ("/replication/peer_k2arrays", "/retention_policies", "/volume_groups")]
    assert sessions_on(k2sim, "k2-a")["s1"]["rpo"] == 300


def test_rpo_change_is_one_patch(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    path = "%s/%d" % (SESSIONS, session["id"])
    result, task = run(run_playbook, name="s1", rpo=1200, local_volume_group="/volume_groups/5101",
                       target_exposure="unmapped")
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    assert requests_to(k2sim, "k2-a") == [("GET", SESSIONS, None), ("PATCH", path, {"rpo": 1200})]
    assert task["session"]["rpo"] == 1200
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["rpo"] == 1200)


def test_suspend_resume_stop(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    path = "%s/%d" % (SESSIONS, session["id"])
    for requested, states in (("suspended", ["suspended"]), ("in_sync", ["in_sync"]), ("idle", ["suspended", "idle"])):
        k2sim.clear_journal()
        result, task = run(run_playbook, name="s1", replication_state=requested)
        assert result.rc == 0, result
        assert result.status("Session") == "changed"
        assert writes_to(k2sim, "k2-a") == [("PATCH", path, {"state": s}) for s in states]
        assert task["session"]["state"] == requested
        assert sessions_on(k2sim, "k2-a")["s1"]["state"] == requested
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "idle")


def replicate_a_snapshot(k2sim, session):
    """Take a replication snapshot of s1 on k2-a (the API directly) and wait until k2-b has it."""
    url = "%s/snapshots" % k2sim.arrays["k2-a"]["url"]
    answer = requests.post(url, json={"replication_session": {"ref": "/replication/sessions/%d" % session["id"]},
                                      "short_name": "daily"},
                           auth=("admin", k2sim.users["admin"]["password"]), verify=k2sim.ca_path, timeout=30)
    assert answer.status_code == 201, answer.text
    remote = eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["latest_replicated_snapshot"])
    assert remote, "the snapshot did not reach k2-b"
    return remote["ref"]


def test_failover_with_the_source_down_then_reverse(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    snapshot = replicate_a_snapshot(k2sim, session)
    remote_id = sessions_on(k2sim, "k2-b")["remote_s1"]["id"]
    remote_path = "%s/%d" % (SESSIONS, remote_id)
    k2sim.down("k2-a")
    k2sim.clear_journal()

    result, task = run(run_playbook, array="k2-b", name="remote_s1", replication_state="failed_over",
                       restored_snapshot="latest")
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    assert writes_to(k2sim, "k2-b") == [("PATCH", remote_path, {"state": "failed_over",
                                                                "restored_snapshot": {"ref": snapshot}})]
    assert requests_to(k2sim, "k2-a") == []  # nothing was sent to the source array
    assert (task["session"]["state"], task["session"]["current_role"]) == ("failed_over", "target")

    # Failing over again is a no-op.
    result, task = run(run_playbook, array="k2-b", name="remote_s1", replication_state="failed_over",
                       restored_snapshot="latest")
    assert result.rc == 0 and result.status("Session") == "ok", result

    # Reverse once the source array is back: remote_s1 becomes the source, s1 its target.
    k2sim.up("k2-a")
    k2sim.clear_journal()
    result, task = run(run_playbook, array="k2-b", name="remote_s1", replication_state="in_sync")
    assert result.rc == 0, result
    assert writes_to(k2sim, "k2-b") == [("PATCH", remote_path, {"state": "in_sync"})]
    assert (task["session"]["state"], task["session"]["current_role"]) == ("in_sync", "source")
    assert eventually(lambda: (sessions_on(k2sim, "k2-a")["s1"]["current_role"],
                               sessions_on(k2sim, "k2-a")["s1"]["state"]) == ("target", "in_sync"))


# ---- absent ------------------------------------------------------------------------------------------


def test_absent_from_in_sync_stops_then_deletes(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    path = "%s/%d" % (SESSIONS, session["id"])
    result, task = run(run_playbook, diff=True, name="s1", state="absent")
    assert result.rc == 0, result
    assert result.status("Session") == "changed"
    assert writes_to(k2sim, "k2-a") == [("PATCH", path, {"state": "suspended"}), ("PATCH", path, {"state": "idle"}),
                                        ("DELETE", path, None)]
    assert task["session"] == {} and task["diff"]["after"] == {}
    assert "s1" not in sessions_on(k2sim, "k2-a")

    k2sim.clear_journal()
    result, task = run(run_playbook, name="s1", state="absent")
    assert result.rc == 0 and result.status("Session") == "ok", result
    assert requests_to(k2sim, "k2-a") == [("GET", SESSIONS, None)]


def test_absent_on_the_target_side_is_refused_before_any_write(k2sim, run_playbook):
    start_s1(k2sim, run_playbook)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    result, task = run(run_playbook, array="k2-b", name="remote_s1", state="absent")
    assert result.rc != 0 and result.status("Session") == "failed"
    assert "Stop the session on the source array first" in task["msg"]
    assert writes_to(k2sim, "k2-b") == []


def test_removing_a_pair_source_first_leaves_a_deletable_target(k2sim, run_playbook):
    # The source's stop reaches the target even though the source is deleted right after it; the
    # target then reads idle and is deleted on its own array: nothing is left on either array.
    start_s1(k2sim, run_playbook)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    result, _task = run(run_playbook, name="s1", state="absent")
    assert result.rc == 0, result
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "idle")
    result, _task = run(run_playbook, array="k2-b", name="remote_s1", state="absent", current_role="target")
    assert result.rc == 0 and result.status("Session") == "changed", result
    assert sessions_on(k2sim, "k2-a") == {} and sessions_on(k2sim, "k2-b") == {}


def test_a_declared_side_that_differs_fails_before_any_write(k2sim, run_playbook):
    start_s1(k2sim, run_playbook)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    for check in (True, False):
        result, task = run(run_playbook, check=check, array="k2-b", name="remote_s1", current_role="source",
                           rpo=900)
        assert result.rc != 0 and result.status("Session") == "failed"
        assert task["msg"].startswith("replication session 'remote_s1' is declared current_role=source but is the "
                                      "target side of its pair")
    assert writes_to(k2sim, "k2-b") == []


def test_a_source_whose_peer_failed_over_cannot_be_resumed(k2sim, run_playbook):
    start_s1(k2sim, run_playbook)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["state"] == "in_sync")
    result, _task = run(run_playbook, array="k2-b", name="remote_s1", replication_state="failed_over")
    assert result.rc == 0, result
    assert eventually(lambda: sessions_on(k2sim, "k2-a")["s1"]["suspend_reason_code"] == "peer_failed_over")
    k2sim.clear_journal()
    for check in (True, False):
        result, task = run(run_playbook, check=check, name="s1", replication_state="in_sync")
        assert result.rc != 0 and result.status("Session") == "failed"
        assert "it is suspended because its peer session failed over" in task["msg"]
        assert "Fail back from the DR side" in task["msg"]
    assert writes_to(k2sim, "k2-a") == []


def test_rename_is_one_patch_and_idempotent(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    path = "%s/%d" % (SESSIONS, session["id"])
    for _run in range(2):
        result, task = run(run_playbook, name="s1", new_name="s1-renamed", target_exposure="read only")
        assert result.rc == 0, result
        assert task["session"]["name"] == "s1-renamed"
    assert writes_to(k2sim, "k2-a") == [("PATCH", path, {"name": "s1-renamed", "target_exposure": "Read Only"})]
    assert [(m, p, q) for m, p, q, _b in [(e["method"], e["path"], e["query"], e["body"])
                                          for e in k2sim.journal("k2-a")] if m == "GET"] == [
        ("GET", SESSIONS, {"name__in": "s1,s1-renamed", "__limit": "100", "__offset": "0"})] * 2
    assert eventually(lambda: sessions_on(k2sim, "k2-b")["remote_s1"]["remote_replication_session_name"]
                      == "s1-renamed")


def test_immutable_field_is_refused_before_any_write(k2sim, run_playbook):
    start_s1(k2sim, run_playbook)
    result, task = run(run_playbook, **{**S1, "local_volume_group": "vg_sql_prod"})
    assert result.rc != 0, result
    assert task["msg"].startswith("local_volume_group of replication session 's1' is /volume_groups/5101, "
                                  "not /volume_groups/5102")
    assert writes_to(k2sim, "k2-a") == []


def test_wait_timeout_fails_naming_the_states(k2sim, run_playbook):
    start_s1(k2sim, run_playbook)
    k2sim.set_delay(30)
    result, task = run(run_playbook, name="s1", replication_state="suspended", wait_timeout=1)
    assert result.rc != 0, result
    assert task["msg"].startswith("replication session 's1' (id 1) is still in_sync, not suspended, when "
                                  "wait_timeout (1 s) ran out")


# ---- outcome unknown -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["502_after", "reset_after"])
def test_create_whose_answer_was_lost_is_not_sent_twice(k2sim, run_playbook, kind):
    k2sim.fault("k2-a", kind, "POST", "/replication/sessions")
    result, task = run(run_playbook, **S1)
    assert result.rc == 0, result
    posts = [w for w in writes_to(k2sim, "k2-a") if w[0] == "POST"]
    assert len(posts) == 1
    assert [a["name"] for a in task["actions"]] == ["create", "transition"]
    assert task["session"]["state"] == "in_sync"


def test_create_that_was_dropped_is_sent_again(k2sim, run_playbook):
    k2sim.fault("k2-a", "502_before", "POST", "/replication/sessions")
    result, task = run(run_playbook, **S1)
    assert result.rc == 0, result
    assert [w[0] for w in writes_to(k2sim, "k2-a")] == ["POST", "POST", "PATCH"]
    assert [a["name"] for a in task["actions"]] == ["create", "transition"]
    assert len([s for s in sessions_on(k2sim, "k2-a") if s == "s1"]) == 1


@pytest.mark.parametrize("kind, patches", [("502_after", 1), ("502_before", 2)])
def test_update_with_an_unknown_outcome(k2sim, run_playbook, kind, patches):
    session = start_s1(k2sim, run_playbook)
    k2sim.fault("k2-a", kind, "PATCH", "/replication/sessions/*")
    result, task = run(run_playbook, name="s1", rpo=1200)
    assert result.rc == 0, result
    path = "%s/%d" % (SESSIONS, session["id"])
    assert writes_to(k2sim, "k2-a") == [("PATCH", path, {"rpo": 1200})] * patches
    assert action_list(task) == [("update", "PATCH", "/replication/sessions/%d" % session["id"], {"rpo": 1200})]
    assert task["session"]["rpo"] == 1200


def test_transition_whose_answer_was_lost_is_not_sent_twice(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    k2sim.fault("k2-a", "reset_after", "PATCH", "/replication/sessions/*")
    result, task = run(run_playbook, name="s1", replication_state="idle")
    assert result.rc == 0, result
    path = "%s/%d" % (SESSIONS, session["id"])
    assert writes_to(k2sim, "k2-a") == [("PATCH", path, {"state": "suspended"}), ("PATCH", path, {"state": "idle"})]
    assert [a["body"] for a in task["actions"]] == [{"state": "suspended"}, {"state": "idle"}]
    assert sessions_on(k2sim, "k2-a")["s1"]["state"] == "idle"


def test_delete_whose_answer_was_lost(k2sim, run_playbook):
    session = start_s1(k2sim, run_playbook)
    run(run_playbook, name="s1", replication_state="idle")
    k2sim.clear_journal()
    k2sim.fault("k2-a", "502_after", "DELETE", "/replication/sessions/*")
    result, task = run(run_playbook, name="s1", state="absent")
    assert result.rc == 0, result
    path = "%s/%d" % (SESSIONS, session["id"])
    assert writes_to(k2sim, "k2-a") == [("DELETE", path, None)]
    assert [a["name"] for a in task["actions"]] == ["delete"]
    assert "s1" not in sessions_on(k2sim, "k2-a")


# ---- the documented examples run ------------------------------------------------------------------------


EXAMPLES_SEED = {
    "array-a": {
        "volume_groups": [{"id": 5, "name": "prod-vg", "quota": 0}],
    },
}


def test_the_module_examples_run(tmp_path):
    """EXAMPLES, as written, against two arrays named as in them (array-a, array-b)."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(EXAMPLES_SEED))
    sim = start_simulator(arrays=["array-a", "array-b"], seed=str(seed))
    try:
        tasks = yaml.safe_load(k2_replication_session.EXAMPLES)
        # A replication snapshot for `restored_snapshot: latest`, taken once replication runs.
        tasks.insert(1, {"name": "Take a replication snapshot (test only)", "ansible.builtin.uri": {
            "url": "https://{{ k2_host }}/api/v2/snapshots", "method": "POST", "status_code": 201,
            "url_username": "{{ k2_username }}", "url_password": "{{ k2_password }}", "force_basic_auth": True,
            "ca_path": sim.ca_path, "body_format": "json",
            "body": {"replication_session": {"ref": "/replication/sessions/{{ created.session.id }}"},
                     "short_name": "daily"}}})
        play = [{"name": "Examples", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        password = sim.users["admin"]["password"]
        result = run_with(sim, yaml.safe_dump(play, sort_keys=False), array="array-a", workdir=str(tmp_path / "run"),
                          extra_vars={"k2_host": sim.arrays["array-a"]["host"], "k2_username": "admin",
                                      "k2_password": password, "k2_target_host": sim.arrays["array-b"]["host"]})
        assert result.rc == 0, result
        statuses = [(t["task"], t["status"]) for t in result.tasks if t["action"].startswith("kaminario.")]
        assert statuses and all(status == "changed" for _task, status in statuses), statuses
        remaining = sim.dump("array-b")["objects"]["replication/sessions"]
        assert "remote_prod-db" not in [s["name"] for s in remaining]
    finally:
        sim.stop()
