# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: k2_replication_session_info listing N sessions vs a plain `requests` paging loop.

    .venv/bin/python tests/benchmarks/bench_info.py [--sessions 10000] [--rounds 3] [--playbook-rounds 2]
                                                    [--memory]

One run, one simulator process seeded with N sessions (k2-a, peer k2-b). It times, alternating the
order each round:
  (a) baseline: a requests.Session GETting /replication/sessions page after page (__limit=100);
  (b) the module: its real main() in this process (argspec, validation, the collection's client,
      exit_json with its JSON output), the same requests underneath.
Then, separately, full `ansible-playbook` runs of one task listing N sessions, and of one task that
matches nothing (the fixed startup cost). It prints medians and ratios; goal: (b)/(a) <= 1.2.
It never asserts on a time. With --memory it also prints the peak Python allocation of (a) and of
the module's listing (tracemalloc, untimed runs).
"""

import argparse
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

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from harness import run_playbook, start_simulator  # noqa: E402
from harness.playbook import _collections_path  # noqa: E402  (the root conftest's collection tree)

sys.path.insert(0, _collections_path())

from ansible.module_utils.common import json as ansible_json  # noqa: E402
from ansible.module_utils.common.parameters import remove_values  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api  # noqa: E402
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import build_query  # noqa: E402
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport  # noqa: E402
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as module  # noqa: E402

SESSIONS = "/replication/sessions"
PAGE = 100


def seed_file(count, folder):
    """A seed with `count` volume groups and one session each on k2-a, replicating to k2-b."""
    data = {"k2-a": {
        "volume_groups": [{"name": "vg-%05d" % i, "quota": 0} for i in range(1, count + 1)],
        "replication/sessions": [{"name": "sess-%05d" % i, "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%05d" % i, "rpo": (60, 300, 600)[i % 3],
                                  "state": ("in_sync", "suspended", "idle")[i % 3]}
                                 for i in range(1, count + 1)],
    }}
    path = os.path.join(folder, "seed-%d.json" % count)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return path


class Target:
    def __init__(self, sim):
        self.sim = sim
        self.url = sim.arrays["k2-a"]["url"]
        self.host = sim.arrays["k2-a"]["host"]
        self.password = sim.users["admin"]["password"]
        self.ca_path = sim.ca_path


def baseline(target):
    """The plain loop: every page of /replication/sessions with one requests.Session."""
    items = []
    with requests.Session() as session:
        offset = 0
        while True:
            answer = session.get(target.url + SESSIONS, params={"__limit": PAGE, "__offset": offset},
                                 auth=("admin", target.password), verify=target.ca_path, timeout=300)
            answer.raise_for_status()
            page = answer.json()
            items.extend(page["hits"])
            offset += len(page["hits"])
            if not page["hits"] or offset >= page["total"]:
                return items


def module_args(target, **options):
    return dict(options, host=target.host, username="admin", password=target.password, ca_path=target.ca_path,
                timeout=300)


def run_module_main(target):
    """The module's real main() with its args, as Ansible runs it; returns the JSON it printed."""
    out = io.StringIO()
    with patch_module_args(module_args(target)), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return out.getvalue()


def module_listing(target):
    """The module's listing without AnsibleModule around it (for the memory figure)."""
    api = K2Api(K2Transport(target.host, "admin", target.password, ca_path=target.ca_path, timeout=300))
    return module.list_sessions(api, build_query(), {"limit": None, "resolve_names": False})


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


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def server_seconds(sim):
    """Time the simulator spent answering since the last clear (journal duration_ms; excludes
    JSON encoding and transfer), and how many requests it answered."""
    entries = sim.journal("k2-a", clear=True)
    return sum(e.get("duration_ms") or 0 for e in entries) / 1000.0, len(entries)


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


def run_playbook_timed(target, text, workdir):
    # The harness's result-collecting callback would serialise all N sessions once more: an empty
    # K2_HARNESS_RESULTS makes it write nothing.
    start = time.perf_counter()
    result = run_playbook(target.sim, text, workdir=workdir, env={"K2_HARNESS_RESULTS": ""})
    elapsed = time.perf_counter() - start
    if result.rc != 0:
        raise SystemExit("ansible-playbook failed:\n%s" % result)
    return elapsed


def show(label, values, extra=""):
    runs = ", ".join("%.3f" % v for v in values)
    print("  %-46s median %8.3f s  (runs: %s)%s" % (label, statistics.median(values), runs, extra))


