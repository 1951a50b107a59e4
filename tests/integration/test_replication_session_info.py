# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session_info through real ansible-playbook runs against the K2 simulator.

The shared `k2sim` fixture holds the simulator's small default content; these tests need hundreds
of sessions, so they start their own simulator (same harness) with a seed of 250 sessions, and
compare every answer with the simulator's own data (its dump) and every request with its journal.
The data must hold still while they run: the array clock runs 1000 times slower than real time, so
no periodic replication round comes (rpo 60 is 17 real hours away), and a round is one byte, so each
in_sync session's first round and the seeded replication snapshots arrive at once.
"""

import json
import math
import os
import re
import time

import pytest
import yaml
from harness import run_playbook, start_simulator

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "info", "query.yml")
SESSIONS = "/api/v2/replication/sessions"
COUNT = 250
KINDS = ("prod", "dev", "test")
RPOS = (60, 300, 600, 900, 1200)
STATES = ("in_sync", "in_sync", "suspended", "idle")
SNAPSHOT_SESSIONS = (1, 5, 9)  # in_sync sessions that get a replication snapshot by hand ("daily")
IN_SYNC = [i for i in range(1, COUNT + 1) if STATES[i % 4] == "in_sync"]


def session_name(i):
    return "%s-db-%d" % (KINDS[(i - 1) % 3], i)


def vg_name(i):
    return "prod-vg" if i == 1 else "%s-vg-%d" % (KINDS[(i - 1) % 3], i)


def seed():
    """250 sessions on k2-a (peer k2-b) with varied names, RPOs, states and policies."""
    vgs = [{"name": vg_name(i), "quota": 0} for i in range(1, COUNT + 1)]
    sessions = [{
        "name": session_name(i), "replication_peer_k2array": "k2-b", "local_volume_group": vg_name(i),
        "rpo": RPOS[i % 5], "state": STATES[i % 4],
        "retention_policy": "Best_Effort_Retention" if i % 2 else "Replication_Retention",
        "external_retention_policy": "Replication_Retention",
    } for i in range(1, COUNT + 1)]
    snapshots = [{"source": vg_name(i), "replication_session": session_name(i), "short_name": "daily"}
                 for i in SNAPSHOT_SESSIONS]
    return {"k2-a": {"volume_groups": vgs, "replication/sessions": sessions, "snapshots": snapshots}}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    path = tmp_path_factory.mktemp("info-seed") / "seed.json"
    path.write_text(json.dumps(seed()))
    simulator = start_simulator(seed=str(path), time_scale=0.001, round_bytes=1)
    try:
        wait_for_snapshots(simulator)
        yield simulator
    finally:
        simulator.stop()


def wait_for_snapshots(simulator, timeout=120):
    """Every in_sync session's first round, and then the seeded replication snapshots, reach k2-b."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A request lets the simulator run its due events.
        landed = [s for s in sessions_in(simulator) if s["latest_replicated_snapshot"]]
        daily = [s for s in objects_in(simulator, "snapshots") if s["short_name"] == "daily" and s["is_exist_on_peer"]]
        if len(landed) == len(IN_SYNC) and len(daily) == len(SNAPSHOT_SESSIONS):
            return
        time.sleep(0.1)
    raise AssertionError("the replicated snapshots did not arrive within %s s" % timeout)


def sessions_in(simulator):
    """The sessions on k2-a as the simulator holds them (public fields only)."""
    objects = simulator.dump("k2-a")["objects"]["replication/sessions"]
    return [{k: v for k, v in s.items() if not k.startswith("_")} for s in objects]


def objects_in(simulator, path):
    return simulator.dump("k2-a")["objects"][path]


def run(simulator, tmp_path, queries, check=False, label="run"):
    """Run the query playbook with `queries`; returns (playbook result, the task's per-item results)."""
    simulator.clear_journal("k2-a")
    result = run_playbook(simulator, PLAYBOOK, extra_vars={"queries": queries}, check=check,
                          workdir=str(tmp_path / label))
    task = result.task("List sessions")
    return result, task["results"]


def list_requests(simulator, path=SESSIONS):
    return [e for e in simulator.journal("k2-a") if e["method"] == "GET" and e["path"] == path]


def ref_id(value):
    return int(value["ref"].rsplit("/", 1)[1]) if value else None


