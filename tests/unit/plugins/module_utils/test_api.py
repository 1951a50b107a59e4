# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Api against scripted HTTP: paging, references, object calls; every request asserted in order."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api, ListResult, query
from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2NotFound,
    K2ProtocolError,
    K2ReferenceError,
)
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, PASSWORD, USERNAME, ExpectedCalls

SESSIONS = "/replication/sessions"
VGS = "/volume_groups"


@pytest.fixture
def api():
    return K2Api(K2Transport(HOST, USERNAME, PASSWORD))


def objs(first, count):
    return [{"id": i, "name": "s%d" % i} for i in range(first, first + count)]


def page(hits, total, offset=0):
    return {"hits": hits, "limit": 100, "offset": offset, "total": total}


def q(offset, limit=100, **params):
    return dict(params, __limit=limit, __offset=offset)


# --- paging -----------------------------------------------------------------------------------------------

def test_three_pages_while_total_grows(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, state="in_sync"), json=page(objs(1, 100), 250))
        calls.add("GET", SESSIONS, query=q(100, state="in_sync"), json=page(objs(101, 100), 260, 100))
        calls.add("GET", SESSIONS, query=q(200, state="in_sync"), json=page(objs(201, 60), 260, 200))
        result = api.list(SESSIONS, params={"state": "in_sync"})
    assert isinstance(result, ListResult)
    assert [o["id"] for o in result.items] == list(range(1, 261))
    assert (result.total, result.truncated) == (260, False)


def test_total_shrinking_stops_early(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json=page(objs(1, 100), 250))
        calls.add("GET", SESSIONS, query=q(100), json=page(objs(101, 80), 180, 100))
        result = api.list(SESSIONS)
    assert len(result.items) == 180 and result.total == 180 and not result.truncated


def test_empty_page_before_total_stops(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json=page(objs(1, 100), 150))
        calls.add("GET", SESSIONS, query=q(100), json=page([], 150, 100))
        result = api.list(SESSIONS)
    assert len(result.items) == 100 and result.total == 150 and not result.truncated


def test_objects_shifted_onto_the_next_page_are_not_repeated(api):
    # An object created during the walk pushes s100 from page 1 onto page 2.
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json=page(objs(1, 100), 150))
        calls.add("GET", SESSIONS, query=q(100), json=page(objs(100, 51), 151, 100))
        result = api.list(SESSIONS)
    assert [o["id"] for o in result.items] == list(range(1, 151))
    assert result.total == 151


@pytest.mark.parametrize("count, pages", [(0, 1), (1, 1), (100, 1), (101, 2), (300, 3)])
def test_n_objects_cost_ceil_n_over_100_requests(api, count, pages):
    with ExpectedCalls() as calls:
        for number in range(pages):
            calls.add("GET", SESSIONS, query=q(number * 100),
                      json=page(objs(number * 100 + 1, min(100, count - number * 100)), count, number * 100))
        result = api.list(SESSIONS)
    assert len(result.items) == count == result.total


def test_limit_asks_only_for_what_is_needed(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 100), json=page(objs(1, 100), 400))
        calls.add("GET", SESSIONS, query=q(100, 50), json=page(objs(101, 50), 400, 100))
        result = api.list(SESSIONS, limit=150)
    assert len(result.items) == 150 and result.total == 400 and result.truncated


def test_limit_not_reached_is_not_truncated(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 5), json=page(objs(1, 3), 3))
        result = api.list(SESSIONS, limit=5)
    assert len(result.items) == 3 and not result.truncated


def test_limit_equal_to_total_is_not_truncated(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 3), json=page(objs(1, 3), 3))
        assert api.list(SESSIONS, limit=3).truncated is False


def test_server_ignoring_limit_is_cut(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, 5), json=page(objs(1, 10), 10))
        result = api.list(SESSIONS, limit=5)
    assert [o["id"] for o in result.items] == [1, 2, 3, 4, 5] and result.truncated


def test_answer_without_total_pages_until_a_short_page(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json={"hits": objs(1, 100)})
        calls.add("GET", SESSIONS, query=q(100), json={"hits": objs(101, 7)})
        result = api.list(SESSIONS)
    assert len(result.items) == 107 and result.total == 107


def test_total_as_string_is_read(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json={"hits": objs(1, 2), "total": "2"})
        assert api.list(SESSIONS).total == 2


def test_iterate_is_lazy(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json=page(objs(1, 100), 101))
        walk = api.iterate(SESSIONS)
        assert calls.requests == []
        assert next(walk)["id"] == 1
        assert len(calls.requests) == 1
        calls.add("GET", SESSIONS, query=q(100), json=page(objs(101, 1), 101, 100))
        assert [o["id"] for o in walk][-1] == 101


def test_list_params_become_k2_query_values(api):
    params = {"local_volume_group": {"ref": "/volume_groups/5"}, "id__in": [1, 2, 3], "__fields": ("id", "name"),
              "__sort": "name", "__sort_order": "desc", "replication_peer_k2array.ref": "/replication/peer_k2arrays/1"}
    expected = {"local_volume_group.ref": "/volume_groups/5", "id__in": "1,2,3", "__fields": "id,name",
                "__sort": "name", "__sort_order": "desc",
                "replication_peer_k2array.ref": "/replication/peer_k2arrays/1"}
    assert query(params) == expected
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0, **expected), json=page([], 0))
        assert api.list(SESSIONS, params=params) == ListResult([], 0, False)


@pytest.mark.parametrize("kwargs", [dict(params={"__limit": 5}), dict(params={"__offset": 5}), dict(limit=0),
                                    dict(limit=True), dict(limit="3")])
