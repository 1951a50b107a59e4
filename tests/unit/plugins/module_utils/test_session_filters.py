# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""session_filters: validation, the exact query for each option, and the name-resolution plan."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import (
    MODIFIERS,
    REFERENCE_PATHS,
    SESSION_FIELDS,
    FilterError,
    add_names,
    build_query,
    name_lookups,
)

VG_IDS = {"prod-vg": 3, "dev-vg": 7}


class FakeResolver:
    """Stands in for K2Api.ref: names of volume groups known here, ids and refs taken as given."""

    def __init__(self):
        self.calls = []

    def __call__(self, path, value, option):
        self.calls.append((path, value, option))
        if isinstance(value, int) or str(value).isdigit():
            return "%s/%s" % (path, value)
        if str(value).startswith("/"):
            return value
        return "%s/%d" % (path, VG_IDS[value])


def params(**kwargs):
    return build_query(**kwargs).params(FakeResolver())


def test_fields_and_types_follow_the_vendor_page():
    assert len(SESSION_FIELDS) == 25
    refs = sorted(f for f, t in SESSION_FIELDS.items() if t == "reference")
    assert refs == sorted(REFERENCE_PATHS)
    assert sorted(f for f, t in SESSION_FIELDS.items() if t == "int") == [
        "common_snapshots_count", "current_snapshot_progress", "estimated_remaining_time", "id",
        "remote_replication_session_id", "rpo"]
    assert sorted(f for f, t in SESSION_FIELDS.items() if t == "bool") == ["primary", "stopped"]


def test_filter_error_is_a_k2_error():
    assert issubclass(FilterError, K2Error)


def test_no_options_is_an_empty_query():
    assert params() == {}


def test_name_is_an_exact_filter():
    assert params(name="s1") == {"name": "s1"}


@pytest.mark.parametrize("key,value,expected", [
    ("name__contains", "prod", {"name__contains": "prod"}),
    ("name__contains_some", "prod", {"name__contains_some": "prod"}),
    ("rpo__gt", 300, {"rpo__gt": "300"}),
    ("rpo__lt", 900, {"rpo__lt": "900"}),
    ("id__gte", 10, {"id__gte": "10"}),
    ("common_snapshots_count__lte", 4, {"common_snapshots_count__lte": "4"}),
    ("state__neq", "idle", {"state__neq": "idle"}),
    ("state__in", ["in_sync", "suspended"], {"state__in": "in_sync,suspended"}),
    ("state__m_eq", ["in_sync", "idle"], {"state__m_eq": "in_sync,idle"}),
    ("name__prefix", "prod-", {"name__prefix": "prod-"}),
    ("name__regexp", "^prod-[0-9]+$", {"name__regexp": "^prod-[0-9]+$"}),
    ("state", "in_sync", {"state": "in_sync"}),
    ("rpo", 300, {"rpo": "300"}),
    ("rpo", "600", {"rpo": "600"}),
    ("id__in", [1, 2, "3"], {"id__in": "1,2,3"}),
    ("rpo__neq", 60, {"rpo__neq": "60"}),
])
def test_each_modifier_gives_its_exact_query(key, value, expected):
    assert params(filters={key: value}) == expected


def test_every_vendor_modifier_is_covered():
    assert set(MODIFIERS) == {"contains", "contains_some", "gt", "lt", "gte", "lte", "neq", "in", "m_eq",
                              "prefix", "regexp"}


def test_in_takes_a_comma_string_and_strips_blanks():
    assert params(filters={"state__in": "in_sync, suspended"}) == {"state__in": "in_sync,suspended"}


def test_booleans_are_sent_as_the_api_spells_them():
    assert params(filters={"primary": True, "stopped__neq": "false"}) == {"primary": "True", "stopped__neq": "False"}


def test_string_field_takes_a_number_as_text():
    assert params(filters={"suspend_reason_code": 12}) == {"suspend_reason_code": "12"}


def test_reference_filter_by_name_becomes_a_ref_filter():
    resolver = FakeResolver()
    query = build_query(filters={"local_volume_group": "prod-vg"})
    assert query.params(resolver) == {"local_volume_group.ref": "/volume_groups/3"}
    assert resolver.calls == [("/volume_groups", "prod-vg", "filters.local_volume_group")]


