# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation testing of plugins/module_utils and plugins/plugin_utils with cosmic-ray: a score per file
(`make mutation`; FILES=... names files of either folder).

cosmic-ray writes each mutant into the source file and runs a test command, so it works with the
ansible_collections.kaminario.k2 import layout as it is (the tests import the file on disk through the
collections link conftest.py makes). mutmut 3 does not: it names each mutant after the module path of
the file (plugins.module_utils.api) while the tests import ansible_collections.kaminario.k2.plugins...,
so it stops with "tests recorded trampoline hits but none match any mutant key"; it also mutates only
inside functions, never the module-level tables. cosmic-ray mutates in place: every run works in
private copies of the checkout, one per parallel job, and the checkout itself is never written to.
Operators: cosmic-ray's core set (filtered below) and k2_operators.py (dropped table entries, returns
to None, deleted statements). pytest runs forked from a warm process (forkserver.py).

For each file: `cosmic-ray init`, the operator filter below, `cosmic-ray exec`, then the results are
read from the session database. Survivors listed in tests/mutation/equivalent-mutants.txt are
equivalent (no test can tell them apart); the score is killed / (mutants - equivalent). Exit 1 when a
file scores below GOAL, or a survivor is neither killed nor listed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The folders whose files are mutated (file names are unique across them).
SOURCE_DIRS = ("module_utils", "plugin_utils")
EQUIVALENTS = ROOT / "tests" / "mutation" / "equivalent-mutants.txt"
GOAL = 95.0
SEP = " || "
FIELDS = ("file", "operator", "line above", "line", "mutated line", "reason")
FORKSERVER = Path(__file__).resolve().parent / "forkserver.py"

# First pass: the unit tests that exercise each file directly (collecting only these is much faster).
# Second pass, for the survivors only: the whole unit suite, so that any test can still kill them.
FIRST_TESTS = {
    "api.py": ["module_utils/test_api.py", "module_utils/test_api_answers.py"],
    "errors.py": ["module_utils/test_errors.py", "module_utils/test_transport.py",
                  "module_utils/test_transport_failures.py", "module_utils/test_api.py"],
    "k2_module.py": ["module_utils/test_k2_module.py", "module_utils/test_k2_module_required.py",
                     "module_utils/test_host_userinfo.py"],
    "peer_arrays.py": ["modules/test_k2_peer_array_info.py"],
    "replication_snapshots.py": ["module_utils/test_replication_snapshots.py",
                                 "modules/test_k2_replication_snapshot.py"],
    "session_apply.py": ["modules/test_k2_replication_session.py", "modules/test_k2_replication_session_fields.py",
                         "modules/test_k2_replication_topology.py",
                         "modules/test_k2_replication_topology_recovery.py",
                         "modules/test_k2_replication_topology_recovery_failures.py",
                         "module_utils/test_session_apply.py"],
    "session_execute.py": ["modules/test_k2_replication_session.py", "modules/test_k2_replication_session_fields.py",
                           "modules/test_k2_replication_topology.py",
                           "modules/test_k2_replication_topology_recovery.py",
                           "modules/test_k2_replication_topology_recovery_failures.py",
                           "module_utils/test_session_apply.py"],
    "replication_health.py": ["module_utils/test_replication_health.py"],
    "session_health.py": ["modules/test_k2_replication_session_info_health.py"],
    "references.py": ["modules/test_k2_replication_topology.py", "modules/test_k2_replication_session.py",
                      "modules/test_k2_replication_session_info.py"],
    "pair_planner.py": ["plugin_utils/test_pair_planner.py", "plugin_utils/test_pair_planner_details.py",
                        "filter/test_drift_report.py"],
    "session_schema.py": ["module_utils/test_session_planner.py", "module_utils/test_session_planner_pairs.py",
                          "module_utils/test_session_filters.py", "test_doc_fragments.py"],
    "topology.py": ["modules/test_k2_replication_topology.py"],
    "session_filters.py": ["module_utils/test_session_filters.py", "module_utils/test_session_filters_edges.py",
                           "modules/test_k2_replication_session_info.py", "modules/test_k2_peer_array_info.py"],
    "session_planner.py": ["module_utils/test_session_planner.py", "module_utils/test_session_planner_pairs.py",
                           "modules/test_k2_replication_session.py",
                           "modules/test_k2_replication_session_fields.py"],
    "transport.py": ["module_utils/test_transport.py", "module_utils/test_transport_failures.py",
                     "module_utils/test_api_hosts.py", "module_utils/test_transport_sockets.py",
                     "module_utils/test_host_userinfo.py"],
}

