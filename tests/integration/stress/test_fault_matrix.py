# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix (issue 10): every fault kind the simulator injects, against every operation of
the modules, through real ansible-playbook runs on ONE shared simulator.

Rows: 503; 400 with each MC_ERR_* busy code; 429 with Retry-After; 502 before and after the change;
connection reset before and after; an answer slower than the client `timeout`; 500; the peer array
down; the array itself going down in the middle of the run; and check mode (a 503 on every read).
Columns: create, update (rpo), transition (suspend), delete, list (info module), failover (on the
target array) and one session of a 20-session k2_replication_topology run hit by the fault (for the
topology, the other 19 must still converge).

Each case has its own sessions (the seed gives every row its own), so one playbook run carries many
cases and the journal tells them apart by session id and name. Faults on a session's own path are
injected before the run; faults on shared paths (POST /replication/sessions, the list GET) and
arrays going down are injected by the playbook itself right before the task (tests/integration/
stress/simctl.py through a pipe lookup). The table is printed at the end of the pytest run.
"""

import json
import os
import sys
import threading
import time

import pytest
from harness import run_playbook
from harness.fixtures import simulator_fixtures

SIMCTL = "%s %s" % (sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "simctl.py"))

API = "/api/v2"
SESSIONS = API + "/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
PEER_REF = "/replication/peer_k2arrays/1"  # on k2-a: k2-b (and on k2-b: k2-a)
TOPOLOGY_SIZE, MIDDLE = 20, 10
SLOW_SECONDS, SLOW_TIMEOUT = 2.5, 1
# Outcomes of a write that may have been carried out although the client saw no success.
MAY_HAVE_TAKEN = ("502_after", "reset_after", "delay")

# key (a name prefix), row label, the fault (kind + options) or None for the special rows.
KINDS = (
    ("k503", "503", dict(kind="503")),
    ("busy", "400 MC_ERR_BUSY", dict(kind="busy", code="MC_ERR_BUSY")),
    ("bspec", "400 MC_ERR_BUSY_SPECIFIC", dict(kind="busy", code="MC_ERR_BUSY_SPECIFIC")),
    ("inprog", "400 MC_ERR_INPROGRESS", dict(kind="busy", code="MC_ERR_INPROGRESS")),
    ("stime", "400 MC_ERR_START_TIMEOUT", dict(kind="busy", code="MC_ERR_START_TIMEOUT")),
    ("k429", "429 Retry-After: 1", dict(kind="429", retry_after=1)),
    ("b502", "502 before the change", dict(kind="502_before")),
    ("a502", "502 after the change", dict(kind="502_after")),
    ("reset", "connection reset before", dict(kind="reset")),
    ("areset", "connection reset after", dict(kind="reset_after")),
    ("slow", "answer %.1f s > timeout %d s" % (SLOW_SECONDS, SLOW_TIMEOUT), dict(kind="delay", seconds=SLOW_SECONDS)),
    ("k500", "500", dict(kind="500")),
)
RETRIED = ("k503", "busy", "bspec", "inprog", "stime", "k429")  # refused: the same request again
RESENT = ("b502", "reset")  # not carried out, outcome unknown: re-read, then sent again
LABELS = dict((key, label) for key, label, _fault in KINDS)
LABELS.update(peer="peer array down", down="the array goes down mid-run", chk="check mode (503 on each read)")
ROWS = [key for key, _label, _fault in KINDS] + ["peer", "down", "chk"]
OPS = ("create", "update", "transition", "delete", "list", "failover", "topology (1 of 20)")


def topo_name(key, index):
    return "%s-t%02d" % (key, index)


def _seed():
    """Every row gets: <key>-upd, <key>-trn, <key>-fo (in_sync), <key>-del (idle), <key>-t01..t20
    (in_sync, rpo 300) on k2-a, a free group vg-<key>-new for the create (ids from 30000)."""
    groups, sessions, vg_ids = [], [], {}
    next_id = [30000]

    def group(name):
        next_id[0] += 1
        vg_ids[name] = next_id[0]
        groups.append({"id": next_id[0], "name": name, "quota": 0})
        return name

    def session(name, state="in_sync"):
        sessions.append({"name": name, "replication_peer_k2array": "k2-b", "local_volume_group": group("vg-" + name),
                         "rpo": 300, "state": state})

    for key in ROWS:
        group("vg-%s-new" % key)
        for suffix in ("upd", "trn", "fo"):
            session("%s-%s" % (key, suffix))
        session("%s-del" % key, "in_sync" if key == "down" else "idle")
        for index in range(1, TOPOLOGY_SIZE + 1):
            if key == "peer" and index == MIDDLE:
                group("vg-" + topo_name(key, index))  # the peer row creates its middle session
                continue
            session(topo_name(key, index))
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "k2-matrix-seed-%d.json" % os.getpid())
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"k2-a": {"volume_groups": groups, "replication/sessions": sessions}}, handle)
    return path, vg_ids


SEED, VG_IDS = _seed()
matrix_sim_fixture, matrix_sim_reset_fixture = simulator_fixtures("matrix_sim", seed=SEED, transition_delay=0.1)


# ---- playbooks -------------------------------------------------------------------------------------

def control(spec):
    """A task that drives the simulator between two tasks (see simctl.py)."""
    return {"name": "simctl %s" % json.dumps(spec, sort_keys=True),
            "ansible.builtin.debug": {"msg": "{{ lookup('ansible.builtin.pipe', simctl ~ ' ' ~ (%s | to_json | quote)) }}"
                                      % json.dumps(spec)}}


def session_task(name, op, key, extra=None, array_host="{{ k2a_host }}"):
    args = {"host": array_host, "name": name, "timeout": "{{ k2_timeout | default(30) }}", "wait_timeout": 90}
    args.update(extra or {})
    return {"name": name, "kaminario.k2.k2_replication_session": args, "ignore_errors": True, "register": "r"}


def op_tasks(key, op, timeout_var=True):
    """The task of one case: (op, task dict). Task names are the case's session names."""
    if op == "create":
        task = session_task("%s-new" % key, op, key, {
            "replication_peer_k2array": PEER_REF, "local_volume_group": str(VG_IDS["vg-%s-new" % key]), "rpo": 300}
            | ({"replication_state": "in_sync"} if key == "down" else {}))
    elif op == "update":
        task = session_task("%s-upd" % key, op, key, {"rpo": 600})
    elif op == "transition":
        task = session_task("%s-trn" % key, op, key, {"replication_state": "suspended"})
    elif op == "delete":
        task = session_task("%s-del" % key, op, key, {"state": "absent"})
    elif op == "failover":
        task = session_task("remote_%s-fo" % key, op, key, {"replication_state": "failed_over"},
                            array_host="{{ k2b_host }}")
    elif op == "list":
        task = {"name": "%s-list" % key, "ignore_errors": True, "kaminario.k2.k2_replication_session_info": {
            "host": "{{ k2a_host }}", "filters": {"name__prefix": "%s-" % key},
            "timeout": "{{ k2_timeout | default(30) }}"}}
    else:
        items = [{"name": topo_name(key, i)} for i in range(1, TOPOLOGY_SIZE + 1)]
        if key == "peer":
            items[MIDDLE - 1].update(replication_peer_k2array=PEER_REF, rpo=600,
                                     local_volume_group=str(VG_IDS["vg-" + topo_name(key, MIDDLE)]))
        defaults = {"replication_state": "suspended"} if key == "down" else {"rpo": 600}
        task = {"name": "%s-topology" % key, "ignore_errors": True, "kaminario.k2.k2_replication_topology": {
            "host": "{{ k2a_host }}", "defaults": defaults, "sessions": items, "wait_timeout": 90,
            "timeout": "{{ k2_timeout | default(30) }}"}}
    return task


