"""Writes on the plain resources: mandatory/optional fields, coercion, unknown and read-only fields,
duplicates, references, DELETE 204, 404 and 405, and discovery."""

import pytest
from k2sim_testlib import session_body

GIB = 1024 * 1024


def test_discovery_lists_every_resource(a):
    resources = a.ok("GET", "")["resources"]
    assert resources["replication/sessions"] == {"url": "/replication/sessions"}
    assert set(resources) == {
        "system/state",
        "volume_groups",
        "volumes",
        "retention_policies",
        "snapshots",
        "replication/peer_k2arrays",
        "replication/peer_volume_groups",
        "replication/peer_volumes",
        "replication/sessions",
        "replication/rpo_history",
    }
    assert a.ok("GET", "/")["resources"] == resources


def test_volume_group_and_volume_lifecycle(a):
    vg = a.ok(
        "POST", "/volume_groups", {"name": "vg_new", "quota": "1048576", "is_dedup": "False", "description": "new"}
    )
    assert (vg["quota"], vg["is_dedup"], vg["volumes_count"], vg["replication_session"]) == (1048576, False, 0, None)
    vol = a.ok(
        "POST",
        "/volumes",
        {"name": "new_01", "size": 10 * GIB, "volume_group": {"ref": "/volume_groups/%d" % vg["id"]}},
    )
    assert (vol["read_only"], vol["is_dedup"], vol["volume_group"]) == (
        False,
        False,
        {"ref": "/volume_groups/%d" % vg["id"]},
    )
    assert a.ok("GET", "/volume_groups/%d" % vg["id"])["volumes_provisioned_capacity"] == 10 * GIB
    assert a.ok("PATCH", "/volumes/%d" % vol["id"], {"size": 20 * GIB, "read_only": "true"})["read_only"] is True
    response = a.patch("/volumes/%d" % vol["id"], {"size": GIB})
    assert response.status_code == 400 and "cannot shrink" in response.json()["error_msg"]
    response = a.delete("/volume_groups/%d" % vg["id"])
    assert response.status_code == 400 and "still holds 1 volume" in response.json()["error_msg"]
    response = a.delete("/volumes/%d" % vol["id"])
    assert (response.status_code, response.content) == (204, b"")
    a.ok("DELETE", "/volume_groups/%d" % vg["id"])
    assert a.get("/volume_groups/%d" % vg["id"]).status_code == 404


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/volume_groups", {"name": "x"}, "missing mandatory field(s) for volume_groups: quota"),
        (
            "/volume_groups",
            {"name": "x", "quota": 0, "id": 9},
            "unknown or non-writable field(s) for volume_groups: id",
        ),
        ("/volume_groups", {"name": "x", "quota": 0, "volumes_count": 3}, "volumes_count"),
        ("/volume_groups", {"name": "x", "quota": -1}, "quota must not be negative"),
        ("/volume_groups", {"name": "x", "quota": "lots"}, "quota must be an integer"),
        ("/volume_groups", {"name": "x", "quota": 0, "is_dedup": "yes"}, "is_dedup must be a boolean"),
        ("/volume_groups", {"name": 5, "quota": 0}, "name must be a string"),
        ("/volume_groups", {"name": "vg_sql_prod", "quota": 0}, "an object named 'vg_sql_prod' already exists"),
        ("/volume_groups", [{"name": "x"}], "must be a JSON object"),
        (
            "/volumes",
            {"name": "v", "size": 1, "volume_group": {"ref": "/volume_groups/1"}},
            "volume_group: no volume_groups object with id 1",
        ),
        (
            "/volumes",
            {"name": "v", "size": 1, "volume_group": {"ref": "/volumes/1"}},
            "volume_group must reference /volume_groups",
        ),
        ("/volumes", {"name": "v", "size": 1, "volume_group": 5101}, "volume_group must be a reference"),
        (
            "/volumes",
            {"name": "v", "size": 1, "volume_group": {"ref": "/volume_groups/x"}},
            "volume_group must be a reference",
        ),
        (
            "/volumes",
            {"name": "v", "size": 0, "volume_group": {"ref": "/volume_groups/5101"}},
            "size must be a positive",
        ),
        ("/retention_policies", {"name": "p", "num_snapshots": 1, "weeks": 0, "days": 0}, "hours"),
        ("/replication/peer_k2arrays", {"name": "p", "mgmt_host": "10.0.0.1"}, "missing mandatory"),
    ],
)
def test_post_rejects(a, path, body, message):
    response = a.post(path, body)
    assert response.status_code == 400
    assert message in response.json()["error_msg"], response.text


def test_patch_rejects_unknown_and_read_only_fields_and_duplicates(a):
    for body, message in (
        ({"is_dedup": True}, "is_dedup"),
        ({"id": 3}, "id"),
        ({"name": "vg_web_prod"}, "already exists"),
        ({"quota": None}, "must not be null"),
    ):
        response = a.patch("/volume_groups/5101", body)
        assert response.status_code == 400 and message in response.json()["error_msg"]
    assert a.ok("PATCH", "/volume_groups/5101", {"name": "vg_oracle_prod"})["name"] == "vg_oracle_prod"


