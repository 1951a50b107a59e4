# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The details of the DR model that the walk-through tests in test_dr.py do not pin: the exact
records, the next step shown for every phase, several pairs in one run (a refused or waiting pair
never stops the pairs after it), the defaults of each function, and the words of each message."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.plugin_utils import dr
from ansible_collections.kaminario.k2.plugins.plugin_utils.pairs import normalize

ARRAYS = ["k2-a", "k2-b"]
PAIRS = normalize({"defaults": {"rpo": 300}, "pairs": [
    {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ora"},
    {"name": "sql", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql"},
    {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_rep", "target_session": "rep_copy"},
]}, ARRAYS)
ORA_SQL = PAIRS[:2]


def s(name, role, state, **extra):
    return dict({"name": name, "current_role": role, "state": state, "id": 7}, **extra)


# ---- selection and the arrays a run needs ------------------------------------------------------------


def test_selection_takes_a_tuple_of_names_and_names_its_default_variables_in_messages():
    assert [p["name"] for p in dr.select(PAIRS, names=("sql", "ora"))] == ["ora", "sql"]
    assert dr._names(None) == [] and dr._names(" ora , sql,") == ["ora", "sql"]
    with pytest.raises(dr.DrError, match=r"^give exactly one of pairs \(a list of pair names\) and source "
                                         r"\(an array name\), not both$"):
        dr.select(PAIRS, names=["ora"], source="k2-a")
    with pytest.raises(dr.DrError, match=r"^source: no present pair of the topology replicates from 'k2-c'$"):
        dr.select(PAIRS, source="k2-c")
    with pytest.raises(dr.DrError, match=r"^pairs: unknown pair\(s\) nope; the topology declares ora, rep, sql$"):
        dr.select(PAIRS, names="nope")


def test_the_arrays_of_a_selection_are_both_sides_by_default_once_each_in_order():
    assert dr.arrays_of(PAIRS) == ["k2-a", "k2-b"]
    assert dr.arrays_of(PAIRS[2:]) == ["k2-b", "k2-a"]
    assert dr.arrays_of(PAIRS[2:], ["target"]) == ["k2-a"]


def test_needed_arrays_says_it_for_one_array_and_them_for_two():
    with pytest.raises(dr.DrError) as one:
        dr.needed_arrays(ORA_SQL, ["target"], ["k2-a"])
    assert str(one.value) == ("k2-b not in this run (--limit or a job slice left it out), but the selected pairs "
                              "need it: k2-b for ora, sql; nothing was changed")
    with pytest.raises(dr.DrError) as two:
        dr.needed_arrays(PAIRS, ["source", "target"], [])
    assert str(two.value) == ("k2-a, k2-b not in this run (--limit or a job slice left them out), but the selected "
                              "pairs need them: k2-a for ora, sql, rep; k2-b for ora, sql, rep; nothing was changed")


@pytest.mark.parametrize("value, none", [
    (None, True), ("", True), ("  ", True), ("none", True), (" None ", True), ("null", True), ("NULL", True),
    ("latest", False), ("/snapshots/8", False), ("nul", False),
])
def test_no_snapshot_reads_every_way_an_operator_writes_none(value, none):
    assert dr.no_snapshot(value) is none


# ---- failover ---------------------------------------------------------------------------------------


def test_the_failover_records_are_whole_and_a_refused_pair_does_not_stop_the_next_ones():
    readings = {"k2-b": {"sessions": [s("remote_sql", "target", "in_sync", latest_replicated_snapshot={"ref": "/snapshots/5"},
                                        latest_replicated_snapshot_name="sql-snap-5")]},
                "k2-a": {"sessions": [s("rep_copy", "target", "failed_over")]}}
    plan = dr.failover_plan(PAIRS, readings)
    assert plan["pairs"] == [
        {"pair": "ora", "source": "k2-a", "array": "k2-b", "session": "remote_ora", "state": None,
         "restored_snapshot": None, "status": "refused", "msg": "the target half remote_ora does not exist on k2-b"},
        {"pair": "sql", "source": "k2-a", "array": "k2-b", "session": "remote_sql", "state": "in_sync",
         "restored_snapshot": "sql-snap-5", "status": "planned", "msg": ""},
        {"pair": "rep", "source": "k2-b", "array": "k2-a", "session": "rep_copy", "state": "failed_over",
         "restored_snapshot": None, "status": "already_failed_over", "msg": ""}]
    assert plan["act"] == {"k2-b": [{"name": "remote_sql", "current_role": "target", "replication_state": "failed_over",
                                     "restored_snapshot": "latest"}]}
    # An array that could not be read refuses its pairs only; the others still plan.
    readings["k2-b"] = {"failed": True}
    plan = dr.failover_plan(PAIRS, readings)
    assert [(r["pair"], r["status"], r["msg"]) for r in plan["pairs"]] == [
        ("ora", "refused", "k2-b could not be read: no answer"), ("sql", "refused", "k2-b could not be read: no answer"),
        ("rep", "already_failed_over", "")]


def test_reversed_idle_and_not_yet_replicated_pairs_do_not_stop_the_next_ones():
    readings = {"k2-b": {"sessions": [s("remote_ora", "source", "in_sync"), s("remote_sql", "target", "idle")]},
                "k2-a": {"sessions": [s("rep_copy", "target", "in_sync")]}}
    plan = dr.failover_plan(PAIRS, readings, restored_snapshot="none")
    assert [(r["pair"], r["status"], r["restored_snapshot"]) for r in plan["pairs"]] == [
        ("ora", "reversed", None), ("sql", "skipped", None), ("rep", "planned", None)]
    assert plan["pairs"][0]["msg"] == "already failed over and reversed: k2-b replicates from k2-b"
    assert plan["act"] == {"k2-a": [{"name": "rep_copy", "current_role": "target", "replication_state": "failed_over"}]}


def test_the_failover_report_counts_ok_as_done_and_a_missing_result_as_failed_with_its_array():
    plan = dr.failover_plan(ORA_SQL, {"k2-b": {"sessions": [
        s("remote_ora", "target", "in_sync", latest_replicated_snapshot={"ref": "/snapshots/5"}),
        s("remote_sql", "target", "in_sync", latest_replicated_snapshot={"ref": "/snapshots/6"})]}})
    results = {"k2-b": {"sessions": [{"name": "remote_ora", "status": "ok", "session": {"state": "failed_over"}}]}}
    records = dr.failover_report(plan, results)  # not check mode unless told
    assert [(r["pair"], r["status"], r["state"], r["msg"]) for r in records] == [
        ("ora", "failed_over", "failed_over", ""), ("sql", "failed", "in_sync", "the failover did not run on k2-b")]
    assert dr.failover_report(plan, {})[0]["msg"] == "the failover did not run on k2-b"
    summary = dr.failover_summary(records)
    assert (summary["failed"], summary["failed_pairs"]) == (1, ["sql"])
    assert summary["failed_lines"] == ["sql: remote_sql on k2-b failed, state in_sync: the failover did not run on k2-b"]


def test_the_line_of_a_check_mode_failover_names_the_snapshot_it_would_restore():
    record = {"pair": "ora", "source": "k2-a", "array": "k2-b", "session": "remote_ora", "status": "would_fail_over",
              "state": "in_sync", "restored_snapshot": "ora-snap-5", "msg": ""}
    assert dr.failover_line(record) == "ora: remote_ora on k2-b would_fail_over, state in_sync, restoring snapshot ora-snap-5"
    assert dr.failover_line(dict(record, status="already_failed_over")) == \
        "ora: remote_ora on k2-b already_failed_over, state in_sync"


# ---- failback ---------------------------------------------------------------------------------------


def test_current_role_wins_over_primary():
    assert dr.role_of({"current_role": "source", "primary": False}) == "source"
    assert dr.role_of({"current_role": "target", "primary": True}) == "target"
    assert dr.role_of({"primary": "false"}) == "target" and dr.role_of({}) == "source"


def test_a_pair_is_done_only_when_both_sides_are_in_sync():
    for a, b in (("in_sync", "suspended"), ("suspended", "in_sync")):
        assert dr.phase(s("ora", "source", a), s("remote_ora", "target", b))[0] == "not_failed_over"


NEXT_OF = {
    # phase: (source-side session, target-side session, the next step shown)
    "failed_over": (("source", "suspended"), ("target", "failed_over"),
                    "reverse on the target array: replication runs from it to the source array"),
    "reversing": (("source", "suspended"), ("source", "in_sync"),
                  "wait until the source array's session reads current_role=target, in_sync"),
    "reversed": (("target", "in_sync"), ("source", "in_sync"),
                 "take a replication snapshot on the target array, then fail over on the source array"),
    "failing_back": (("target", "failed_over"), ("source", "in_sync"),
                     "wait until the target array's session reads suspended"),
    "failed_back": (("target", "failed_over"), ("source", "suspended"),
                    "reverse on the source array: replication runs in its original direction again"),
    "restoring": (("source", "in_sync"), ("source", "suspended"),
                  "wait until the target array's session reads current_role=target, in_sync"),
    "done": (("source", "in_sync"), ("target", "in_sync"),
             "nothing: the pair replicates in its original direction, in_sync on both sides"),
    "not_failed_over": (("source", "suspended"), ("target", "suspended"), "nothing: the pair is not failed over"),
}


@pytest.mark.parametrize("expected", sorted(NEXT_OF))
def test_every_phase_shows_its_next_step(expected):
    a, b, shown = NEXT_OF[expected]
    (row,) = dr.failback_plan(PAIRS[:1], {"k2-a": [s("ora", *a)], "k2-b": [s("remote_ora", *b)]})["pairs"]
    assert (row["phase"], row["next"]) == (expected, shown)


def test_a_settling_pair_shows_its_next_step_and_a_blocked_one_its_reason():
    suspended = normalize({"pairs": [{"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ora",
                                      "replication_state": "suspended"}]}, ARRAYS)
    (row,) = dr.failback_plan(suspended, {"k2-a": [s("ora", "source", "in_sync")],
                                          "k2-b": [s("remote_ora", "target", "in_sync")]})["pairs"]
    assert (row["phase"], row["next"]) == ("settling", "back to its declared state on the source array (the target follows)")
    assert row["reason"] == "source side source in_sync, target side target in_sync; declared suspended"
    (row,) = dr.failback_plan(PAIRS[:1], {"k2-a": [], "k2-b": []})["pairs"]
    assert (row["phase"], row["next"]) == ("blocked", "nothing: the source-side session does not exist")


def pairs_in(phases):
    """Readings with ora and sql (both k2-a -> k2-b) in the phases given, by their sides' (role, state)."""
    readings = {"k2-a": [], "k2-b": []}
    for name, wanted in zip(("ora", "sql"), phases):
        a, b = NEXT_OF[wanted][:2]
        readings["k2-a"].append(s(name, *a, latest_replicated_snapshot={"ref": "/snapshots/%d" % len(name)}))
        readings["k2-b"].append(s("remote_" + name, *b))
    return readings


@pytest.mark.parametrize("step", ["reverse", "sync", "failover", "restore"])
def test_a_pair_the_step_does_not_act_on_does_not_stop_the_next_one(step):
    acts_on = {"reverse": "failed_over", "sync": "reversed", "failover": "reversed", "restore": "failed_back"}[step]
    plan = dr.failback_plan(ORA_SQL, pairs_in(("done", acts_on)), step, marks={"sql": "/snapshots/0"})
    assert [r["phase"] for r in plan["pairs"]] == ["done", acts_on]
    assert plan["act"] or plan["snapshot"], plan
    for items in list(plan["act"].values()) + list(plan["snapshot"].values()):
        assert [i if isinstance(i, str) else i["name"] for i in items] in (["sql"], ["remote_sql"])


def test_the_sync_step_snapshots_every_reversed_pair():
    plan = dr.failback_plan(ORA_SQL, pairs_in(("reversed", "reversed")), "sync")
    assert plan["snapshot"] == {"k2-b": ["remote_ora", "remote_sql"]}
    assert plan["marks"] == {"ora": "/snapshots/3", "sql": "/snapshots/3"}
    assert [w["name"] for w in plan["expect"]["k2-a"]] == ["ora", "sql"]


def test_a_pair_not_synced_in_this_run_says_so_on_its_own_row_and_does_not_stop_the_next_one():
    readings = pairs_in(("reversed", "reversed"))
    plan = dr.failback_plan(ORA_SQL, readings, "failover", marks={"sql": "/snapshots/1"})
    assert [r["next"] for r in plan["pairs"]] == [
        "sync first: no snapshot taken after the reverse has reached k2-a in this run", dr.NEXT["reversed"]]
    assert plan["act"] == {"k2-a": [{"name": "sql", "current_role": "target", "replication_state": "failed_over",
                                     "restored_snapshot": "latest"}]}
    plan = dr.failback_plan(ORA_SQL, readings, "failover", marks={"ora": "/snapshots/1"})
    assert [r["next"] for r in plan["pairs"]] == [
        dr.NEXT["reversed"], "sync first: no snapshot taken after the reverse has reached k2-a in this run"]


def test_the_failover_step_waits_for_both_sides_of_every_pair_it_fails_over():
    plan = dr.failback_plan(ORA_SQL, pairs_in(("reversed", "reversed")), "failover",
                            marks={"ora": "/snapshots/1", "sql": "/snapshots/1"})
    assert plan["expect"] == {
        "k2-a": [{"name": "ora", "equal": {"current_role": "target", "state": "failed_over"}},
                 {"name": "sql", "equal": {"current_role": "target", "state": "failed_over"}}],
        "k2-b": [{"name": "remote_ora", "equal": {"current_role": "source", "state": "suspended"}},
                 {"name": "remote_sql", "equal": {"current_role": "source", "state": "suspended"}}]}


@pytest.mark.parametrize("step, in_flight", [("failover", "failing_back"), ("restore", "restoring")])
def test_a_pair_half_way_through_failover_or_restore_is_waited_for_not_written(step, in_flight):
    plan = dr.failback_plan(ORA_SQL, pairs_in((in_flight, "done")), step, marks={"ora": "/snapshots/1"})
    assert plan["pairs"][0]["phase"] == in_flight and plan["act"] == {}
    assert sorted(plan["expect"]) == ["k2-a", "k2-b"]
    assert [w["name"] for w in plan["expect"]["k2-a"]] == ["ora"]


def row(pair, phase, reason="r"):
    return {"pair": pair, "source": "k2-a", "target": "k2-b", "source_session": pair, "target_session": "remote_" + pair,
            "phase": phase, "reason": reason, "next": dr.NEXT.get(phase, "nothing: " + reason)}


def test_the_summary_keeps_every_field_and_counts_only_pairs_this_run_brought_back():
    start = {"pairs": [row("ora", "failed_over"), row("sql", "not_failed_over")]}
    end = {"pairs": [row("ora", "done"), row("sql", "not_failed_over"), row("new", "done"),
                     row("stuck", "blocked", "both sides read current_role=target (x)")]}
    summary = dr.failback_summary(start, end)
    assert summary["pairs"][0] == dict(row("ora", "done"), started="failed_over")
    # A pair not failed over is finished; one missing from the first read was not brought back by this run.
    assert (summary["completed"], summary["unfinished"]) == (1, ["stuck"])
    assert summary["lines"][1:] == ["sql (k2-a -> k2-b): not_failed_over", "new (k2-a -> k2-b): done",
                                    "stuck (k2-a -> k2-b): blocked: both sides read current_role=target (x)"]
    assert summary["unfinished_lines"] == [summary["lines"][3]]
