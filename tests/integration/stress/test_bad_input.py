# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input (issue 10): every module, role and playbook given what it must refuse, through real
ansible-playbook runs batched per module (one task per case, ignore_errors, each result read back
through the harness). Each case must fail with a message that names the option or the cause, and
the arrays' journals must show no write (for wait_timeout: exactly the write sent before it ran out).
"""

import json
import os
import time

import pytest
import requests
from harness import REPO_ROOT, arrays_inventory, session_body

SESSIONS = "/replication/sessions"
WRITES = ("POST", "PATCH", "DELETE")
PEER = "/replication/peer_k2arrays/1"

# (case id, module options, words the message must hold). The scene: s1 in_sync on k2-a (its
# target remote_s1 on k2-b), s2 idle on k2-a.
SESSION_CASES = [
    ("rpo not a number", {"name": "s1", "rpo": "soon"}, ["rpo", "int"]),
    ("rpo 100", {"name": "s1", "rpo": 100}, ["rpo must be 60", "multiple of 300", "100"]),
    ("rpo 0", {"name": "s1", "rpo": 0}, ["rpo must be 60", "got 0"]),
    ("rpo 301", {"name": "s1", "rpo": 301}, ["rpo must be 60", "301"]),
    ("wait not a boolean", {"name": "s1", "wait": "perhaps"}, ["wait", "bool"]),
    ("wait_timeout not a number", {"name": "s1", "wait_timeout": "long"}, ["wait_timeout", "int"]),
    ("negative wait_timeout", {"name": "s1", "wait_timeout": -1}, ["wait_timeout must be 0 or more"]),
    ("timeout 0", {"name": "s1", "timeout": 0}, ["timeout", "positive number"]),
    ("auto_configure_peer_volumes not a boolean", {"name": "s9", "auto_configure_peer_volumes": "often"},
     ["auto_configure_peer_volumes", "bool"]),
    ("unknown peer array", {"name": "s9", "replication_peer_k2array": "k2-z", "local_volume_group": "vg_web_prod",
                            "rpo": 300}, ["replication_peer_k2array", "no replication/peer_k2arrays object", "k2-z"]),
    ("unknown volume group", {"name": "s9", "replication_peer_k2array": "k2-b", "local_volume_group": "vg_nope",
                              "rpo": 300}, ["local_volume_group", "no volume_groups object", "vg_nope"]),
    ("unknown retention policy", {"name": "s9", "replication_peer_k2array": PEER, "local_volume_group": "5103",
                                  "rpo": 300, "retention_policy": "Forever"},
     ["retention_policy", "no retention_policies object", "Forever"]),
    ("unknown external retention policy", {"name": "s9", "replication_peer_k2array": PEER,
                                           "local_volume_group": "5103", "rpo": 300,
                                           "external_retention_policy": "Never"},
     ["external_retention_policy", "no retention_policies object", "Never"]),
    ("ref to the wrong resource type (volume group)", {"name": "s9", "replication_peer_k2array": PEER,
                                                       "local_volume_group": "/retention_policies/5", "rpo": 300},
     ["local_volume_group", "not a reference to /volume_groups"]),
    ("ref to the wrong resource type (peer array)", {"name": "s9", "replication_peer_k2array": "/volume_groups/5101",
                                                     "local_volume_group": "5103", "rpo": 300},
     ["replication_peer_k2array", "not a reference to /replication/peer_k2arrays"]),
    ("id 0", {"name": "s9", "replication_peer_k2array": PEER, "local_volume_group": 0, "rpo": 300},
     ["local_volume_group", "positive integer"]),
    ("immutable volume group", {"name": "s1", "local_volume_group": "vg_web_prod"},
     ["local_volume_group of replication session 's1'", "cannot be changed", "never deletes and recreates"]),
    ("immutable peer array", {"name": "s1", "replication_peer_k2array": "/replication/peer_k2arrays/7"},
     ["replication_peer_k2array of replication session 's1'", "cannot be changed"]),
    ("immutable remote session name", {"name": "s1", "remote_replication_session_name": "other"},
     ["remote_replication_session_name of replication session 's1'", "cannot be changed"]),
    ("impossible transition idle -> failed_over", {"name": "s2", "replication_state": "failed_over"},
     ["cannot move replication session 's2' from idle to failed_over", "target-side session, on the peer array"]),
    ("failover asked of the source side", {"name": "s1", "replication_state": "failed_over"},
     ["cannot move replication session 's1' from in_sync to failed_over", "on the peer array"]),
    ("missing mandatory fields on create", {"name": "s9", "local_volume_group": "vg_web_prod"},
     ["'s9' does not exist", "also give", "replication_peer_k2array", "rpo"]),
    ("unknown replication_state", {"name": "s1", "replication_state": "paused"},
     ["replication_state", "paused", "in_sync"]),
    ("unknown state", {"name": "s1", "state": "gone"}, ["state", "gone", "present, absent"]),
    ("unknown current_role", {"name": "s1", "current_role": "primary"}, ["current_role", "primary"]),
    ("unknown target_exposure", {"name": "s1", "target_exposure": "visible"},
     ["target_exposure must be one of", "visible"]),
    ("declared side differs", {"name": "s1", "current_role": "target", "rpo": 600},
     ["declared current_role=target", "source side"]),
    ("restored_snapshot without failover", {"name": "s1", "restored_snapshot": "latest", "replication_state": "in_sync"},
     ["restored_snapshot applies to a failover only"]),
    ("offline_initial_sync without in_sync", {"name": "s1", "offline_initial_sync": True,
                                              "replication_state": "suspended"},
     ["offline_initial_sync applies to starting replication only"]),
    ("replication_state with state=absent", {"name": "s1", "state": "absent", "replication_state": "idle"},
     ["replication_state cannot be used with state=absent"]),
    ("empty new_name", {"name": "s1", "new_name": " "}, ["new_name must not be empty"]),
    ("rename onto an existing name", {"name": "s1", "new_name": "s2"},
     ["cannot rename replication session 's1' to 's2'", "exists already"]),
    ("unknown option", {"name": "s1", "rpo_seconds": 300}, ["Unsupported parameters", "rpo_seconds"]),
    ("host given as a URL", {"name": "s1", "host": "https://array.example.com/api/v2"},
     ["host", "not a URL or path"]),
    ("unknown restored snapshot on failover", {"name": "remote_s1", "replication_state": "failed_over",
                                               "restored_snapshot": "snap-nope", "host": "{{ k2b_host }}"},
     ["restored_snapshot", "no snapshots object", "snap-nope"]),
    ("target side told to suspend", {"name": "remote_s1", "replication_state": "suspended",
                                     "host": "{{ k2b_host }}"},
     ["remote_s1", "target-side session follows its source"]),
]

INFO_CASES = [
    ("unknown filter field", {"filters": {"colour": "red"}}, ["filters: unknown field 'colour'"]),
    ("unknown filter modifier", {"filters": {"name__like": "s"}}, ["unknown modifier 'like'", "name__like"]),
    ("numeric modifier on a text field", {"filters": {"name__gt": "s1"}},
     ["numeric modifier 'gt' does not apply to the string field 'name'"]),
    ("text modifier on a number", {"filters": {"rpo__prefix": "3"}}, ["modifier 'prefix' does not apply", "rpo"]),
    ("filter value of the wrong type", {"filters": {"rpo": "often"}}, ["filters.rpo: expected an integer"]),
    ("boolean filter not a boolean", {"filters": {"stopped": "maybe"}}, ["filters.stopped: expected a boolean"]),
    ("empty in-list", {"filters": {"name__in": []}}, ["filters.name__in", "non-empty list"]),
    ("unknown name in a reference filter", {"filters": {"local_volume_group": "vg_nope"}},
     ["filters.local_volume_group", "vg_nope"]),
    ("wrong resource type in a reference filter", {"filters": {"replication_peer_k2array": "/volume_groups/5101"}},
     ["filters.replication_peer_k2array", "not a reference to /replication/peer_k2arrays"]),
    ("bad sort field", {"sort": "-colour"}, ["sort: unknown field 'colour'"]),
    ("sort on a reference", {"sort": "local_volume_group"}, ["sort: unknown field 'local_volume_group'"]),
    ("bad fields entry", {"fields": ["id", "colour"]}, ["fields: unknown field 'colour'"]),
    ("limit 0", {"limit": 0}, ["limit: expected a positive integer"]),
    ("filters not a dict", {"filters": ["name", "s1"]}, ["filters", "dict"]),
    ("name and filters.name", {"name": "s1", "filters": {"name": "s2"}}, ["name and filters.name"]),
]

ITEM = {"name": "t1", "replication_peer_k2array": PEER, "local_volume_group": "5103", "rpo": 300}
TOPOLOGY_CASES = [
    # ansible-core's own message for a list element of the wrong type does not name the option.
    ("a topology item that is a string", {"sessions": ["t1"]}, ["dictionary requested"]),
    ("a topology item without a name", {"sessions": [{"rpo": 300}]},
     ["missing required arguments: name", "sessions"]),
    ("an unknown key in an item", {"sessions": [dict(ITEM, colour="red")]}, ["colour", "sessions"]),
    ("sessions not a list", {"sessions": {"t1": ITEM}}, ["sessions", "list"]),
    ("duplicate names", {"sessions": [ITEM, dict(ITEM, local_volume_group="5102")]},
     ["sessions[1] (t1): the name 't1' is declared already by sessions[0]", "nothing was done"]),
    ("bad rpo in one item", {"sessions": [ITEM, dict(ITEM, name="t2", rpo=301)]},
     ["1 of 2 declared sessions are invalid", "sessions[1] (t2): rpo must be 60"]),
    ("unknown choice in defaults", {"sessions": [ITEM], "defaults": {"replication_state": "paused"}},
     ["replication_state", "paused"]),
    ("name in defaults", {"sessions": [ITEM], "defaults": {"name": "x"}}, ["name", "defaults"]),
    ("prune without a pattern", {"sessions": [ITEM], "prune": True}, ["prune_prefix"]),
    ("prune with a blank pattern", {"sessions": [ITEM], "prune": True, "prune_prefix": "  "},
     ["prune_prefix must not be empty"]),
    ("prune_prefix without prune", {"sessions": [ITEM], "prune_prefix": "t"}, ["prune_prefix is set but prune is false"]),
    ("unknown volume group in an item", {"sessions": [dict(ITEM, local_volume_group="vg_nope")]},
     ["t1 (failed)", "local_volume_group: no volume_groups object is named 'vg_nope'"]),
    ("target-side item to create", {"sessions": [dict(ITEM, current_role="target")]},
     ["declared current_role=target", "create the pair on the source array"]),
]

PAIR = {"name": "p1", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod"}
WHERE = "k2_topology.pairs[0] (p1)"
# (case, k2_topology, words): the declaration as both roles check it (the pair model, before any
# request): an error names the pair by index and name, and the option.
ROLE_CASES = [
    ("no k2_topology", None, ["k2_topology", "expected a dictionary with 'pairs'"]),
    ("pairs not a list", {"pairs": "p1"}, ["k2_topology.pairs: expected a list of pairs"]),
    ("a pair without a source", {"pairs": [{"name": "p1", "target": "k2-b", "volume_group": "vg_web_prod"}]},
     [WHERE, "source is required"]),
    ("a pair with an unknown key", {"pairs": [dict(PAIR, colour="red")]}, [WHERE, "unknown option(s) colour"]),
    ("a typo in a pair's key", {"pairs": [{"name": "x0", "source": "k2-a", "target": "k2-b", "volume_group": "vg_a"},
                                          dict(PAIR, name="ora", volume_gruop="vg_web_prod")]},
     ["k2_topology.pairs[1] (ora)", "unknown option(s) volume_gruop"]),
    ("a pair whose rpo is not a number", {"pairs": [dict(PAIR, rpo="often")]}, [WHERE, "rpo must be 60"]),
    ("a pair state that is not a choice", {"pairs": [dict(PAIR, state="gone")]}, [WHERE, "state", "gone"]),
    ("a pair replication_state failed_over", {"pairs": [dict(PAIR, replication_state="failed_over")]},
     [WHERE, "replication_state", "failed_over"]),
    ("two pairs of the same name", {"pairs": [PAIR, dict(PAIR, source="k2-b", target="k2-a")]},
     ["k2_topology.pairs[1] (p1)", "declared already by k2_topology.pairs[0] (p1)"]),
    ("two pair names that differ only in case", {"pairs": [PAIR, dict(PAIR, name="P1", volume_group="vg_a")]},
     ["k2_topology.pairs[1] (P1)", "declared already by k2_topology.pairs[0] (p1)", "whatever their case"]),
]


def tasks_for(module, cases, extra=None):
    tasks = []
    for case, options, _words in cases:
        args = dict(extra or {})
        args.update(options)
        tasks.append({"name": case, module: args, "ignore_errors": True})
    return tasks


def play(tasks, hosts="localhost"):
    return json.dumps([{"name": "Bad input", "hosts": hosts, "gather_facts": False, "tasks": tasks}])


def writes(k2sim):
    return [(a, e["method"], e["path"], e["status"]) for a in ("k2-a", "k2-b") for e in k2sim.journal(a)
            if e["method"] in WRITES]


def api(k2sim, array):
    session = requests.Session()
    session.auth = ("admin", k2sim.users["admin"]["password"])
    base = k2sim.arrays[array]["url"]

    def call(method, path, body=None, **params):
        answer = session.request(method, base + path, json=body, params=params, verify=k2sim.ca_path, timeout=30)
        answer.raise_for_status()
        return answer.json() if answer.content else None
    return call


def wait_for(check, timeout=120):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the scene never settled"
        time.sleep(0.1)


@pytest.fixture
def scene(k2sim):
    """s1 in_sync on k2-a (remote_s1 in_sync on k2-b), s2 idle on k2-a; journals cleared."""
    a = api(k2sim, "k2-a")
    s1 = a("POST", SESSIONS, session_body("s1"))
    a("POST", SESSIONS, session_body("s2", vg_id=5102))
    a("PATCH", "%s/%d" % (SESSIONS, s1["id"]), {"state": "in_sync"})
    b = api(k2sim, "k2-b")
    wait_for(lambda: [s["state"] for s in b("GET", SESSIONS, name="remote_s1")["hits"]] == ["in_sync"])
    k2sim.clear_journal()
    return k2sim


def check_cases(result, cases, count):
    problems = []
    for case, _options, words in cases:
        entry = result.entry(case)
        msg = str(entry["result"].get("msg", ""))
        if entry["status"] != "failed":
            problems.append("%s: not refused (%s): %s" % (case, entry["status"], entry["result"]))
        missing = [w for w in words if w not in msg]
        if missing:
            problems.append("%s: %s not in the message %r" % (case, missing, msg))
        if "Traceback" in msg:
            problems.append("%s: a traceback: %s" % (case, msg))
    count.append(len(cases))
    return problems


@pytest.fixture(scope="module")
def count(matrix):
    found = []
    yield found
    matrix.note("bad-input cases checked: %d (each refused naming the option or cause, 0 writes)" % sum(found))


def test_the_modules_refuse_bad_input_and_write_nothing(scene, run_playbook, count):
    extra_vars = {"k2b_host": scene.arrays["k2-b"]["host"]}
    tasks = (tasks_for("kaminario.k2.k2_replication_session", SESSION_CASES)
             + tasks_for("kaminario.k2.k2_replication_session_info", INFO_CASES)
             + tasks_for("kaminario.k2.k2_replication_topology", TOPOLOGY_CASES))
    result = run_playbook(play(tasks), extra_vars=extra_vars)
    assert result.rc == 0, result  # every case is ignore_errors
    problems = check_cases(result, SESSION_CASES, count) + check_cases(result, INFO_CASES, count) + \
        check_cases(result, TOPOLOGY_CASES, count)
    assert not problems, "\n".join(problems)
    assert writes(scene) == []
    names = sorted(s["name"] for s in scene.dump("k2-a")["objects"]["replication/sessions"])
    assert names == ["s1", "s2"]


@pytest.mark.parametrize("role", ["replication_topology", "drift_report"])
def test_the_roles_refuse_a_malformed_declaration_before_any_request(k2sim, run_playbook, count, role):
    """One run for every case: the role included once per case in a block whose rescue lets the next
    case run. Each must fail before any request, naming the pair and the option, with no argument
    spec in the output."""
    tasks = []
    for case, topology, _words in ROLE_CASES:
        include = {"name": "Include the role", "ansible.builtin.include_role": {"name": "kaminario.k2." + role}}
        if topology is not None:
            include["vars"] = {"k2_topology": topology}
        tasks += [{"name": "case: " + case, "ansible.builtin.debug": {"msg": case}},
                  {"name": "Run the role", "block": [include],
                   "rescue": [{"name": "rescued", "ansible.builtin.debug": {"msg": "{{ ansible_failed_task.name }}"}}]}]
    plays = [{"name": role, "hosts": "k2-a", "gather_facts": False, "connection": "local", "tasks": tasks}]
    result = run_playbook(json.dumps(plays), inventory=arrays_inventory(k2sim))
    assert result.rc == 0, result  # every case rescued
    problems = []
    for i, (case, _topology, words) in enumerate(ROLE_CASES):
        start = result.tasks.index(result.entries("case: " + case)[0])
        found = []
        for entry in result.tasks[start + 1:]:
            if entry["task"].startswith("case: "):
                break
            if entry["status"] == "failed":
                found.append(entry)
        if not found:
            problems.append("%s: not refused" % case)
            continue
        res = found[0]["result"]
        msg = str(res.get("msg", ""))
        if not (found[0]["task"].endswith("Check the declaration and plan the reads of every array (no request)")
                or res.get("validate_args_context", {}).get("name") == role):
            problems.append("%s: failed in %r, not by the declaration check: %s" % (case, found[0]["task"], msg))
        problems += ["%s: %r not in %r" % (case, w, msg) for w in words if w not in msg]
        if "argument_spec_data" in res or "argument_spec" in msg:
            problems.append("%s: the argument spec is dumped" % case)
    count.append(len(ROLE_CASES))
    assert not problems, "\n".join(problems)
    assert "argument_spec" not in result.stdout
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []


DR_CASES = [
    ("failover.yml", {"k2_failover_pairs": ["no-such-pair"]}, ["no-such-pair"]),
    ("failover.yml", {"k2_failover_pairs": ["p1"], "k2_failover_source": "k2-a"}, ["k2_failover_pairs",
                                                                                   "k2_failover_source"]),
    ("failover.yml", {}, ["k2_failover_pairs", "k2_failover_source"]),
    ("failback.yml", {"k2_failback_pairs": ["p1"], "k2_failback_stop_after": "never"}, ["k2_failback_stop_after"]),
    ("failback.yml", {"k2_failback_source": "k2-z"}, ["k2-z"]),
]


@pytest.mark.parametrize("playbook, extra, words", DR_CASES, ids=["%s %s" % (c[0], sorted(c[1])) for c in DR_CASES])
def test_the_dr_playbooks_refuse_a_bad_selection(k2sim, run_playbook, playbook, extra, words, count):
    path = os.path.join(REPO_ROOT, "playbooks", playbook)
    if not os.path.exists(path):
        pytest.skip("%s is not merged yet" % playbook)
    result = run_playbook(path, inventory=arrays_inventory(k2sim),
                          extra_vars=dict(extra, k2_topology={"pairs": [PAIR]}))
    assert result.rc != 0, result
    failed = [t for t in result.tasks if t["status"] == "failed"]
    assert failed, result
    msg = json.dumps(failed[0]["result"].get("msg", ""))
    assert all(w in msg for w in words), (words, msg)
    count.append(1)
    assert writes(k2sim) == []


def test_connection_problems_fail_naming_the_cause_and_write_nothing(k2sim, run_playbook, count, tmp_path):
    """401, 403 (the read-only user writing), an untrusted certificate with validate_certs on, a
    ca_path that does not exist, a ca_path that is not the array's CA, an unreachable host (a closed
    loopback port: bounded retries), a password given as a number."""
    closed = _closed_port()
    other_ca = tmp_path / "other-ca.pem"
    import trustme
    other_ca.write_bytes(trustme.CA().cert_pem.bytes())
    create = {"name": "denied", "replication_peer_k2array": "k2-b", "local_volume_group": "vg_oracle_prod", "rpo": 300}
    cases = [
        ("bad password (401)", dict(create, password="not-the-password"), ["HTTP 401", "GET /replication/sessions"]),
        ("read-only user writing (403)", dict(create, username="monitor",
                                              password=k2sim.users["monitor"]["password"]),
         ["POST /replication/sessions", "HTTP 403"]),
        ("untrusted certificate", dict(create, ca_path=""), ["certificate verify failed", "validate_certs"]),
        ("ca_path that does not exist", dict(create, ca_path=str(tmp_path / "nope.pem")),
         ["ca_path", "no such file"]),
        ("ca_path of another CA", dict(create, ca_path=str(other_ca)), ["certificate verify failed"]),
    ]
    unreachable = ("unreachable host", dict(create, host="127.0.0.1:%d" % closed),
                   ["127.0.0.1:%d" % closed, "Connection refused", "gave up after 6 attempts"])
    # The unreachable host runs in line with the others: an async task would depend on where the
    # async job files go (~/.ansible_async of whatever HOME the run has), not on the module.
    tasks = tasks_for("kaminario.k2.k2_replication_session", cases + [unreachable])
    result = run_playbook(play(tasks))
    assert result.rc == 0, result
    problems = check_cases(result, cases + [unreachable], count)
    assert not problems, "\n".join(problems)
    # The 403: the array refused the POST it received; nothing else reached either array as a write.
    assert writes(k2sim) == [("k2-a", "POST", "/api/v2" + SESSIONS, 403)]
    assert "denied" not in [s["name"] for s in k2sim.dump("k2-a")["objects"]["replication/sessions"]]


def test_wait_timeout_exceeded_sends_only_the_write_before_it(scene, run_playbook, count):
    scene.set_delay(30)
    s1 = next(s for s in scene.dump("k2-a")["objects"]["replication/sessions"] if s["name"] == "s1")
    tasks = [
        {"name": "wait_timeout exceeded", "ignore_errors": True, "kaminario.k2.k2_replication_session": {
            "name": "s1", "replication_state": "idle", "wait_timeout": 2}},
        {"name": "topology wait_timeout exceeded", "ignore_errors": True, "kaminario.k2.k2_replication_topology": {
            "sessions": [{"name": "s2", "replication_state": "in_sync"}], "wait_timeout": 2}},
    ]
    result = run_playbook(play(tasks))
    assert result.rc == 0, result
    problems = check_cases(result, [
        ("wait_timeout exceeded", None, ["'s1' (id %d) is still in_sync, not suspended" % s1["id"],
                                         "wait_timeout (2 s) ran out"]),
        ("topology wait_timeout exceeded", None, ["s2 (failed)", "is still idle, not in_sync", "wait_timeout (2 s)"]),
    ], count)
    assert not problems, "\n".join(problems)
    # Exactly the first hop of each: nothing after it.
    paths = dict((s["name"], "/api/v2%s/%d" % (SESSIONS, s["id"]))
                 for s in scene.dump("k2-a")["objects"]["replication/sessions"])
    assert [(m, p, b) for m, p, b in [(e["method"], e["path"], e["body"]) for e in scene.journal("k2-a")]
            if m in WRITES] == [("PATCH", paths["s1"], {"state": "suspended"}), ("PATCH", paths["s2"], {"state": "in_sync"})]


def _closed_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