def play(hosts, tasks, strategy="linear", check=False):
    return [{"name": "Fault matrix", "hosts": hosts, "gather_facts": False, "strategy": strategy,
             "check_mode": check, "tasks": tasks}]


def inventory(hosts, **common):
    values = dict(common, ansible_connection="local", ansible_python_interpreter=sys.executable)
    return json.dumps({"all": {"children": {"matrix": {"hosts": dict(
        (name, dict(values, **own)) for name, own in hosts.items())}}}})


# ---- the journal ---------------------------------------------------------------------------------

class Case:
    def __init__(self, key, op, array, names, prefix=None):
        self.key, self.op, self.array, self.names, self.prefix = key, op, array, set(names), prefix
        self.ids = set()
        self.entries = []

    def owns(self, entry):
        query = entry.get("query") or {}
        body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
        if self.prefix is not None:
            return entry["method"] == "GET" and query.get("name__prefix") == self.prefix
        path_id = entry["path"][len(SESSIONS) + 1:] if entry["path"].startswith(SESSIONS + "/") else None
        listed = set(query.get("name__in", "").split(",")) | {query.get("name")}
        polled = set(query.get("id__in", "").split(","))
        return (path_id in self.ids or bool(listed & self.names) or bool(polled & self.ids)
                or body.get("name") in self.names)

    @property
    def writes(self):
        return [e for e in self.entries if e["method"] in WRITES]


