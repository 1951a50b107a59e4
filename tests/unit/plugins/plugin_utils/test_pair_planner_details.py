# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cross-array planner's details, each asserted whole: the records it returns (fields, actions,
counts, options, steps), how it reads what the roles hand over, how a stage's results move a run on,
and the summary's lines. (The rules themselves: test_pair_planner.py.)"""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.plugin_utils import pair_planner as planner
from ansible_collections.kaminario.k2.tests.unit.plugins.plugin_utils.test_pair_planner import (
    ARRAYS,
    by_name,
    create,
    entry,
    pair,
    reads,
    resume,
    src,
    tgt,
    topology,
)


def test_counts_hold_every_status_and_the_refused_statuses_stop_the_run():
    decl = topology(pair("ok"), pair("new"), pair("rev"), pair("gone", state="absent"))
    plan = planner.plan(decl, reads([src("ok"), src("rev", current_role="target")],
                                    [tgt("remote_ok"), tgt("remote_rev", current_role="source")],
                                    [entry("ok"), entry("new", "changed", create("new"), session=src("new")),
                                     entry("rev")]), ARRAYS)
    assert plan["counts"] == {"in_sync": 2, "drifted": 0, "missing": 1, "source_missing": 0, "mirror_missing": 0,
                              "mirror_drifted": 0, "reversed": 1, "failed_over": 0, "blocked": 0}
    assert by_name(plan)["rev"]["refused"] is True and plan["refused"] == ["rev"] and plan["stop"] is True
    assert plan["messages"] == {} and plan["outcomes"] == {"ok": None, "new": None, "rev": "refused", "gone": None}


@pytest.mark.parametrize("shape", [list, tuple])
def test_reads_may_be_info_and_converge_zipped(shape):
    read = {"k2-a": shape([{"sessions": [src("ok")]}, {"sessions": [entry("ok")]}]),
            "k2-b": shape([{"sessions": [tgt("remote_ok")]}, {"skipped": True}])}
    plan = planner.plan(topology(pair("ok")), read, ARRAYS)
    assert by_name(plan)["ok"]["status"] == "in_sync"


def test_an_info_read_that_failed_is_not_read_even_with_sessions_in_it():
    read = reads([src("ok")], [tgt("remote_ok")], [entry("ok")])
    read["k2-b"]["info"].update(failed=True, msg="HTTP 401")
    plan = planner.plan(topology(pair("ok")), read, ARRAYS)
    assert by_name(plan)["ok"]["reason"] == "array k2-b not read: HTTP 401"
    read["k2-b"]["info"] = {"failed": True}
    plan = planner.plan(topology(pair("ok")), read, ARRAYS)
    assert by_name(plan)["ok"]["reason"] == "array k2-b not read: its sessions could not be read"


def test_fields_and_actions_are_whole_records():
    diff = {"before": {"name": "d", "rpo": 900, "target_exposure": "unmapped"},
            "after": {"name": "d", "rpo": 300, "retention_policy": "B"}}
    actions = [{"name": "update", "method": "PATCH", "body": {"rpo": 300}},
               {"name": "delete", "method": "DELETE", "body": None},
               {"name": "rename", "method": "PATCH", "body": {"name": "x"}}]
    plan = planner.plan(topology(pair("d")), reads([src("d", rpo=900)], [tgt("remote_d", rpo=900)],
                                                   [entry("d", "changed", actions, session=src("d"), diff=diff)]), ARRAYS)
    found = by_name(plan)["d"]
    assert found["fields"] == [
        {"side": "source", "array": "k2-a", "session": "d", "field": "retention_policy", "current": None,
         "declared": "B"},
        {"side": "source", "array": "k2-a", "session": "d", "field": "rpo", "current": 900, "declared": 300},
        {"side": "source", "array": "k2-a", "session": "d", "field": "target_exposure", "current": "unmapped",
         "declared": None}]
    assert found["actions"] == [
        {"array": "k2-a", "session": "d", "action": "update", "method": "PATCH", "fields": ["rpo"],
         "text": "on k2-a: update rpo of d"},
        {"array": "k2-a", "session": "d", "action": "delete", "method": "DELETE", "fields": [],
         "text": "on k2-a: delete d"},
        {"array": "k2-a", "session": "d", "action": "rename", "method": "PATCH", "fields": ["name"],
         "text": "on k2-a: rename d"}]
    assert found["volume_group"] == "vg_d" and found["source_session"] == "d" and found["notes"] == []


