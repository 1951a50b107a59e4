# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: the harness on sys.path, CPU pinning, a seed of N sessions, rounds in
rotating order, medians and the JSON report. Benchmarks print figures; they never assert a time."""

import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_BENCH = os.path.join(REPO, "build", "bench")
if os.path.join(REPO, "tests", "integration") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

# Seeded volume groups get ids from here on (a seed may give ids), so a benchmark can name them by id.
VG_ID_BASE = 10000
PEER_REF = "/replication/peer_k2arrays/1"  # k2-a's peer-array object for k2-b (the simulator's first)
RPOS = (60, 300, 600)


def vg_id(index):
    return VG_ID_BASE + index


def session_name(index):
    return "sess-%05d" % index


def session_rpo(index):
    return RPOS[index % len(RPOS)]


def seed_file(count, folder, states=("in_sync", "suspended", "idle")):
    """A seed with `count` volume groups (ids VG_ID_BASE + i) and one session each on k2-a,
    replicating to k2-b; session i has rpo RPOS[i % 3] and state states[i % len(states)]."""
    data = {"k2-a": {
        "volume_groups": [{"id": vg_id(i), "name": "vg-%05d" % i, "quota": 0} for i in range(1, count + 1)],
        "replication/sessions": [{"name": session_name(i), "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%05d" % i, "rpo": session_rpo(i),
                                  "state": states[i % len(states)]}
                                 for i in range(1, count + 1)],
    }}
    path = os.path.join(folder, "seed-%d.json" % count)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return path


def pin_cpus():
    """Simulator on CPU 0, this process (and what it starts) on the others, when there are >= 2.
    Returns the simulator's CPU, or None."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    if len(cpus) < 2:
        return None
    os.sched_setaffinity(0, set(cpus[1:]))
    return cpus[0]


def run_rounds(cases, rounds, run, after=None):
    """Each round runs `run(case)` once per case, timed; the starting case moves by one each round so
    that no case always runs first (cold caches) or right after the same neighbour. `after(case,
    seconds)` runs untimed after each. Returns {case: [seconds per round]}."""
    cases = list(cases)
    wall = {case: [] for case in cases}
    for round_no in range(rounds):
        shift = round_no % len(cases)
        for case in cases[shift:] + cases[:shift]:
            start = time.perf_counter()
            run(case)
            elapsed = time.perf_counter() - start
            wall[case].append(elapsed)
            if after is not None:
                after(case, elapsed)
    return wall


def median(values):
    return statistics.median(values)


def write_json(path, payload):
    """Write `payload` as JSON at `path` (folders made); returns the path."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print("  JSON written to %s" % os.path.relpath(path, os.getcwd()))
    return path