def pin_cpus():
    """Simulator on CPU 0, this process (and the playbooks it starts) on the others, when there are >= 2."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    if len(cpus) < 2:
        return None
    os.sched_setaffinity(0, set(cpus[1:]))
    return cpus[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (baseline, module main())")
    parser.add_argument("--playbook-rounds", type=int, default=2, help="full ansible-playbook runs (0: none)")
    parser.add_argument("--memory", action="store_true", help="also measure peak allocations (2 more listings)")
    args = parser.parse_args()
    count = args.sessions

    sim_cpu = pin_cpus()
    folder = tempfile.mkdtemp(prefix="k2-bench-info-")
    print("k2_replication_session_info benchmark: %d sessions, %d rounds, %d playbook rounds%s"
          % (count, args.rounds, args.playbook_rounds,
             "" if sim_cpu is None else "; simulator pinned to CPU %d, client to the others" % sim_cpu))
    started = time.perf_counter()
    sim = start_simulator(seed=seed_file(count, folder), startup_timeout=1800, cpu=sim_cpu)
    print("  simulator seeded and started in %.1f s" % (time.perf_counter() - started))
    try:
        target = Target(sim)
        # Warm-up and correctness, untimed: both sides must see every session.
        assert len(baseline(target)) == count, "the baseline did not see every session"
        result = json.loads(run_module_main(target))
        assert not result.get("failed"), result.get("msg")
        assert (len(result["sessions"]), result["total"], result["truncated"]) == (count, count, False)
        masking, encoding = exit_json_cost(result, target.password)
        del result
        sim.clear_journal("k2-a")

        times = {"baseline": [], "module": []}
        server = {"baseline": [], "module": []}
        requests_made = {}
        for round_no in range(args.rounds):
            order = ("baseline", "module") if round_no % 2 == 0 else ("module", "baseline")
            for which in order:
                elapsed = timed(baseline if which == "baseline" else run_module_main, target)[0]
                seconds, made = server_seconds(sim)
                times[which].append(elapsed)
                server[which].append(seconds)
                requests_made[which] = made

        playbook_times, startup_times = [], []
        for round_no in range(args.playbook_rounds):
            workdir = os.path.join(folder, "playbook-%d" % round_no)
            playbook_times.append(run_playbook_timed(target, playbook_text(count), workdir))
            startup_times.append(run_playbook_timed(target, playbook_text(count, "no-such-session"), workdir + "-empty"))

        print("\nListing %d sessions (%d requests each: baseline %d, module %d):"
              % (count, -(-count // PAGE), requests_made["baseline"], requests_made["module"]))
        show("(a) plain requests paging loop", times["baseline"])
        show("(b) module main() in-process", times["module"])
        base, mod = statistics.median(times["baseline"]), statistics.median(times["module"])
        print("  ratio (b)/(a): %.3f   (goal <= 1.2)" % (mod / base))
        base_client = statistics.median(t - s for t, s in zip(times["baseline"], server["baseline"]))
        mod_client = statistics.median(t - s for t, s in zip(times["module"], server["module"]))
        print("  client side only (wall minus the simulator's own time): (a) %.3f s, (b) %.3f s, ratio %.2f"
              % (base_client, mod_client, mod_client / base_client if base_client > 0 else float("nan")))
        print("  of (b), AnsibleModule.exit_json alone: no_log masking %.3f s + JSON encoding %.3f s"
              % (masking, encoding))
        if playbook_times:
            show("(c) ansible-playbook, one task, all sessions", playbook_times)
            show("(d) ansible-playbook, one task, no session", startup_times)
            full, empty = statistics.median(playbook_times), statistics.median(startup_times)
            print("  ratio (c)/(a): %.3f; (c) minus the fixed cost (d): %.3f s, ratio to (a) %.3f"
                  % (full / base, full - empty, (full - empty) / base))

        if args.memory:
            print("\nPeak Python allocations (tracemalloc, untimed):")
            for label, fn in (("(a) plain requests paging loop", baseline),
                              ("(b) module listing (no exit_json)", module_listing)):
                tracemalloc.start()
                value = fn(target)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                items = value if isinstance(value, list) else value["sessions"]
                size = len(json.dumps(items))
                print("  %-46s peak %7.1f MiB; result as JSON %6.1f MiB; peak/result %.2f"
                      % (label, peak / 2 ** 20, size / 2 ** 20, peak / size))
                del value, items
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