def by_name(simulator, path, name):
    return next(o for o in objects_in(simulator, path) if o["name"] == name)


# Each case: the module options, and the same condition written in Python over the simulator's data.
def cases(simulator):
    prod_vg = by_name(simulator, "volume_groups", "prod-vg")["id"]
    dev_vg2 = by_name(simulator, "volume_groups", "dev-vg-2")["id"]
    best_effort = by_name(simulator, "retention_policies", "Best_Effort_Retention")["id"]
    return [
        ("name", {"name": "prod-db-1"}, lambda s: s["name"] == "prod-db-1"),
        ("exact", {"filters": {"state": "suspended"}}, lambda s: s["state"] == "suspended"),
        ("contains", {"filters": {"name__contains": "db-12"}}, lambda s: "db-12" in s["name"]),
        ("contains_some", {"filters": {"name__contains_some": "db-7"}}, lambda s: "db-7" in s["name"]),
        ("gt", {"filters": {"rpo__gt": 600}}, lambda s: s["rpo"] > 600),
        ("lt", {"filters": {"rpo__lt": 300}}, lambda s: s["rpo"] < 300),
        ("gte", {"filters": {"rpo__gte": 900, "id__gte": 200}}, lambda s: s["rpo"] >= 900 and s["id"] >= 200),
        ("lte", {"filters": {"id__lte": 42}}, lambda s: s["id"] <= 42),
        ("neq", {"filters": {"state__neq": "in_sync"}}, lambda s: s["state"] != "in_sync"),
        ("in list", {"filters": {"state__in": ["suspended", "idle"]}}, lambda s: s["state"] in ("suspended", "idle")),
        ("in string", {"filters": {"rpo__in": "60,1200"}}, lambda s: s["rpo"] in (60, 1200)),
        ("m_eq", {"filters": {"name__m_eq": ["dev-db-2", "test-db-3", "nope"]}},
         lambda s: s["name"] in ("dev-db-2", "test-db-3")),
        ("prefix", {"filters": {"name__prefix": "test-db-1"}}, lambda s: s["name"].startswith("test-db-1")),
        ("regexp", {"filters": {"name__regexp": "^dev-db-1[0-9]$"}}, lambda s: re.match(r"^dev-db-1[0-9]$", s["name"])),
        ("bool", {"filters": {"stopped": True}}, lambda s: s["stopped"] is True),
        ("bool neq", {"filters": {"stopped__neq": True, "rpo": 60}}, lambda s: s["stopped"] is not True and s["rpo"] == 60),
        ("ref by name", {"filters": {"local_volume_group": "prod-vg"}}, lambda s: ref_id(s["local_volume_group"]) == prod_vg),
        ("ref in", {"filters": {"local_volume_group__in": ["prod-vg", "dev-vg-2"]}},
         lambda s: ref_id(s["local_volume_group"]) in (prod_vg, dev_vg2)),
        ("ref neq", {"filters": {"retention_policy__neq": "Best_Effort_Retention"}},
         lambda s: ref_id(s["retention_policy"]) != best_effort),
        ("ref by id", {"filters": {"retention_policy": best_effort, "state": "idle"}},
         lambda s: ref_id(s["retention_policy"]) == best_effort and s["state"] == "idle"),
        ("together", {"filters": {"state": "in_sync", "rpo__gte": 600, "name__prefix": "prod-"}},
         lambda s: s["state"] == "in_sync" and s["rpo"] >= 600 and s["name"].startswith("prod-")),
    ]


def test_each_modifier_returns_what_the_data_says(sim, tmp_path):
    data = sessions_in(sim)
    assert len(data) == COUNT
    table = cases(sim)
    queries = [dict(case[1], id=case[0], fields=["id", "name"]) for case in table]
    result, items = run(sim, tmp_path, queries)
    assert result.rc == 0, result
    assert len(items) == len(table)
    for (label, unused_options, condition), item in zip(table, items):
        expected = sorted(s["name"] for s in data if condition(s))
        got = sorted(s["name"] for s in item["sessions"])
        assert got == expected, label
        assert item["total"] == len(expected), label
        assert item["truncated"] is False, label
    # Each condition selects something, so no case passes by matching nothing.
    assert all(item["sessions"] for item in items)


