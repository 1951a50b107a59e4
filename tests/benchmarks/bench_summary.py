# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ratios `make bench` measures, in one table with the goal beside each, read from the JSON the
benchmarks wrote (build/bench/). Prints; never fails on a time (a missing figure is said so).

    .venv/bin/python tests/benchmarks/bench_summary.py [--folder build/bench]
"""

import argparse
import json
import os

from benchlib import BUILD_BENCH


def _load(folder, name):
    path = os.path.join(folder, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _case(report, key_start):
    for row in (report or {}).get("cases", []):
        if row["case"].startswith(key_start):
            return row
    return None


def rows(folder):
    """(what, ratio or None, goal, where it comes from) for every ratio with a goal."""
    topology = _load(folder, "topology")
    single_loop = _case(topology, "single_loop_")
    big = next((r for r in (topology or {}).get("cases", []) if r["case"].startswith("topology_") and
                r["baseline"] == "single_1"), None)
    small = next((r for r in (topology or {}).get("cases", []) if r["case"].startswith("topology_") and
                  r["baseline"] and r["baseline"].startswith("uri_")), None)
    info = ((_load(folder, "info") or {}).get("ways") or {}).get("item3")
    roles = _load(folder, "roles")
    return [
        ("50 sessions, one k2_replication_session no-op task each / the same with ansible.builtin.uri",
         single_loop and single_loop["ratio"], 1.0, "topology.json single_loop_50"),
        ("%s sessions, one k2_replication_topology no-op run / one single-session no-op task"
         % (big["declared"] if big else "1,000"), big and big["ratio"], 2.0, "topology.json topology_N"),
        ("50 sessions, k2_replication_topology / the uri way", small and small["ratio"], 0.1, "topology.json topology_50"),
        ("listing 10,000 sessions / (raw paging loop + Ansible carrying the same result)",
         info and info["ratio"], 1.1, "info.json item3"),
        ("no-op apply of 3,000 pairs / of 1,000 pairs (playbooks/topology.yml)", roles and roles["ratio"], 3.3,
         "roles.json"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--folder", default=BUILD_BENCH)
    args = parser.parse_args()
    print("\nmake bench: ratios against their baselines, medians of several rounds run side by side")
    print("  %-96s %7s %6s  %s" % ("what", "ratio", "goal", "met"))
    for what, ratio, goal, source in rows(args.folder):
        if ratio is None:
            print("  %-96s %7s %6s  not measured (%s missing)" % (what, "-", "<=%.1f" % goal, source))
        else:
            print("  %-96s %7.3f %6s  %s" % (what, ratio, "<=%.1f" % goal, "yes" if ratio <= goal else "NO"))


if __name__ == "__main__":
    main()