# One replacement per operator site instead of cosmic-ray's every-operator-for-every-operator: the
# negation and the off-by-one boundary of each comparison, the inverse of each arithmetic operator.
# The others are killed by the same tests as these (a `%` format turned into `**` raises at once).
EXCLUDED = [
    "core/ReplaceComparisonOperator_(?!(Eq_NotEq|NotEq_Eq|Lt_LtE|Lt_GtE|LtE_Lt|LtE_Gt|Gt_GtE|Gt_LtE|GtE_Gt|GtE_Lt"
    "|Is_IsNot|IsNot_Is)$)",
    "core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Mod_FloorDiv|Pow_Mul|LShift_RShift"
    "|RShift_LShift|BitOr_BitAnd|BitAnd_BitOr|BitXor_BitOr)$)",
    "core/ReplaceUnaryOperator_(?!Delete_)",
]

CONFIG = """\
[cosmic-ray]
module-path = "{module}"
timeout = {timeout}
excluded-modules = []
test-command = "{command}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
"""


def copy_checkout(dest):
    """The checkout (without venv, git data, build output and caches) as a fresh tree at `dest`."""
    skip = {".git", "build", "mutants", ".pytest_cache", ".hypothesis", "__pycache__", "output"}

    def skipped(name):
        return name in skip or name.startswith(".venv")  # .venv and .venv-oldest
    with tempfile.TemporaryFile() as buf:
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(str(ROOT), arcname=".", filter=lambda info: None if skipped(Path(info.name).name) else info)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tar:
            tar.extractall(dest, filter="tar")