def test_the_filters_travel_in_the_query(sim, tmp_path):
    query = {"id": "q", "sort": "-name", "fields": ["name", "state"],
             "filters": {"state__in": ["idle", "suspended"], "rpo__gt": 60, "primary": True,
                         "local_volume_group__in": ["prod-vg", "dev-vg-2"]}}
    result = run(sim, tmp_path, [query])[0]
    assert result.rc == 0, result
    vgs = {name: by_name(sim, "volume_groups", name)["id"] for name in ("prod-vg", "dev-vg-2")}
    lookups = list_requests(sim, "/api/v2/volume_groups")
    assert [e["query"] for e in lookups] == [{"name": "prod-vg"}, {"name": "dev-vg-2"}]
    (listing,) = list_requests(sim)
    assert listing["query"] == {
        "state__in": "idle,suspended", "rpo__gt": "60", "primary": "True",
        "local_volume_group.ref__in": "/volume_groups/%d,/volume_groups/%d" % (vgs["prod-vg"], vgs["dev-vg-2"]),
        "__sort": "name", "__sort_order": "desc", "__fields": "name,state", "__limit": "100", "__offset": "0"}


def test_250_sessions_come_back_whole_in_3_requests(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "all"}])
    assert result.rc == 0, result
    assert sorted(s["id"] for s in item["sessions"]) == sorted(s["id"] for s in sessions_in(sim))
    assert len(item["sessions"]) == COUNT
    assert (item["total"], item["truncated"], item["changed"]) == (COUNT, False, False)
    requests = list_requests(sim)
    assert len(requests) == math.ceil(COUNT / 100) == 3
    assert [(e["query"]["__offset"], e["query"]["__limit"]) for e in requests] == [("0", "100"), ("100", "100"),
                                                                                   ("200", "100")]
    assert len(sim.journal("k2-a")) == 3  # nothing else was asked


def test_sort_and_projection(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "sorted", "sort": "-rpo", "fields": ["name", "rpo"],
                                           "filters": {"name__prefix": "dev-"}}])
    assert result.rc == 0, result
    rpos = [s["rpo"] for s in item["sessions"]]
    assert rpos == sorted(rpos, reverse=True) and len(set(rpos)) > 1
    assert all(set(s) == {"name", "rpo"} for s in item["sessions"])
    assert len(item["sessions"]) == len([s for s in sessions_in(sim) if s["name"].startswith("dev-")])


def test_limit_gives_120_and_truncated(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "limit", "limit": 120, "sort": "id"}])
    assert result.rc == 0, result
    assert [s["id"] for s in item["sessions"]] == sorted(s["id"] for s in sessions_in(sim))[:120]
    assert (item["total"], item["truncated"]) == (COUNT, True)
    assert [e["query"]["__limit"] for e in list_requests(sim)] == ["100", "20"]


def test_limit_above_the_matches_is_not_truncated(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "limit", "limit": 500, "filters": {"state": "idle"}}])
    assert result.rc == 0, result
    idle = [s for s in sessions_in(sim) if s["state"] == "idle"]
    assert (len(item["sessions"]), item["total"], item["truncated"]) == (len(idle), len(idle), False)


def test_resolve_names_costs_one_request_per_resource_type(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "names", "resolve_names": True}])
    assert result.rc == 0, result
    journal = sim.journal("k2-a")
    paths = [e["path"] for e in journal]
    # 3 pages, then 250 distinct volume groups (3 requests of at most 100 ids) and one request for
    # each other type: peer arrays, peer volume groups (250 ids: 3), retention policies, and the
    # latest replicated snapshots of the 125 sessions in sync (2).
    assert paths.count(SESSIONS) == 3
    assert paths.count("/api/v2/volume_groups") == 3
    assert paths.count("/api/v2/replication/peer_volume_groups") == 3
    assert paths.count("/api/v2/replication/peer_k2arrays") == 1
    assert paths.count("/api/v2/retention_policies") == 1
    assert paths.count("/api/v2/snapshots") == math.ceil(len(IN_SYNC) / 100) == 2
    assert len(journal) == 13
    names = {path: {o["id"]: o.get("name") for o in objects_in(sim, path)}
             for path in ("volume_groups", "replication/peer_k2arrays", "replication/peer_volume_groups",
                          "retention_policies", "snapshots")}
    fields = {"local_volume_group": "volume_groups", "replication_peer_k2array": "replication/peer_k2arrays",
              "replication_peer_volume_group": "replication/peer_volume_groups",
              "retention_policy": "retention_policies", "external_retention_policy": "retention_policies",
              "latest_replicated_snapshot": "snapshots"}
    for session in item["sessions"]:
        for field, path in fields.items():
            ref = session[field]
            assert session[field + "_name"] == (names[path][ref_id(ref)] if ref else None), (session["name"], field)
        assert "replication_rpo_history_name" not in session
    first = next(s for s in item["sessions"] if s["name"] == "prod-db-1")
    assert first["local_volume_group_name"] == "prod-vg"
    assert first["replication_peer_k2array_name"] == "k2-b"
    assert first["latest_replicated_snapshot_name"] == "prod-vg:daily"