def test_names_are_taken_and_freed_by_renames_and_deletes(a):
    first = a.ok("POST", "/volume_groups", {"name": "vg_first", "quota": 0})
    a.ok("PATCH", "/volume_groups/%d" % first["id"], {"name": "vg_second"})
    assert a.one("/volume_groups", name="vg_second")["id"] == first["id"]
    again = a.ok("POST", "/volume_groups", {"name": "vg_first", "quota": 0})  # the old name is free again
    for response in (
        a.post("/volume_groups", {"name": "vg_second", "quota": 0}),
        a.patch("/volume_groups/%d" % again["id"], {"name": "vg_second"}),
    ):
        assert response.status_code == 400 and "'vg_second' already exists" in response.json()["error_msg"]
    a.ok("DELETE", "/volume_groups/%d" % first["id"])
    second = a.ok("POST", "/volume_groups", {"name": "vg_second", "quota": 0})  # free after the delete
    assert a.one("/volume_groups", name="vg_second")["id"] == second["id"]


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("POST", "/system/state", 405),
        ("PATCH", "/system/state/1", 405),
        ("DELETE", "/system/state/1", 405),
        ("POST", "/volume_groups/5101", 405),
        ("DELETE", "/volume_groups", 405),
        ("PATCH", "/volumes", 405),
        ("PUT", "/volumes/1", 405),
        ("POST", "/replication/peer_volume_groups", 405),
        ("POST", "/replication/rpo_history", 405),
        ("POST", "", 405),
        ("GET", "/volume_groups/999", 404),
        ("GET", "/volume_groups/abc", 404),
        ("GET", "/no_such_thing", 404),
        ("PATCH", "/volume_groups/999", 404),
        ("DELETE", "/volumes/999", 404),
        ("GET", "/volumes/1/extra", 404),
    ],
)
def test_not_found_and_method_not_allowed(a, method, path, status):
    response = a.request(method, path, json={} if method in ("POST", "PATCH", "PUT") else None)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json" and response.json()["error_msg"]
    if status == 405:
        assert "Allow" in response.headers


def test_retention_policies(a):
    policies = {p["name"]: p["id"] for p in a.ok("GET", "/retention_policies")["hits"]}
    assert policies == {"Best_Effort_Retention": 5, "Replication_Retention": 6}
    cdp = a.ok(
        "POST", "/retention_policies", {"name": "CDP", "num_snapshots": "5", "weeks": "0", "days": "1", "hours": "2"}
    )
    assert (cdp["num_snapshots"], cdp["hours"], cdp["snapshots_usage_count"]) == (5, 2, 0)
    assert a.ok("PATCH", "/retention_policies/%d" % cdp["id"], {"days": 3})["days"] == 3
    a.ok("DELETE", "/retention_policies/%d" % cdp["id"])


def test_peer_arrays_point_at_each_other(a, b, sim):
    peer_of_a, peer_of_b = a.one("/replication/peer_k2arrays"), b.one("/replication/peer_k2arrays")
    assert (peer_of_a["name"], peer_of_a["system_id"], peer_of_a["mgmt_host"]) == (
        "k2-b",
        "d502",
        sim.arrays["k2-b"]["host"],
    )
    assert (peer_of_b["name"], peer_of_b["system_id"], peer_of_b["mgmt_host"]) == (
        "k2-a",
        "d501",
        sim.arrays["k2-a"]["host"],
    )
    assert "password" not in peer_of_a and peer_of_a["mgmt_connectivity_state"] == "ok"
    other = a.ok(
        "POST",
        "/replication/peer_k2arrays",
        {
            "name": "k2-far",
            "mgmt_host": "192.0.2.10",
            "username": "admin",
            "password": "p",
            "local_username": "admin",
            "local_password": "p",
            "bandwidth_limit": "40000",
        },
    )
    assert (other["mgmt_connectivity_state"], other["system_id"], other["bandwidth_limit"]) == (
        "disconnected",
        "",
        40000,
    )
    response = a.post("/replication/sessions", session_body("far", peer_id=other["id"]))
    assert response.status_code == 400 and "not connected" in response.json()["error_msg"]
    a.ok("DELETE", "/replication/peer_k2arrays/%d" % other["id"])


def test_objects_in_use_cannot_be_deleted(a, b):
    a.ok("POST", "/replication/sessions", session_body("s", vg_id=5103, rpo=60))
    for path, message in (
        ("/volume_groups/5103", "replicated by session"),
        ("/retention_policies/6", "used by session"),
        ("/replication/peer_k2arrays/1", "used by session"),
        ("/replication/peer_volume_groups/1", "belongs to session"),
    ):
        response = a.delete(path)
        assert response.status_code == 400 and message in response.json()["error_msg"], path
