# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: no-op converges with k2_replication_topology vs k2_replication_session vs ansible.builtin.uri.

    .venv/bin/python tests/benchmarks/bench_topology.py [--sessions 1000] [--rounds 5] [--json PATH] [--profile]

One simulator process seeded with N volume groups and N in_sync sessions on k2-a (peer k2-b). Every
case is a real ansible-playbook run (tests/benchmarks/playbooks/, the harness's run_playbook, the
connection from K2_*), and every round runs every case once, in an order that rotates:
  topology_N      one k2_replication_topology task declaring all N sessions (refs as ids or refs)
  single_1        one k2_replication_session task for one session             (baseline of topology_N)
  uri_50          ansible.builtin.uri: GET each of 50 sessions by name, then a PATCH loop skipped
                  by a `when:` (no rpo differs)                                  (baseline of the rest)
  topology_50     one k2_replication_topology task for those 50
  single_loop_50  one k2_replication_session task looped over those 50
  ping_50         ansible.builtin.ping looped 50 times (the floor of 50 module runs)
Each run must end rc 0 with changed=0 and send exactly its request budget (the simulator's journal,
read after each run), so a broken case cannot pass as fast. It prints medians and ratios against the
baselines with the goals of issues 8 and 10, writes the same as JSON (default
build/bench/topology.json), and where a goal is missed (or with --profile) times the parts of one
module run. It never asserts on a time.
"""

import argparse
import base64
import collections
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile

from benchlib import (BUILD_BENCH, PEER_REF, median, pin_cpus, run_rounds, seed_file, session_name, session_rpo,
                      vg_id, write_json)
from harness import collections_path, run_playbook, start_simulator

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
LOOP = 50
PAGE = 100  # the module's batch: one name__in list request per 100 declared sessions
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+"
                   r"skipped=(\d+)", re.M)

# key, playbook, sessions declared, expected requests (all GET) as f(count), recap (ok, skipped),
# baseline case, goal (ratio <=), what it is.
Case = collections.namedtuple("Case", "key playbook count requests recap baseline goal label")


def cases(total):
    loop = min(LOOP, total)
    topology = "topology_%d" % total
    return (
        Case(topology, "topology.yml", total, -(-total // PAGE), (1, 0), "single_1", 2.0,
             "k2_replication_topology, 1 task, %d sessions" % total),
        Case("single_1", "single.yml", 1, 1, (1, 0), None, None, "k2_replication_session, 1 task, 1 session"),
        Case("uri_%d" % loop, "uri.yml", loop, loop, (1, 1), None, None,
             "ansible.builtin.uri GET loop + skipped PATCH loop"),
        Case("topology_%d" % loop, "topology.yml", loop, -(-loop // PAGE), (1, 0), "uri_%d" % loop, 0.1,
             "k2_replication_topology, 1 task, %d sessions" % loop),
        Case("single_loop_%d" % loop, "single_loop.yml", loop, loop, (1, 0), "uri_%d" % loop, 1.0,
             "k2_replication_session looped over %d sessions" % loop),
        Case("ping_%d" % loop, "ping_loop.yml", loop, 0, (1, 0), "uri_%d" % loop, None,
             "ansible.builtin.ping looped %d times (floor)" % loop),
    )


def declared(count):
    """The first `count` seeded sessions as the playbooks take them; the volume group as an id
    (odd) or a ref (even), so the module resolves none of them by name."""
    return [dict(name=session_name(i), rpo=session_rpo(i),
                 local_volume_group=str(vg_id(i)) if i % 2 else "/volume_groups/%d" % vg_id(i))
            for i in range(1, count + 1)]


class Bench:
    def __init__(self, sim, total, folder):
        self.sim = sim
        self.folder = folder
        self.cases = dict((case.key, case) for case in cases(total))
        self.requests = dict((key, []) for key in self.cases)

    def play(self, case, record=False):
        """One ansible-playbook run of `case`; SystemExit unless it ended rc 0 and changed nothing.
        `record` keeps the harness callback's per-task results (off when timed: it serialises every
        result once more, which a user's run does not)."""
        env = {} if record else {"K2_HARNESS_RESULTS": ""}
        result = run_playbook(self.sim, os.path.join(PLAYBOOKS, case.playbook), workdir=os.path.join(self.folder, case.key),
                              extra_vars=dict(bench_sessions=declared(case.count), bench_peer=PEER_REF), env=env,
                              timeout=1800)
        recap = RECAP.search(result.stdout)
        if result.rc != 0 or not recap:
            raise SystemExit("%s: ansible-playbook failed:\n%s" % (case.key, result))
        ok, changed, unreachable, failed, skipped = (int(v) for v in recap.groups())
        if (changed, unreachable, failed) != (0, 0, 0) or (ok, skipped) != case.recap:
            raise SystemExit("%s: expected a no-op (ok, skipped = %s, nothing changed), got %s:\n%s"
                             % (case.key, case.recap, recap.group(0), result))
        return result

    def journal(self, case):
        """The requests `case` sent (k2-a's journal, cleared); SystemExit unless they are exactly its
        budget of successful GETs and k2-b saw nothing."""
        sent = self.sim.journal("k2-a", clear=True)
        other = self.sim.journal("k2-b", clear=True)
        bad = [e for e in sent if e["method"] != "GET" or e["status"] != 200]
        if bad or other or len(sent) != case.requests:
            raise SystemExit("%s: expected %d GETs (200) on k2-a and none on k2-b; got %d on k2-a (not GET 200: %s), "
                             "%d on k2-b" % (case.key, case.requests, len(sent), bad[:3], len(other)))
        self.requests[case.key].append(len(sent))
        return sent

    def check(self):
        """Untimed: each case once with the per-task results recorded, checked item by item."""
        self.sim.clear_journal()
        for case in self.cases.values():
            result = self.play(case, record=True)
            sent = self.journal(case)
            tasks = result.tasks
            if case.playbook == "topology.yml":
                task = tasks[0]["result"]
                assert task["summary"]["ok"] == case.count and not task["changed"], task["summary"]
                assert [s["name"] for s in task["sessions"]] == [d["name"] for d in declared(case.count)]
                assert all(e["query"].get("name__in") for e in sent), "topology read without name__in"
            elif case.playbook == "single.yml":
                assert tasks[0]["status"] == "ok" and tasks[0]["result"]["session"]["state"] == "in_sync"
            elif case.playbook == "single_loop.yml":
                items = tasks[0]["result"]["results"]
                assert len(items) == case.count and not any(i["changed"] for i in items)
            elif case.playbook == "uri.yml":
                reads, writes = tasks[0]["result"]["results"], tasks[1]
                assert len(reads) == case.count and all(len(r["json"]["hits"]) == 1 for r in reads)
                assert writes["status"] == "skipped" and all(r.get("skipped") for r in writes["result"]["results"])
                assert sorted(e["query"]["name"] for e in sent) == sorted(d["name"] for d in declared(case.count))
            elif case.playbook == "ping_loop.yml":
                items = tasks[0]["result"]["results"]
                assert len(items) == case.count and all(i["ping"] == "pong" for i in items)
        self.requests = dict((key, []) for key in self.cases)

    def run(self, key):
        self.play(self.cases[key])

    def after(self, key, _seconds):
        self.journal(self.cases[key])


