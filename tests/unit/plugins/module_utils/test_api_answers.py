# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Api against answers that break the API's contract: an object found by name without an id."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ProtocolError
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
        calls.add("GET", VGS, query={"name": "vg1"}, json={"hits": [{"name": "vg10"}, {"id": "4", "name": "vg1"}],
                                                          "total": 2})
        assert api.ref(VGS, "vg1", "local_volume_group") == {"ref": "/volume_groups/4"}
