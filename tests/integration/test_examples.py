# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documented examples run, as written, against the simulator: the EXAMPLES of every filter (each
where its inputs come from: a play of the simulator arrays, after the role or playbook whose variables
the example reads), and the example play of each role's README. (The modules' EXAMPLES: in each
module's own test file, test_replication_session*.py and test_replication_topology.py.)

Glue tasks the examples need around them are named "(test glue) ...". A task without connection
options takes the array from the play's module_defaults, as the README shows."""

import json
import os

import requests
import yaml
from harness import REPO_ROOT, arrays_inventory, eventually, run_playbook as run_with, session_body
from harness.contents import filters, modules
from harness.docs import doc_block
from harness.dr import converge_example, example_topology, pairs_of, sessions_on, snapshot_all


FILTERS = os.path.join(REPO_ROOT, "plugins", "filter")
MODULE_DEFAULTS = {"group/kaminario.k2.k2": {"host": "{{ k2_host }}"}}


def filter_example(name, **changes):
    """The EXAMPLES tasks of filter `name` (plugins/filter/NAME.yml); `changes` update the first task."""
    with open(os.path.join(FILTERS, name + ".yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(yaml.safe_load(handle)["EXAMPLES"])
    assert tasks, name
    tasks[0].update(changes)
    return tasks


def glue(name, **task):
    return dict(name="(test glue) " + name, **task)


def arrays_play(name, tasks, **extra):
    play = {"name": name, "hosts": "k2_arrays", "connection": "local", "gather_facts": False,
            "module_defaults": MODULE_DEFAULTS, "tasks": tasks}
    play.update(extra)
    return play


def run_plays(k2sim, plays, tmp_path, extra_vars=None, name="run"):
    """`plays` (dicts, or an import_playbook path) on the simulator arrays as hosts of k2_arrays."""
    text = yaml.safe_dump([{"import_playbook": p} if isinstance(p, str) else p for p in plays], sort_keys=False)
    result = run_with(k2sim, text, extra_vars=extra_vars, inventory=arrays_inventory(k2sim),
                      workdir=str(tmp_path / name))
    assert result.rc == 0, result
    return result


def facts(result, task, host):
    [entry] = [e for e in result.entries(task) if e["host"] == host]
    return entry["result"].get("ansible_facts", entry["result"])


def readme_play(role, block_id):
    """The example play of the role's README (its block marked doc-test: `block_id`), which uses the role."""
    block = doc_block(block_id)
    assert block.path == "roles/%s/README.md" % role, block.where()
    plays = yaml.safe_load(block.text)
    assert isinstance(plays, list) and plays and "hosts" in plays[0], block.where()
    assert "kaminario.k2." + role in json.dumps(plays), role
    return plays


def readme_topology(block_id):
    return yaml.safe_load(doc_block(block_id).text)["k2_topology"]


def changed_count(result):
    return sum(1 for t in result.tasks if t["status"] == "changed")


# ---- the roles' README example plays ---------------------------------------------------------------


def test_the_role_readme_plays_run(k2sim, tmp_path):
    """replication_topology's play with the README's own k2_topology converges it, a second run changes
    nothing; then drift_report's play (read-only) finds every pair of it in sync."""
    topology = readme_topology("topology-role-declaration")
    apply = readme_play("replication_topology", "topology-role-play")
    first = run_plays(k2sim, apply, tmp_path, {"k2_topology": topology}, name="apply")
    assert changed_count(first) > 0
    on_a, on_b = sessions_on(k2sim, "k2-a"), sessions_on(k2sim, "k2-b")
    for pair in topology["pairs"]:
        source, target = (on_a, on_b) if pair["source"] == "k2-a" else (on_b, on_a)
        target_name = pair.get("target_session", "remote_" + pair["name"])
        if pair.get("state") == "absent":
            assert pair["name"] not in source and target_name not in target
        else:
            assert source[pair["name"]]["state"] == "in_sync" and target[target_name]["current_role"] == "target"
    again = run_plays(k2sim, apply, tmp_path, {"k2_topology": topology}, name="again")
    assert changed_count(again) == 0, [(t["task"], t["host"]) for t in again.tasks if t["status"] == "changed"]

    k2sim.clear_journal()
    report = run_plays(k2sim, readme_play("drift_report", "drift-report-role-play"), tmp_path, name="drift",
                       extra_vars={"k2_topology": topology, "drift_report_dir": str(tmp_path / "reports")})
    with open(tmp_path / "reports" / "drift_report.json", encoding="utf-8") as handle:
        found = json.load(handle)
    assert {p["name"]: p["status"] for p in found["pairs"]} == {p["name"]: "in_sync" for p in topology["pairs"]}
    assert not [e for array in ("k2-a", "k2-b") for e in k2sim.journal(array) if e["method"] != "GET"]
    assert report.rc == 0


# ---- the filters' EXAMPLES ---------------------------------------------------------------------------


def api_call(k2sim, array, method, path, body):
    """(test glue) A write to the simulator's API, as the admin account."""
    with requests.Session() as http:
        http.auth = ("admin", k2sim.users["admin"]["password"])
        answer = http.request(method, k2sim.arrays[array]["url"] + path, json=body, verify=k2sim.ca_path, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_topology_filter_examples_plan_and_apply_the_example_topology(k2sim, tmp_path):
    """topology_options (role variables as -e strings), topology_reads (the reads of every array),
    topology_plan, topology_advance (stages converge and follow) and topology_summary, one after the
    other in one play on both arrays, as the role chains them: the example topology is applied, an
    undeclared session with the prefix is pruned, and a second run plans every pair in_sync and writes
    nothing."""
    api_call(k2sim, "k2-a", "POST", "/replication/sessions", session_body(name="tmp_old", vg_id=5103))
    tasks = [filter_example("topology_options"), filter_example("topology_reads"), filter_example("topology_plan"),
             filter_example("topology_advance"), filter_example("topology_summary")]
    play = arrays_play("topology", [task for example in tasks for task in example])
    variables = {"k2_topology": example_topology(), "replication_topology_prune": "true",
                 "replication_topology_prune_prefix": "tmp_", "replication_topology_wait_timeout": "300"}
    result = run_plays(k2sim, [play], tmp_path, variables, name="first")
    options = facts(result, tasks[0][0]["name"], "k2-a")["options"]
    assert options == {"prune": True, "prune_prefix": "tmp_", "allow_partial": False, "wait_timeout": 300,
                       "follow_timeout": 120}
    to_read = facts(result, tasks[1][0]["name"], "k2-a")["to_read"]
    assert to_read["k2-a"]["names"] == ["oracle_prod", "sql_prod", "reports_dr_copy"]
    assert [item["name"] for item in to_read["k2-b"]["check"]] == ["reports_dr"]
    planned = facts(result, tasks[2][0]["name"], "k2-a")["plan"]
    assert [(p["name"], p["status"]) for p in planned["pairs"]] == [
        ("oracle_prod", "missing"), ("sql_prod", "missing"), ("reports_dr", "missing")]
    assert planned["prune"] == [{"array": "k2-a", "name": "tmp_old", "note": None}] and not planned["stop"]
    on = {a: sessions_on(k2sim, a) for a in ("k2-a", "k2-b")}
    for source, name, target, remote in pairs_of(example_topology()).values():
        assert on[source][name]["state"] == "in_sync" and on[source][name]["current_role"] == "source", name
        assert (on[target][remote]["current_role"], on[target][remote]["state"]) == ("target", "in_sync"), remote
    assert "tmp_old" not in on["k2-a"] and on["k2-b"]["remote_tmp_old"]["current_role"] == "target"
    summary = facts(result, tasks[4][0]["name"], "k2-a")["summary"]
    assert summary["counts"] == {"done": 3, "failed": 0, "refused": 0} and summary["failed"] == []
    assert summary["lines"][0] == "topology: 3 pairs, 3 changed, 0 failed, 0 refused"
    assert summary["lines"][-1] == "prune: tmp_old on k2-a: pruned"
    assert result.status(tasks[4][-1]["name"]) == "skipped"

    k2sim.clear_journal()
    again = run_plays(k2sim, [play], tmp_path, variables, name="again")
    planned = facts(again, tasks[2][0]["name"], "k2-a")["plan"]
    assert {p["status"] for p in planned["pairs"]} == {"in_sync"} and planned["prune"] == []
    assert facts(again, tasks[4][0]["name"], "k2-a")["summary"]["lines"] == [
        "topology: 3 pairs, 0 changed, 0 failed, 0 refused"]
    assert [(a, e["method"], e["path"]) for a in ("k2-a", "k2-b") for e in k2sim.journal(a) if e["method"] != "GET"] == []


def test_failover_and_failback_examples_run(k2sim, tmp_path):
    """dr_pairs, dr_needed_arrays, failover_plan, failover_report, failover_summary: the failover of the
    pairs from k2-a, on the DR array only; then failback_plan (step reverse, on both arrays) and
    failback_summary."""
    converge_example(k2sim, str(tmp_path / "converge"))
    snapshot_all(k2sim)
    k2sim.clear_journal()
    select = filter_example("dr_pairs")
    needed = filter_example("dr_needed_arrays")
    plan = filter_example("failover_plan")
    report = filter_example("failover_report")
    summary = filter_example("failover_summary")
    # On the DR array only, as playbooks/failover.yml runs it (k2-a, the source, may be down).
    result = run_plays(k2sim, [arrays_play("failover", select + needed + plan + report + summary, hosts="k2-b")],
                       tmp_path, {"k2_topology": example_topology(), "k2_failover_source": "k2-a"}, name="failover")
    selected = facts(result, select[0]["name"], "k2-b")["selected"]
    assert [p["name"] for p in selected] == ["oracle_prod", "sql_prod"]
    assert result.status(needed[0]["name"]) == "ok"
    planned = facts(result, plan[1]["name"], "k2-b")["plan"]
    assert [(r["pair"], r["status"]) for r in planned["pairs"]] == [("oracle_prod", "planned"), ("sql_prod", "planned")]
    assert sorted(planned["act"]) == ["k2-b"]
    on_b = sessions_on(k2sim, "k2-b")
    assert on_b["remote_oracle_prod"]["state"] == on_b["remote_sql_prod"]["state"] == "failed_over"
    assert on_b["reports_dr"]["state"] == "in_sync"  # k2-b's own pair is not selected
    records = facts(result, report[1]["name"], "k2-b")["report"]
    assert [(r["pair"], r["status"]) for r in records] == [("oracle_prod", "failed_over"), ("sql_prod", "failed_over")]
    done = facts(result, summary[0]["name"], "k2-b")["summary"]
    assert (done["failed_over"], done["failed_pairs"]) == (2, [])
    assert done["lines"][0].startswith("oracle_prod: remote_oracle_prod on k2-b failed_over")
    assert result.status(summary[-1]["name"]) == "skipped"
    assert not [e for e in k2sim.journal("k2-a") if e["method"] != "GET"]

    back = filter_example("failback_plan")
    start = glue("Keep the plan at the start", run_once=True, **{"ansible.builtin.set_fact": {"start": "{{ plan }}"}})
    reread = [dict(task, name="(test glue) again: " + task["name"]) for task in back[:2]]
    summarise = filter_example("failback_summary")
    tasks = [glue("Select", **{"ansible.builtin.set_fact": {"selected": selected}})] + back[:2] + [start] + back[2:] \
        + reread + summarise
    result = run_plays(k2sim, [arrays_play("failback", tasks)], tmp_path, {"k2_topology": example_topology()},
                       name="failback")
    planned = facts(result, back[1]["name"], "k2-a")["plan"]
    assert [(r["pair"], r["phase"]) for r in planned["pairs"]] == [("oracle_prod", "failed_over"),
                                                                   ("sql_prod", "failed_over")]
    assert sorted(planned["act"]) == ["k2-b"] and sorted(planned["expect"]) == ["k2-a", "k2-b"]
    assert {e["host"]: e["status"] for e in result.entries(back[2]["name"])} == {"k2-a": "skipped", "k2-b": "changed"}
    polls = result.entries(back[4]["name"])
    assert {e["host"] for e in polls} == {"k2-a", "k2-b"} and all(e["status"] == "ok" for e in polls), polls
    on_a = sessions_on(k2sim, "k2-a")
    assert on_a["oracle_prod"]["current_role"] == on_a["sql_prod"]["current_role"] == "target"
    ended = facts(result, summarise[0]["name"], "k2-a")["summary"]
    assert [(r["pair"], r["started"], r["phase"]) for r in ended["pairs"]] == [
        ("oracle_prod", "failed_over", "reversed"), ("sql_prod", "failed_over", "reversed")]
    assert ended["unfinished"] == ["oracle_prod", "sql_prod"] and ended["stopped_after"] is None
    assert ended["lines"][0].startswith("oracle_prod (k2-a -> k2-b): reversed (was failed_over); next: ")


def test_drift_report_examples_recompute_the_role_report(k2sim, tmp_path):
    """After the role's reads (the role drift_report runs them): the report as the role wrote it, with
    sql_prod failed over on k2-b (its status, its fix, its RPO breach), and the Markdown and the HTML
    of it."""
    converge_example(k2sim, str(tmp_path / "converge"))
    remote = sessions_on(k2sim, "k2-b")["remote_sql_prod"]
    api_call(k2sim, "k2-b", "PATCH", "/replication/sessions/%d" % remote["id"], {"state": "failed_over"})
    assert eventually(lambda: sessions_on(k2sim, "k2-a")["sql_prod"]["state"] == "suspended")
    markdown = tmp_path / "drift_report.md"
    compute = filter_example("drift_report")
    write = filter_example("drift_report_markdown")
    write[0]["ansible.builtin.copy"]["dest"] = str(markdown)
    write[0]["run_once"] = True
    page = tmp_path / "drift_report.html"
    draw = filter_example("drift_report_html")
    draw[0]["ansible.builtin.copy"]["dest"] = str(page)
    draw[0]["run_once"] = True
    play = {"name": "Drift", "hosts": "k2_arrays", "connection": "local", "gather_facts": False,
            "roles": [{"role": "kaminario.k2.drift_report"}], "post_tasks": compute + write + draw}
    variables = {"k2_topology": example_topology(), "drift_report_dir": str(tmp_path / "reports")}
    result = run_plays(k2sim, [play], tmp_path, variables)
    report = facts(result, compute[1]["name"], "k2-a")["report"]
    with open(tmp_path / "reports" / "drift_report.json", encoding="utf-8") as handle:
        written = json.load(handle)
    assert [(p["name"], p["status"]) for p in report["pairs"]] == [(p["name"], p["status"]) for p in written["pairs"]]
    assert [(p["name"], p["status"]) for p in report["pairs"]] == [
        ("oracle_prod", "in_sync"), ("sql_prod", "failed_over"), ("reports_dr", "in_sync")]
    assert "playbooks/failback.yml" in report["pairs"][1]["fix"]
    assert report["summary"]["unread"] == 0 and result.status(compute[2]["name"]) == "skipped"
    # Health: sql_prod (declared in_sync) no longer replicates, the others meet their RPO.
    judged = [(h["pair"], h["status"], h["breach"]) for h in report["health"]]
    assert judged[0] == ("sql_prod", "not_replicating", True)
    assert sorted(judged[1:]) == [("oracle_prod", "ok", False), ("reports_dr", "ok", False)]
    assert [(h["pair"], h["status"]) for h in report["health"]] == [(h["pair"], h["status"]) for h in written["health"]]
    assert result.task(compute[3]["name"])["msg"] == [
        "rpo breach: sql_prod (k2-a -> k2-b): Not replicating: the session is suspended (suspend_reason_code "
        "peer_failed_over)."]
    text = markdown.read_text()
    assert "### sql\\_prod: failed_over" in text and "Fix: run playbooks\\/failback\\.yml" in text
    assert "**RPO breached**: 3 of 3 pairs judged; 1 breaches its RPO." in text
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "sql_prod" in html
    for pair in example_topology()["pairs"]:
        assert pair["name"].replace("_", "\\_") in text
        assert 'data-pair="%s"' % pair["name"] in html


class TaggedLoader(yaml.SafeLoader):
    """Reads an exported declaration whose values from the arrays are tagged !unsafe, as plain values."""


TaggedLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_topology_export_example_builds_what_the_playbook_writes(k2sim, tmp_path):
    """After playbooks/export_topology.yml (its reads, under the names the examples use): the
    declaration topology_export builds is the one the playbook wrote; topology_export_document writes
    the same declaration."""
    converge_example(k2sim, str(tmp_path / "converge"))
    path = tmp_path / "k2_topology.yml"
    keep = glue("Keep the readings under the examples' names", **{"ansible.builtin.set_fact": {
        "export_sessions": "{{ export_topology_sessions }}", "export_peers": "{{ export_topology_peers }}"}})
    example = filter_example("topology_export")
    document = filter_example("topology_export_document")
    result = run_plays(k2sim, [os.path.join(REPO_ROOT, "playbooks", "export_topology.yml"),
                               arrays_play("export", [keep] + example + document)], tmp_path,
                       {"export_topology_path": str(path)})
    exported = facts(result, example[0]["name"], "k2-a")["exported"]
    with open(path, encoding="utf-8") as handle:
        written = yaml.load(handle, Loader=TaggedLoader)
    assert exported["k2_topology"] == written["k2_topology"]
    assert sorted(p["name"] for p in exported["k2_topology"]["pairs"]) == \
        sorted(p["name"] for p in example_topology()["pairs"])
    with open(tmp_path / "run" / "k2_topology.yml", encoding="utf-8") as handle:
        assert yaml.load(handle, Loader=TaggedLoader)["k2_topology"] == written["k2_topology"]


def test_every_filter_has_its_documentation_and_no_other():
    """plugins/filter/NAME.yml for every filter a plugins/filter/*.py defines, and for nothing else."""
    assert sorted(n[:-4] for n in os.listdir(FILTERS) if n.endswith(".yml")) == filters()


def test_every_filter_has_its_examples_run_here():
    """A new filter documentation file needs its example in this file."""
    with open(__file__, encoding="utf-8") as handle:
        source = handle.read()
    documented = sorted(n[:-4] for n in os.listdir(FILTERS) if n.endswith(".yml"))
    assert documented
    assert [n for n in documented if 'filter_example("%s"' % n not in source] == []


def test_every_module_has_its_examples_run():
    """Each module's EXAMPLES run in its own test file (yaml.safe_load(<module>.EXAMPLES) there)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sources = ""
    for name in sorted(os.listdir(here)):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(here, name), encoding="utf-8") as handle:
                sources += handle.read()
    assert modules()
    assert [m for m in modules() if "yaml.safe_load(%s.EXAMPLES)" % m not in sources] == []


def test_report_dir_example_names_the_folder_next_to_the_playbook(k2sim, tmp_path):
    """report_dir in a play whose playbook lies in a folder this user may write: reports/ next to it."""
    example = filter_example("report_dir")
    result = run_plays(k2sim, [arrays_play("report_dir", example, hosts="k2-a")], tmp_path)
    assert result.task(example[0]["name"])["msg"] == str(tmp_path / "run" / "reports")