def attribute(sim, cases, before=None):
    """Give every case its journal entries (its sessions' ids from `before`, {array: {name: id}}
    read before the run, and from the dump now)."""
    by_array = dict((array, dict((s["name"], str(s["id"])) for s in sim.dump(array)["objects"]["replication/sessions"]))
                    for array in ("k2-a", "k2-b"))
    for array, ids in (before or {}).items():
        by_array[array].update((name, str(i)) for name, i in ids.items())
    journals = dict((array, sim.journal(array)) for array in ("k2-a", "k2-b"))
    for case in cases:
        case.ids |= set(by_array[case.array][n] for n in case.names if n in by_array[case.array])
        case.entries = [e for e in journals[case.array] if case.owns(e)]
    return journals


def violations(case, asked_delete):
    """What the journal must never show, for one case."""
    found = []
    took = {}
    for entry in sorted(case.entries, key=lambda e: (e["time"], e["seq"])):
        method = entry["method"]
        if method not in WRITES:
            continue
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        if method == "POST":
            target = ("POST", body.get("name"))
        elif method == "DELETE":
            target = ("DELETE", entry["path"])
            if not asked_delete:
                found.append("DELETE not asked for: %s" % entry["path"])
        elif "state" in body:
            target = ("transition", entry["path"], body["state"])
        else:
            target = None  # an update: repeating it is harmless
        if target is not None and target in took:
            found.append("%s sent again after #%d (%s) %s" % (target, took[target]["seq"], took[target]["status"],
                                                              "took" if took[target]["status"] else "may have taken"))
        status = entry["status"]
        if target is not None and ((status is not None and 200 <= status < 300) or entry["fault"] in MAY_HAVE_TAKEN):
            took.setdefault(target, entry)
    return found


def cell(ok, case):
    faulted = len([e for e in case.entries if e["fault"]])
    text = "%s %dw" % ("ok" if ok else "FAILED", len(case.writes))
    return text + (" %df" % faulted if faulted else "")


# ---- running a batch -----------------------------------------------------------------------------

@pytest.fixture
def run(matrix_sim, tmp_path):
    env = {"K2SIM_CONTROL_URL": matrix_sim.control_url, "K2SIM_CA": matrix_sim.ca_path}
    common = {"simctl": SIMCTL, "k2a_host": matrix_sim.arrays["k2-a"]["host"],
              "k2b_host": matrix_sim.arrays["k2-b"]["host"]}
    runs = [0]

    def go(plays, hosts=None, forks=5):
        runs[0] += 1
        inv = inventory(hosts or {"localhost": {}}, **common)
        return run_playbook(matrix_sim, json.dumps(plays), inventory=inv, env=env, extra_args=("--forks", str(forks)),
                            workdir=str(tmp_path / ("run%d" % runs[0])), timeout=400)
    return go


def result_of(result, task, host=None):
    found = [t for t in result.tasks if t["task"] == task and (host is None or t["host"] == host)]
    assert found, "no result for task %r (host %s) in:\n%s" % (task, host, result)
    return found[-1]


def session_on(sim, array, name):
    return next((s for s in sim.dump(array)["objects"]["replication/sessions"] if s["name"] == name), None)


def expected_writes(key, op):
    """Writes in the journal: each case's write once, plus the one the fault refused or dropped."""
    if op == "list":
        return 0
    count = TOPOLOGY_SIZE if op.startswith("topology") else 1
    return count + 1 if key in RETRIED + RESENT else count