def test_resolve_names_for_a_few_sessions(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "few", "resolve_names": True, "filters": {"name__prefix": "prod-db-1"},
                                           "fields": ["name", "local_volume_group", "retention_policy"]}])
    assert result.rc == 0, result
    paths = [e["path"] for e in sim.journal("k2-a")]
    assert paths == [SESSIONS, "/api/v2/retention_policies", "/api/v2/volume_groups"]
    vg_names = {o["id"]: o["name"] for o in objects_in(sim, "volume_groups")}
    expected = {s["name"]: vg_names[ref_id(s["local_volume_group"])] for s in sessions_in(sim)
                if s["name"].startswith("prod-db-1")}
    assert {s["name"]: s["local_volume_group_name"] for s in item["sessions"]} == expected
    assert len(expected) > 1
    assert {s["retention_policy_name"] for s in item["sessions"]} <= {"Best_Effort_Retention", "Replication_Retention"}


def test_check_mode_lists_the_same(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "check", "filters": {"state": "suspended"}}], check=True)
    assert result.rc == 0, result
    assert result.status("List sessions") == "ok"
    assert item["total"] == len([s for s in sessions_in(sim) if s["state"] == "suspended"])


@pytest.mark.parametrize("options,message", [
    ({"filters": {"rpo__gt": "soon"}}, "filters.rpo__gt: expected an integer"),
    ({"filters": {"state__lt": 3}}, "numeric modifier 'lt' does not apply to the string field 'state'"),
    ({"filters": {"colour": "red"}}, "unknown field 'colour'"),
    ({"sort": "-colour"}, "sort: unknown field 'colour'"),
])
def test_invalid_options_fail_before_any_request(sim, tmp_path, options, message):
    result, (item,) = run(sim, tmp_path, [dict(options, id="bad")])
    assert result.rc != 0
    # ansible-core 2.21 drops `failed` from a loop item's result: rc and msg tell the failure.
    assert "sessions" not in item and message in item["msg"]
    assert sim.journal("k2-a") == []


def test_unknown_name_in_a_reference_filter(sim, tmp_path):
    result, (item,) = run(sim, tmp_path, [{"id": "ghost", "filters": {"local_volume_group": "ghost-vg"}}])
    assert result.rc != 0
    assert "filters.local_volume_group" in item["msg"] and "ghost-vg" in item["msg"]
    assert [e["path"] for e in sim.journal("k2-a")] == ["/api/v2/volume_groups"]


def test_the_documented_examples_run(sim, tmp_path):
    tasks = yaml.safe_load(k2_replication_session_info.EXAMPLES)
    playbook = [{"name": "EXAMPLES of k2_replication_session_info", "hosts": "localhost", "gather_facts": False,
                 "tasks": tasks}]
    path = tmp_path / "examples.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    admin = sim.users["admin"]
    result = run_playbook(sim, str(path), workdir=str(tmp_path / "examples"), extra_vars={
        "k2_host": sim.arrays["k2-a"]["host"], "k2_username": "admin", "k2_password": admin["password"]})
    assert result.rc == 0, result
    assert [t["status"] for t in result.tasks] == ["ok"] * len(result.tasks)
    assert len(result.tasks) == len(tasks)
    assert result.task("List every replication session (all pages)")["total"] == COUNT
    assert [s["name"] for s in result.task("Read one session by name")["sessions"]] == ["prod-db-1"]
    report = result.task("Drift report, names of the referenced objects included, few fields")["sessions"]
    assert len(report) == COUNT and report[0]["local_volume_group_name"]
    first_ten = result.task("The first 10 sessions by name; truncated tells whether there are more")
    assert len(first_ten["sessions"]) == 10 and first_ten["truncated"] is True