def table(bench, wall):
    """Print the table; return its rows for the JSON report."""
    medians = dict((key, median(times)) for key, times in wall.items())
    rows = []
    print("\n  %-16s %9s %-9s %7s %6s %4s %9s  %s" % ("case", "median s", "vs", "ratio", "goal", "met", "requests",
                                                      "runs (s)"))
    for case in bench.cases.values():
        ratio = medians[case.key] / medians[case.baseline] if case.baseline else None
        met = None if case.goal is None else ratio <= case.goal
        sent = sorted(set(bench.requests[case.key]))
        rows.append(dict(case=case.key, label=case.label, median_s=medians[case.key], runs_s=wall[case.key],
                         baseline=case.baseline, ratio=ratio, goal=case.goal, met=met,
                         requests=sent[0] if len(sent) == 1 else sent, declared=case.count))
        print("  %-16s %9.3f %-9s %7s %6s %4s %9s  %s"
              % (case.key, medians[case.key], case.baseline or "-", "%.3f" % ratio if ratio is not None else "-",
                 "<=%.1f" % case.goal if case.goal else "-", {None: "-", True: "yes", False: "NO"}[met],
                 "/".join(map(str, sent)), ", ".join("%.2f" % t for t in wall[case.key])))
    loop = [c for c in bench.cases.values() if c.playbook != "topology.yml" and c.count > 1]
    ping = next(c.key for c in loop if c.playbook == "ping_loop.yml")
    print("  per item over the %s floor: %s" % (ping, "; ".join(
        "%s %+.3f s" % (c.key, (medians[c.key] - medians[ping]) / c.count) for c in loop if c.key != ping)))
    print("  ratios to the floor: %s" % "; ".join(
        "%s %.2f" % (c.key, medians[c.key] / medians[ping]) for c in loop if c.key != ping))
    return rows