def check_success(sim, key, op, entry):
    """What the array must hold after a case that converged."""
    assert entry["status"] in ("changed", "ok"), entry
    res = entry["result"]
    if op == "create":
        assert session_on(sim, "k2-a", "%s-new" % key) is not None
    elif op == "update":
        assert int(session_on(sim, "k2-a", "%s-upd" % key)["rpo"]) == 600
    elif op == "transition":
        assert session_on(sim, "k2-a", "%s-trn" % key)["state"] == "suspended"
    elif op == "delete":
        assert session_on(sim, "k2-a", "%s-del" % key) is None
    elif op == "failover":
        assert session_on(sim, "k2-b", "remote_%s-fo" % key)["state"] == "failed_over"
    elif op == "list":
        expected = sorted(s["name"] for s in sim.dump("k2-a")["objects"]["replication/sessions"]
                          if s["name"].startswith(key + "-"))
        assert sorted(s["name"] for s in res["sessions"]) == expected and res["total"] == len(expected)
    else:
        assert res["summary"]["changed"] == TOPOLOGY_SIZE, res["summary"]
        assert all(int(session_on(sim, "k2-a", topo_name(key, i))["rpo"]) == 600 for i in range(1, TOPOLOGY_SIZE + 1))


def check_failure(sim, key, op, entry, *needles):
    """A clean failure: the task failed, its message names the cause, and (topology) the other 19
    converged while the task names the one that did not."""
    assert entry["status"] == "failed", entry
    res = entry["result"]
    msg = res["msg"]
    assert "Traceback" not in msg, res
    for needle in needles:
        assert needle in msg, (needle, msg)
    if op != "list":  # where the session is: as last read, and what the array accepted
        assert "when last read" in msg and "accepted by the array" in msg, msg
    if op.startswith("topology"):
        middle = topo_name(key, MIDDLE)
        by_name = dict((s["name"], s) for s in res["sessions"])
        assert by_name[middle]["status"] == "failed", by_name[middle]
        assert msg.startswith("1 of %d sessions were not converged" % TOPOLOGY_SIZE) and middle in msg, msg
        others = [n for n in by_name if n != middle]
        assert all(by_name[n]["status"] == "changed" for n in others), res["summary"]
        assert all(int(session_on(sim, "k2-a", n)["rpo"]) == 600 for n in others)
    return msg


def record(matrix, sim, cases, results, before, deletes=("delete",)):
    """Check the journal of every case and put its cell in the matrix."""
    attribute(sim, cases, before)
    problems = []
    for case in cases:
        found = violations(case, asked_delete=case.op in deletes)
        ok = results[(case.key, case.op)]
        matrix.add(LABELS[case.key], case.op, cell(ok, case) + (" JOURNAL!" if found else ""))
        problems += ["%s/%s: %s" % (case.key, case.op, f) for f in found]
    assert not problems, "\n".join(problems)


def make_case(key, op):
    if op == "create":
        return Case(key, op, "k2-a", ["%s-new" % key])
    if op == "list":
        return Case(key, op, "k2-a", [], prefix="%s-" % key)
    if op == "failover":
        return Case(key, op, "k2-b", ["remote_%s-fo" % key])
    if op.startswith("topology"):
        return Case(key, op, "k2-a", [topo_name(key, i) for i in range(1, TOPOLOGY_SIZE + 1)])
    suffix = {"update": "upd", "transition": "trn", "delete": "del"}[op]
    return Case(key, op, "k2-a", ["%s-%s" % (key, suffix)])


def ids_by_name(sim, array):
    return dict((s["name"], s["id"]) for s in sim.dump(array)["objects"]["replication/sessions"])


# ---- the tests -----------------------------------------------------------------------------------

