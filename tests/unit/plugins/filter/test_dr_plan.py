# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dr_plan filters: selecting pairs (exactly one of names and source, errors naming the
variable), the failover items and report, and the filters the failback playbook calls."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter import dr_plan
from ansible_collections.kaminario.k2.plugins.filter.dr_plan import (
    dr_pairs,
    failback_plan,
    failback_summary,
    failback_waiting,
    failover_items,
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
    ({"pairs": [3]}, "expected pair names \\(strings\\), got 3"),
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


def test_failover_items_are_the_target_sides_on_that_array_only():
    selected = dr_pairs(TOPOLOGY, source="k2-a", arrays=ARRAYS)
    assert failover_items(selected, "k2-b") == [
        {"name": "remote_ora", "current_role": "target", "replication_state": "failed_over",
         "restored_snapshot": "latest"}]
    assert failover_items(selected, "k2-c", restored_snapshot="/snapshots/8") == [
        {"name": "sql_dr", "current_role": "target", "replication_state": "failed_over",
         "restored_snapshot": "/snapshots/8"}]
    assert failover_items(selected, "k2-a") == []
    for none in (None, "", "none"):
        assert "restored_snapshot" not in failover_items(selected, "k2-b", restored_snapshot=none)[0]


def test_the_failover_report_reads_the_module_result_pair_by_pair():
    selected = dr_pairs(TOPOLOGY, pairs=["ora", "sql"], arrays=ARRAYS)
    result = {"sessions": [{"name": "remote_ora", "status": "changed", "actions": [{}],
                            "session": {"state": "failed_over", "restored_snapshot": {"ref": "/snapshots/5"}}}]}
    assert failover_report(selected, "k2-b", result) == [
        {"pair": "ora", "source": "k2-a", "array": "k2-b", "session": "remote_ora", "status": "failed_over",
         "state": "failed_over", "restored_snapshot": "/snapshots/5", "msg": ""}]
    assert failover_report(selected, "k2-b", result, check_mode=True)[0]["status"] == "would_fail_over"
    result["sessions"][0].update(status="ok")
    assert failover_report(selected, "k2-b", result)[0]["status"] == "already_failed_over"
    failed = {"sessions": [{"name": "sql_dr", "status": "failed", "session": {"state": "in_sync"},
                            "msg": "restored_snapshot=latest: replication session 'sql_dr' has no "
                                   "latest_replicated_snapshot"}]}
    record = failover_report(selected, "k2-c", failed)[0]
    assert (record["status"], record["state"], record["restored_snapshot"]) == ("failed", "in_sync", None)
    assert record["msg"].startswith("restored_snapshot=latest")
    # The module failed as a whole (say, the DR array is unreachable): every pair of it failed.
    record = failover_report(selected, "k2-b", {"failed": True, "msg": "cannot connect to k2-b"})[0]
    assert (record["status"], record["msg"]) == ("failed", "cannot connect to k2-b")


def test_the_failover_summary_counts_and_writes_one_line_per_pair():
    records = [[{"pair": "ora", "source": "k2-a", "array": "k2-b", "session": "remote_ora", "status": "failed_over",
                 "state": "failed_over", "restored_snapshot": "/snapshots/5", "msg": ""}],
               [{"pair": "sql", "source": "k2-a", "array": "k2-c", "session": "sql_dr", "status": "failed",
                 "state": "in_sync", "restored_snapshot": None, "msg": "no snapshot"},
                {"pair": "x", "source": "k2-a", "array": "k2-c", "session": "remote_x",
                 "status": "already_failed_over", "state": "failed_over", "restored_snapshot": None, "msg": ""}]]
    summary = failover_summary(records)
    assert [r["pair"] for r in summary["pairs"]] == ["ora", "sql", "x"]
    assert (summary["failed_over"], summary["already_failed_over"], summary["failed"], summary["reversed"],
            summary["would_fail_over"]) == (1, 1, 1, 0, 0)
    assert summary["lines"] == [
        "ora: remote_ora on k2-b failed_over, state failed_over, restored snapshot /snapshots/5",
        "sql: sql_dr on k2-c failed, state in_sync: no snapshot",
        "x: remote_x on k2-c already_failed_over, state failed_over"]


def test_the_failback_filters_wrap_the_model():
    selected = dr_pairs(TOPOLOGY, pairs="ora", arrays=ARRAYS)
    readings = {"k2-a": [{"name": "ora", "current_role": "source", "state": "suspended"}],
                "k2-b": [{"name": "remote_ora", "current_role": "target", "state": "failed_over", "id": 3}]}
    plan = failback_plan(selected, readings, step="reverse")
    assert plan["act"] == {"k2-b": [{"name": "remote_ora", "current_role": "target", "replication_state": "in_sync"}]}
    assert [e["name"] for e in failback_waiting(readings["k2-a"], plan["expect"]["k2-a"])] == ["ora"]
    assert failback_waiting(None, None) == []
    with pytest.raises(AnsibleFilterError, match="step must be one of"):
        failback_plan(selected, readings, step="nope")
    summary = failback_summary(plan, failback_plan(selected, readings), stopped_after="")
    assert summary["stopped_after"] is None and summary["unfinished"] == ["ora"]


def test_every_filter_has_its_documentation_file():
    import os
    folder = os.path.dirname(dr_plan.__file__)
    for name in dr_plan.FilterModule().filters():
        assert os.path.isfile(os.path.join(folder, name + ".yml")), name
