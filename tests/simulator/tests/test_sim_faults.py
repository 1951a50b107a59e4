"""Fault injection: each kind, counts, method and path matching, and what was (not) applied."""

import pytest
import requests

from k2sim.control_client import ControlError
from k2sim_testlib import wait_for

VG = {"name": "vg_fault", "quota": 0}


def vg_exists(client):
    return client.ok("GET", "/volume_groups", params={"name": "vg_fault"})["total"] == 1


@pytest.mark.parametrize("kind, status", [("503", 503), ("500", 500), ("502_before", 502)])
def test_error_answers_apply_nothing(sim, a, kind, status):
    fault = sim.fault("k2-a", kind, "POST", "/volume_groups")
    assert (fault["kind"], fault["remaining"]) == (kind, 1)
    response = a.post("/volume_groups", VG)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json" and response.json()["error_msg"]
    assert not vg_exists(a)
    a.ok("POST", "/volume_groups", VG)  # count spent: the next one goes through
    assert sim.faults("k2-a") == []


def test_502_after_the_change_is_applied(sim, a):
    sim.fault("k2-a", "502_after", "POST", "/volume_groups")
    assert a.post("/volume_groups", VG).status_code == 502
    assert vg_exists(a)


@pytest.mark.parametrize("code", ["MC_ERR_BUSY", "MC_ERR_BUSY_SPECIFIC", "MC_ERR_INPROGRESS", "MC_ERR_START_TIMEOUT"])
def test_busy_codes(sim, a, code):
    sim.fault("k2-a", "busy", "PATCH", "/volume_groups/*", code=code)
    response = a.patch("/volume_groups/5101", {"description": "changed"})
    assert (response.status_code, response.json()) == (400, {"error_msg": code})
    assert a.ok("GET", "/volume_groups/5101")["description"] == "Oracle production"


def test_429_with_retry_after(sim, a):
    sim.fault("k2-a", "429", "GET", "*", retry_after=3)
    response = a.get("/volumes")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_reset_before_and_after(sim, a):
    sim.fault("k2-a", "reset", "POST", "/volume_groups")
    with pytest.raises(requests.ConnectionError):
        a.post("/volume_groups", VG)
    assert not vg_exists(a)
    sim.fault("k2-a", "reset_after", "POST", "/volume_groups")
    with pytest.raises(requests.ConnectionError):
        a.post("/volume_groups", VG)
    assert vg_exists(a)
    assert [e["fault"] for e in sim.journal("k2-a") if e["method"] == "POST"] == ["reset", "reset_after"]
    assert [e["status"] for e in sim.journal("k2-a") if e["method"] == "POST"] == [None, None]


def test_delay_longer_than_the_client_timeout(sim, a):
    sim.fault("k2-a", "delay", "POST", "/volume_groups", seconds=1.0)
    with pytest.raises(requests.Timeout):
        a.post("/volume_groups", VG, timeout=0.2)
    wait_for(lambda: vg_exists(a), what="the delayed POST to be carried out")


def test_count_method_and_pattern(sim, a, b):
    sim.fault("k2-a", "503", "GET", "/replication/*", count=3)
    assert a.get("/volumes").status_code == 200  # path does not match
    assert a.get("").status_code == 200  # discovery does not match either
    assert b.get("/replication/sessions").status_code == 200  # another array
    assert a.post("/volume_groups", VG).status_code == 201  # method does not match
    assert [a.get("/replication/sessions").status_code for attempt in range(4)] == [503, 503, 503, 200]
    sim.fault("k2-a", "500", path_pattern="/api/v2/system/state")  # full path, any method
    assert a.get("/system/state").status_code == 500


def test_faults_are_listed_and_cleared(sim, a):
    sim.fault("k2-a", "503", "GET", "/volumes", count=2)
    sim.fault("k2-a", "busy", "PATCH", "*", code="MC_ERR_INPROGRESS")
    listed = sim.faults("k2-a")
    assert [(f["kind"], f["remaining"]) for f in listed] == [("503", 2), ("busy", 1)]
    assert listed[1]["code"] == "MC_ERR_INPROGRESS"
    sim.clear_faults("k2-a")
    assert sim.faults("k2-a") == [] and a.get("/volumes").status_code == 200


@pytest.mark.parametrize(
    "kind, opts",
    [
        ("explode", {}),
        ("busy", {"code": "MC_ERR_OTHER"}),
        ("429", {"retry_after": -1}),
        ("delay", {"seconds": 0}),
        ("503", {"count": 0}),
        ("503", {"color": "red"}),
    ],
)
def test_bad_fault_specs_are_refused(sim, kind, opts):
    with pytest.raises(ControlError, match="400"):
        sim.fault("k2-a", kind, "GET", "*", **opts)
    assert sim.faults("k2-a") == []