def test_fault_kinds_on_every_operation(matrix_sim, run, matrix):
    """The 12 injected fault kinds x 7 operations (84 cases) in two playbook runs: the operations on
    a session's own path in parallel (one inventory host per fault kind, strategy free), then the
    create and the list (shared paths: each fault injected right before its task), in sequence."""
    a, b = ids_by_name(matrix_sim, "k2-a"), ids_by_name(matrix_sim, "k2-b")
    before = {"k2-a": a, "k2-b": b}
    own_path = {"update": ("k2-a", "PATCH", "%s-upd", a), "transition": ("k2-a", "PATCH", "%s-trn", a),
                "delete": ("k2-a", "DELETE", "%s-del", a), "failover": ("k2-b", "PATCH", "remote_%s-fo", b),
                "topology (1 of 20)": ("k2-a", "PATCH", "%%s-t%02d" % MIDDLE, a)}
    for key, _label, fault in KINDS:
        for array, method, pattern, ids in own_path.values():
            spec = dict(fault)
            matrix_sim.fault(array, spec.pop("kind"), method, "/replication/sessions/%d" % ids[pattern % key], **spec)
    hosts = dict((key, {"case": key, "k2_timeout": SLOW_TIMEOUT if key == "slow" else 30}) for key, _l, _f in KINDS)
    parallel_ops = ("update", "transition", "delete", "failover", "topology (1 of 20)")
    tasks = [dict(op_tasks("{{ case }}", op), name=op) for op in parallel_ops]
    started = time.monotonic()
    first = run(play("matrix", tasks, strategy="free"), hosts=hosts, forks=len(hosts))
    assert first.rc == 0, first  # every failure is ignore_errors
    matrix.note("parallel run (5 operations x 12 kinds, 12 forks): %.1f s" % (time.monotonic() - started))
    sequential = []
    for key, _label, fault in KINDS:
        timeout = {"k2_timeout": SLOW_TIMEOUT} if key == "slow" else {}
        for op, method in (("create", "POST"), ("list", "GET")):
            sequential.append(control(dict(fault, fault="k2-a", method=method, path="/replication/sessions")))
            sequential.append(dict(op_tasks(key, op), vars=timeout))
    second = run(play("localhost", sequential))
    assert second.rc == 0, second
    elapsed = time.monotonic() - started
    matrix.note("both runs of the 84 injected-fault cases: %.1f s" % elapsed)
    assert matrix_sim.faults("k2-a") == [] and matrix_sim.faults("k2-b") == [], "a fault was never hit"

    cases, results, failures = [], {}, []
    for key, _label, _fault in KINDS:
        for op in OPS:
            case = make_case(key, op)
            cases.append(case)
            entry = result_of(first, op, key) if op in parallel_ops else \
                result_of(second, case_task_name(key, op))
            try:
                if key == "k500":
                    check_failure(matrix_sim, key, op, entry, "HTTP 500")
                else:
                    check_success(matrix_sim, key, op, entry)
                results[(key, op)] = entry["status"] != "failed"
            except AssertionError as exc:
                results[(key, op)] = entry["status"] != "failed"
                failures.append("%s/%s: %s" % (key, op, exc))
    record(matrix, matrix_sim, cases, results, before)
    for case in cases:
        if case.op in ("list",):
            continue
        wanted = expected_writes(case.key, case.op)
        if len(case.writes) != wanted:
            seen = [(w["method"], w["path"], w["status"], w["fault"]) for w in case.writes]
            failures.append("%s/%s: %d writes, expected %d: %s" % (case.key, case.op, len(case.writes), wanted, seen))
    assert not failures, "\n".join(failures)


def case_task_name(key, op):
    return {"create": "%s-new", "list": "%s-list"}[op] % key


def test_peer_down_and_check_mode(matrix_sim, run, matrix):
    """The peer array down (k2-b for the operations on k2-a, k2-a for the failover on k2-b), then
    every operation in check mode with a 503 on its first read: no write at all."""
    before = {"k2-a": ids_by_name(matrix_sim, "k2-a"), "k2-b": ids_by_name(matrix_sim, "k2-b")}
    tasks = [control({"down": "k2-b"})]
    tasks += [op_tasks("peer", op) for op in OPS if op != "failover"]
    tasks += [control({"up": "k2-b"}), control({"down": "k2-a"}), op_tasks("peer", "failover"), control({"up": "k2-a"})]
    result = run(play("localhost", tasks))
    assert result.rc == 0, result
    cases = [make_case("peer", op) for op in OPS]
    results = {}
    for case in cases:
        entry = result_of(result, op_tasks("peer", case.op)["name"])
        results[("peer", case.op)] = entry["status"] != "failed"
        if case.op == "create":
            check_failure(matrix_sim, "peer", case.op, entry, "POST /replication/sessions", "HTTP 400",
                          "unreachable")
        elif case.op.startswith("topology"):
            msg = check_failure(matrix_sim, "peer", case.op, entry, "unreachable")
            assert "HTTP 400" in msg
        else:
            check_success(matrix_sim, "peer", case.op, entry)
    record(matrix, matrix_sim, cases, results, before)
    assert [len(c.writes) for c in cases] == [1, 1, 1, 1, 0, 1, TOPOLOGY_SIZE]

    matrix_sim.clear_journal()
    tasks = []
    for op in OPS:
        array = "k2-b" if op == "failover" else "k2-a"
        tasks.append(control({"fault": array, "kind": "503", "method": "GET", "path": "/replication/sessions"}))
        tasks.append(op_tasks("chk", op))
    result = run(play("localhost", tasks, check=True))
    assert result.rc == 0, result
    cases = [make_case("chk", op) for op in OPS]
    results = {}
    for case in cases:
        entry = result_of(result, op_tasks("chk", case.op)["name"])
        assert entry["status"] == ("ok" if case.op == "list" else "changed"), entry
        results[("chk", case.op)] = True
    record(matrix, matrix_sim, cases, results, before)
    writes = [e for array in ("k2-a", "k2-b") for e in matrix_sim.journal(array) if e["method"] in WRITES]
    assert writes == [], writes
    assert len([e for array in ("k2-a", "k2-b") for e in matrix_sim.journal(array) if e["fault"] == "503"]) == len(OPS)


