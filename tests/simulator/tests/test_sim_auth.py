"""Basic auth on every /api/v2 request, the read-only role, and the error body."""

import base64

import pytest
import requests


@pytest.mark.parametrize("path", ["", "/system/state", "/replication/sessions", "/nowhere"])
def test_missing_credentials_are_401(sim, path):
    response = requests.get(sim.arrays["k2-a"]["url"] + path, verify=sim.ca_path, timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "credentials" in response.json()["error_msg"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"admin:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:admin-k2sim").decode(),
        "Basic " + base64.b64encode(b"admin").decode(),
        "Basic not-base64!",
        "Bearer abc",
    ],
)
def test_bad_credentials_are_401(sim, header):
    response = requests.get(
        sim.arrays["k2-a"]["url"] + "/volumes", headers={"Authorization": header}, verify=sim.ca_path, timeout=10
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/volume_groups", {"name": "x", "quota": 0}),
        ("PATCH", "/volume_groups/5101", {"description": "x"}),
        ("DELETE", "/volumes/1", None),
        ("POST", "/replication/sessions", {"name": "s"}),
    ],
)
def test_the_read_only_user_cannot_write(sim, api, method, path, body):
    monitor = api("k2-a", "monitor")
    response = monitor.request(method, path, json=body)
    assert response.status_code == 403 and "read_only" in response.json()["error_msg"]
    assert monitor.ok("GET", "/volume_groups")["total"] == 3
    assert monitor.ok("GET", "/volume_groups/5101")["description"] == "Oracle production"
    assert api("k2-a").ok("GET", "/volumes/1")["name"] == "ora_data_01"


def test_credentials_work_on_both_arrays(api):
    for array in ("k2-a", "k2-b"):
        for user in ("admin", "monitor"):
            assert api(array, user).ok("GET", "")["resources"]
