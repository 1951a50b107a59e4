"""Benchmark: how many small GETs per second the K2 simulator serves on one core.

Not a test: it prints figures and never fails on them. The simulator is pinned to one CPU and the
clients to the others (when the machine has more than one), keep-alive HTTPS connections, a bounded
number of requests. Goal: at least 500 GET/s, so the simulator is never the bottleneck of the
collection's benchmarks.

    .venv/bin/python tests/benchmarks/bench_simulator.py [--requests 3000] [--clients 4] [--json PATH]
"""

import argparse
import base64
import http.client
import json
import os
import ssl
import sys
import threading
import time

from benchlib import BUILD_BENCH, write_json  # puts tests/integration (the harness) on sys.path
from harness import session_body, start_simulator

GOAL = 500.0
TIME_LIMIT = 120.0  # seconds; the loop stops by itself even on a very slow machine


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc (Linux)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, sim, array, user="admin"):
        host, port = sim.arrays[array]["host"].rsplit(":", 1)
        self.conn = http.client.HTTPSConnection(
            host, int(port), context=ssl.create_default_context(cafile=sim.ca_path), timeout=30
        )
        token = "%s:%s" % (user, sim.users[user]["password"])
        self.headers = {"Authorization": "Basic " + base64.b64encode(token.encode()).decode()}

    def request(self, method, path, body=None):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, "/api/v2" + path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 400:
            raise RuntimeError("%s %s -> %d %s" % (method, path, response.status, payload[:200]))
        return json.loads(payload) if payload else None

    def close(self):
        self.conn.close()


def run(sim, total, clients, paths):
    counts = [0] * clients
    errors = []
    deadline = time.monotonic() + TIME_LIMIT
    per_client = total // clients

    def work(index):
        client = Client(sim, "k2-a")
        try:
            for i in range(per_client):
                if time.monotonic() > deadline:
                    break
                client.request("GET", paths[i % len(paths)])
                counts[index] += 1
        except Exception as exc:  # reported below, not raised from a thread
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    cpu_before, started = cpu_seconds(sim.pid), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu_used = time.monotonic() - started, cpu_seconds(sim.pid) - cpu_before
    if errors:
        raise errors[0]
    return sum(counts), elapsed, cpu_used


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", default=os.path.join(BUILD_BENCH, "simulator.json"), help="where the figures go as JSON")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0]
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))
    sim = start_simulator(cpu=server_cpu)
    try:
        setup = Client(sim, "k2-a")
        session = setup.request("POST", "/replication/sessions", session_body("bench"))
        setup.close()
        paths = [
            "/replication/sessions/%d" % session["id"],
            "/volume_groups/5101",
            "/system/state/1",
            "/replication/sessions?name=bench",
        ]
        run(sim, 200, args.clients, paths)  # warm-up: connections, caches
        done, elapsed, cpu_used = run(sim, args.requests, args.clients, paths)
    finally:
        sim.stop()
    wall_rate = done / elapsed
    cpu_rate = done / cpu_used if cpu_used > 0 else float("inf")
    print("k2sim: %d small GETs over %d keep-alive HTTPS connections in %.2f s" % (done, args.clients, elapsed))
    print(
        "k2sim: %.0f GET/s wall clock (server pinned to CPU %d, clients on %s)"
        % (wall_rate, server_cpu, ",".join(map(str, cpus[1:])) or "the same CPU")
    )
    print("k2sim: %.0f GET per server CPU-second (%.2f s of server CPU)" % (cpu_rate, cpu_used))
    print(
        "k2sim: goal %.0f GET/s on one core: %s (ratio %.2f)"
        % (GOAL, "met" if wall_rate >= GOAL else "NOT met", wall_rate / GOAL)
    )
    write_json(args.json, dict(benchmark="simulator", requests=done, clients=args.clients, seconds=elapsed,
                               server_cpu_s=cpu_used, get_per_s=wall_rate, get_per_cpu_s=cpu_rate, goal_get_per_s=GOAL,
                               met=wall_rate >= GOAL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
