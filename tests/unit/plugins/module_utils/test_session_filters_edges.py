# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""session_filters at its edges: booleans given as text, a list modifier given one integer, m_eq on a
reference, empty references refused; each also through k2_replication_session_info where it reaches
the API, every request asserted."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import SESSIONS as SESSIONS_RESOURCE
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import (
    Condition,
    Filterable,
    FilterError,
    build_query,
    parse_condition,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    INT,
    REF,
    REFERENCE_PATHS,
    SESSION_FIELDS,
    STR,
)
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as info_module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, connection_args, run_module

SESSIONS = "/replication/sessions"


class Resolver:
    """Stands in for K2Api.ref: records each call, names map to ids in NAMES."""

    NAMES = {"prod-vg": 3, "dev-vg": 8}

    def __init__(self):
        self.calls = []

    def __call__(self, path, value, option):
        self.calls.append((path, value, option))
        if str(value).startswith("/"):
            return value
        return "%s/%s" % (path, self.NAMES.get(value, value))


def params(filters):
    return build_query(filters=filters).params(Resolver())


def listing(**query):
    return dict(query, __limit=100, __offset=0)


def run_info(**args):
    return run_module(info_module, connection_args(**args))


# --- booleans as text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, parsed, sent", [
    ("true", True, "True"), ("True", True, "True"), (" TRUE ", True, "True"),
    ("false", False, "False"), ("False", False, "False"), (False, False, "False"),
])
def test_a_boolean_field_takes_true_and_false_as_text(value, parsed, sent):
    assert parse_condition("primary", value) == Condition("primary", "", parsed)
    assert params({"primary": value}) == {"primary": sent}
    assert params({"stopped__neq": value}) == {"stopped__neq": sent}


@pytest.mark.parametrize("value, shown", [("yes", "'yes'"), ("1", "'1'"), (1, "1"), ("", "''")])
def test_a_boolean_field_refuses_other_text_and_numbers(value, shown):
    with pytest.raises(FilterError) as info:
        build_query(filters={"primary": value})
    assert str(info.value) == "filters.primary: expected a boolean (true or false), got %s" % shown


def test_the_string_true_reaches_the_api_as_the_api_spells_it():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=listing(primary="True"), json={"hits": [], "total": 0})
        result, failed = run_info(filters={"primary": "true"})
    assert not failed, result


# --- a list modifier given one integer -----------------------------------------------------------------


def test_id_in_given_one_integer_is_a_list_of_one():
    assert parse_condition("id__in", 5) == Condition("id", "in", [5])
    assert params({"id__in": 5}) == {"id__in": "5"}
    assert params({"rpo__m_eq": 300}) == {"rpo__m_eq": "300"}


def test_id_in_given_one_integer_through_the_module():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=listing(id__in="5"), json={"hits": [{"id": 5, "name": "s5"}], "total": 1})
        result, failed = run_info(filters={"id__in": 5})
    assert not failed, result
    assert [s["id"] for s in result["sessions"]] == [5]


@pytest.mark.parametrize("value, shown", [(True, "bool"), (1.5, "float"), (None, "NoneType")])
def test_id_in_refuses_a_boolean_a_float_or_nothing(value, shown):
    with pytest.raises(FilterError) as info:
        build_query(filters={"id__in": value})
    assert str(info.value) == "filters.id__in: expected a list (or a comma-separated string), got %s" % shown


# --- m_eq on a reference field -----------------------------------------------------------------------------


def test_m_eq_on_a_reference_resolves_each_item_into_the_ref_key():
    resolver = Resolver()
    query = build_query(filters={"local_volume_group__m_eq": ["prod-vg", 7, "/volume_groups/9"]})
    assert query.params(resolver) == {"local_volume_group.ref__m_eq": "/volume_groups/3,/volume_groups/7,/volume_groups/9"}
    assert resolver.calls == [("/volume_groups", "prod-vg", "filters.local_volume_group__m_eq"),
                              ("/volume_groups", 7, "filters.local_volume_group__m_eq"),
                              ("/volume_groups", "/volume_groups/9", "filters.local_volume_group__m_eq")]


def test_m_eq_on_a_reference_through_the_module():
    with ExpectedCalls() as calls:
        calls.add("GET", "/retention_policies", query={"name": "Gold"}, json={"hits": [{"id": 4, "name": "Gold"}],
                                                                              "total": 1})
        calls.add("GET", SESSIONS, query=listing(**{"retention_policy.ref__m_eq": "/retention_policies/4,"
                                                                                  "/retention_policies/6"}),
                  json={"hits": [], "total": 0})
        result, failed = run_info(filters={"retention_policy__m_eq": "Gold, 6"})
    assert not failed, result


