"""The control API: info, settings, reset, dump, manual clock, and its errors."""

import errno
import socket

import pytest

from k2sim.control_client import ControlError
from k2sim_testlib import DELAY, SESSIONS, create_pair


def test_info_matches_the_start_line(sim):
    info = sim.info()
    assert info["arrays"] == sim.arrays and info["ca_path"] == sim.ca_path and info["users"] == sim.users
    assert info["pid"] == sim.pid


STARTED = {"transition_delay": DELAY, "latency_ms": 0.0, "manual_clock": False, "time_scale": 1.0,
           "round_bytes": 32 * 1024 * 1024, "link_speed": 1024.0 ** 3, "link_slowdown": 1.0}


def test_settings_change_at_run_time_and_reset_restores_them(sim):
    assert sim.config() == STARTED
    assert sim.set_delay(1.5)["transition_delay"] == 1.5
    assert sim.set_latency(5)["latency_ms"] == 5.0
    assert sim.manual_clock()["manual_clock"] is True
    assert sim.set_time_scale(60)["time_scale"] == 60.0
    assert sim.set_round_bytes(1000)["round_bytes"] == 1000
    assert sim.set_link_speed(10)["link_speed"] == 10.0
    assert sim.slow_link(4)["link_slowdown"] == 4.0
    sim.reset()
    assert sim.config() == STARTED


def test_latency_is_added_to_api_requests(sim, a):
    sim.set_latency(30)
    a.ok("GET", "/system/state")
    assert sim.journal("k2-a")[-1]["duration_ms"] >= 30


def test_reset_restores_the_seed(sim, a, b):
    create_pair(a, b)
    a.ok("DELETE", "/volumes/6")
    sim.fault("k2-a", "503")
    sim.reset()
    assert a.ok("GET", SESSIONS)["total"] == 0 and b.ok("GET", SESSIONS)["total"] == 0
    assert a.ok("GET", "/volumes/6")["name"] == "web_content_01"
    assert b.ok("GET", "/volume_groups", params={"name": "vg_oracle_prod"})["total"] == 0
    assert sim.faults("k2-a") == [] and len(sim.journal("k2-a")) == 2  # cleared by the reset


def test_dump_holds_every_object_and_the_bookkeeping(sim, a, b):
    src = create_pair(a, b)[0]
    sim.manual_clock(True)
    a.ok("PATCH", "%s/%d" % (SESSIONS, src["id"]), {"state": "in_sync"})
    dump = sim.dump("k2-a")
    assert (dump["name"], dump["system_id"], dump["down"], dump["url"]) == (
        "k2-a",
        "d501",
        None,
        sim.arrays["k2-a"]["url"],
    )
    assert [s["name"] for s in dump["objects"]["replication/sessions"]] == ["s1"]
    assert len(dump["objects"]["volumes"]) == 6 and len(dump["objects"]["retention_policies"]) == 2
    assert dump["sessions_internal"] == {str(src["id"]): {"pending_state": "in_sync", "link_missed": False}}
    assert dump["scheduled_events"] == 1
    assert set(sim.dump()) == {"k2-a", "k2-b"}
    sim.down("k2-b", "reset")
    assert sim.dump("k2-b")["down"] == "reset"
    assert sim.journal("k2-a")[-1]["method"] == "PATCH"  # dumping is not an API request


@pytest.mark.parametrize(
    "call, status",
    [
        (lambda s: s.call("GET", "/arrays/k2-z/journal"), "404"),
        (lambda s: s.call("GET", "/nowhere"), "404"),
        (lambda s: s.call("GET", "/arrays/k2-a/nothing"), "404"),
        (lambda s: s.call("DELETE", "/reset"), "405"),
        (lambda s: s.call("GET", "/arrays/k2-a/down"), "405"),
        (lambda s: s.down("k2-a", "explode"), "400"),
        (lambda s: s.configure(transition_delay=-1), "400"),
        (lambda s: s.configure(manual_clock="yes"), "400"),
        (lambda s: s.configure(colour="red"), "400"),
        (lambda s: s.advance(0), "400"),
        (lambda s: s.call("POST", "/arrays/k2-a/faults", ["not", "an", "object"]), "400"),
    ],
)
def test_control_errors(sim, call, status):
    with pytest.raises(ControlError, match=status):
        call(sim)


def test_an_array_taken_down_keeps_its_port_from_other_processes_and_comes_back_on_it(sim):
    # Refused as by a closed port, yet still bound: another run on this machine that asks for a free
    # port, or binds this one, cannot take it while the array is down (the reset that brings it back
    # failed with "Address already in use" when a benchmark beside the tests got it).
    host, port = sim.arrays["k2-a"]["host"].rsplit(":", 1)
    sim.down("k2-a")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=30).close()
    other = socket.socket()
    try:
        with pytest.raises(OSError) as raised:
            other.bind((host, int(port)))
        assert raised.value.errno == errno.EADDRINUSE
    finally:
        other.close()
    sim.up("k2-a")
    socket.create_connection((host, int(port)), timeout=30).close()