# ---- where a module run's time goes --------------------------------------------------------------

def _subprocess_seconds(argv, reps=5, env=None):
    times = []
    for dummy in range(reps):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return median(times)


def _import_group(name):
    """Who an imported module belongs to, for the -X importtime breakdown of a module run."""
    top = name.split(".")[0]
    if top == "ansible_collections":
        return "k2_collection"  # compiled from the AnsiballZ zip on every run (zipimport writes no .pyc)
    if top in ("requests", "urllib3", "charset_normalizer", "idna", "certifi"):
        return "requests_stack"  # site-packages, cached .pyc
    if top == "ansible":
        return "ansible_module_utils"  # from the zip, like ours
    return "stdlib_other"


def _import_split(stderr):
    """`-X importtime` lines -> {group: seconds} (self times summed, so nothing is counted twice)."""
    totals = collections.Counter()
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            totals[_import_group(match.group(2))] += int(match.group(1)) / 1e6
    return totals


def capture_ansiballz(sim, folder, playbook, count):
    """Run `playbook` once over `count` sessions keeping the module files; the path of the
    AnsiballZ_*.py it ran (with its arguments inside, as ansible-playbook wrote it)."""
    remote = os.path.join(folder, "keep-%s-%d" % (playbook, count))
    result = run_playbook(sim, os.path.join(PLAYBOOKS, playbook), workdir=remote + "-work",
                          extra_vars=dict(bench_sessions=declared(count), bench_peer=PEER_REF),
                          env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": remote,
                               "K2_HARNESS_RESULTS": ""})
    if result.rc != 0:
        raise SystemExit("%s: ansible-playbook failed:\n%s" % (playbook, result))
    found = [os.path.join(d, f) for d, dummy, files in os.walk(remote) for f in files if f.startswith("AnsiballZ_")]
    if len(found) != 1:
        raise SystemExit("%s: expected one AnsiballZ file, found %s" % (playbook, found))
    return found[0]


def compile_split(path):
    """Seconds to compile the Python sources inside an AnsiballZ file's zip, by owner: what every
    run of that module pays, since zipimport compiles them and caches no .pyc (median of 5)."""
    with open(path, encoding="utf-8") as handle:
        data = re.search(r"zip_data='([A-Za-z0-9+/=]+)'", handle.read()).group(1)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(data))) as archive:
        sources = [(n, archive.read(n)) for n in archive.namelist() if n.endswith(".py")]
    split = {}
    for group in sorted(set(_import_group(n.replace("/", ".")) for n, dummy in sources)):
        mine = [(n, src) for n, src in sources if _import_group(n.replace("/", ".")) == group]
        seconds = _timed(lambda m=mine: [compile(src, n, "exec") for n, src in m])[0]
        split[group] = dict(seconds=seconds, files=len(mine), bytes=sum(len(src) for dummy, src in mine))
    return split


