# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: k2_replication_session_info listing N sessions, layer by layer, vs a plain `requests` loop.

    .venv/bin/python tests/benchmarks/bench_info.py [--sessions 10000] [--rounds 5] [--memory] [--json PATH]

One run, one simulator process seeded with N sessions (k2-a, peer k2-b). Each round times, in an
order that rotates from round to round, the same listing of every session four ways:
  (a) baseline: a requests.Session GETting /replication/sessions page after page (__limit=100);
  (b) the collection's listing code path alone: the module's list_sessions() on a K2Api over a
      K2Transport, as main() builds them, without AnsibleModule;
  (c) the module's real main() in this process: argspec, validation, (b), then ansible-core's
      exit_json (no_log masking, its JSON encoder) printing the result;
  (d) a full ansible-playbook run of one task listing N sessions;
and (d0), the same playbook with a task that matches nothing (ansible-playbook's fixed cost), and
  (e) ansible-playbook running tests/benchmarks/library/bench_carry.py, a trivial module that returns
      the same N sessions from a file (no HTTP) and has a no_log password like ours: what Ansible
      alone spends to carry the result. Item 3 of issue 10: (d) / ((a) + (e)), goal <= 1.1.
It prints medians, each against the same baseline (a), and what the simulator spent per request
(from its journal), and writes the same figures as JSON (--json, default build/bench/info.json). It
never asserts on a time. With --memory it also prints the peak Python
allocation of (a) and (b) (tracemalloc, untimed runs).
"""

import argparse
import collections
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

import requests

import benchlib  # tests/benchmarks (the script's folder) is on sys.path; it puts the harness there too
from benchlib import BUILD_BENCH, pin_cpus, seed_file, write_json
from harness import collections_path, run_playbook, start_simulator  # noqa: E402

sys.path.insert(0, collections_path())

from ansible.module_utils.common import json as ansible_json  # noqa: E402
from ansible.module_utils.common.parameters import remove_values  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api  # noqa: E402
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import build_query  # noqa: E402
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport  # noqa: E402
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as module  # noqa: E402

SESSIONS = "/replication/sessions"
PAGE = 100
TIMEOUT = 300


class Target:
    """What every way of listing needs: the simulator, k2-a's address, the admin password, the CA."""

    def __init__(self, sim, count, folder):
        self.sim = sim
        self.count = count
        self.folder = folder
        self.url = sim.arrays["k2-a"]["url"]
        self.host = sim.arrays["k2-a"]["host"]
        self.password = sim.users["admin"]["password"]
        self.ca_path = sim.ca_path
        self.playbooks = 0
        self.carry_path = None


def baseline(target):
    """(a) The plain loop: every page of /replication/sessions with one requests.Session."""
    items = []
    with requests.Session() as session:
        offset = 0
        while True:
            answer = session.get(target.url + SESSIONS, params={"__limit": PAGE, "__offset": offset},
                                 auth=("admin", target.password), verify=target.ca_path, timeout=TIMEOUT)
            answer.raise_for_status()
            page = answer.json()
            items.extend(page["hits"])
            offset += len(page["hits"])
            if not page["hits"] or offset >= page["total"]:
                return items


def module_listing(target):
    """(b) The module's listing without AnsibleModule: list_sessions() on the client main() builds
    (the module's defaults: no filter, no limit, no name resolution)."""
    transport = K2Transport(target.host, "admin", target.password, validate_certs=True, ca_path=target.ca_path,
                            timeout=TIMEOUT)
    try:
        # Every option at its default, read from the module's own OPTIONS (a new option needs no edit here).
        params = dict((name, spec.get("default")) for name, spec in module.OPTIONS.items())
        params.update(limit=None, resolve_names=False)
        return module.list_sessions(K2Api(transport), build_query(), params)
    finally:
        transport.close()


def module_main(target):
    """(c) The module's real main() with its args, as Ansible runs it; returns the JSON it printed."""
    args = {"host": target.host, "username": "admin", "password": target.password, "ca_path": target.ca_path,
            "timeout": TIMEOUT}
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return out.getvalue()


def playbook_text(count, name=None):
    options = "\n        name: %s" % name if name else ""
    expected = 0 if name else count
    return """---
- name: Benchmark k2_replication_session_info
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List sessions
      kaminario.k2.k2_replication_session_info:%s
      register: listed
      failed_when: listed.total != %d or (listed.sessions | length) != %d
""" % (options, expected, expected)


def _playbook(target, text):
    # The harness's result-collecting callback would serialise all N sessions once more: an empty
    # K2_HARNESS_RESULTS makes it write nothing.
    target.playbooks += 1
    workdir = os.path.join(target.folder, "playbook-%d" % target.playbooks)
    result = run_playbook(target.sim, text, workdir=workdir, env={"K2_HARNESS_RESULTS": ""}, timeout=1200)
    if result.rc != 0:
        raise SystemExit("ansible-playbook failed:\n%s" % result)
    return result


CARRY_PLAYBOOK = """---
- name: Benchmark what Ansible spends carrying the listing (bench_carry, no HTTP)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Carry sessions
      bench_carry:
        path: %s
        password: "{{ lookup('env', 'K2_PASSWORD') }}"
      register: listed
      failed_when: listed.total != %d or (listed.sessions | length) != %d
"""


def carry_playbook(target):
    """(e) ansible-playbook, one task of tests/benchmarks/library/bench_carry.py returning the same
    N sessions from a file, with a no_log password like the info module's: Ansible alone."""
    target.playbooks += 1
    workdir = os.path.join(target.folder, "playbook-%d" % target.playbooks)
    result = run_playbook(target.sim, CARRY_PLAYBOOK % (target.carry_path, target.count, target.count),
                          workdir=workdir, timeout=1200,
                          env={"K2_HARNESS_RESULTS": "", "ANSIBLE_LIBRARY": LIBRARY})
    if result.rc != 0:
        raise SystemExit("ansible-playbook (bench_carry) failed:\n%s" % result)
    return result


def playbook_all(target):
    """(d) ansible-playbook, one task listing every session."""
    return _playbook(target, playbook_text(target.count))


def playbook_none(target):
    """(d0) ansible-playbook, one task matching no session: the fixed cost of a run."""
    return _playbook(target, playbook_text(target.count, "no-such-session"))


Way = collections.namedtuple("Way", "key label run")
WAYS = (
    Way("a", "plain requests paging loop", baseline),
    Way("b", "module listing code path (K2Api, no AnsibleModule)", module_listing),
    Way("c", "module main() in-process (with exit_json)", module_main),
    Way("d", "ansible-playbook, one task, all sessions", playbook_all),
    Way("d0", "ansible-playbook, one task, no session", playbook_none),
    Way("e", "ansible-playbook, bench_carry: same result, no HTTP", carry_playbook),
)
LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library")
ITEM3_GOAL = 1.1  # issue 10, item 3: (d) / ((a) + (e))


def exit_json_cost(result, password):
    """What AnsibleModule.exit_json spends on a result this size, outside the collection's code:
    masking no_log values (a copy of the whole result) and its profile-aware JSON encoding."""
    start = time.perf_counter()
    masked = remove_values(result, [password])
    masking = time.perf_counter() - start
    encoder = ansible_json.get_module_encoder("legacy", ansible_json.Direction.MODULE_TO_CONTROLLER)
    start = time.perf_counter()
    json.dumps(masked, cls=encoder)
    return masking, time.perf_counter() - start


def server_time(sim):
    """The simulator's own time per request since the last clear (journal duration_ms: handling,
    without JSON encoding and transfer), in seconds."""
    return [(e.get("duration_ms") or 0) / 1000.0 for e in sim.journal("k2-a", clear=True)]


def check_results(target):
    """Untimed warm-up and correctness: every way must see every session."""
    count = target.count
    assert len(baseline(target)) == count, "the baseline did not see every session"
    listed = module_listing(target)
    assert (len(listed["sessions"]), listed["total"], listed["truncated"]) == (count, count, False)
    del listed
    result = json.loads(module_main(target))
    assert not result.get("failed"), result.get("msg")
    assert (len(result["sessions"]), result["total"], result["truncated"]) == (count, count, False)
    masking, encoding = exit_json_cost(result, target.password)
    target.carry_path = os.path.join(target.folder, "sessions.json")
    with open(target.carry_path, "w", encoding="utf-8") as handle:
        json.dump(result["sessions"], handle)
    del result
    target.sim.clear_journal("k2-a")
    return masking, encoding


def run_rounds(target, rounds):
    """Each round runs every way once; the starting way moves by one each round."""
    ways = dict((way.key, way) for way in WAYS)
    server = {way.key: [] for way in WAYS}
    wall = benchlib.run_rounds(ways, rounds, lambda key: ways[key].run(target),
                               after=lambda key, _seconds: server[key].append(server_time(target.sim)))
    return wall, server


def report(count, wall, server):
    """Print the table; return the same figures for the JSON report."""
    base = statistics.median(wall["a"])
    figures = {}
    print("\nListing %d sessions (%d requests of __limit=%d; medians of %d rounds, order rotating):"
          % (count, -(-count // PAGE), PAGE, len(wall["a"])))
    print("  %-56s %9s %8s %9s %9s  %s" % ("", "median s", "vs (a)", "server s", "client s", "runs (s)"))
    for way in WAYS:
        median = statistics.median(wall[way.key])
        spent = statistics.median(sum(times) for times in server[way.key])
        client = statistics.median(w - sum(times) for w, times in zip(wall[way.key], server[way.key]))
        runs = ", ".join("%.2f" % v for v in wall[way.key])
        print("  %-56s %9.3f %8.2f %9.3f %9.3f  %s"
              % ("(%s) %s" % (way.key, way.label), median, median / base, spent, client, runs))
        figures[way.key] = dict(label=way.label, median_s=median, ratio_vs_a=median / base, server_s=spent,
                                client_s=client, runs_s=wall[way.key])
    median = {key: statistics.median(times) for key, times in wall.items()}
    playbook_only = median["d"] - median["d0"]
    print("  (d) minus its fixed cost (d0): %.3f s, %.2f x (a)" % (playbook_only, playbook_only / base))
    print("  layer costs: (b)-(a) collection client %.3f s; (c)-(b) AnsibleModule + exit_json %.3f s; "
          "(d)-(c) ansible-playbook %.3f s" % (median["b"] - median["a"], median["c"] - median["b"],
                                               median["d"] - median["c"]))
    floor = median["a"] + median["e"]
    item3 = median["d"] / floor
    print("  item 3: (d) info module %.3f s vs (a) requests loop %.3f s + (e) Ansible carrying the same result "
          "%.3f s = %.3f s: ratio %.3f, goal <= %.1f: %s" % (median["d"], median["a"], median["e"], floor, item3,
                                                             ITEM3_GOAL, "met" if item3 <= ITEM3_GOAL else "MISSED"))
    figures["item3"] = dict(info_s=median["d"], requests_s=median["a"], carry_s=median["e"], floor_s=floor,
                            ratio=item3, goal=ITEM3_GOAL, met=item3 <= ITEM3_GOAL)
    pages = sorted(t for times in server["a"] for t in times)
    if pages:
        print("  simulator per request during (a): median %.2f ms, 90th percentile %.2f ms, max %.2f ms"
              % (1000 * statistics.median(pages), 1000 * pages[int(0.9 * (len(pages) - 1))], 1000 * pages[-1]))
    return figures


def memory(target):
    print("\nPeak Python allocations (tracemalloc, untimed):")
    for label, fn in (("(a) plain requests paging loop", baseline), ("(b) module listing code path", module_listing)):
        tracemalloc.start()
        value = fn(target)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        items = value if isinstance(value, list) else value["sessions"]
        size = len(json.dumps(items))
        print("  %-46s peak %7.1f MiB; result as JSON %6.1f MiB; peak/result %.2f"
              % (label, peak / 2 ** 20, size / 2 ** 20, peak / size))
        del value, items


def benchmark(args, sim_cpu, folder):
    count = args.sessions
    print("k2_replication_session_info benchmark: %d sessions, %d rounds%s"
          % (count, args.rounds,
             "" if sim_cpu is None else "; simulator pinned to CPU %d, client and playbooks to the others" % sim_cpu))
    started = time.perf_counter()
    sim = start_simulator(seed=seed_file(count, folder), startup_timeout=600, cpu=sim_cpu)
    print("  simulator seeded and started in %.1f s" % (time.perf_counter() - started))
    try:
        target = Target(sim, count, folder)
        masking, encoding = check_results(target)
        wall, server = run_rounds(target, args.rounds)
        figures = report(count, wall, server)
        print("  of (c), AnsibleModule.exit_json on this result (timed once, apart): no_log masking %.3f s + "
              "JSON encoding %.3f s" % (masking, encoding))
        if args.memory:
            memory(target)
    finally:
        sim.stop()
    write_json(args.json, dict(benchmark="info", sessions=count, rounds=args.rounds, ways=figures,
                               exit_json=dict(masking_s=masking, encoding_s=encoding)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of (a), (b), (c), (d) and (d0)")
    parser.add_argument("--memory", action="store_true", help="also measure peak allocations (2 more listings)")
    parser.add_argument("--json", default=os.path.join(BUILD_BENCH, "info.json"), help="where the figures go as JSON")
    args = parser.parse_args()
    sim_cpu = pin_cpus()
    with tempfile.TemporaryDirectory(prefix="k2-bench-info-") as folder:
        benchmark(args, sim_cpu, folder)


if __name__ == "__main__":
    main()
