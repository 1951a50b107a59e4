# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dr_plan filters: selecting pairs (exactly one of names and source, errors naming the
variable), the arrays a selection needs in the run, the failover plan, report and summary, and the
filters the failback playbook calls."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter import dr_plan
from ansible_collections.kaminario.k2.plugins.filter.dr_plan import (
    dr_pairs,
    failback_plan,
    failback_summary,
    dr_needed_arrays,
    failover_plan,
    failover_report,
    failover_summary,
)

ARRAYS = ["k2-a", "k2-b", "k2-c"]
TOPOLOGY = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
    {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ora"},
    {"name": "sql", "source": "k2-a", "target": "k2-c", "volume_group": "vg_sql", "target_session": "sql_dr"},
    {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_rep"},
    {"name": "old", "source": "k2-a", "target": "k2-b", "state": "absent"},
]}
LABELS = ["k2_failover_pairs", "k2_failover_source"]


def names(selected):
    return [p["name"] for p in selected]


def test_pairs_are_selected_by_name_as_a_list_or_a_comma_separated_string():
    assert names(dr_pairs(TOPOLOGY, pairs=["rep", "ora"], arrays=ARRAYS)) == ["ora", "rep"]  # declared order
    assert names(dr_pairs(TOPOLOGY, pairs=" sql, rep ,", arrays=ARRAYS)) == ["sql", "rep"]


def test_a_pair_name_with_a_comma_is_selected_whole_or_in_a_list():
    topology = {"pairs": [{"name": "a,b", "source": "k2-a", "target": "k2-b", "volume_group": "v"},
                          {"name": "a", "source": "k2-a", "target": "k2-b", "volume_group": "w"}]}
    assert names(dr_pairs(topology, pairs="a,b", arrays=ARRAYS)) == ["a,b"]
    assert names(dr_pairs(topology, pairs=["a,b"], arrays=ARRAYS)) == ["a,b"]