def test_failed_over_and_reversed_pairs_name_the_field():
    plan = planner.plan(topology(pair("fo"), pair("r"), replication_state=None), reads(
        [src("fo", state="suspended"), src("r", current_role="target")],
        [tgt("remote_fo", state="failed_over"), tgt("remote_r", current_role="source")],
        [entry("fo", "changed", resume()), entry("r")]), ARRAYS)
    assert by_name(plan)["fo"]["fields"] == [
        {"side": "target", "array": "k2-b", "session": "remote_fo", "field": "state", "current": "failed_over",
         "declared": "the state of its source half"}]
    assert by_name(plan)["r"]["fields"] == [
        {"side": "source", "array": "k2-a", "session": "r", "field": "current_role", "current": "target",
         "declared": "source"}]
    declared = planner.plan(topology(pair("fo")), reads([src("fo", state="suspended")],
                                                        [tgt("remote_fo", state="failed_over")], [entry("fo")]), ARRAYS)
    assert by_name(declared)["fo"]["fields"][0]["declared"] == "in_sync"


@pytest.mark.parametrize("session, field, declared, matches", [
    ({}, "local_volume_group", "7", False),
    ({"local_volume_group": {"ref": "/volume_groups/7"}}, "local_volume_group", "/volume_groups/7", True),
    ({"replication_peer_k2array": {"ref": "/replication/peer_k2arrays/2"}}, "replication_peer_k2array", "2", True),
])
def test_references_match_by_id_even_without_a_name(session, field, declared, matches):
    assert planner._matches(declared, session, field) is matches


@pytest.mark.parametrize("session, shown", [
    ({"state": "suspended", "suspend_reason_code": "link_down"}, "suspended (link_down)"),
    ({"state": "suspended", "suspend_reason_code": "none"}, "suspended"),
    ({"state": "suspended", "suspend_reason_code": ""}, "suspended"),
    ({"state": "suspended"}, "suspended"),
    ({"state": "in_sync", "suspend_reason_code": "link_down"}, "in_sync"),
])
def test_a_state_shows_its_suspend_reason(session, shown):
    assert planner._show_state(session) == shown


def test_fields_fixed_at_creation_by_name():
    found = planner.fixed_fields(
        {"name": "f", "volume_group": "vg_f", "peer_array": "k2-b", "target_session": "remote_f"},
        {"local_volume_group": {"ref": "/volume_groups/1"}, "local_volume_group_name": "vg_f",
         "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"}, "replication_peer_k2array_name": "k2-c",
         "remote_replication_session_name": "f-copy"}, "k2-a")
    assert [(f["field"], f["current"], f["declared"]) for f in found] == [
        ("replication_peer_k2array", "k2-c", "k2-b"), ("remote_replication_session_name", "f-copy", "remote_f")]
    assert planner.fixed_fields({"name": "f", "volume_group": None, "peer_array": None, "target_session": "x"},
                                {}, "k2-a") == []


def test_a_finding_keeps_its_notes_and_a_refused_one_shows_no_converge():
    finding = planner.Finding({"name": "p", "state": "present", "source": "a", "target": "b",
                               "target_session": "remote_p", "volume_group": "v"})
    finding.actions = [{"text": "on a: do it"}]
    finding.set("drifted", "why", note="first").set("drifted", note="second")
    assert finding.notes == ["first", "second"] and finding.summary() == "why; a converge would: on a: do it"
    finding.set("blocked", fix="do that")
    assert finding.summary() == "why; fix: do that"


def test_the_expected_target_follows_the_source_when_nothing_is_declared():
    bare = {"replication_state": None, "rpo": None}
    assert planner._expected_target(bare, {"state": "suspended", "rpo": 600}) == {
        "current_role": "target", "state": "suspended", "rpo": 600}
    assert planner._expected_target(bare, None) == {"current_role": "target", "state": "idle"}
    assert planner._expected_target({"replication_state": "in_sync", "rpo": 60}, {"rpo": 600})["rpo"] == 60


def test_an_absent_pair_whose_target_half_is_failed_over_is_never_removed():
    plan = planner.plan(topology(pair("g", state="absent")), reads([], [tgt("remote_g", state="failed_over")]),
                        ARRAYS)
    assert by_name(plan)["g"]["reason"] == ("declared absent, but remote_g on k2-b reads failed_over: a half that is "
                                            "failed over is never removed by a converge")
    plan = planner.plan(topology(pair("g", state="absent")), reads([src("g", current_role="target")],
                                                                   [tgt("remote_g", current_role="source")]), ARRAYS)
    assert by_name(plan)["g"]["reason"].startswith("declared absent, but replication does not run k2-a -> k2-b")