def module_runs(sim, folder, count, reps=7):
    """Each module as ansible-playbook runs it (its AnsiballZ file: a fresh python, the zip written
    and imported, the module's main(), its JSON on stdout), run directly `reps` times in rotating
    order: medians of the wall time and of the import time by owner (-X importtime, separate runs)."""
    env = dict(os.environ, K2_HOST=sim.arrays["k2-a"]["host"], K2_USERNAME="admin",
               K2_PASSWORD=sim.users["admin"]["password"], K2_CA_PATH=sim.ca_path)
    paths = collections.OrderedDict()
    for key, playbook, items in (("ping", "ping_loop.yml", 1), ("uri_get", "uri.yml", 1),
                                 ("k2_session", "single.yml", 1), ("k2_topology_%d" % LOOP, "topology.yml", LOOP),
                                 ("k2_topology_%d" % count, "topology.yml", count)):
        paths[key] = capture_ansiballz(sim, folder, playbook, items)
    sizes, imports = {}, dict((key, collections.defaultdict(list)) for key in paths)

    def run(key):
        proc = subprocess.run([sys.executable, paths[key]], env=env, capture_output=True, text=True, check=False)
        result = json.loads(proc.stdout)
        if result.get("failed") or result.get("changed"):
            raise SystemExit("%s: the module run was not a no-op: %s" % (key, proc.stdout[:500]))
        sizes[key] = len(proc.stdout)

    def after(key, _seconds):
        timed = subprocess.run([sys.executable, "-X", "importtime", paths[key]], env=env, capture_output=True,
                               text=True, check=False)
        for group, seconds in _import_split(timed.stderr).items():
            imports[key][group].append(seconds)

    wall = run_rounds(paths, reps, run, after=after)
    sim.clear_journal()
    return collections.OrderedDict(
        (key, dict(wall_s=median(wall[key]), result_bytes=sizes[key], ansiballz_bytes=os.path.getsize(path),
                   imports_s=dict((g, median(v)) for g, v in sorted(imports[key].items())),
                   compile_from_zip=compile_split(path)))
        for key, path in paths.items())


def _timed(fn, reps=5):
    times, value = [], None
    for dummy in range(reps):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return median(times), value