def test_pairs_are_selected_by_source_array_absent_pairs_left_out():
    assert names(dr_pairs(TOPOLOGY, source="k2-a", arrays=ARRAYS)) == ["ora", "sql"]
    selected = dr_pairs(TOPOLOGY, source="k2-b", arrays=ARRAYS)
    assert names(selected) == ["rep"] and selected[0]["target_session"] == "remote_rep"


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"give exactly one of k2_failover_pairs \(a list of pair names\) and k2_failover_source \(an array name\)$"),
    ({"pairs": "", "source": ""}, "give exactly one of k2_failover_pairs"),
    ({"pairs": [], "source": None}, "give exactly one of k2_failover_pairs"),
    ({"pairs": ["ora"], "source": "k2-a"}, "an array name\\), not both$"),
    ({"pairs": ["ora", "nope", "gone"]}, "k2_failover_pairs: unknown pair\\(s\\) nope, gone; the topology declares "
                                         "old, ora, rep, sql$"),
    ({"pairs": ["old"]}, "k2_failover_pairs: pair\\(s\\) old are declared state=absent"),
    ({"pairs": [3]}, "expected pair names \\(non-empty strings\\), got 3"),
    ({"pairs": [" ora"]}, "k2_failover_pairs: unknown pair\\(s\\)  ora;"),
    ({"pairs": {"ora": 1}}, "expected a list of pair names or a comma-separated string"),
    ({"source": "k2-z"}, "k2_failover_source: 'k2-z' is not an array of the inventory \\(known: k2-a, k2-b, k2-c\\)"),
    ({"source": "k2-c"}, "k2_failover_source: no present pair of the topology replicates from 'k2-c'"),
    ({"source": ["k2-a"]}, "k2_failover_source: expected the name of an array"),
])
def test_a_bad_selection_is_an_error_naming_the_variable(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        dr_pairs(TOPOLOGY, arrays=ARRAYS, labels=LABELS, **kwargs)


def test_an_invalid_topology_is_an_error_before_any_selection():
    with pytest.raises(AnsibleFilterError, match="source 'k2-q' is not an array of the inventory"):
        dr_pairs({"pairs": [{"name": "x", "source": "k2-q", "target": "k2-a", "volume_group": "v"}]},
                 pairs=["x"], arrays=ARRAYS)


def session(name, role="target", state="in_sync", **extra):
    found = {"name": name, "current_role": role, "state": state, "id": 3}
    found.update(extra)
    return found


def test_a_selection_needs_its_arrays_in_the_run():
    selected = dr_pairs(TOPOLOGY, source="k2-a", arrays=ARRAYS)
    assert dr_needed_arrays(selected, ["target"], ["k2-b", "k2-c"]) is True
    with pytest.raises(AnsibleFilterError, match=r"^k2-b, k2-c not in this run \(--limit or a job slice left them out\), "
                                                 r"but the selected pairs need them: k2-b for ora; k2-c for sql; "
                                                 r"nothing was changed$"):
        dr_needed_arrays(selected, ["target"], ["k2-a"])
    with pytest.raises(AnsibleFilterError, match=r"^k2-a not in this run \(--limit or a job slice left it out\)"):
        dr_needed_arrays(selected, ["source", "target"], ["k2-b", "k2-c"])


def test_the_failover_plan_fails_over_what_can_and_says_why_not_for_the_others():
    selected = dr_pairs(TOPOLOGY, pairs=["ora", "sql", "rep"], arrays=ARRAYS)
    readings = {
        "k2-b": {"sessions": [session("remote_ora", latest_replicated_snapshot={"ref": "/snapshots/5"},
                                      latest_replicated_snapshot_name="ora-snap-5")]},
        "k2-c": {"sessions": [session("sql_dr", state="idle")]},
        "k2-a": {"failed": True, "msg": "cannot connect to k2-a"},
    }
    plan = failover_plan(selected, readings)
    assert plan["act"] == {"k2-b": [{"name": "remote_ora", "current_role": "target",
                                     "replication_state": "failed_over", "restored_snapshot": "latest"}]}
    by_pair = dict((r["pair"], r) for r in plan["pairs"])
    assert (by_pair["ora"]["status"], by_pair["ora"]["restored_snapshot"]) == ("planned", "ora-snap-5")
    assert by_pair["sql"]["status"] == "skipped" and "idle" in by_pair["sql"]["msg"]
    assert by_pair["rep"]["status"] == "refused" and by_pair["rep"]["msg"] == "k2-a could not be read: cannot connect to k2-a"
    # A snapshot whose name could not be read: the summary says what was sent, never its ref.
    del readings["k2-b"]["sessions"][0]["latest_replicated_snapshot_name"]
    by_pair = dict((r["pair"], r) for r in failover_plan(selected, readings)["pairs"])
    assert by_pair["ora"]["restored_snapshot"] == "latest"


@pytest.mark.parametrize("target, restored, status, words", [
    (None, "latest", "refused", ["the target half remote_ora does not exist on k2-b"]),
    (session("remote_ora"), "latest", "refused",
     ["no snapshot has replicated to k2-b yet", "k2_failover_restored_snapshot=none"]),
    (session("remote_ora"), "none", "planned", []),
    (session("remote_ora", state="failed_over"), "latest", "already_failed_over", []),
    (session("remote_ora", role="source"), "latest", "reversed", ["already failed over and reversed"]),
    (session("remote_ora", primary=True, current_role=None), "latest", "reversed", []),
    (session("remote_ora", state="suspended"), "/snapshots/8", "planned", []),
])
def test_each_failover_case(target, restored, status, words):
    selected = dr_pairs(TOPOLOGY, pairs=["ora"], arrays=ARRAYS)
    plan = failover_plan(selected, {"k2-b": {"sessions": [target] if target else []}}, restored_snapshot=restored)
    record = plan["pairs"][0]
    assert record["status"] == status, record
    assert all(w in record["msg"] for w in words), record["msg"]
    if status == "planned":
        item = plan["act"]["k2-b"][0]
        assert item.get("restored_snapshot") == (None if restored == "none" else restored)
    else:
        assert plan["act"] == {}


def test_the_failover_report_reads_the_module_result_pair_by_pair():
    selected = dr_pairs(TOPOLOGY, pairs=["ora", "sql"], arrays=ARRAYS)
    readings = {"k2-b": {"sessions": [session("remote_ora", latest_replicated_snapshot={"ref": "/snapshots/5"})]},
                "k2-c": {"sessions": [session("sql_dr", latest_replicated_snapshot={"ref": "/snapshots/6"})]}}
    plan = failover_plan(selected, readings)
    results = {"k2-b": {"sessions": [{"name": "remote_ora", "status": "changed", "session": {"state": "failed_over"}}]},
               "k2-c": {"failed": True, "msg": "cannot connect to k2-c"}}
    records = failover_report(plan, results)
    assert [(r["pair"], r["status"], r["state"], r["msg"]) for r in records] == [
        ("ora", "failed_over", "failed_over", ""), ("sql", "failed", "in_sync", "cannot connect to k2-c")]
    assert failover_report(plan, results, check_mode=True)[0]["status"] == "would_fail_over"
    results["k2-b"]["sessions"][0].update(status="failed", msg="MC_ERR_X")
    assert failover_report(plan, results)[0]["msg"] == "MC_ERR_X"
    with pytest.raises(AnsibleFilterError, match="expected the result of kaminario.k2.failover_plan"):
        failover_report([], results)


def test_the_failover_summary_counts_and_writes_one_line_per_pair():
    records = [{"pair": "ora", "source": "k2-a", "array": "k2-b", "session": "remote_ora", "status": "failed_over",
                "state": "failed_over", "restored_snapshot": "ora-snap-5", "msg": ""},
               {"pair": "sql", "source": "k2-a", "array": "k2-c", "session": "sql_dr", "status": "refused",
                "state": "in_sync", "restored_snapshot": None, "msg": "no snapshot"},
               {"pair": "x", "source": "k2-a", "array": "k2-c", "session": "remote_x", "status": "skipped",
                "state": "idle", "restored_snapshot": None, "msg": "idle"}]
    summary = failover_summary(records)
    assert [r["pair"] for r in summary["pairs"]] == ["ora", "sql", "x"]
    assert (summary["failed_over"], summary["refused"], summary["skipped"], summary["failed"]) == (1, 1, 1, 0)
    assert summary["lines"] == [
        "ora: remote_ora on k2-b failed_over, state failed_over, restoring snapshot ora-snap-5",
        "sql: sql_dr on k2-c refused, state in_sync: no snapshot",
        "x: remote_x on k2-c skipped, state idle: idle"]
    assert summary["failed_pairs"] == ["sql"] and summary["failed_lines"] == [summary["lines"][1]]


def test_the_failback_filters_wrap_the_model():
    selected = dr_pairs(TOPOLOGY, pairs="ora", arrays=ARRAYS)
    readings = {"k2-a": {"sessions": [{"name": "ora", "current_role": "source", "state": "suspended"}]},
                "k2-b": {"sessions": [{"name": "remote_ora", "current_role": "target", "state": "failed_over", "id": 3}]}}
    plan = failback_plan(selected, readings, step="reverse")
    assert plan["act"] == {"k2-b": [{"name": "remote_ora", "current_role": "target", "replication_state": "in_sync"}]}
    with pytest.raises(AnsibleFilterError, match="step must be one of"):
        failback_plan(selected, readings, step="nope")
    summary = failback_summary(plan, failback_plan(selected, readings), stopped_after="")
    assert summary["stopped_after"] is None and summary["unfinished"] == ["ora"]


def test_every_filter_has_its_documentation_file():
    import os
    folder = os.path.dirname(dr_plan.__file__)
    for name in dr_plan.FilterModule().filters():
        assert os.path.isfile(os.path.join(folder, name + ".yml")), name
