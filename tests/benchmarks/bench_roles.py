# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the role replication_topology (playbooks/topology.yml) scales linearly with the pairs.

    .venv/bin/python tests/benchmarks/bench_roles.py [--small 1000] [--large 3000] [--rounds 3] [--json PATH]

Two simulator processes, one seeded with SMALL pairs and one with LARGE (each pair: a volume group and
an in_sync session on k2-a, whose target half the simulator makes on k2-b). Every round runs a no-op
apply of each size (a real ansible-playbook run of playbooks/topology.yml with that many pairs
declared), in an order that rotates. Each run must end rc 0, change nothing and send no write (the
simulator's journal), so a broken run cannot pass as fast. Prints the medians and the ratio
large/small beside the goal of the pair-safety issue (3,000 pairs at most 3.3 times 1,000: linear
would be 3.0), and the request count of each size. Never asserts on a time.
"""

import argparse
import json
import os
import re
import tempfile

from benchlib import BUILD_BENCH, median, pin_cpus, run_rounds, write_json
from harness import REPO_ROOT, arrays_inventory, run_playbook, start_simulator

GOAL = 3.3
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
RECAP = re.compile(r"^(k2-[ab])\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def seed(count, folder):
    data = {"k2-a": {
        "volume_groups": [{"name": "vg-%05d" % i, "quota": 0} for i in range(count)],
        "replication/sessions": [{"name": "pair-%05d" % i, "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%05d" % i, "rpo": 300, "state": "in_sync"}
                                 for i in range(count)]}}
    path = os.path.join(folder, "seed-%d.json" % count)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return path


def declaration(count):
    return {"k2_topology": {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
        {"name": "pair-%05d" % i, "source": "k2-a", "target": "k2-b", "volume_group": "vg-%05d" % i}
        for i in range(count)]}}


def apply(sim, count, folder, requests):
    sim.clear_journal()
    result = run_playbook(sim, PLAYBOOK, inventory=arrays_inventory(sim), extra_vars=declaration(count),
                          workdir=os.path.join(folder, "run-%d" % count), timeout=3600)
    recap = dict((m.group(1), tuple(int(v) for v in m.groups()[1:])) for m in RECAP.finditer(result.stdout))
    if result.rc != 0 or any(r[1] or r[2] or r[3] for r in recap.values()):
        raise SystemExit("the no-op apply of %d pairs did not end clean:\n%s" % (count, result))
    journal = [e for array in ("k2-a", "k2-b") for e in sim.journal(array)]
    writes = [e for e in journal if e["method"] != "GET"]
    if writes:
        raise SystemExit("the no-op apply of %d pairs wrote: %s" % (count, writes[:3]))
    requests[count] = len(journal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=os.path.join(BUILD_BENCH, "roles.json"))
    args = parser.parse_args()
    sim_cpu = pin_cpus()
    folder = tempfile.mkdtemp(prefix="k2-bench-roles-")
    sizes = (args.small, args.large)
    sims, requests = {}, {}
    try:
        for count in sizes:
            sims[count] = start_simulator(transition_delay=0.05, seed=seed(count, folder), cpu=sim_cpu, startup_timeout=300.0)
        wall = run_rounds(sizes, args.rounds, lambda count: apply(sims[count], count, folder, requests))
    finally:
        for sim in sims.values():
            sim.stop()
    medians = dict((count, median(wall[count])) for count in sizes)
    ratio = medians[args.large] / medians[args.small]
    print("\nno-op apply of playbooks/topology.yml (medians of %d rounds)" % args.rounds)
    for count in sizes:
        print("  %5d pairs  %7.2f s  %5d requests  rounds: %s" % (
            count, medians[count], requests[count], ", ".join("%.1f" % w for w in wall[count])))
    print("  ratio %d/%d = %.2f (goal <= %.1f; linear is %.1f)  %s" % (
        args.large, args.small, ratio, GOAL, args.large / args.small, "met" if ratio <= GOAL else "MISSED"))
    write_json(args.json, {"rounds": args.rounds, "wall": dict((str(k), v) for k, v in wall.items()),
                           "medians": dict((str(k), v) for k, v in medians.items()),
                           "requests": dict((str(k), v) for k, v in requests.items()),
                           "ratio": ratio, "goal": GOAL})


if __name__ == "__main__":
    main()