def test_reference_filter_by_id_or_ref():
    assert params(filters={"replication_peer_k2array": 1}) == {
        "replication_peer_k2array.ref": "/replication/peer_k2arrays/1"}
    assert params(filters={"retention_policy__neq": "/retention_policies/5"}) == {
        "retention_policy.ref__neq": "/retention_policies/5"}


def test_reference_in_resolves_each_item():
    resolver = FakeResolver()
    query = build_query(filters={"local_volume_group__in": ["prod-vg", 7, "/volume_groups/9"]})
    assert query.params(resolver) == {"local_volume_group.ref__in": "/volume_groups/3,/volume_groups/7,/volume_groups/9"}
    assert [c[1] for c in resolver.calls] == ["prod-vg", 7, "/volume_groups/9"]
    assert {c[2] for c in resolver.calls} == {"filters.local_volume_group__in"}


def test_sort_ascending_and_descending():
    assert params(sort="rpo") == {"__sort": "rpo", "__sort_order": "asc"}
    assert params(sort="-name") == {"__sort": "name", "__sort_order": "desc"}


def test_projection_joins_fields_once_each():
    assert params(fields=["name", "state", "name"]) == {"__fields": "name,state"}


def test_everything_together():
    assert params(name="s1", filters={"rpo__gte": 300, "local_volume_group": "dev-vg"}, sort="-id",
                  fields=["id", "name"]) == {
        "name": "s1", "rpo__gte": "300", "local_volume_group.ref": "/volume_groups/7",
        "__sort": "id", "__sort_order": "desc", "__fields": "id,name"}


@pytest.mark.parametrize("kwargs,message", [
    ({"filters": {"colour": "red"}}, "unknown field 'colour'"),
    ({"filters": {"name__startswith": "p"}}, "unknown modifier 'startswith'"),
    ({"filters": {"name__gt": "a"}}, "numeric modifier 'gt' does not apply to the string field 'name'"),
    ({"filters": {"primary__lt": 1}}, "numeric modifier 'lt' does not apply to the bool field 'primary'"),
    ({"filters": {"local_volume_group__gte": 1}}, "numeric modifier 'gte' does not apply"),
    ({"filters": {"rpo__contains": "3"}}, "modifier 'contains' does not apply to the int field 'rpo'"),
    ({"filters": {"local_volume_group__prefix": "p"}}, "modifier 'prefix' does not apply"),
    ({"filters": {"rpo__gt": "fast"}}, "filters.rpo__gt: expected an integer, got 'fast'"),
    ({"filters": {"rpo__gt": 1.5}}, "filters.rpo__gt: expected an integer"),
    ({"filters": {"rpo": True}}, "filters.rpo: expected an integer, got a boolean"),
    ({"filters": {"rpo__gt": [300]}}, "filters.rpo__gt: expected a single integer value, got list"),
    ({"filters": {"primary": "maybe"}}, "filters.primary: expected a boolean"),
    ({"filters": {"name": {"a": 1}}}, "filters.name: expected a single string value, got dict"),
    ({"filters": {"name": None}}, "filters.name: expected a single string value"),
    ({"filters": {"name": True}}, "filters.name: expected a string, got bool"),
    ({"filters": {"local_volume_group": True}}, "filters.local_volume_group: expected a name, an id or a ref"),
    ({"filters": {"state__in": []}}, "expected a non-empty list"),
    ({"filters": {"state__in": "a,,b"}}, "expected a non-empty list without empty items"),
    ({"filters": {"state__in": {"a": 1}}}, "expected a list (or a comma-separated string), got dict"),
    ({"filters": {"name__in": ["a,b"]}}, "contains a comma"),
    ({"filters": {"id__in": ["1", "x"]}}, "filters.id__in: expected an integer, got 'x'"),
    ({"filters": ["name"]}, "filters: expected a dictionary"),
    ({"name": "a", "filters": {"name": "b"}}, "give only one"),
    ({"sort": "colour"}, "sort: unknown field 'colour'"),
    ({"sort": "-local_volume_group"}, "sort: unknown field 'local_volume_group'"),
    ({"fields": ["name", "colour"]}, "fields: unknown field 'colour'"),
    ({"fields": []}, "fields: give at least one field"),
    ({"limit": 0}, "limit: expected a positive integer, got 0"),
])
def test_validation_errors_are_clear(kwargs, message):
    with pytest.raises(FilterError) as exc:
        build_query(**kwargs)
    assert message in str(exc.value)