def test_the_array_goes_down_in_the_middle_of_the_run(matrix_sim, run, matrix, tmp_path):
    """With the manual clock no transition lands, so every case that waits is caught polling: once
    each has sent its first writes, both arrays go off the network. The update and the list start
    once the array is down (their first request is refused). Every case must fail cleanly, after
    bounded retries, naming the connection failure, having sent each write once."""
    before = {"k2-a": ids_by_name(matrix_sim, "k2-a"), "k2-b": ids_by_name(matrix_sim, "k2-b")}
    matrix_sim.manual_clock(True)
    ops = list(OPS)
    hosts = dict(("down_%d" % i, {"op": op}) for i, op in enumerate(ops))
    port = matrix_sim.arrays["k2-a"]["port"]
    tasks = [{"name": "wait until the array is down", "ansible.builtin.wait_for": {
        "host": "127.0.0.1", "port": port, "state": "stopped", "timeout": 120},
        "when": "op in ['update', 'list']"}]
    for op in ops:
        task = op_tasks("down", op)
        task["when"] = "op == %r" % op
        task["name"] = op
        tasks.append(task)
    outcome = {}

    def playbook():
        outcome["result"] = run(play("matrix", tasks, strategy="free"), hosts=hosts, forks=len(hosts))

    thread = threading.Thread(target=playbook)
    thread.start()
    # create+start 1, transition 1, absent from in_sync 1 (the suspend), topology 20 suspends on k2-a;
    # the failover on k2-b.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        on_a = [e for e in matrix_sim.journal("k2-a") if e["method"] == "PATCH" and e["status"] == 200]
        on_b = [e for e in matrix_sim.journal("k2-b") if e["method"] == "PATCH" and e["status"] == 200]
        if len(on_a) >= 3 + TOPOLOGY_SIZE and on_b:
            break
        time.sleep(0.2)
    else:
        thread.join()
        pytest.fail("the writes never all arrived: %s" % outcome.get("result"))
    matrix_sim.down("k2-a")
    matrix_sim.down("k2-b")
    thread.join()
    matrix_sim.up("k2-a")
    matrix_sim.up("k2-b")
    matrix_sim.advance()
    matrix_sim.manual_clock(False)
    result = outcome["result"]
    assert result.rc == 0, result
    cases = [make_case("down", op) for op in ops]
    results = {}
    for i, case in enumerate(cases):
        entry = result_of(result, case.op, "down_%d" % i)
        results[("down", case.op)] = entry["status"] != "failed"
        msg = entry["result"].get("msg", "")
        assert entry["status"] == "failed", entry
        assert "connection failed" in msg and "Connection refused" in msg and "gave up after 6 attempts" in msg, msg
        if case.op not in ("update", "list"):
            assert "stopped before replication session" in msg, msg
    attribute(matrix_sim, cases, before)
    assert [len(c.writes) for c in cases] == [2, 0, 1, 1, 0, 1, TOPOLOGY_SIZE], [len(c.writes) for c in cases]
    record(matrix, matrix_sim, cases, results, before)
