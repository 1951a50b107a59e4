# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reference cache: names looked up once per collection in batches, ids and refs for free,
names of refs by id for diffs, nameless collections never looked up; every request asserted."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ReferenceError
from ansible_collections.kaminario.k2.plugins.module_utils.references import References, id_lookups
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import split_ref
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, PASSWORD, USERNAME, ExpectedCalls

PAGE = {"__limit": 100, "__offset": 0}


def hits(*objects):
    return {"hits": list(objects), "total": len(objects)}


@pytest.fixture
def refs():
    return References(K2Api(K2Transport(HOST, USERNAME, PASSWORD)))


def test_the_same_name_in_two_collections_is_two_lookups_each_cached(refs):
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "x"}, json=hits({"id": 3, "name": "x"}))
        calls.add("GET", "/retention_policies", query={"name": "x"}, json=hits({"id": 9, "name": "x"}))
        refs.prefetch([("/volume_groups", "x"), ("/retention_policies", "x"), ("/volume_groups", "x")])
        assert refs.ref("/volume_groups", "x", "local_volume_group") == "/volume_groups/3"
        assert refs.ref("/retention_policies", "x", "retention_policy") == "/retention_policies/9"
    # Known now: no request for them, nor for ids and refs.
    with ExpectedCalls():
        refs.prefetch([("/volume_groups", "x"), ("/volume_groups", 7), ("/volume_groups", "/volume_groups/8")])
        assert refs.ref("/volume_groups", 7, "local_volume_group") == "/volume_groups/7"


def test_names_are_literal_and_name_prefix_makes_digits_a_name(refs):
    """Leading and trailing spaces are part of a name; "name:5102" is the object named 5102, while
    5102 alone is the id 5102 (no request)."""
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name__in": " x ,5102", "__limit": "100", "__offset": "0"},
                  json=hits({"id": 3, "name": " x "}, {"id": 4, "name": "5102"}))
        refs.prefetch([("/volume_groups", " x "), ("/volume_groups", "name:5102"), ("/volume_groups", "5102")])
        assert refs.ref("/volume_groups", " x ", "local_volume_group") == "/volume_groups/3"
        assert refs.ref("/volume_groups", "name:5102", "local_volume_group") == "/volume_groups/4"
        assert refs.ref("/volume_groups", "5102", "local_volume_group") == "/volume_groups/5102"
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "x"}, json=hits())
        with pytest.raises(K2ReferenceError, match="no volume_groups object is named 'x'"):
            refs.ref("/volume_groups", "x", "local_volume_group")


def test_a_name_not_prefetched_costs_one_lookup_and_a_missing_one_is_remembered(refs):
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "vg"}, json=hits())
        with pytest.raises(K2ReferenceError, match="local_volume_group: no volume_groups object is named 'vg'"):
            refs.ref("/volume_groups", "vg", "local_volume_group")
        with pytest.raises(K2ReferenceError):
            refs.ref("/volume_groups", "vg", "local_volume_group")
    assert len(calls.requests) == 1


def test_a_value_that_cannot_be_a_reference_is_left_to_ref_which_names_the_option(refs):
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query={"name": "vg"}, json=hits({"id": 1, "name": "vg"}))
        refs.prefetch([("/volume_groups", "/retention_policies/5"), ("/volume_groups", "vg")])
    with pytest.raises(K2ReferenceError, match="local_volume_group: '/retention_policies/5' is not a reference to "
                                               "/volume_groups"):
        refs.ref("/volume_groups", "/retention_policies/5", "local_volume_group")


def test_names_of_refs_are_looked_up_by_id_once_and_nameless_ones_never(refs):
    with ExpectedCalls() as calls:
        calls.add("GET", "/volume_groups", query=dict(PAGE, id__in="2,10", __fields="id,name"),
                  json=hits({"id": 2, "name": "two"}, {"id": 10, "name": "ten"}, {"name": "no id"}))
        names = refs.names_of(["/volume_groups/10", {"ref": "/volume_groups/2"}, "/replication/rpo_history/4"])
    assert names == {"/volume_groups/2": "two", "/volume_groups/10": "ten"}
    with ExpectedCalls():
        assert refs.names_of(["/volume_groups/2"])["/volume_groups/2"] == "two"


def test_id_lookups_batch_per_collection_and_hundred():
    refs = ["/volume_groups/%d" % i for i in range(1, 151)] + ["/replication/rpo_history/1", "not a ref"]
    lookups = id_lookups(refs)
    assert [(path, params["id__in"].count(",") + 1) for path, params in lookups] == [
        ("/volume_groups", 100), ("/volume_groups", 50)]


@pytest.mark.parametrize("value, expected", [
    ("/volume_groups/5", ("/volume_groups", "5")), ({"ref": "/a/b/7"}, ("/a/b", "7")),
    ("/5", None), ("volume_groups", None), (None, None), (5, None),
])
def test_split_ref(value, expected):
    assert split_ref(value) == expected
