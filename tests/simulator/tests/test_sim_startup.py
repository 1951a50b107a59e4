"""Starting and stopping the simulator process: the JSON line, options, seed files, TLS, signals."""

import json
import os
import signal
import socket

import pytest
import requests
import yaml

from k2sim.process import StartError, start
from k2sim_testlib import Api, wait_state


def test_the_start_line(sim):
    assert list(sim.arrays) == ["k2-a", "k2-b"]
    for name, system_id in (("k2-a", "d501"), ("k2-b", "d502")):
        array = sim.arrays[name]
        assert array["system_id"] == system_id and array["host"] == "127.0.0.1:%d" % array["port"]
        assert array["url"] == "https://127.0.0.1:%d/api/v2" % array["port"]
    assert sim.arrays["k2-a"]["port"] != sim.arrays["k2-b"]["port"]
    assert os.path.isfile(sim.ca_path)
    assert {n: u["role"] for n, u in sim.users.items()} == {"admin": "admin", "monitor": "read_only"}


def test_tls_is_trusted_only_through_the_ca(sim):
    url = sim.arrays["k2-a"]["url"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, auth=("admin", sim.users["admin"]["password"]), timeout=10, verify=True)
    by_name = url.replace("127.0.0.1", "localhost")
    assert (
        requests.get(
            by_name, auth=("admin", sim.users["admin"]["password"]), timeout=10, verify=sim.ca_path
        ).status_code
        == 200
    )


def free_ports(count):
    sockets = [socket.socket() for index in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_options_and_a_seed_file(tmp_path, fmt):
    seed = {
        "east": {
            "volume_groups": [{"id": 40, "name": "vg_app", "quota": 0}],
            "volumes": [{"name": "app_01", "size": "1048576", "volume_group": "vg_app"}],
            "replication/sessions": [
                {
                    "name": "app",
                    "replication_peer_k2array": "west",
                    "local_volume_group": "vg_app",
                    "rpo": 60,
                    "state": "in_sync",
                    "auto_configure_peer_volumes": True,
                }
            ],
        },
        "north": {"retention_policies": [{"name": "Weekly", "num_snapshots": 4, "weeks": 4, "days": 0, "hours": 0}]},
    }
    seed_path = tmp_path / ("seed." + ("yml" if fmt == "yaml" else "json"))
    seed_path.write_text(yaml.safe_dump(seed) if fmt == "yaml" else json.dumps(seed))
    ports = free_ports(3)
    tls_dir = tmp_path / "tls"
    proc = start(
        arrays=["east", "west", "north"],
        ports=ports,
        seed=seed_path,
        tls_dir=tls_dir,
        users=["ops:pa:ss:admin", "viewer:v:read_only"],
        transition_delay=0,
        latency_ms=0,
    )
    try:
        assert [a["port"] for a in proc.arrays.values()] == ports
        assert [a["system_id"] for a in proc.arrays.values()] == ["d501", "d502", "d503"]
        assert proc.users == {
            "ops": {"password": "pa:ss", "role": "admin"},
            "viewer": {"password": "v", "role": "read_only"},
        }
        east, west, north = (Api(proc, name, "ops") for name in ("east", "west", "north"))
        assert [p["name"] for p in east.ok("GET", "/replication/peer_k2arrays")["hits"]] == ["west", "north"]
        assert east.ok("GET", "/volume_groups")["hits"][0]["id"] == 40  # the seed replaces the default content
        session = east.one("/replication/sessions", name="app")
        assert (session["state"], session["rpo"]) == ("in_sync", 60)
        remote = west.one("/replication/sessions", name="remote_app")
        assert (remote["state"], remote["current_role"]) == ("in_sync", "target")
        assert west.one("/volumes", name="app_01")["read_only"] is True
        assert north.one("/retention_policies", name="Weekly")["weeks"] == 4
        assert Api(proc, "north", "viewer").post("/volume_groups", {"name": "x", "quota": 0}).status_code == 403
        east.ok("PATCH", "/replication/sessions/%d" % session["id"], {"state": "suspended"})
        wait_state(west, remote["id"], "suspended")
        for client in (east, west, north):
            client.close()
    finally:
        assert proc.stop() == 0
    assert (tls_dir / "ca.pem").is_file()  # a given TLS folder is kept


@pytest.mark.parametrize(
    "seed, message",
    [
        ({"k2-z": {}}, "unknown array"),
        ({"k2-a": {"hosts": []}}, "unsupported resource"),
        ({"k2-a": {"volumes": [{"name": "v", "size": 1, "volume_group": "vg_missing"}]}}, "no volume_groups named"),
        ({"k2-a": {"volume_groups": [{"name": "v"}]}}, "missing mandatory"),
        (
            {
                "k2-a": {
                    "volume_groups": [{"name": "v", "quota": 0}],
                    "replication/sessions": [
                        {
                            "name": "s",
                            "replication_peer_k2array": "k2-b",
                            "local_volume_group": "v",
                            "rpo": 300,
                            "state": "failed_over",
                        }
                    ],
                }
            },
            "may start idle, in_sync or suspended",
        ),
    ],
)
def test_a_bad_seed_stops_the_start(tmp_path, seed, message):
    seed_path = tmp_path / "seed.json"
    seed_path.write_text(json.dumps(seed))
    with pytest.raises(StartError, match="exited with code 2") as info:
        start(seed=seed_path)
    assert message in str(info.value)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_cleanly(sig):
    proc = start()
    tls_dir = os.path.dirname(proc.ca_path)
    Api(proc, "k2-a").ok("GET", "/system/state")
    proc.proc.send_signal(sig)
    assert proc.proc.wait(10) == 0
    assert "stopping" in proc.log_tail()
    assert proc.stop() == 0
    assert not os.path.exists(tls_dir)  # the temporary TLS folder is removed
    assert not os.path.exists(proc.log_path)  # and so is the temporary log of a clean run