def test_an_absent_pair_records_both_halves_and_waits_only_when_something_is_to_stop():
    plan = planner.plan(topology(pair("g", state="absent")), reads([src("g", state="idle")],
                                                                   [tgt("remote_g", state="idle")]), ARRAYS)
    found = by_name(plan)["g"]
    assert [(f["side"], f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("source", "state", "idle", "absent"), ("target", "state", "idle", "absent")]
    assert [a["action"] for a in found["actions"]] == ["delete", "delete"]
    plan = planner.plan(topology(pair("g", state="absent")), reads([src("g", state="suspended")],
                                                                   [tgt("remote_g", state="idle")]), ARRAYS)
    assert [a["action"] for a in by_name(plan)["g"]["actions"]] == ["transition", "wait", "delete", "delete"]


def test_undeclared_sessions_and_prune_candidates_come_in_name_order():
    # Name order, not the order of anything else in them (here the ids and the entries' first keys
    # sort the other way).
    sessions = [src("zz", state="idle", id=1), src("aa", state="suspended", id=2)]
    pruned = [{"status": "pruned", "session": src(name, id=number), "name": name}
              for number, name in ((1, "p-b"), (2, "p-a"))]
    plan = planner.plan(topology(), reads(sessions, [], pruned), ARRAYS, prune=True)
    assert [u["name"] for u in plan["undeclared"]] == ["aa", "zz"]
    assert [p["name"] for p in plan["prune"]] == ["p-a", "p-b"]


def test_only_the_fields_that_differ_are_drift_and_never_the_name():
    diff = {"before": {"name": "old", "rpo": 300, "state": "idle"}, "after": {"name": "new", "rpo": 600, "state": "idle"}}
    found = planner.diff_fields("k2-a", {"name": "n", "diff": diff})
    assert [(f["field"], f["current"], f["declared"]) for f in found] == [("rpo", 300, 600)]


def test_two_prunes_on_one_array_run_together_and_each_shows_its_own_outcome():
    read = reads(a_entries=[entry("p-1", "pruned", session=src("p-1")), entry("p-2", "pruned", session=src("p-2"))])
    plan = planner.plan(topology(), read, ARRAYS, prune=True)
    assert [p["name"] for p in plan["stages"]["converge"]["k2-a"]] == ["p-1", "p-2"]
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [
        entry("p-1", "failed", msg="HTTP 400"), entry("p-2", "pruned")]}})
    lines = planner.summary(plan)["lines"]
    assert "prune: p-1 on k2-a: prune failed" in lines and "prune: p-2 on k2-a: pruned" in lines


def test_a_step_whose_session_another_run_converged_meanwhile_is_done():
    plan = planner.plan(topology(pair("n")), reads(a_entries=[entry("n", "changed", create("n"), session=src("n"))]),
                        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("n", "ok")]}})
    assert plan["outcomes"]["n"] is None and plan["stages"]["follow"]["k2-b"][0]["name"] == "remote_n"


def test_a_prune_candidate_without_its_session_in_the_entry_is_judged_from_the_listing():
    read = reads([src("p-x", state="suspended", suspend_reason_code="peer_failed_over")], [],
                 [entry("p-x", "pruned", session={})])
    assert planner.plan(topology(), read, ARRAYS, prune=True)["prune"][0]["note"].startswith("kept")


def test_the_same_name_pruned_on_both_arrays_is_two_steps():
    plan = planner.plan(topology(), reads([], [], [entry("p", "pruned", session=src("p"))],
                                          [entry("p", "pruned", session=src("p"))]), ARRAYS, prune=True)
    assert sorted(plan["stages"]["converge"]) == ["k2-a", "k2-b"]


@pytest.mark.parametrize("value", ["true", "yes", "on", "1", "y", "t", " TRUE ", True])
def test_each_true_spelling(value):
    assert planner._bool(value, "x") is True


@pytest.mark.parametrize("value", ["false", "no", "off", "0", "n", "f", "", False])
def test_each_false_spelling(value):
    assert planner._bool(value, "x") is False