# --- empty references ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_reference_is_refused(value):
    with pytest.raises(FilterError) as info:
        build_query(filters={"local_volume_group": value})
    assert str(info.value) == ("filters.local_volume_group: expected a name, an id or a ref like /volume_groups/ID, "
                               "got %r" % value)


@pytest.mark.parametrize("value", [["prod-vg", ""], ["prod-vg", "  "], "prod-vg,", "prod-vg, ,dev-vg"])
def test_an_empty_item_in_a_reference_list_is_refused(value):
    with pytest.raises(FilterError) as info:
        build_query(filters={"local_volume_group__in": value})
    assert str(info.value).startswith("filters.local_volume_group__in: expected ")


def test_an_empty_reference_fails_before_any_request():
    with ExpectedCalls():
        result, failed = run_info(filters={"retention_policy__neq": " "})
    assert failed
    assert result["msg"] == ("filters.retention_policy__neq: expected a name, an id or a ref like "
                             "/retention_policies/ID, got ' '")


# --- the other shapes a caller may pass ----------------------------------------------------------------


@pytest.mark.parametrize("modifier", ["gt", "lt", "gte", "lte"])
def test_each_numeric_modifier_on_a_string_field_is_named_numeric(modifier):
    with pytest.raises(FilterError) as info:
        build_query(filters={"name__" + modifier: "b"})
    assert str(info.value).startswith("filters: the numeric modifier %r does not apply to the string field 'name'; "
                                      % modifier)


def test_a_tuple_is_a_list_not_a_single_value():
    assert params({"state__in": ("in_sync", "idle")}) == {"state__in": "in_sync,idle"}
    with pytest.raises(FilterError) as info:
        build_query(filters={"rpo": (300,)})
    assert str(info.value) == "filters.rpo: expected a single integer value, got tuple"


@pytest.mark.parametrize("key, value, message", [
    ("local_volume_group", ["prod-vg"], "filters.local_volume_group: expected a single name, id or ref value, got list"),
    ("local_volume_group__neq", True,
     "filters.local_volume_group__neq: expected a name, an id or a ref like /volume_groups/ID, got True"),
    ("primary", [True], "filters.primary: expected a single boolean value, got list"),
    ("retention_policy__in", [None],
     "filters.retention_policy__in: expected a single name, id or ref value, got NoneType"),
])
def test_shapes_refused_with_the_field_and_what_it_takes(key, value, message):
    with pytest.raises(FilterError) as info:
        build_query(filters={key: value})
    assert str(info.value) == message


@pytest.mark.parametrize("limit", [True, "5", 0, -1, 2.0])
def test_limit_must_be_a_positive_integer(limit):
    with pytest.raises(FilterError) as info:
        build_query(limit=limit)
    assert str(info.value) == "limit: expected a positive integer, got %r" % (limit,)


def test_limit_one_is_fine():
    assert build_query(limit=1).params(Resolver()) == {}


# --- another resource's fields (peer arrays use the same validator) ------------------------------------


def test_the_fields_of_another_resource_and_where_its_references_point():
    things = Filterable({"name": STR, "size": INT, "owner": REF}, {"owner": "/owners"})
    resolver = Resolver()
    query = build_query(name="t1", filters={"size__gt": "5", "owner__in": ["prod-vg", 4]}, sort="-size",
                        fields=["name", "owner"], resource=things)
    assert query.params(resolver) == {"name": "t1", "size__gt": "5", "owner.ref__in": "/owners/3,/owners/4",
                                      "__sort": "size", "__sort_order": "desc", "__fields": "name,owner"}
    assert resolver.calls == [("/owners", "prod-vg", "filters.owner__in"), ("/owners", 4, "filters.owner__in")]
    with pytest.raises(FilterError, match=r"^filters: unknown field 'state' in 'state'; valid fields: name, owner, "
                                          r"size$"):
        build_query(filters={"state": "in_sync"}, resource=things)
    with pytest.raises(FilterError, match=r"^filters.owner: expected a name, an id or a ref like /owners/ID"):
        build_query(filters={"owner": " "}, resource=things)
    with pytest.raises(FilterError, match=r"^sort: unknown field 'owner'"):
        build_query(sort="owner", resource=things)
    with pytest.raises(FilterError, match=r"^fields: unknown field 'rpo'"):
        build_query(fields=["rpo"], resource=things)


def test_sessions_are_the_default_resource():
    assert build_query().resource == SESSIONS_RESOURCE
    assert SESSIONS_RESOURCE.fields is SESSION_FIELDS and SESSIONS_RESOURCE.reference_paths is REFERENCE_PATHS
