# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session_info run as the real module; every HTTP request asserted, in order."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, connection_args, run_module

SESSIONS = "/replication/sessions"


def session(sid, vg=3, peer=1, policy=5, ext=6, pvg=None, snap=None, state="in_sync", rpo=300):
    return {
        "id": sid, "name": "s%d" % sid, "state": state, "rpo": rpo, "primary": True,
        "local_volume_group": {"ref": "/volume_groups/%d" % vg} if vg else None,
        "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/%d" % peer},
        "retention_policy": {"ref": "/retention_policies/%d" % policy},
        "external_retention_policy": {"ref": "/retention_policies/%d" % ext},
        "replication_peer_volume_group": {"ref": "/replication/peer_volume_groups/%d" % pvg} if pvg else None,
        "latest_replicated_snapshot": {"ref": "/snapshots/%d" % snap} if snap else None,
        "replication_rpo_history": {"ref": "/replication/rpo_history/%d" % sid},
    }


def sessions(first, count, **kwargs):
    return [session(i, **kwargs) for i in range(first, first + count)]


def page(hits, total, offset=0, limit=100):
    return {"hits": hits, "limit": limit, "offset": offset, "total": total}


def q(offset=0, limit=100, **params):
    return dict(params, __limit=limit, __offset=offset)


def run(check_mode=False, **module_args):
    return run_module(module, connection_args(**module_args), check_mode=check_mode)


def test_no_options_lists_everything_in_one_request_when_it_fits():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(sessions(1, 3), 3))
        result, failed = run()
    assert not failed
    assert result["changed"] is False
    assert [s["id"] for s in result["sessions"]] == [1, 2, 3]
    assert (result["total"], result["truncated"]) == (3, False)
    assert result["sessions"][0] == session(1)  # as the API returned it, nothing added


def test_no_match_is_one_request_and_an_empty_list():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(name="nope"), json=page([], 0))
        result, failed = run(name="nope")
    assert not failed
    assert (result["sessions"], result["total"], result["truncated"]) == ([], 0, False)


def test_every_page_is_read_while_total_changes():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, state="in_sync"), json=page(sessions(1, 100), 250))
        calls.add("GET", SESSIONS, query=q(100, state="in_sync"), json=page(sessions(101, 100), 255, 100))
        calls.add("GET", SESSIONS, query=q(200, state="in_sync"), json=page(sessions(201, 55), 255, 200))
        result, failed = run(filters={"state": "in_sync"})
    assert not failed
    assert [s["id"] for s in result["sessions"]] == list(range(1, 256))
    assert (result["total"], result["truncated"]) == (255, False)


def test_exactly_one_hundred_is_one_request():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(sessions(1, 100), 100))
        result, failed = run()
    assert not failed and len(result["sessions"]) == 100


@pytest.mark.parametrize("filters,expected", [
    ({"name__contains": "db"}, {"name__contains": "db"}),
    ({"name__contains_some": "db"}, {"name__contains_some": "db"}),
    ({"rpo__gt": 300}, {"rpo__gt": "300"}),
    ({"rpo__lt": 600}, {"rpo__lt": "600"}),
    ({"current_snapshot_progress__gte": 50}, {"current_snapshot_progress__gte": "50"}),
    ({"estimated_remaining_time__lte": 120}, {"estimated_remaining_time__lte": "120"}),
    ({"state__neq": "idle"}, {"state__neq": "idle"}),
    ({"state__in": ["in_sync", "suspended"]}, {"state__in": "in_sync,suspended"}),
    ({"state__in": "in_sync,suspended"}, {"state__in": "in_sync,suspended"}),
    ({"id__m_eq": [4, 5]}, {"id__m_eq": "4,5"}),
    ({"name__prefix": "prod-"}, {"name__prefix": "prod-"}),
    ({"name__regexp": "^prod-[0-9]+$"}, {"name__regexp": "^prod-[0-9]+$"}),
    ({"primary": False}, {"primary": "False"}),
    ({"stopped__neq": True}, {"stopped__neq": "True"}),
    ({"replication_peer_k2array": 1}, {"replication_peer_k2array.ref": "/replication/peer_k2arrays/1"}),
    ({"retention_policy__neq": "/retention_policies/5"}, {"retention_policy.ref__neq": "/retention_policies/5"}),
])
def test_each_modifier_is_sent_in_the_query(filters, expected):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(**expected), json=page(sessions(1, 2), 2))
        result, failed = run(filters=filters)
    assert not failed, result
    assert len(result["sessions"]) == 2


def test_reference_filter_by_name_looks_the_name_up_once():
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "prod-vg"}, json=page([{"id": 3, "name": "prod-vg"}], 1))
        calls.add("GET", SESSIONS, query=q(**{"local_volume_group.ref": "/volume_groups/3"}),
                  json=page(sessions(1, 2), 2))
        result, failed = run(filters={"local_volume_group": "prod-vg"})
    assert not failed and result["total"] == 2