def collections_link_root(tree):
    """The collections tree the root conftest.py makes for a checkout (named after its path)."""
    tag = hashlib.sha1(str(Path(tree).resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / ("kaminario-k2-pytest-%d-%s" % (os.getuid(), tag))


def read_equivalents():
    """{(file, operator, line above, line, mutated line): reason} from the reviewed list."""
    found = {}
    if not EQUIVALENTS.exists():
        return found
    for number, line in enumerate(EQUIVALENTS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(SEP)
        if len(parts) != 6 or not parts[5].strip():
            sys.exit("%s:%d: expected %s" % (EQUIVALENTS, number, SEP.join(FIELDS)))
        found[tuple(p.strip() for p in parts[:5])] = parts[5].strip()
    return found


def changed_lines(diff):
    """(context, before, after) of a unified diff: the unchanged line just above the change (so that
    two identical lines in one file stay apart), the removed and the added lines, each stripped."""
    diff = diff.splitlines() if isinstance(diff, str) else diff
    context = ""
    for line in diff:
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
            break
        if line.startswith(" ") and line.strip():
            context = line.strip()
    before = [line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")]
    after = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
    return context, " ".join(before), " ".join(after)


def timed_out(result):
    """Whether a kill was a timeout: cosmic-ray's own, or the fork server's deadline (forkserver.py)."""
    return (result.output or "").strip().endswith("timeout")


def cosmic_ray(python, env, cwd, *args):
    proc = subprocess.run([python, "-m"] + list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def source(name):
    """plugins/<folder>/<name> of the checkout, or None."""
    for folder in SOURCE_DIRS:
        if (ROOT / "plugins" / folder / name).is_file():
            return "plugins/%s/%s" % (folder, name)
    return None


def mutate_file(name, slot, python, env, timeout, workdir):
    """Run every mutant of `name` (a module_utils or plugin_utils file) in the tree of `slot`; -> list
    of (operator, line number, line above, line, mutated line, outcome)."""
    tree = workdir / ("tree-%d" % slot)
    module = tree / source(name)
    config = workdir / (name + ".toml")
    session = workdir / (name + ".sqlite")

    def command(tests):
        # pytest runs in a fork of the job's server (forkserver.py), in the job's tree; -x: a mutant is
        # killed by its first failing test.
        return " ".join([python, str(FORKSERVER), "run", str(workdir / ("slot-%d.sock" % slot)), str(tree),
                         source(name), "--", "-x", "-q", "-p", "no:xdist"]
                        + tests)

    # A test file named here but gone (renamed, merged) must not make pytest fail for every mutant.
    first = [t for t in ("tests/unit/plugins/" + f for f in FIRST_TESTS.get(name, ())) if (tree / t).is_file()]
    config.write_text(CONFIG.format(module=module, timeout=timeout, command=command(first or ["tests/unit"]),
                                    excluded=", ".join('"%s"' % e for e in EXCLUDED)), encoding="utf-8")
    everything = command(["tests/unit"] + ["--ignore=" + t for t in first])  # the first pass runs those
    # Both passes' commands must pass on the file as it is, through the fork server: a test that cannot
    # run there (a plugin left out, say) would otherwise count every mutant as killed.
    for check in (command(first or ["tests/unit"]), everything):
        proc = subprocess.run(shlex.split(check), cwd=tree, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError("%s: the tests fail without any mutant (rc=%d): %s" % (name, proc.returncode, check))
    if session.exists():
        session.unlink()
    cosmic_ray(python, env, tree, "cosmic_ray.cli", "init", str(config), str(session))
    cosmic_ray(python, env, tree, "cosmic_ray.tools.filters.operators_filter", str(session), str(config))
    cosmic_ray(python, env, tree, "cosmic_ray.cli", "exec", str(config), str(session))
    # Imported here: cosmic-ray is installed on demand (requirements-mutation.txt), not with the dev tools.
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    # Second pass, for the survivors only: the whole unit suite may still kill them. A mutant whose
    # tests ran out of time is tried again with three times the time: on a machine busy with other
    # work a slow run is not a kill (a mutant that loops for ever still times out, and counts as one).
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in list(db.completed_work_items):
            if result.worker_outcome != WorkerOutcome.NORMAL:
                continue
            if result.test_outcome == TestOutcome.KILLED and timed_out(result):
                result = mutate_and_test(item.mutations, command(first or ["tests/unit"]), 3 * timeout)
                db.set_result(item.job_id, result)
            if result.test_outcome == TestOutcome.SURVIVED:
                db.set_result(item.job_id, mutate_and_test(item.mutations, everything, 3 * timeout))

    results = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            mutation = item.mutations[0]
            if result.worker_outcome != WorkerOutcome.NORMAL:
                raise RuntimeError("%s %s at line %d: worker %s\n%s" % (name, mutation.operator_name,
                                   mutation.start_pos[0], result.worker_outcome, result.output))
            context, before, after = changed_lines(result.diff or [])
            outcome = "survived" if result.test_outcome == TestOutcome.SURVIVED else "killed"
            if outcome == "killed" and timed_out(result):
                outcome = "timeout"
            results.append((mutation.operator_name, mutation.start_pos[0], context, before, after, outcome))
        pending = db.num_work_items - db.num_results
    if pending:
        raise RuntimeError("%s: %d mutants were not run" % (name, pending))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="module_utils or plugin_utils file names (default: every one)")
    parser.add_argument("--jobs", type=int, default=2, help="files mutated at once (default 2)")
    args = parser.parse_args(argv)
    names = args.files or sorted(p.name for folder in SOURCE_DIRS for p in (ROOT / "plugins" / folder).glob("*.py")
                                 if p.name != "__init__.py")
    unknown = [n for n in names if source(n) is None]
    if unknown:
        sys.exit("not in plugins/module_utils nor plugins/plugin_utils: %s" % ", ".join(unknown))
    python = sys.executable
    # Set in this process too: the second pass runs its test command from here.
    os.environ.pop("ANSIBLE_COLLECTIONS_PATH", None)  # each tree's conftest.py links its own copy
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ)
    equivalents = read_equivalents()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="kaminario-k2-mutation-"))
    jobs = max(1, min(args.jobs, len(names)))
    servers = []
    try:
        baseline = 0.0
        for slot in range(jobs):
            copy_checkout(workdir / ("tree-%d" % slot))
            start = time.monotonic()
            proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:xdist", "tests/unit"],
                                  cwd=workdir / ("tree-%d" % slot), env=env, capture_output=True, text=True,
                                  check=False)
            if proc.returncode != 0:
                sys.exit("the unit tests fail without any mutant:\n" + proc.stdout[-3000:])
            baseline = max(baseline, time.monotonic() - start)
        # A mutant that makes a loop endless is killed by this timeout: well above a first pass (a few
        # test files), and three times that for the second pass (the whole suite), so that a machine
        # busy with other work does not count a slow run as a kill.
        timeout = round(max(20.0, 4 * baseline), 1)
        for slot in range(jobs):
            # The server stops a run a little before cosmic-ray would give up on its client.
            servers.append(subprocess.Popen([python, str(FORKSERVER), "serve", str(workdir / ("slot-%d.sock" % slot)),
                                             str(3 * timeout + 5)], cwd=workdir / ("tree-%d" % slot), env=env))
        for slot in range(jobs):
            sock = workdir / ("slot-%d.sock" % slot)
            for _wait in range(600):
                if sock.exists():
                    break
                time.sleep(0.05)
            else:
                sys.exit("the fork server of job %d did not start" % slot)
        print("mutation: %s; %d at a time; baseline %.1f s, timeout %.0f s per mutant (%.0f s on the second pass)"
              % (", ".join(names), jobs, baseline, timeout, 3 * timeout), flush=True)
        # The biggest files first, so the two jobs end close together.
        order = sorted(names, key=lambda n: -(ROOT / source(n)).stat().st_size)
        results = {}
        free = list(range(jobs))
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = {}
            for name in order:
                if not free:
                    done = next(concurrent.futures.as_completed(futures))
                    finished = futures.pop(done)
                    results[finished[0]] = done.result()
                    free.append(finished[1])
                    print("  %s done (%.0f s)" % (finished[0], time.monotonic() - started), flush=True)
                slot = free.pop()
                futures[pool.submit(mutate_file, name, slot, python, env, timeout, workdir)] = (name, slot)
            for done in concurrent.futures.as_completed(futures):
                finished = futures[done]
                results[finished[0]] = done.result()
                print("  %s done (%.0f s)" % (finished[0], time.monotonic() - started), flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        for slot in range(jobs):
            shutil.rmtree(collections_link_root(workdir / ("tree-%d" % slot)), ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return report(names, results, equivalents, time.monotonic() - started)


def report(names, results, equivalents, elapsed):
    failed, unlisted, used = False, [], set()
    header = ("file", "mutants", "killed", "(timeout)", "survived", "equivalent", "score")
    print("\n%-20s %8s %7s %9s %9s %11s %7s" % header)
    for name in names:
        rows = results[name]
        killed = sum(1 for r in rows if r[-1] in ("killed", "timeout"))
        timeouts = sum(1 for r in rows if r[-1] == "timeout")
        survivors = [r for r in rows if r[-1] == "survived"]
        equivalent = 0
        for operator, line, context, before, after, _outcome in survivors:
            key = (name, operator, context, before, after)
            if key in equivalents:
                equivalent += 1
                used.add(key)
            else:
                unlisted.append((name, line, operator, context, before, after))
        scored = len(rows) - equivalent
        score = 100.0 * killed / scored if scored else 100.0
        failed |= score < GOAL
        row = (name, len(rows), killed, timeouts, len(survivors), equivalent, score)
        print("%-20s %8d %7d %9d %9d %11d %6.1f%%" % row)
    print("(score = killed / (mutants - equivalent); goal %.0f%% per file; %.0f s)" % (GOAL, elapsed))
    print("(timeout: killed because its tests still ran out of time when tried again with three times the time;"
          " many of them mean the machine was too busy for the score to be trusted)")
    if unlisted:
        print("\nSurvivors not in %s (kill each with a test, or add its line with a reason):"
              % EQUIVALENTS.relative_to(ROOT))
        for name, line, operator, context, before, after in sorted(unlisted):
            print("  line %d: %s" % (line, SEP.join([name, operator, context, before, after, "REASON"])))
    stale = [key for key in equivalents if key[0] in names and key not in used]
    if stale:
        print("\nListed as equivalent but not surviving any more (remove these lines):")
        for key in stale:
            print("  " + SEP.join(key))
    return 1 if failed or unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
