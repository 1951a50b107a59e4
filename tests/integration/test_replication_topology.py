# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_topology through real ansible-playbook runs against the K2 simulator: the request
counts (the simulator's journal), what the arrays hold afterwards (its dump), and what the module
reports, for a whole array of sessions in one run."""

import json
import math
import os
import tempfile

import pytest
import requests
import yaml
from harness import eventually, run_playbook as run_with, start_simulator
from harness.fixtures import simulator_fixtures

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_topology

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "topology", "topology.yml")
API = "/api/v2"
SESSIONS = API + "/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
SEEDED, GROUPS = 300, 400  # t001..t300 replicate vg001..vg300, in_sync; vg301..vg400 are free


def _seed():
    groups = [{"name": "vg%03d" % i, "quota": 0} for i in range(1, GROUPS + 1)]
    sessions = [{"name": "t%03d" % i, "replication_peer_k2array": "k2-b", "local_volume_group": "vg%03d" % i,
                 "rpo": 300, "state": "in_sync"} for i in range(1, SEEDED + 1)]
    handle, path = tempfile.mkstemp(prefix="k2-topology-seed-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump({"k2-a": {"volume_groups": groups, "replication/sessions": sessions}}, out)
    return path


topo_sim_fixture, topo_sim_reset_fixture = simulator_fixtures("topo_sim", seed=_seed())


@pytest.fixture
def converge(topo_sim, tmp_path):
    """Run the topology playbook on `array`; returns (PlaybookResult, the task's result)."""
    def run(check=False, diff=False, array="k2-a", user="admin", **topology):
        result = run_with(topo_sim, PLAYBOOK, array=array, check=check, diff=diff, user=user,
                          extra_vars={"topology": topology}, workdir=str(tmp_path / "playbook"))
        return result, result.task("Topology")
    return run


@pytest.fixture
def api(topo_sim):
    """A requests session on an array's API, for setting the scene behind Ansible's back."""
    opened = []

    def client(array):
        session = requests.Session()
        session.auth = ("admin", topo_sim.users["admin"]["password"])
        base = topo_sim.arrays[array]["url"]
        opened.append(session)

        def call(method, path, body=None, **params):
            answer = session.request(method, base + path, json=body, params=params, verify=topo_sim.ca_path,
                                     timeout=30)
            answer.raise_for_status()
            return answer.json() if answer.content else None
        return call

    yield client
    for session in opened:
        session.close()


def requests_to(sim, array):
    return [(e["method"], e["path"], e["query"], e["body"]) for e in sim.journal(array)]


def writes_to(sim, array):
    return [r for r in requests_to(sim, array) if r[0] in WRITES]


def sessions_on(sim, array):
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


def entries(task):
    return {e["name"]: e for e in task["sessions"]}


def seeded_items(count, by="id"):
    """Items for t001.. as they are seeded; references by id/ref (no lookup) or by name."""
    if by == "id":
        return [{"name": "t%03d" % i, "local_volume_group": str(i)} for i in range(1, count + 1)]
    return [{"name": "t%03d" % i, "local_volume_group": "vg%03d" % i} for i in range(1, count + 1)]


ID_DEFAULTS = {"replication_peer_k2array": "/replication/peer_k2arrays/1", "rpo": 300, "replication_state": "in_sync"}
NAME_DEFAULTS = {"replication_peer_k2array": "k2-b", "rpo": 300, "replication_state": "in_sync",
                 "retention_policy": "Replication_Retention", "external_retention_policy": "Replication_Retention"}


def test_a_noop_over_300_sessions_costs_ceil_n_over_100_requests(topo_sim, converge):
    result, task = converge(sessions=seeded_items(SEEDED), defaults=ID_DEFAULTS)
    assert result.rc == 0, result
    assert result.status("Topology") == "ok"
    assert task["summary"] == {"ok": 300, "changed": 0, "failed": 0, "reversed": 0, "pruned": 0}
    sent = requests_to(topo_sim, "k2-a")
    assert len(sent) == math.ceil(SEEDED / 100) == 3
    assert [(m, p, q["name__in"].count(",") + 1) for m, p, q, _b in sent] == [("GET", SESSIONS, 100)] * 3
    assert requests_to(topo_sim, "k2-b") == []


def test_by_name_the_lookups_are_batched_and_each_name_read_once(topo_sim, converge):
    result, task = converge(sessions=seeded_items(SEEDED, by="name"), defaults=NAME_DEFAULTS)
    assert result.rc == 0, result
    assert task["summary"]["ok"] == 300
    paths = [p for _m, p, _q, _b in requests_to(topo_sim, "k2-a")]
    # 3 reads of the sessions, then one lookup per resource type and 100 names: the peer array (one
    # name), the volume groups (300 names) and the two retention-policy options together (one name).
    assert paths == [SESSIONS] * 3 + [API + "/replication/peer_k2arrays"] + [API + "/volume_groups"] * 3 + [
        API + "/retention_policies"]


def test_20_new_sessions_are_created_and_started_in_one_run_then_a_rerun_is_a_noop(topo_sim, converge):
    items = [{"name": "n%03d" % i, "local_volume_group": "vg%03d" % i} for i in range(301, 321)]
    result, task = converge(sessions=items, defaults=NAME_DEFAULTS)
    assert result.rc == 0, result
    assert task["summary"]["changed"] == 20 and task["changed"] is True
    on_a = sessions_on(topo_sim, "k2-a")
    assert all(on_a["n%03d" % i]["state"] == "in_sync" for i in range(301, 321))
    posts = [b["name"] for m, _p, _q, b in writes_to(topo_sim, "k2-a") if m == "POST"]
    assert posts == ["n%03d" % i for i in range(301, 321)]  # each created exactly once
    sent = requests_to(topo_sim, "k2-a")
    starts = [i for i, r in enumerate(sent) if r[0] == "PATCH"]
    polls = [i for i, r in enumerate(sent) if r[0] == "GET" and "id__in" in r[2]]
    assert len(starts) == 20 and polls and max(starts) < min(polls)  # every start before the first poll
    assert eventually(lambda: all(s["state"] == "in_sync" for n, s in sessions_on(topo_sim, "k2-b").items()
                                  if n.startswith("remote_n")))

    topo_sim.clear_journal()
    result, task = converge(sessions=items, defaults=NAME_DEFAULTS)
    assert result.rc == 0 and result.status("Topology") == "ok", result
    assert writes_to(topo_sim, "k2-a") == []


def test_check_mode_sends_no_write_whatever_the_plan(topo_sim, converge):
    items = seeded_items(5) + [{"name": "n301", "local_volume_group": "vg301"}, {"name": "t006", "state": "absent"},
                               {"name": "t007", "local_volume_group": "7", "rpo": 900, "replication_state": "idle"}]
    result, task = converge(check=True, diff=True, sessions=items, defaults=ID_DEFAULTS)
    assert result.rc == 0, result
    assert writes_to(topo_sim, "k2-a") == [] and writes_to(topo_sim, "k2-b") == []
    by = entries(task)
    assert [a["name"] for a in by["n301"]["actions"]] == ["create", "transition"]
    assert [a["body"] for a in by["t006"]["actions"]] == [{"state": "suspended"}, {"state": "idle"}, None]
    assert [a["body"] for a in by["t007"]["actions"]] == [{"rpo": 900}, {"state": "suspended"}, {"state": "idle"}]
    assert (by["t007"]["session"]["rpo"], by["t007"]["session"]["state"]) == (900, "idle")
    # Diffs by name, not ref.
    assert by["t007"]["diff"]["before"]["local_volume_group"] == "vg007"
    assert by["t007"]["diff"]["before"]["replication_peer_k2array"] == "k2-b"
    assert sorted(task["diff"]["after"]) == ["n301", "t006", "t007"]


def test_one_bad_item_among_ten_fails_the_task_and_the_nine_converge(topo_sim, converge):
    items = [{"name": "t%03d" % i, "local_volume_group": str(i), "rpo": 600} for i in range(1, 11)]
    items[4]["local_volume_group"] = "vg399"  # fixed at creation: refused for t005
    result, task = converge(sessions=items, defaults=NAME_DEFAULTS)
    assert result.rc != 0
    assert result.status("Topology") == "failed"
    assert task["summary"] == {"ok": 0, "changed": 9, "failed": 1, "reversed": 0, "pruned": 0}
    assert task["msg"].startswith("1 of 10 sessions were not converged (1 failed, 0 reversed): "
                                  "t005 (failed): local_volume_group of replication session 't005' is /volume_groups/5")
    assert task["msg"].endswith("; the other 9 were")
    on_a = sessions_on(topo_sim, "k2-a")
    assert [on_a["t%03d" % i]["rpo"] for i in range(1, 11)] == [600] * 4 + [300] + [600] * 5
    patched = sorted(p.rsplit("/", 1)[-1] for m, p, _q, _b in writes_to(topo_sim, "k2-a"))
    assert len(patched) == 9 and str(on_a["t005"]["id"]) not in patched


def test_prune_without_a_pattern_is_refused_before_any_request(topo_sim, converge):
    result, task = converge(sessions=seeded_items(2), defaults=ID_DEFAULTS, prune=True)
    assert result.rc != 0
    assert "prune is True but all of the following are missing: prune_prefix" in task["msg"]
    assert requests_to(topo_sim, "k2-a") == []


def test_prune_removes_only_undeclared_source_sessions_with_the_prefix(topo_sim, converge, api):
    # t001..t300 exist; declare t001..t295 and prune "t29": t296..t299 go (t300 does not match); the
    # target sides on k2-b (remote_t...) are never touched from k2-a.
    result, task = converge(sessions=seeded_items(295), defaults=ID_DEFAULTS, prune=True, prune_prefix="t29")
    assert result.rc == 0, result
    pruned = sorted(e["name"] for e in task["sessions"] if e["status"] == "pruned")
    assert pruned == ["t296", "t297", "t298", "t299"]
    on_a = sessions_on(topo_sim, "k2-a")
    assert "t300" in on_a and "t295" in on_a and not set(pruned) & set(on_a)
    deletes = [p for m, p, _q, _b in writes_to(topo_sim, "k2-a") if m == "DELETE"]
    assert len(deletes) == 4
    # The stop reached each target side, which reads idle and can now be deleted on k2-b.
    assert eventually(lambda: all(sessions_on(topo_sim, "k2-b")["remote_" + n]["state"] == "idle" for n in pruned))
    assert writes_to(topo_sim, "k2-b") == []


def test_a_reversed_pair_is_reported_and_untouched(topo_sim, converge, api):
    # Fail t001 over on k2-b and reverse it there: on k2-a, t001 is now the target side.
    b = api("k2-b")
    remote = b("GET", "/replication/sessions", name="remote_t001")["hits"][0]
    b("PATCH", "/replication/sessions/%d" % remote["id"], {"state": "failed_over"})
    assert eventually(lambda: b("GET", "/replication/sessions/%d" % remote["id"])["state"] == "failed_over")
    b("PATCH", "/replication/sessions/%d" % remote["id"], {"state": "in_sync"})
    assert eventually(lambda: sessions_on(topo_sim, "k2-a")["t001"]["current_role"] == "target")
    topo_sim.clear_journal()

    items = seeded_items(3)
    items[1]["rpo"] = 900
    for check in (True, False):
        result, task = converge(check=check, sessions=items, defaults=ID_DEFAULTS)
        assert result.rc != 0 and result.status("Topology") == "failed"
        t001 = entries(task)["t001"]
        assert (t001["status"], t001["actions"]) == ("reversed", [])
        assert "declared current_role=source but is the target side of its pair" in task["msg"]
        assert entries(task)["t002"]["status"] == "changed"
    assert [(m, p) for m, p, _q, _b in writes_to(topo_sim, "k2-a")] == [
        ("PATCH", "%s/%d" % (SESSIONS, sessions_on(topo_sim, "k2-a")["t002"]["id"]))]


def test_a_source_whose_peer_failed_over_is_refused_in_check_mode_and_not(topo_sim, converge, api):
    b = api("k2-b")
    remote = b("GET", "/replication/sessions", name="remote_t001")["hits"][0]
    b("PATCH", "/replication/sessions/%d" % remote["id"], {"state": "failed_over"})
    assert eventually(lambda: sessions_on(topo_sim, "k2-a")["t001"]["suspend_reason_code"] == "peer_failed_over")
    topo_sim.clear_journal()
    for check in (True, False):
        result, task = converge(check=check, sessions=seeded_items(2), defaults=ID_DEFAULTS)
        assert result.rc != 0, result
        t001 = entries(task)["t001"]
        assert t001["status"] == "failed" and t001["refused"] is True
        assert t001["msg"].startswith("cannot resume replication session 't001': it is suspended because its peer "
                                      "session failed over")
        assert entries(task)["t002"]["status"] == "ok"
    assert writes_to(topo_sim, "k2-a") == []


def test_failover_of_many_pairs_on_the_dr_array_with_the_source_down(topo_sim, converge):
    topo_sim.down("k2-a")
    items = [{"name": "remote_t%03d" % i} for i in range(1, 6)]
    defaults = {"current_role": "target", "replication_state": "failed_over"}
    result, task = converge(array="k2-b", sessions=items, defaults=defaults)
    assert result.rc == 0, result
    assert task["summary"]["changed"] == 5
    assert all(sessions_on(topo_sim, "k2-b")["remote_t%03d" % i]["state"] == "failed_over" for i in range(1, 6))
    # Run again: a failover already done is a no-op.
    result, task = converge(array="k2-b", sessions=items, defaults=defaults)
    assert result.rc == 0 and task["summary"]["ok"] == 5, result


# ---- the documented examples run ------------------------------------------------------------------


def test_the_module_examples_run(tmp_path):
    """EXAMPLES, as written, against two arrays named as in them (array-a, array-b), with a prod-
    session the prune example removes and replication snapshots for the failover's `latest`."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"array-a": {
        "volume_groups": [{"name": n, "quota": 0} for n in ("prod-vg", "web-vg", "legacy-vg")],
        "replication/sessions": [{"name": "prod-legacy", "replication_peer_k2array": "array-b",
                                  "local_volume_group": "legacy-vg", "rpo": 300, "state": "in_sync"}]}}))
    sim = start_simulator(arrays=["array-a", "array-b"], seed=str(seed))
    try:
        tasks = yaml.safe_load(k2_replication_topology.EXAMPLES)
        snapshot = {"name": "Take a replication snapshot (test only)", "loop": "{{ topology.sessions }}",
                    "when": "item.session.id is defined", "ansible.builtin.uri": {
                        "url": "https://{{ k2_host }}/api/v2/snapshots", "method": "POST", "status_code": 201,
                        "url_username": "{{ k2_username }}", "url_password": "{{ k2_password }}",
                        "force_basic_auth": True, "ca_path": sim.ca_path, "body_format": "json",
                        "body": {"replication_session": {"ref": "/replication/sessions/{{ item.session.id }}"},
                                 "short_name": "daily"}}}
        pause = {"name": "Let the snapshots reach the DR array (test only)", "ansible.builtin.pause": {"seconds": 2}}
        tasks[3:3] = [snapshot, pause]
        play = [{"name": "Examples", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        result = run_with(sim, yaml.safe_dump(play, sort_keys=False), array="array-a", workdir=str(tmp_path / "run"),
                          extra_vars={"k2_host": sim.arrays["array-a"]["host"], "k2_username": "admin",
                                      "k2_password": sim.users["admin"]["password"],
                                      "k2_dr_host": sim.arrays["array-b"]["host"]})
        assert result.rc == 0, result
        statuses = [(t["task"], t["status"]) for t in result.tasks if t["action"].startswith("kaminario.")]
        assert [s for _t, s in statuses] == ["changed", "changed", "changed"], statuses
        pruned = [e["name"] for e in result.entries(statuses[1][0])[-1]["result"]["sessions"] if e["status"] == "pruned"]
        assert pruned == ["prod-legacy"]
        on_b = {s["name"]: s for s in sim.dump("array-b")["objects"]["replication/sessions"]}
        assert on_b["remote_prod-db"]["state"] == on_b["remote_prod-web"]["state"] == "failed_over"
    finally:
        sim.stop()
