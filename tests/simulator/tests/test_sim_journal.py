"""The request journal: what it records, per array, and clearing it."""

import requests


def test_it_records_each_request_with_its_outcome(sim, a):
    sim.clear_journal()
    a.ok("GET", "/replication/sessions", params={"name": "x", "__limit": "5"})
    a.ok("PATCH", "/volume_groups/5101", {"description": "new"})
    a.post("/volume_groups", {"name": "vg_x"})  # 400: quota missing
    entries = sim.journal("k2-a")
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/api/v2/replication/sessions", 200),
        ("PATCH", "/api/v2/volume_groups/5101", 200),
        ("POST", "/api/v2/volume_groups", 400),
    ]
    first, second, third = entries
    assert first["query"] == {"name": "x", "__limit": "5"} and first["body"] is None
    assert second["body"] == {"description": "new"} and third["body"] == {"name": "vg_x"}
    assert all(e["user"] == "admin" and e["fault"] is None and e["time"] > 0 for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_exactly_one_get(sim, a, b):
    a.get("/replication/sessions/1")
    gets = [e for e in sim.journal("k2-a") if e["method"] == "GET"]
    assert len(gets) == 1 and gets[0]["status"] == 404
    assert sim.journal("k2-b") == []  # per array
    assert not [e for e in sim.journal("k2-a") if e["method"] != "GET"]  # "no write" is checkable


def test_clear_per_array_and_all(sim, a, b):
    a.get("/volumes")
    b.get("/volumes")
    entries = sim.journal("k2-a", clear=True)
    assert len(entries) == 1 and sim.journal("k2-a") == [] and len(sim.journal("k2-b")) == 1
    a.get("/volumes")
    sim.clear_journal()
    assert sim.journal("k2-a") == [] and sim.journal("k2-b") == []


def test_auth_failures_faults_bad_json_and_unknown_paths_are_recorded(sim, api):
    a = api("k2-a", password="wrong")
    a.get("/volumes")
    good = api("k2-a")
    good.request("POST", "/volume_groups", data="{not json", headers={"content-type": "application/json"})
    good.session.get(sim.arrays["k2-a"]["url"].replace("/api/v2", "/other"), verify=sim.ca_path)
    sim.fault("k2-a", "503", "GET", "/volumes")
    good.get("/volumes")
    entries = sim.journal("k2-a")
    assert [(e["status"], e["fault"]) for e in entries] == [(401, None), (400, None), (404, None), (503, "503")]
    assert entries[1]["body"] == "{not json"
    assert entries[2]["path"] == "/other"


def test_control_requests_are_not_recorded(sim):
    sim.dump("k2-a")
    sim.faults("k2-a")
    assert sim.journal("k2-a") == []
    url = sim.arrays["k2-a"]["url"].replace("/api/v2", "/__sim/info")  # the control API on an array port
    assert requests.get(url, verify=sim.ca_path, timeout=10).json()["arrays"]["k2-a"]["system_id"] == "d501"
    assert sim.journal("k2-a") == []
