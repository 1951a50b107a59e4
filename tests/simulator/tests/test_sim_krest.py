"""Fidelity: the vendor's own client (krest 1.3.8, unchanged) and the vendor page's examples."""

import json
import os
import re

import krest
import pytest
import requests

from k2sim_testlib import SESSIONS, wait_for

VENDOR_PAGE = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "shared", "k2-api", "replication-sessions.md"
)
SESSION_FIELDS = [
    "common_snapshots_count",
    "current_role",
    "current_snapshot",
    "current_snapshot_progress",
    "estimated_remaining_time",
    "external_retention_policy",
    "id",
    "latest_replicated_snapshot",
    "local_volume_group",
    "name",
    "next_snapshot",
    "primary",
    "remote_replication_session_id",
    "remote_replication_session_name",
    "replication_peer_k2array",
    "replication_peer_volume_group",
    "replication_rpo_history",
    "restored_snapshot",
    "retention_policy",
    "rpo",
    "state",
    "stopped",
    "suspend_reason",
    "suspend_reason_code",
    "target_exposure",
]
# The page's POST example, verbatim (the string "1200" included).
POST_EXAMPLE = """{
    "replication_peer_k2array": {
        "ref": "/replication/peer_k2arrays/1"
    },
    "local_volume_group": {
        "ref": "/volume_groups/5101"
    },
    "rpo": "1200",
    "name": "test_src",
    "retention_policy": {
        "ref": "/retention_policies/5"
    },
    "external_retention_policy": {
        "ref": "/retention_policies/6"
    }
}"""
PATCH_EXAMPLE = {"name": "test_src", "state": "in_sync"}


def endpoint(sim, array="k2-a", user="admin", password=None):
    class Fast(krest.EndPoint):
        class RetryCfg(krest.EndPoint.RetryCfg):  # never sit in krest's 20 s retry pauses
            not_reachable_timeout = 1
            not_reachable_pause = 0.1

    return Fast(sim.arrays[array]["host"], user, password or sim.users[user]["password"], ssl_validate=sim.ca_path)


def wait_krest_state(obj, state):
    def landed():
        obj.refresh()
        return obj.state == state

    wait_for(landed, what="%s -> %s" % (obj.name, state))


def test_krest_discovers_searches_creates_transitions_and_deletes(sim):
    ep = endpoint(sim)
    assert ep.resources["replication/sessions"] == "/replication/sessions"
    peer = ep.search("replication/peer_k2arrays", name="k2-b").hits[0]
    vg = ep.search("volume_groups", name="vg_sql_prod").hits[0]
    session = ep.new(
        "replication/sessions", name="kr", replication_peer_k2array=peer, local_volume_group=vg, rpo=300
    ).save()
    found = ep.search("replication/sessions", name="kr")
    assert len(found) == 1 and found.hits[0].id == session.id
    assert found.hits[0].local_volume_group.name == "vg_sql_prod"  # lazy-loaded reference
    assert found.hits[0].replication_peer_k2array.system_id == "d502"
    remote = endpoint(sim, "k2-b").search("replication/sessions", name="remote_kr").hits[0]
    assert (remote.current_role, remote.remote_replication_session_id) == ("target", session.id)
    for state in ("in_sync", "suspended", "idle"):
        session.state = state
        session.save()
        wait_krest_state(session, state)
        wait_krest_state(remote, state)
    session.delete()
    assert len(ep.search("replication/sessions", name="kr")) == 0


def test_krest_queries_by_object_by_lists_and_fields(sim):
    ep = endpoint(sim)
    vg1, vg2 = ep.get("volume_groups", 5102), ep.get("volume_groups", 5103)
    assert sorted(v.name for v in ep.search("volumes", volume_group=vg1).hits) == ["sql_data_01", "sql_log_01"]
    assert len(ep.search("volumes", volume_group=[vg1, vg2]).hits) == 3  # volume_group.ref__m_eq
    assert len(ep.search("volume_groups", name=["vg_sql_prod", "vg_web_prod"]).hits) == 2  # name__m_eq
    assert len(ep.search("volumes", id__gt=1).hits) == 5
    projected = ep.get("volume_groups", 5101, __fields="id,name")
    assert projected._current == {"id": 5101, "name": "vg_oracle_prod"}
    state = ep.get("system/state", 1)
    assert (state.rest_api_version, state.current_user_role) == ("2.2.0", "admin")


def test_krest_follows_pages(sim):
    ep = endpoint(sim, "k2-b")
    vg = ep.search("volume_groups", name="vg_test_dr").hits[0]
    for i in range(130):
        ep.new("snapshots", source=vg, short_name="p%03d" % i).save()
    result = ep.search("snapshots", __limit=100)
    result.autofetch = True
    assert len(result) == 130 and len({s.id for s in result}) == 130


def test_krest_sees_errors_and_their_messages(sim):
    ep = endpoint(sim)
    peer = ep.search("replication/peer_k2arrays", name="k2-b").hits[0]
    vg = ep.get("volume_groups", 5101)
    with pytest.raises(requests.HTTPError, match="rpo must be either 60"):
        ep.new("replication/sessions", name="bad", replication_peer_k2array=peer, local_volume_group=vg, rpo=120).save()
    with pytest.raises(requests.HTTPError, match="401"):
        endpoint(sim, password="wrong")
    with pytest.raises(requests.HTTPError, match="403"):
        endpoint(sim, user="monitor").new("volume_groups", name="x", quota=0).save()
    with pytest.raises(requests.HTTPError, match="404"):
        ep.get("volumes", 999)


def test_the_vendor_examples_hold(sim, a):
    created = a.ok("POST", SESSIONS, json.loads(POST_EXAMPLE))
    assert (created["rpo"], created["name"], created["state"]) == (1200, "test_src", "idle")
    assert a.ok("PATCH", "%s/%d" % (SESSIONS, created["id"]), PATCH_EXAMPLE)["name"] == "test_src"
    listing = a.ok("GET", SESSIONS)
    assert sorted(listing) == ["hits", "limit", "offset", "total"]
    assert (listing["limit"], listing["offset"], listing["total"]) == (100, 0, 1)
    assert sorted(listing["hits"][0]) == SESSION_FIELDS and len(SESSION_FIELDS) == 25
    target = sim.dump("k2-b")["objects"]["replication/sessions"][0]
    assert sorted(target) == SESSION_FIELDS


def test_the_embedded_examples_match_the_vendor_page():
    if not os.path.exists(VENDOR_PAGE):
        pytest.skip("the shared vendor page is not beside this checkout")
    with open(VENDOR_PAGE, encoding="utf-8") as handle:
        page = handle.read()
    types = page.split("### Property types:")[1].split("## GET")[0]
    assert sorted(re.findall(r'^"(\w+)"\s*:', types, re.M)) == SESSION_FIELDS
    post_block = page.split("## POST")[1].split("```json")[1].split("```")[0]
    assert json.loads(post_block) == json.loads(POST_EXAMPLE)
    patch_block = page.split("## PATCH")[1].split("```json")[1].split("```")[0]
    assert json.loads(patch_block) == PATCH_EXAMPLE
    get_block = page.split("## GET")[1].split("```json")[1].split("```")[0]
    assert sorted(json.loads(get_block)["hits"][0]) == SESSION_FIELDS