def test_options_defaults_and_edges():
    assert planner.options({}, {}) == {"prune": False, "prune_prefix": None, "allow_partial": False,
                                       "wait_timeout": 600, "follow_timeout": 120}
    assert planner.options({"wait_timeout": 0, "follow_timeout": "0"}, {})["wait_timeout"] == 0
    with pytest.raises(planner.PlanError, match="wait_timeout must be a number of seconds"):
        planner.options({"wait_timeout": -1}, {})
    with pytest.raises(planner.PlanError, match="prune needs prune_prefix"):
        planner.options({"prune": True, "prune_prefix": 3}, {})
    assert planner.options({"prune": True, "prune_prefix": "p-"}, {})["prune_prefix"] == "p-"


def test_a_wait_result_judges_only_its_own_session():
    plan = planner.plan(topology(pair("a"), pair("b")), reads(a_entries=[
        entry("a", "changed", create("a"), session=src("a")), entry("b", "changed", create("b"), session=src("b"))]),
        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("a", "changed"), entry("b", "changed")]}})
    unmet = [{"name": "remote_b", "found": {"state": "idle"}}, {"name": "remote_b", "found": None}, "junk"]
    plan = planner.advance(plan, "follow", {"k2-b": {"failed": True, "unmet": unmet}})
    assert plan["outcomes"] == {"a": "done", "b": "failed"}
    assert plan["messages"]["b"].endswith("(it shows state idle)")


def test_a_prune_step_that_fails_does_not_hold_back_the_pairs_after_it():
    read = reads([], [], [entry("p-1", "pruned", session=src("p-1")), entry("n", "changed", create("n"),
                                                                            session=src("n"))])
    plan = planner.plan(topology(pair("n")), read, ARRAYS, prune=True)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [
        entry("n", "changed"), entry("p-1", "failed", msg="HTTP 400")]}})
    assert plan["stages"]["follow"] == {"k2-b": [{"name": "remote_n", "equal": {
        "current_role": "target", "state": "in_sync", "rpo": 300}}]}
    summary = planner.summary(plan)
    assert "prune: p-1 on k2-a: prune failed" in summary["lines"]


def test_a_pruned_entry_counts_as_done():
    plan = planner.plan(topology(), reads(a_entries=[entry("p-1", "pruned", session=src("p-1"))]), ARRAYS, prune=True)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("p-1", "pruned")]}})
    assert planner.summary(plan)["lines"][1] == "prune: p-1 on k2-a: pruned"


def test_the_summary_of_a_run_whose_steps_did_not_all_run():
    plan = planner.plan(topology(pair("n"), pair("ok"), pair("rev")), reads(
        [src("ok"), src("rev", current_role="target")], [tgt("remote_ok"), tgt("remote_rev", current_role="source")],
        [entry("n", "changed", create("n"), session=src("n")), entry("ok"), entry("rev")]), ARRAYS, allow_partial=True)
    summary = planner.summary(plan)  # no stage ran: n is not done
    by = dict((p["name"], p) for p in summary["pairs"])
    assert (by["n"]["outcome"], by["n"]["message"]) == ("failed", "not completed: a step before it failed or did not run")
    assert (by["ok"]["outcome"], by["rev"]["outcome"]) == ("done", "refused")
    assert summary["counts"] == {"done": 1, "failed": 1, "refused": 1} and summary["failed"] == ["n", "rev"]
    assert summary["lines"][0] == "topology: 3 pairs, 0 changed, 1 failed, 1 refused (applying the others was allowed)"
    assert summary["lines"][1].startswith("failed: n (k2-a -> k2-b): not completed")
    assert summary["lines"][2].startswith("refused: rev (k2-a -> k2-b): reversed: replication does not run")
    assert summary["failed_lines"] == summary["lines"][1:]
    check = planner.summary(plan, check_mode=True)
    assert check["lines"][0] == ("topology check: 3 pairs, 1 would change, 0 failed, 1 refused (applying the others "
                                 "was allowed)")
    assert check["lines"][1].startswith("would change: n (k2-a -> k2-b): no session n on k2-a")
    assert check["failed_lines"] == [check["lines"][2]] and check["pairs"][0]["name"] == "n"
    stopped = planner.summary(planner.plan(topology(pair("rev")), reads(
        [src("rev", current_role="target")], [tgt("remote_rev", current_role="source")], [entry("rev")]), ARRAYS))
    assert stopped["lines"][0] == "topology: 1 pairs, 0 changed, 0 failed, 1 refused"