def profile(sim, count, folder):
    """Time the parts of one module run in this process and in fresh interpreters; print and return them."""
    sys.path.insert(0, collections_path())
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.common import json as ansible_json
    from ansible.module_utils.common.parameters import remove_values
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
    from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import connect, k2_argument_spec
    from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import SessionApplier
    from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (SESSION_OPTIONS, WAIT_OPTIONS,
                                                                                      desired_state)
    from ansible_collections.kaminario.k2.plugins.module_utils.topology import converge, declared_sessions
    from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
    from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session as single
    from ansible_collections.kaminario.k2.plugins.modules import k2_replication_topology as topology

    env = dict(os.environ, PYTHONPATH=collections_path())
    host, password, ca_path = sim.arrays["k2-a"]["host"], sim.users["admin"]["password"], sim.ca_path
    figures = {}
    print("\nWhere a module run's time goes, outside ansible-playbook (module runs: medians of 7 in rotating order; "
          "the rest: medians of 5):")

    # Each module run as ansible-playbook does it: its AnsiballZ file in a fresh python.
    figures["module_runs"] = module_runs(sim, folder, count)
    header = ("module run", "wall s", "result B", "zip B", "imports s (-X importtime, self times by owner)")
    print("  %-18s %9s %9s %9s  %s" % header)
    for key, run in figures["module_runs"].items():
        print("  %-18s %9.3f %9d %9d  %s" % (key, run["wall_s"], run["result_bytes"], run["ansiballz_bytes"],
                                             ", ".join("%s %.3f" % kv for kv in run["imports_s"].items())))
    print("  of which compiling the zip's sources (every run; no .pyc from a zip), s: %s" % "; ".join(
        "%s: %s" % (key, ", ".join("%s %.3f (%d files, %d KB)" % (g, c["seconds"], c["files"], c["bytes"] // 1024)
                                   for g, c in run["compile_from_zip"].items()))
        for key, run in figures["module_runs"].items()))
    figures["python_start_s"] = _subprocess_seconds([sys.executable, "-c", "pass"], env=env)
    print("  bare python start: %.3f s" % figures["python_start_s"])

    # One request: a fresh connection (TCP + TLS handshake + Basic auth) vs the next on it.
    def first_and_next():
        transport = K2Transport(host, "admin", password, validate_certs=True, ca_path=ca_path, timeout=60)
        api = K2Api(transport)
        try:
            start = time.perf_counter()
            api.get("/system/state", 1)
            first = time.perf_counter() - start
            start = time.perf_counter()
            api.get("/system/state", 1)
            return first, time.perf_counter() - start
        finally:
            transport.close()
    pairs = [first_and_next() for dummy in range(5)]
    figures["request_s"] = dict(first_with_tls=median([p[0] for p in pairs]), next_on_connection=median([p[1] for p in pairs]))
    print("  one GET on a new connection (TCP+TLS) %.4f s, the next on it %.4f s"
          % (figures["request_s"]["first_with_tls"], figures["request_s"]["next_on_connection"]))

    # The modules' main() in this process (warm imports), and its parts: the argument spec
    # (AnsibleModule()), the engine (requests included) and exit_json's masking and encoding.
    def main_of(module, args):
        out = io.StringIO()
        with patch_module_args(args), contextlib.redirect_stdout(out):
            try:
                module.main()
            except SystemExit:
                pass
        return out.getvalue()

    def argspec_of(spec, args, **options):
        with patch_module_args(args):
            return AnsibleModule(argument_spec=spec, supports_check_mode=True, **options)

    base = dict(host=host, username="admin", password=password, ca_path=ca_path)
    items = declared(count)
    single_args = dict(base, replication_peer_k2array=PEER_REF, replication_state="in_sync", **items[0])
    topology_args = dict(base, defaults=dict(replication_peer_k2array=PEER_REF, replication_state="in_sync"),
                         sessions=items)
    single_spec = k2_argument_spec(**dict(SESSION_OPTIONS, **WAIT_OPTIONS))
    topology_spec = k2_argument_spec(**topology.OPTIONS)
    encoder = ansible_json.get_module_encoder("legacy", ansible_json.Direction.MODULE_TO_CONTROLLER)
    for key, module, args, spec, options, engine in (
            ("k2_session_main", single, single_args, single_spec, {},
             lambda m: SessionApplier(connect(m)).converge(desired_state(m.params))),
            ("k2_topology_main_%d" % count, topology, topology_args, topology_spec,
             dict(required_if=[("prune", True, ["prune_prefix"])]),
             lambda m: converge(connect(m), declared_sessions(m.params["sessions"], m.params["defaults"])))):
        seconds, printed = _timed(lambda m=module, a=args: main_of(m, a))
        result = json.loads(printed)
        assert not result.get("changed") and not result.get("failed"), result.get("msg")
        argspec, instance = _timed(lambda s_=spec, a=args, o=options: argspec_of(s_, a, **o))
        engine_s = _timed(lambda e=engine, i=instance: e(i))[0]
        masking = _timed(lambda r=result: remove_values(r, [password]))[0]
        encoding = _timed(lambda r=result: json.dumps(r, cls=encoder))[0]
        parts = dict((k, len(json.dumps(v))) for k, v in result.items())
        figures[key] = dict(main_s=seconds, argspec_s=argspec, engine_s=engine_s, no_log_masking_s=masking,
                            json_encoding_s=encoding, result_bytes=len(printed), result_bytes_by_key=parts)
        print("  %s(): %.3f s in-process = argspec %.3f + engine (HTTP included) %.3f + exit_json (no_log masking "
              "%.3f, JSON %.3f) + rest; result %d bytes (%s)"
              % (key, seconds, argspec, engine_s, masking, encoding, len(printed),
                 ", ".join("%s %d" % kv for kv in sorted(parts.items(), key=lambda kv: -kv[1])[:3])))
    sim.clear_journal()
    return figures


def per_item(bench, wall, figures):
    """What a k2_replication_session loop item costs over a uri one: the loops' medians apart per
    item, against the two module runs apart (timed side by side above); the rest is ansible-core's
    side. The uri loop also carries a skipped PATCH item per session."""
    medians = dict((key, median(times)) for key, times in wall.items())
    runs = figures["module_runs"]
    loop = "single_loop_%d" % LOOP
    if loop not in medians:
        return None
    uri = "uri_%d" % LOOP
    count = bench.cases[loop].count
    item = (medians[loop] - medians[uri]) / count
    module = runs["k2_session"]["wall_s"] - runs["uri_get"]["wall_s"]
    imports = dict((g, runs["k2_session"]["imports_s"].get(g, 0) - runs["uri_get"]["imports_s"].get(g, 0))
                   for g in set(runs["k2_session"]["imports_s"]) | set(runs["uri_get"]["imports_s"]))
    print("  %s - %s: %+.3f s per item; k2_session - uri_get module run: %+.3f s (imports apart: %s)"
          % (loop, uri, item, module, ", ".join("%s %+.3f" % kv for kv in sorted(imports.items()))))
    return dict(loop_item_s=item, module_run_s=module, imports_s=imports)


def benchmark(args, sim_cpu, folder):
    total = args.sessions
    print("k2_replication_topology benchmark: %d in_sync sessions seeded, %d rounds%s"
          % (total, args.rounds,
             "" if sim_cpu is None else "; simulator pinned to CPU %d, playbooks to the others" % sim_cpu))
    started = time.perf_counter()
    sim = start_simulator(seed=seed_file(total, folder, states=("in_sync",)), startup_timeout=600, cpu=sim_cpu)
    print("  simulator seeded and started in %.1f s" % (time.perf_counter() - started))
    try:
        bench = Bench(sim, total, folder)
        started = time.perf_counter()
        bench.check()
        print("  every case checked once, untimed (results item by item, request budgets): %.1f s"
              % (time.perf_counter() - started))
        wall = run_rounds(bench.cases, args.rounds, bench.run, after=bench.after)
        rows = table(bench, wall)
        missed = [row["case"] for row in rows if row["met"] is False]
        figures = profile(sim, total, folder) if missed or args.profile else None
        if figures:
            figures["per_item"] = per_item(bench, wall, figures)
    finally:
        sim.stop()
    return dict(benchmark="topology", sessions=total, rounds=args.rounds, cases=rows, missed=missed, profile=figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sessions", type=int, default=1000, help="sessions seeded and declared by topology_N")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every case")
    parser.add_argument("--json", default=os.path.join(BUILD_BENCH, "topology.json"), help="where the figures go as JSON")
    parser.add_argument("--profile", action="store_true", help="time a module run's parts even when every goal is met")
    args = parser.parse_args()
    if args.sessions < 1 or args.rounds < 1:
        parser.error("--sessions and --rounds must be at least 1")
    sim_cpu = pin_cpus()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="k2-bench-topology-") as folder:
        payload = benchmark(args, sim_cpu, folder)
    payload["wall_s"] = time.perf_counter() - started
    print("  wall time %.1f s" % payload["wall_s"])
    write_json(args.json, payload)


if __name__ == "__main__":
    main()