def test_reference_in_list_by_names_ids_and_refs():
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "prod-vg"}, json=page([{"id": 3, "name": "prod-vg"}], 1))
        calls.add("GET", "/volume_groups", query={"name": "dev-vg"}, json=page([{"id": 8, "name": "dev-vg"}], 1))
        calls.add("GET", SESSIONS,
                  query=q(**{"local_volume_group.ref__in": "/volume_groups/3,/volume_groups/8,/volume_groups/11,"
                                                           "/volume_groups/12"}),
                  json=page(sessions(1, 1), 1))
        result, failed = run(filters={"local_volume_group__in": ["prod-vg", "dev-vg", 11, "/volume_groups/12"]})
    assert not failed


def test_reference_name_that_matches_nothing_fails_before_listing():
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "ghost"}, json=page([], 0))
        result, failed = run(filters={"local_volume_group": "ghost"})
    assert failed
    assert "filters.local_volume_group" in result["msg"] and "ghost" in result["msg"]


def test_ref_to_another_resource_type_fails_without_a_request():
    with ExpectedCalls():
        result, failed = run(filters={"local_volume_group": "/retention_policies/5"})
    assert failed and "filters.local_volume_group" in result["msg"]


def test_sort_projection_and_filters_together():
    expected = q(name="s1", rpo__gte="300", __sort="rpo", __sort_order="desc", __fields="id,name,rpo")
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=expected, json=page([{"id": 1, "name": "s1", "rpo": 300}], 1))
        result, failed = run(name="s1", filters={"rpo__gte": 300}, sort="-rpo", fields=["id", "name", "rpo"])
    assert not failed
    assert result["sessions"] == [{"id": 1, "name": "s1", "rpo": 300}]


def test_sort_ascending():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(__sort="name", __sort_order="asc"), json=page(sessions(1, 1), 1))
        result, failed = run(sort="name")
    assert not failed


def test_limit_stops_paging_and_reports_truncated():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 100), json=page(sessions(1, 100), 250))
        calls.add("GET", SESSIONS, query=q(100, 20), json=page(sessions(101, 20), 250, 100, 20))
        result, failed = run(limit=120)
    assert not failed
    assert len(result["sessions"]) == 120
    assert (result["total"], result["truncated"]) == (250, True)


def test_limit_above_the_total_is_not_truncated():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 100), json=page(sessions(1, 40), 40))
        result, failed = run(limit=500)
    assert not failed
    assert (len(result["sessions"]), result["total"], result["truncated"]) == (40, 40, False)


def test_limit_one_counts_the_matches():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 1, state="idle"), json=page(sessions(1, 1), 4321, 0, 1))
        result, failed = run(limit=1, filters={"state": "idle"})
    assert not failed
    assert (len(result["sessions"]), result["total"], result["truncated"]) == (1, 4321, True)


def test_resolve_names_costs_one_request_per_resource_type():
    listed = [session(1, vg=3, pvg=4, snap=428), session(2, vg=3, pvg=9, snap=None, ext=5),
              session(3, vg=7, peer=2, pvg=None, snap=430)]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(listed, 3))
        calls.add("GET", "/replication/peer_k2arrays", query=q(id__in="1,2", __fields="id,name"),
                  json=page([{"id": 1, "name": "array-b"}, {"id": 2, "name": "array-c"}], 2))
        calls.add("GET", "/replication/peer_volume_groups", query=q(id__in="4,9", __fields="id,name"),
                  json=page([{"id": 4, "name": "pvg-4"}, {"id": 9, "name": "pvg-9"}], 2))
        calls.add("GET", "/retention_policies", query=q(id__in="5,6", __fields="id,name"),
                  json=page([{"id": 5, "name": "Best_Effort_Retention"}, {"id": 6, "name": "Replication_Retention"}], 2))
        calls.add("GET", "/snapshots", query=q(id__in="428,430", __fields="id,name"),
                  json=page([{"id": 428, "name": "snap-428"}], 1))  # 430 was deleted meanwhile
        calls.add("GET", "/volume_groups", query=q(id__in="3,7", __fields="id,name"),
                  json=page([{"id": 3, "name": "prod-vg"}, {"id": 7, "name": "dev-vg"}], 2))
        result, failed = run(resolve_names=True)
    assert not failed
    first, second, third = result["sessions"]
    assert first["local_volume_group_name"] == "prod-vg"
    assert first["replication_peer_k2array_name"] == "array-b"
    assert first["replication_peer_volume_group_name"] == "pvg-4"
    assert first["retention_policy_name"] == "Best_Effort_Retention"
    assert first["external_retention_policy_name"] == "Replication_Retention"
    assert first["latest_replicated_snapshot_name"] == "snap-428"
    assert "replication_rpo_history_name" not in first
    assert second["external_retention_policy_name"] == "Best_Effort_Retention"
    assert second["latest_replicated_snapshot_name"] is None  # null reference
    assert third["replication_peer_k2array_name"] == "array-c"
    assert third["local_volume_group_name"] == "dev-vg"
    assert third["replication_peer_volume_group_name"] is None
    assert third["latest_replicated_snapshot_name"] is None  # object gone


