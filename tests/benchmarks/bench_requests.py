# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (issue 10, item 4): requests per operation, counted from the simulator's journal.

    .venv/bin/python tests/benchmarks/bench_requests.py [--sessions 1000] [--rounds 3] [--json PATH]

One simulator seeded with N in_sync sessions on k2-a (peer k2-b) and free volume groups. Each round
runs, as real ansible-playbook runs of one k2_replication_session task (references as ids or refs,
so no name lookup, except where a case names them): create (by name: 2 lookups), no-op, rpo change,
suspend, absent from in_sync, create by refs, and a k2_replication_topology no-op over the N seeded
sessions. For each, the requests k2-a received (reads, writes, polls while a transition lands) are
set against the budget of the module issues. Polls depend on timing (the transition delay), so the
budget counts them apart: a transition costs its PATCH plus at least one poll. It prints a table
and writes JSON (default build/bench/requests.json); it never fails on a count, it reports it.
"""

import argparse
import json
import math
import os
import tempfile

from benchlib import BUILD_BENCH, PEER_REF, pin_cpus, seed_file, vg_id, write_json
from harness import run_playbook, start_simulator

WRITES = ("POST", "PATCH", "DELETE")
SESSIONS = "/api/v2/replication/sessions"
PAGE = 100

SINGLE = """---
- name: One k2_replication_session task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Session
      kaminario.k2.k2_replication_session: %s
"""
TOPOLOGY = """---
- name: One k2_replication_topology task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Topology
      kaminario.k2.k2_replication_topology:
        defaults: {replication_peer_k2array: "%s", replication_state: in_sync}
        sessions: "{{ bench_sessions }}"
"""


def classify(entries):
    """(reads, writes, polls): a GET by id after a transition PATCH is a poll."""
    reads = writes = polls = 0
    transition = False
    for entry in entries:
        if entry["method"] in WRITES:
            writes += 1
            transition = transition or "state" in (entry["body"] or {})
        elif transition and entry["path"].startswith(SESSIONS + "/"):
            polls += 1
        else:
            reads += 1
    return reads, writes, polls


# case, what it costs by the module issues: (reads, writes, polls at least), how the budget reads.
BUDGETS = {
    "no-op (refs)": ((1, 0, 0), "1"),
    "create (names: peer, volume group)": ((3, 1, 0), "2 + lookups (1 read, 2 lookups, 1 POST)"),
    "create (refs)": ((1, 1, 0), "2 (1 read, 1 POST)"),
    "rpo change": ((1, 1, 0), "1 + 1 (1 read, 1 PATCH)"),
    "suspend": ((1, 1, 1), "1 + 1 + polls (1 read, 1 PATCH, >= 1 poll)"),
    "absent from in_sync": ((1, 3, 2), "1 + 3 + polls (read; suspend, stop, DELETE; >= 1 poll per hop)"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=os.path.join(BUILD_BENCH, "requests.json"))
    args = parser.parse_args()
    sim_cpu = pin_cpus()
    count = args.sessions
    free = args.rounds * 2  # two creates per round
    rows = {}
    with tempfile.TemporaryDirectory(prefix="k2-bench-requests-") as folder:
        seed = seed_file(count + free, folder, states=("in_sync",))
        # The last `free` groups lose their seeded session: they are the ones the creates use.
        with open(seed, encoding="utf-8") as handle:
            data = json.load(handle)
        data["k2-a"]["replication/sessions"] = data["k2-a"]["replication/sessions"][:count]
        with open(seed, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        sim = start_simulator(seed=seed, startup_timeout=600, cpu=sim_cpu, transition_delay=0.2)
        runs = [0]

        def measure(case, playbook, extra_vars=None):
            sim.clear_journal()
            runs[0] += 1
            result = run_playbook(sim, playbook, workdir=os.path.join(folder, "run%d" % runs[0]),
                                  extra_vars=extra_vars, env={"K2_HARNESS_RESULTS": ""}, timeout=1200)
            if result.rc != 0:
                raise SystemExit("%s: ansible-playbook failed:\n%s" % (case, result))
            rows.setdefault(case, []).append(classify(sim.journal("k2-a")))

        try:
            for rnd in range(args.rounds):
                by_name, by_ref = "new-%d-a" % rnd, "new-%d-b" % rnd
                vg_a, vg_b = count + 1 + 2 * rnd, count + 2 + 2 * rnd
                measure("create (names: peer, volume group)", SINGLE % json.dumps(
                    {"name": by_name, "replication_peer_k2array": "k2-b", "local_volume_group": "vg-%05d" % vg_a,
                     "rpo": 300}))
                measure("create (refs)", SINGLE % json.dumps(
                    {"name": by_ref, "replication_peer_k2array": PEER_REF, "local_volume_group": str(vg_id(vg_b)),
                     "rpo": 300}))
                measure("no-op (refs)", SINGLE % json.dumps(
                    {"name": by_ref, "replication_peer_k2array": PEER_REF, "local_volume_group": str(vg_id(vg_b)),
                     "rpo": 300}))
                measure("rpo change", SINGLE % json.dumps({"name": by_ref, "rpo": 600 + 300 * rnd}))
                # s1 of the seed is in_sync: start the new one, then suspend it, then remove it from in_sync.
                run_playbook(sim, SINGLE % json.dumps({"name": by_name, "replication_state": "in_sync"}),
                             workdir=os.path.join(folder, "start%d" % rnd))
                measure("suspend", SINGLE % json.dumps({"name": by_name, "replication_state": "suspended"}))
                run_playbook(sim, SINGLE % json.dumps({"name": by_ref, "replication_state": "in_sync"}),
                             workdir=os.path.join(folder, "start-b%d" % rnd))
                measure("absent from in_sync", SINGLE % json.dumps({"name": by_ref, "state": "absent"}))
                items = [{"name": "sess-%05d" % i, "local_volume_group": str(vg_id(i)), "rpo": s}
                         for i, s in ((i, (60, 300, 600)[i % 3]) for i in range(1, count + 1))]
                measure("%d-session no-op (topology)" % count, TOPOLOGY % PEER_REF, {"bench_sessions": items})
        finally:
            sim.stop()
    BUDGETS["%d-session no-op (topology)" % count] = (
        (math.ceil(count / PAGE), 0, 0), "ceil(N/100) = %d" % math.ceil(count / PAGE))
    table = []
    print("\nRequests per operation (k2-a's journal; %d rounds; reads/writes/polls per round):" % args.rounds)
    print("  %-40s %-22s %-8s %-60s %s" % ("operation", "reads/writes/polls", "total", "budget", "within"))
    for case, seen in rows.items():
        (reads, writes, polls), text = BUDGETS[case]
        within = all(r <= reads and w == writes and p >= polls for r, w, p in seen)
        totals = sorted(set(sum(s) for s in seen))
        rounds = " ".join("%d/%d/%d" % s for s in seen)
        verdict = "yes" if within else "NO"
        print("  %-40s %-22s %-8s %-60s %s" % (case, rounds, "/".join(map(str, totals)), text, verdict))
        table.append(dict(operation=case, rounds=[dict(reads=r, writes=w, polls=p) for r, w, p in seen],
                          budget=dict(reads=reads, writes=writes, min_polls=polls, text=text), within=within))
    write_json(args.json, dict(benchmark="requests", sessions=count, rounds=args.rounds, operations=table))


if __name__ == "__main__":
    main()
