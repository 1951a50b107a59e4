# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_peer_array_info run as the real module; every HTTP request asserted, in order."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.modules import k2_peer_array_info as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, connection_args, run_module

PEERS = "/replication/peer_k2arrays"
# The vendor's field list for replication/peer_k2arrays, and the two more the vendor's PowerShell SDK
# filters on (capacity_state, logical_bandwidth_limit).
FIELDS = ("bandwidth_limit", "capacity_allocated", "capacity_allocated_snapshots_and_views", "capacity_allocated_volumes",
          "capacity_free", "capacity_physical", "capacity_provisioned", "capacity_provisioned_snapshots",
          "capacity_provisioned_views", "capacity_provisioned_volumes", "capacity_reserved", "capacity_state",
          "capacity_total", "id", "logical_bandwidth_limit", "mgmt_connectivity_state", "mgmt_host", "name", "system_id",
          "username")
TEXT_FIELDS = ("capacity_state", "mgmt_connectivity_state", "mgmt_host", "name", "system_id", "username")


def peer(pid, state="ok", **over):
    data = {"id": pid, "name": "array-%d" % pid, "system_id": "d%03d" % pid, "mgmt_host": "192.0.2.%d" % pid,
            "mgmt_connectivity_state": state, "username": "admin", "bandwidth_limit": 0, "capacity_total": 1024}
    data.update(over)
    return data


def page(hits, total, offset=0):
    return {"hits": hits, "limit": 100, "offset": offset, "total": total}


def q(offset=0, **params):
    return dict(params, __limit=100, __offset=offset)


def run(check_mode=False, **module_args):
    return run_module(module, connection_args(**module_args), check_mode=check_mode)


@pytest.mark.parametrize("check_mode", [False, True])
def test_no_options_lists_every_peer_array_as_the_api_returns_it(check_mode):
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(), json=page([peer(1), peer(2, state="disconnected")], 2))
        result, failed = run(check_mode=check_mode)
    assert not failed, result
    assert result["changed"] is False
    assert result["peer_arrays"] == [peer(1), peer(2, state="disconnected")]
    assert result["total"] == 2


def test_every_page_is_read():
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(0), json=page([peer(i) for i in range(1, 101)], 150))
        calls.add("GET", PEERS, query=q(100), json=page([peer(i) for i in range(101, 151)], 150, 100))
        result, failed = run()
    assert not failed, result
    assert [p["id"] for p in result["peer_arrays"]] == list(range(1, 151))
    assert result["total"] == 150


def test_name_is_an_exact_filter_sent_to_the_array():
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(name="array-2"), json=page([peer(2)], 1))
        result, failed = run(name="array-2")
    assert not failed, result
    assert [p["name"] for p in result["peer_arrays"]] == ["array-2"]


def test_no_match_is_an_empty_list():
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(name="nope"), json=page([], 0))
        result, failed = run(name="nope")
    assert not failed and (result["peer_arrays"], result["total"]) == ([], 0)


@pytest.mark.parametrize("filters, query", [
    ({"mgmt_connectivity_state__neq": "ok"}, {"mgmt_connectivity_state__neq": "ok"}),
    ({"id__in": [1, "2"]}, {"id__in": "1,2"}),
    ({"system_id__in": "d001, d002"}, {"system_id__in": "d001,d002"}),
    ({"capacity_free__lt": "2048", "mgmt_host__prefix": "192.0.2."}, {"capacity_free__lt": "2048",
                                                                      "mgmt_host__prefix": "192.0.2."}),
])
def test_filters_are_validated_and_sent_as_the_api_spells_them(filters, query):
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(**query), json=page([peer(1)], 1))
        result, failed = run(filters=filters)
    assert not failed, result


@pytest.mark.parametrize("args, message", [
    (dict(filters={"colour": "red"}), "filters: unknown field 'colour' in 'colour'; valid fields: " + ", ".join(FIELDS)),
    (dict(filters={"state": "in_sync"}), "filters: unknown field 'state' in 'state'"),  # a session field
    (dict(filters={"name__gt": "a"}), "filters: the numeric modifier 'gt' does not apply to the string field 'name'"),
    (dict(filters={"id": "one"}), "filters.id: expected an integer, got 'one'"),
    (dict(filters={"name__above": "a"}), "filters: unknown modifier 'above' in 'name__above'"),
    (dict(name="a", filters={"name": "b"}), "name and filters.name both ask for an exact name; give only one"),
])
def test_invalid_options_fail_before_any_request(args, message):
    with ExpectedCalls() as calls:
        result, failed = run(**args)
    assert failed and result["msg"].startswith(message), result["msg"]
    assert calls.requests == []


def test_an_array_error_fails_with_its_message():
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(), status=401, json={"error_msg": "bad credentials"})
        result, failed = run()
    assert failed
    assert result["msg"] == "GET /replication/peer_k2arrays failed: HTTP 401 Unauthorized: bad credentials"
    assert (result["status"], result["path"]) == (401, PEERS)


@pytest.mark.parametrize("field", FIELDS)
def test_each_field_takes_the_modifiers_of_its_type(field):
    modifier, value = ("prefix", "a") if field in TEXT_FIELDS else ("gte", 7)
    with ExpectedCalls() as calls:
        calls.add("GET", PEERS, query=q(**{field + "__" + modifier: value}), json=page([], 0))
        result, failed = run(filters={field + "__" + modifier: value})
    assert not failed, result
    wrong = "gte" if field in TEXT_FIELDS else "prefix"
    with ExpectedCalls() as calls:
        result, failed = run(filters={field + "__" + wrong: 7})
    assert failed and "does not apply to the" in result["msg"]
