# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Api at its edges: answers that break the API contract (an object found by name without an id, a
list without hits) and the smallest id and limit."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ProtocolError, K2ReferenceError
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, PASSWORD, USERNAME, ExpectedCalls

VGS = "/volume_groups"
NO_ID = "GET /volume_groups: unexpected answer from the K2 API (HTTP 200): the object named 'vg1' has no id"


@pytest.fixture
def api():
    return K2Api(K2Transport(HOST, USERNAME, PASSWORD))


@pytest.mark.parametrize("found", [{"name": "vg1"}, {"name": "vg1", "id": None}, {"name": "vg1", "id": "abc"},
                                   {"name": "vg1", "id": ""}])
@pytest.mark.parametrize("call", ["find_by_name", "ref"])
def test_an_object_named_without_an_id_is_a_protocol_error(api, found, call):
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"name": "vg1"}, json={"hits": [found], "total": 1})
        with pytest.raises(K2ProtocolError) as info:
            if call == "ref":
                api.ref(VGS, "vg1", "local_volume_group")
            else:
                api.find_by_name(VGS, "vg1")
    assert str(info.value) == NO_ID
    assert info.value.details() == {"method": "GET", "path": VGS, "status": 200}


def test_only_the_object_with_the_exact_name_needs_an_id(api):
    """A near match without an id (the server's name filter may be loose) is skipped, not an error."""
    with ExpectedCalls() as calls:
        answer = {"hits": [{"name": "vg10"}, {"id": "4", "name": "vg1"}], "total": 2}
        calls.add("GET", VGS, query={"name": "vg1"}, json=answer)
        assert api.ref(VGS, "vg1", "local_volume_group") == {"ref": "/volume_groups/4"}


def test_a_list_answer_without_hits_names_the_status_it_came_with(api):
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"__limit": 100, "__offset": 0}, json={"items": []})
        with pytest.raises(K2ProtocolError) as info:
            api.list(VGS)
    assert str(info.value) == "GET /volume_groups: unexpected answer from the K2 API (HTTP 200): a list answer without a 'hits' list"
    assert info.value.details() == {"method": "GET", "path": VGS, "status": 200}


@pytest.mark.parametrize("value", [1, "1", "/volume_groups/1"])
def test_id_1_is_the_smallest_id(api, value):
    with ExpectedCalls():
        assert api.ref(VGS, value, "local_volume_group") == {"ref": "/volume_groups/1"}


def test_id_0_is_refused(api):
    with ExpectedCalls():
        with pytest.raises(K2ReferenceError) as info:
            api.ref(VGS, 0, "local_volume_group")
    assert str(info.value) == "local_volume_group: an id must be a positive integer, got 0"


def test_limit_1_reads_one_object(api):
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"__limit": 1, "__offset": 0},
                  json={"hits": [{"id": 4, "name": "vg4"}], "total": 3})
        result = api.list(VGS, limit=1)
    assert (result.items, result.total, result.truncated) == ([{"id": 4, "name": "vg4"}], 3, True)