def test_resolve_names_chunks_more_than_one_hundred_ids():
    listed = [session(i, vg=i) for i in range(1, 151)]
    vgs = [{"id": i, "name": "vg%d" % i} for i in range(1, 151)]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json=page(listed[:100], 150))
        calls.add("GET", SESSIONS, query=q(100), json=page(listed[100:], 150, 100))
        calls.add("GET", "/replication/peer_k2arrays", query=q(id__in="1", __fields="id,name"),
                  json=page([{"id": 1, "name": "array-b"}], 1))
        calls.add("GET", "/retention_policies", query=q(id__in="5,6", __fields="id,name"),
                  json=page([{"id": 5, "name": "p5"}, {"id": 6, "name": "p6"}], 2))
        calls.add("GET", "/volume_groups", query=q(id__in=",".join(str(i) for i in range(1, 101)), __fields="id,name"),
                  json=page(vgs[:100], 100))
        calls.add("GET", "/volume_groups", query=q(id__in=",".join(str(i) for i in range(101, 151)), __fields="id,name"),
                  json=page(vgs[100:], 50))
        result, failed = run(resolve_names=True)
    assert not failed
    assert [s["local_volume_group_name"] for s in result["sessions"]] == ["vg%d" % i for i in range(1, 151)]


def test_resolve_names_only_for_projected_reference_fields():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(__fields="name,local_volume_group"),
                  json=page([{"name": "s1", "local_volume_group": {"ref": "/volume_groups/3"}}], 1))
        calls.add("GET", "/volume_groups", query=q(id__in="3", __fields="id,name"),
                  json=page([{"id": 3, "name": "prod-vg"}], 1))
        result, failed = run(resolve_names=True, fields=["name", "local_volume_group"])
    assert not failed
    assert result["sessions"] == [{"name": "s1", "local_volume_group": {"ref": "/volume_groups/3"},
                                   "local_volume_group_name": "prod-vg"}]


def test_resolve_names_with_no_reference_fields_costs_nothing_more():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(__fields="name,state"), json=page([{"name": "s1", "state": "idle"}], 1))
        result, failed = run(resolve_names=True, fields=["name", "state"])
    assert not failed and result["sessions"] == [{"name": "s1", "state": "idle"}]


def test_check_mode_reads_the_same():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(state="idle"), json=page(sessions(1, 2, state="idle"), 2))
        result, failed = run(check_mode=True, filters={"state": "idle"})
    assert not failed and result["changed"] is False and result["total"] == 2


@pytest.mark.parametrize("args,message", [
    ({"filters": {"colour": "red"}}, "unknown field 'colour'"),
    ({"filters": {"name__startswith": "p"}}, "unknown modifier 'startswith'"),
    ({"filters": {"state__gt": 3}}, "numeric modifier 'gt' does not apply to the string field 'state'"),
    ({"filters": {"rpo__lt": "soon"}}, "filters.rpo__lt: expected an integer"),
    ({"filters": {"local_volume_group": "prod-vg", "state__in": []}}, "expected a non-empty list"),
    ({"sort": "-colour"}, "sort: unknown field 'colour'"),
    ({"fields": ["name", "colour"]}, "fields: unknown field 'colour'"),
    ({"limit": 0}, "limit: expected a positive integer"),
    ({"name": "a", "filters": {"name": "b"}}, "give only one"),
])
def test_invalid_options_fail_before_any_request(args, message):
    with ExpectedCalls() as calls:  # no call expected: any request fails the test
        result, failed = run(**args)
    assert failed
    assert message in result["msg"]
    assert calls.requests == []


def test_server_error_becomes_a_clear_failure():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(name__regexp="("), status=400,
                  json={"error_msg": "name__regexp: invalid regular expression"})
        result, failed = run(filters={"name__regexp": "("})
    assert failed
    assert "HTTP 400" in result["msg"] and "invalid regular expression" in result["msg"]
    assert result["status"] == 400


def test_password_never_shows_in_the_result():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(sessions(1, 1), 1))
        result, failed = run()
    assert not failed
    assert "s3cr3t-Pa55" not in repr(result)