def test_unknown_field_error_lists_the_valid_fields():
    with pytest.raises(FilterError) as exc:
        build_query(filters={"colour": "red"})
    for fname in SESSION_FIELDS:
        assert fname in str(exc.value)


def test_unknown_modifier_error_lists_the_valid_modifiers():
    with pytest.raises(FilterError) as exc:
        build_query(filters={"rpo__above": 1})
    for modifier in MODIFIERS:
        assert modifier in str(exc.value)


def test_wrong_modifier_error_lists_what_the_field_takes():
    with pytest.raises(FilterError) as exc:
        build_query(filters={"name__lt": "b"})
    assert "name__prefix" in str(exc.value) and "name__regexp" in str(exc.value)
    assert "name__gt" not in str(exc.value)


def session(sid, vg=None, policy="/retention_policies/5", ext="/retention_policies/6", peer="/replication/peer_k2arrays/1"):
    return {
        "id": sid, "name": "s%d" % sid,
        "local_volume_group": {"ref": vg} if vg else None,
        "retention_policy": {"ref": policy},
        "external_retention_policy": {"ref": ext},
        "replication_peer_k2array": {"ref": peer},
        "replication_rpo_history": {"ref": "/replication/rpo_history/%d" % sid},
    }


def test_name_lookups_batch_distinct_ids_per_resource_type():
    sessions = [session(1, "/volume_groups/3"), session(2, "/volume_groups/3"), session(3, "/volume_groups/10"),
                session(4)]
    assert name_lookups(sessions) == [
        ("/replication/peer_k2arrays", {"id__in": "1", "__fields": "id,name"}),
        ("/retention_policies", {"id__in": "5,6", "__fields": "id,name"}),
        ("/volume_groups", {"id__in": "3,10", "__fields": "id,name"}),
    ]


def test_name_lookups_chunk_at_one_hundred_ids():
    sessions = [session(i, "/volume_groups/%d" % i) for i in range(1, 251)]
    vg_lookups = [p for path, p in name_lookups(sessions) if path == "/volume_groups"]
    assert [len(p["id__in"].split(",")) for p in vg_lookups] == [100, 100, 50]
    assert vg_lookups[0]["id__in"].startswith("1,2,3,")
    assert vg_lookups[2]["id__in"].endswith(",249,250")


def test_name_lookups_with_nothing_to_resolve():
    assert name_lookups([]) == []
    assert name_lookups([{"id": 1, "name": "a"}]) == []


def test_add_names_in_place():
    sessions = [session(1, "/volume_groups/3"), session(2, None, ext="/retention_policies/99")]
    objects = {
        "/volume_groups": [{"id": 3, "name": "prod-vg"}],
        "/retention_policies": [{"id": 5, "name": "Best_Effort_Retention"}, {"id": 6, "name": "Replication_Retention"}],
        "/replication/peer_k2arrays": [{"id": 1, "name": "array-b"}],
    }
    assert add_names(sessions, objects) is sessions
    assert sessions[0]["local_volume_group_name"] == "prod-vg"
    assert sessions[0]["retention_policy_name"] == "Best_Effort_Retention"
    assert sessions[0]["external_retention_policy_name"] == "Replication_Retention"
    assert sessions[0]["replication_peer_k2array_name"] == "array-b"
    assert sessions[1]["local_volume_group_name"] is None  # null reference
    assert sessions[1]["external_retention_policy_name"] is None  # object gone since the list
    assert "replication_rpo_history_name" not in sessions[0]
    # fields not in the (projected) session get no name
    assert "latest_replicated_snapshot_name" not in sessions[0]