def test_pager_arguments_are_checked_before_any_request(api, kwargs):
    with ExpectedCalls():
        with pytest.raises(ValueError):
            api.iterate(SESSIONS, **kwargs)


def test_list_answer_without_hits_is_a_protocol_error(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(0), json={"id": 1})
        with pytest.raises(K2ProtocolError, match="GET /replication/sessions: .*without a 'hits' list"):
            api.list(SESSIONS)


# --- objects ----------------------------------------------------------------------------------------------

def test_object_calls(api):
    body = {"name": "s1", "rpo": 300}
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS + "/7", json={"id": 7})
        calls.add("POST", SESSIONS, body=body, status=201, json=dict(body, id=8))
        calls.add("PATCH", SESSIONS + "/8", body={"state": "in_sync"}, json=dict(body, id=8, state="idle"))
        calls.add("DELETE", SESSIONS + "/8", status=204)
        calls.add("GET", SESSIONS + "/8", status=404, json={"error_msg": "no such object"})
        assert api.get(SESSIONS, 7) == {"id": 7}
        assert api.create("replication/sessions", body)["id"] == 8
        assert api.update(SESSIONS, 8, {"state": "in_sync"})["state"] == "idle"
        assert api.delete(SESSIONS, "8") is None
        with pytest.raises(K2NotFound):
            api.get(SESSIONS, 8)


def test_find_by_name(api):
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"name": "vg1"}, json=page([{"id": 5, "name": "vg1"}], 1))
        calls.add("GET", VGS, query={"name": "vg"}, json=page([{"id": 6, "name": "vg10"}], 1))
        calls.add("GET", VGS, query={"name": "none"}, json=page([], 0))
        assert api.find_by_name(VGS, "vg1") == {"id": 5, "name": "vg1"}
        assert api.find_by_name(VGS, "vg") is None  # only an exact name counts
        assert api.find_by_name(VGS, "none") is None


# --- references -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [5, "5", " 5 ", "/volume_groups/5", "/api/v2/volume_groups/5",
                                   {"ref": "/volume_groups/5"}])
def test_ref_from_id_or_ref_needs_no_request(api, value):
    with ExpectedCalls():  # no call expected: any request fails the test
        assert api.ref(VGS, value, "local_volume_group") == {"ref": "/volume_groups/5"}
        assert api.ref("volume_groups/", value, "local_volume_group") == {"ref": "/volume_groups/5"}


def test_ref_from_name_is_one_get(api):
    with ExpectedCalls() as calls:
        calls.add("GET", "/replication/peer_k2arrays", query={"name": "dr-array"},
                  json=page([{"id": 2, "name": "dr-array"}], 1))
        ref = api.ref("/replication/peer_k2arrays", "dr-array", "replication_peer_k2array")
    assert ref == {"ref": "/replication/peer_k2arrays/2"}


def test_ref_to_an_unknown_name_names_the_option(api):
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"name": "vg-missing"}, json=page([], 0))
        with pytest.raises(K2ReferenceError) as info:
            api.ref(VGS, "vg-missing", "local_volume_group")
    assert str(info.value) == "local_volume_group: no volume_groups object is named 'vg-missing'"
    assert (info.value.option, info.value.value) == ("local_volume_group", "vg-missing")
    assert info.value.details() == {"option": "local_volume_group"}


@pytest.mark.parametrize("value, message", [
    ("/volumes/5", "local_volume_group: '/volumes/5' is not a reference to /volume_groups (expected /volume_groups/<id>)"),
    ("/volume_groups/x", "local_volume_group: '/volume_groups/x' is not a reference to /volume_groups "
                         "(expected /volume_groups/<id>)"),
    ({"ref": "/volume_groups/5/x"}, "local_volume_group: '/volume_groups/5/x' is not a reference to "
                                    "/volume_groups (expected /volume_groups/<id>)"),
    (0, "local_volume_group: an id must be a positive integer, got 0"),
    (-3, "local_volume_group: an id must be a positive integer, got -3"),
    (True, "local_volume_group: expected a name, an id or a ref, got True"),
    (None, "local_volume_group: expected a name, an id or a ref, got None"),
    (1.5, "local_volume_group: expected a name, an id or a ref, got 1.5"),
    ("  ", "local_volume_group: expected a name, an id or a ref, got '  '"),
])
def test_unusable_references(api, value, message):
    with ExpectedCalls():
        with pytest.raises(K2ReferenceError) as info:
            api.ref(VGS, value, "local_volume_group")
    assert str(info.value) == message


def test_object_calls_accept_a_ref(api):
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS + "/7", json={"id": 7})
        calls.add("PATCH", SESSIONS + "/7", body={"rpo": 600}, json={"id": 7})
        calls.add("DELETE", SESSIONS + "/7", status=204)
        api.get(SESSIONS, "/replication/sessions/7")
        api.update(SESSIONS, {"ref": "/replication/sessions/7"}, {"rpo": 600})
        api.delete(SESSIONS, "7")


@pytest.mark.parametrize("obj_id, message", [
    ("s7", "id: expected an id or a ref to /replication/sessions, got the name 's7'"),
    ("/volume_groups/7", "id: '/volume_groups/7' is not a reference to /replication/sessions "
                         "(expected /replication/sessions/<id>)"),
    (None, "id: expected a name, an id or a ref, got None"),
])
def test_object_calls_reject_names_and_other_refs(api, obj_id, message):
    with ExpectedCalls():
        with pytest.raises(K2ReferenceError) as info:
            api.get(SESSIONS, obj_id)
    assert str(info.value) == message
