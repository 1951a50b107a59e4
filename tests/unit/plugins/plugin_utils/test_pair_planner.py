# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cross-array planner, rule by rule (the rules are numbered as in pair_planner's docstring), then
a property test over generated declarations and two arrays' states that checks rules 1-4 and 6 on
every plan."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.kaminario.k2.plugins.plugin_utils import pair_planner as planner
from ansible_collections.kaminario.k2.plugins.plugin_utils.pairs import PairError

ARRAYS = ["k2-a", "k2-b"]


def topology(*pairs, **defaults):
    return {"defaults": dict({"rpo": 300, "replication_state": "in_sync"}, **defaults), "pairs": list(pairs)}


def pair(name, source="k2-a", target="k2-b", **extra):
    found = {"name": name, "source": source, "target": target, "volume_group": "vg_" + name}
    found.update(extra)
    return found


def src(name, state="in_sync", **extra):
    found = {"id": 1, "name": name, "current_role": "source", "state": state, "rpo": 300,
             "remote_replication_session_name": "remote_" + name, "suspend_reason_code": "none"}
    found.update(extra)
    return found


def tgt(name, state="in_sync", **extra):
    found = {"id": 2, "name": name, "current_role": "target", "state": state, "rpo": 300}
    found.update(extra)
    return found


def entry(name, status="ok", actions=(), session=None, **extra):
    found = {"name": name, "status": status, "actions": list(actions), "session": session or {}}
    found.update(extra)
    return found


def create(name):
    return [{"name": "create", "method": "POST", "body": {"name": name, "rpo": 300}},
            {"name": "transition", "method": "PATCH", "body": {"state": "in_sync"}}]


def resume():
    return [{"name": "transition", "method": "PATCH", "body": {"state": "in_sync"}}]


def reads(a_sessions=(), b_sessions=(), a_entries=(), b_entries=()):
    return {"k2-a": {"info": {"sessions": list(a_sessions)}, "converge": {"sessions": list(a_entries)}},
            "k2-b": {"info": {"sessions": list(b_sessions)}, "converge": {"sessions": list(b_entries)}}}


def by_name(plan):
    return dict((p["name"], p) for p in plan["pairs"])


def steps_of(plan, name):
    return [(s["stage"], s["array"], s["payload"]) for s in plan["steps"] if s["pair"] == name]


# ---- statuses ------------------------------------------------------------------------------------


def test_a_healthy_pair_is_in_sync_with_nothing_to_do():
    plan = planner.plan(topology(pair("ok")), reads([src("ok")], [tgt("remote_ok")], [entry("ok")]), ARRAYS)
    assert by_name(plan)["ok"]["status"] == "in_sync" and plan["steps"] == [] and plan["stop"] is False
    assert plan["stages"] == dict((stage, {}) for stage in planner.STAGES)
    assert plan["refused"] == [] and plan["message"] is None


def test_a_missing_pair_is_created_then_its_target_half_waited_for():
    created = entry("new", "changed", create("new"), session=src("new"))
    plan = planner.plan(topology(pair("new")), reads(a_entries=[created]), ARRAYS)
    found = by_name(plan)["new"]
    assert (found["status"], found["reason"]) == ("missing", "no session new on k2-a")
    assert [a["text"] for a in found["actions"]] == ["on k2-a: create new (rpo)",
                                                     "on k2-a: change the state of new to in_sync"]
    assert steps_of(plan, "new") == [
        ("converge", "k2-a", {"name": "new", "current_role": "source", "local_volume_group": "vg_new",
                              "replication_peer_k2array": "k2-b", "rpo": 300,
                              "remote_replication_session_name": "remote_new", "replication_state": "in_sync"}),
        ("follow", "k2-b", {"name": "remote_new", "equal": {"current_role": "target", "state": "in_sync", "rpo": 300}})]
    assert list(plan["stages"]["converge"]) == ["k2-a"] and plan["stages"]["follow"] == {}


def test_a_drifted_source_names_fields_by_name_and_waits_for_the_new_state_on_the_target():
    update = [{"name": "update", "method": "PATCH", "body": {"rpo": 300, "retention_policy": {"ref": "/x/6"}}}]
    diff = {"before": {"name": "d", "rpo": 900, "retention_policy": "A"},
            "after": {"name": "d", "rpo": 300, "retention_policy": "B"}}
    plan = planner.plan(topology(pair("d")), reads([src("d", rpo=900)], [tgt("remote_d", rpo=900)],
                                                   [entry("d", "changed", update, session=src("d"), diff=diff)]), ARRAYS)
    found = by_name(plan)["d"]
    assert found["status"] == "drifted"
    assert [(f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("retention_policy", "A", "B"), ("rpo", 900, 300)]
    assert found["actions"][0]["text"] == "on k2-a: update retention_policy, rpo of d"
    assert "/x/6" not in str(found)
    assert steps_of(plan, "d")[1] == ("follow", "k2-b", {"name": "remote_d", "equal": {
        "current_role": "target", "state": "in_sync", "rpo": 300}})


def test_a_target_half_that_does_not_follow_is_mirror_drifted_and_only_waited_for():
    plan = planner.plan(topology(pair("m")), reads([src("m")], [tgt("remote_m", state="suspended")], [entry("m")]),
                        ARRAYS)
    found = by_name(plan)["m"]
    assert found["status"] == "mirror_drifted" and found["refused"] is False
    assert [(f["side"], f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("target", "state", "suspended", "in_sync")]
    assert steps_of(plan, "m") == [("follow", "k2-b", {"name": "remote_m", "equal": {
        "current_role": "target", "state": "in_sync", "rpo": 300}})]


def test_without_a_declared_state_the_target_half_follows_the_source_state():
    plan = planner.plan(topology(pair("s"), replication_state=None),
                        reads([src("s", state="suspended")], [tgt("remote_s", state="suspended")], [entry("s")]), ARRAYS)
    assert by_name(plan)["s"]["status"] == "in_sync"


# ---- rule 4 and 10: failed over, reversed --------------------------------------------------------


@pytest.mark.parametrize("code", ["link_down", "peer_failed_over", "none", "user_request", None])
def test_a_source_whose_peer_failed_over_is_never_resumed_whatever_its_reason_code(code):
    """The check-mode converge of the source would resume it (its reason code is not
    peer_failed_over after a failover done while the source was down): the plan refuses it."""
    plan = planner.plan(topology(pair("fo")), reads(
        [src("fo", state="suspended", suspend_reason_code=code)], [tgt("remote_fo", state="failed_over")],
        [entry("fo", "changed", resume(), session=src("fo"))]), ARRAYS)
    found = by_name(plan)["fo"]
    assert (found["status"], found["refused"]) == ("failed_over", True)
    assert found["fix"] == planner.FIX_FAILBACK and "remote_fo on k2-b reads target failed_over" in found["reason"]
    assert plan["steps"] == [] and plan["stop"] is True
    assert "a converge would" not in found["summary"]
    assert plan["message"].startswith("1 of 1 pairs cannot be applied: fo (k2-a -> k2-b): failed_over: ")


def test_a_failed_over_pair_is_drift_even_without_a_declared_state():
    plan = planner.plan(topology(pair("fo"), replication_state=None),
                        reads([src("fo", state="suspended")], [tgt("remote_fo", state="failed_over")], [entry("fo")]),
                        ARRAYS)
    assert by_name(plan)["fo"]["status"] == "failed_over"


@pytest.mark.parametrize("a_role, b_role", [("target", "source"), ("source", "source"), ("target", "target")])
def test_a_pair_that_does_not_replicate_source_to_target_is_reversed(a_role, b_role):
    plan = planner.plan(topology(pair("r")), reads([src("r", current_role=a_role)], [tgt("remote_r", current_role=b_role)],
                                                   [entry("r")]), ARRAYS)
    found = by_name(plan)["r"]
    assert (found["status"], found["fix"]) == ("reversed", planner.FIX_FAILBACK)
    assert "replication does not run k2-a -> k2-b as declared" in found["reason"]


def test_a_converge_entry_reversed_is_reversed():
    plan = planner.plan(topology(pair("r")), reads([src("r")], [tgt("remote_r")], [entry("r", "reversed")]), ARRAYS)
    assert by_name(plan)["r"]["status"] == "reversed"


# ---- rule 6: a missing half ----------------------------------------------------------------------


def test_a_missing_target_half_is_mirror_missing_refused_with_the_fix():
    plan = planner.plan(topology(pair("h")), reads([src("h", state="idle")], [], [entry("h", "changed", resume())]),
                        ARRAYS)
    found = by_name(plan)["h"]
    assert (found["status"], found["refused"]) == ("mirror_missing", True)
    assert found["reason"] == "the target half remote_h on k2-b is gone; the source half h remains on k2-a (idle)"
    assert "declare the pair state: absent and apply" in found["fix"] and plan["steps"] == []


def test_a_missing_source_half_is_source_missing_refused_with_the_fix():
    plan = planner.plan(topology(pair("h")), reads([], [tgt("remote_h", state="idle")],
                                                   [entry("h", "changed", create("h"))]), ARRAYS)
    found = by_name(plan)["h"]
    assert (found["status"], found["refused"]) == ("source_missing", True)
    assert found["fix"].startswith("delete remote_h on k2-b") and plan["steps"] == []


# ---- rule 1: refusals stop the run before any write ----------------------------------------------


def test_an_unknown_reference_on_one_pair_stops_the_run_unless_partial_is_allowed():
    bad = entry("bad", "failed", refused=True, msg="local_volume_group: no volume_groups object is named 'nope'. "
                                                   "More text.")
    reads_ = reads([src("ok")], [tgt("remote_ok")], [entry("ok"), entry("new", "changed", create("new")), bad])
    decl = topology(pair("ok"), pair("new"), pair("bad", volume_group="nope"))
    plan = planner.plan(decl, reads_, ARRAYS)
    found = by_name(plan)["bad"]
    assert (found["status"], found["reason"]) == (
        "blocked", "a converge would be refused: local_volume_group: no volume_groups object is named 'nope'")
    assert plan["stop"] is True and plan["refused"] == ["bad"]
    assert plan["message"].startswith("1 of 3 pairs cannot be applied: bad (k2-a -> k2-b): blocked: ")
    partial = planner.plan(decl, reads_, ARRAYS, allow_partial=True)
    assert partial["stop"] is False
    assert [i["name"] for i in partial["stages"]["converge"]["k2-a"]] == ["new"]
    assert partial["outcomes"]["bad"] == "refused"


def test_a_field_fixed_at_creation_is_named_by_name():
    fixed = entry("f", "failed", refused=True, msg="local_volume_group is /volume_groups/7, not /volume_groups/8")
    session = src("f", local_volume_group={"ref": "/volume_groups/7"}, local_volume_group_name="vg_other")
    plan = planner.plan(topology(pair("f")), reads([session], [tgt("remote_f")], [fixed]), ARRAYS)
    found = by_name(plan)["f"]
    assert (found["status"], found["reason"]) == ("blocked", "fixed at creation: local_volume_group")
    assert [(f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("local_volume_group", "vg_other", "vg_f")]


@pytest.mark.parametrize("declared, shown, name, matches", [
    ("vg", {"ref": "/volume_groups/7"}, "vg", True),
    ("7", {"ref": "/volume_groups/7"}, "vg", True),
    ("/volume_groups/7", {"ref": "/volume_groups/7"}, None, True),
    ("name:7", {"ref": "/volume_groups/7"}, "7", True),
    ("name:7", {"ref": "/volume_groups/7"}, "vg", False),
    ("7", {"ref": "/volume_groups/8"}, "7", False),
    ("vg", {"ref": "/volume_groups/7"}, None, True),
    ("/snapshots/7", {"ref": "/volume_groups/7"}, "vg", False),
])
def test_a_declared_reference_matches_by_name_id_or_ref(declared, shown, name, matches):
    session = {"local_volume_group": shown}
    if name is not None:
        session["local_volume_group_name"] = name
    assert planner._matches(declared, session, "local_volume_group") is matches


def test_an_array_not_read_blocks_every_pair_that_needs_it():
    decl = topology(pair("ab"), pair("ba", source="k2-b", target="k2-a"), pair("ac", target="k2-c"))
    plan = planner.plan(decl, {"k2-a": {"info": {"sessions": []}, "converge": {"skipped": True}},
                               "k2-b": {"info": {"failed": True, "msg": "HTTP 401"}}}, ARRAYS + ["k2-c"])
    found = by_name(plan)
    assert found["ab"]["reason"] == "array k2-b not read: HTTP 401"
    assert found["ac"]["reason"].startswith("array k2-c not read: not in this run")
    assert all(f["status"] == "blocked" for f in found.values()) and plan["stop"]
    assert [(a["name"], a["read"]) for a in plan["arrays"]] == [("k2-a", True), ("k2-b", False), ("k2-c", False)]


def test_a_missing_source_the_converge_planned_nothing_for_is_blocked():
    plan = planner.plan(topology(pair("x")), reads([], [], [entry("x")]), ARRAYS)
    assert by_name(plan)["x"]["status"] == "blocked" and by_name(plan)["x"]["fix"] == "run again"


def test_a_converge_that_did_not_run_makes_the_array_unread_and_a_skipped_one_does_not():
    plan = planner.plan(topology(pair("x")), {"k2-a": {"info": {"sessions": []}, "converge": {"failed": True}},
                                              "k2-b": {"info": {"sessions": []}}}, ARRAYS)
    assert by_name(plan)["x"]["reason"] == "array k2-a not read: the check-mode converge did not run"
    plan = planner.plan(topology(pair("x")), {"k2-a": {"info": {"sessions": []}, "converge": {"skipped": True}},
                                              "k2-b": {"info": {"sessions": []}}}, ARRAYS)
    assert by_name(plan)["x"]["reason"] == "no check-mode converge result for x on k2-a"


# ---- rule 3: removal ------------------------------------------------------------------------------


def test_an_absent_pair_is_removed_in_the_safe_order():
    plan = planner.plan(topology(pair("g", state="absent")), reads([src("g")], [tgt("remote_g")]), ARRAYS)
    found = by_name(plan)["g"]
    assert (found["status"], found["reason"]) == ("drifted", "declared absent, still there")
    assert steps_of(plan, "g") == [
        ("converge", "k2-a", {"name": "g", "current_role": "source", "replication_state": "idle"}),
        ("follow", "k2-b", {"name": "remote_g", "equal": {"state": "idle"}}),
        ("remove_targets", "k2-b", {"name": "remote_g", "current_role": "target", "state": "absent"}),
        ("remove_sources", "k2-a", {"name": "g", "current_role": "source", "state": "absent"})]
    assert [a["text"] for a in found["actions"]] == [
        "on k2-a: stop g (idle)", "on k2-b: wait until remote_g is idle", "on k2-b: delete remote_g",
        "on k2-a: delete g"]


def test_an_absent_pair_half_gone_removes_what_is_left():
    plan = planner.plan(topology(pair("g", state="absent")), reads([src("g", state="idle")], []), ARRAYS)
    assert steps_of(plan, "g") == [("remove_sources", "k2-a", {"name": "g", "current_role": "source",
                                                               "state": "absent"})]
    plan = planner.plan(topology(pair("g", state="absent")), reads([], [tgt("remote_g", state="idle")]), ARRAYS)
    assert [s[0] for s in steps_of(plan, "g")] == ["follow", "remove_targets"]
    plan = planner.plan(topology(pair("g", state="absent")), reads([], []), ARRAYS)
    assert by_name(plan)["g"]["summary"] == "absent, as declared" and plan["steps"] == []


def test_an_absent_pair_is_never_removed_with_an_array_unread_failed_over_reversed_or_stuck():
    decl = topology(pair("g", state="absent"))
    unread = planner.plan(decl, {"k2-a": {"info": {"sessions": [src("g")]}}}, ARRAYS)
    failed_over = planner.plan(decl, reads([src("g", state="suspended")], [tgt("remote_g", state="failed_over")]), ARRAYS)
    reversed_ = planner.plan(decl, reads([src("g", current_role="target")], [tgt("remote_g", current_role="source")]),
                             ARRAYS)
    stuck = planner.plan(decl, reads([], [tgt("remote_g", state="in_sync")]), ARRAYS)
    for plan in (unread, failed_over, reversed_, stuck):
        assert by_name(plan)["g"]["status"] == "blocked" and plan["steps"] == [] and plan["stop"]
    assert "never removed by a converge" in by_name(failed_over)["g"]["reason"]
    assert by_name(stuck)["g"]["fix"] == "on k2-b, fail remote_g over and stop it (failed_over, then idle), then run again"


def test_a_step_that_fails_stops_its_pair_where_it_is():
    plan = planner.plan(topology(pair("g", state="absent"), pair("h", state="absent")),
                        reads([src("g"), src("h")], [tgt("remote_g"), tgt("remote_h")]), ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("g", "changed"), entry("h", "changed")]}})
    assert plan["stages"]["follow"] == {"k2-b": [{"name": "remote_g", "equal": {"state": "idle"}},
                                                 {"name": "remote_h", "equal": {"state": "idle"}}]}
    plan = planner.advance(plan, "follow", {"k2-b": {"sessions": [], "unmet": []}})
    # The delete of remote_h fails: h's source half is never deleted, g's is.
    plan = planner.advance(plan, "remove_targets", {"k2-b": {"failed": True, "sessions": [
        entry("remote_g", "changed"), entry("remote_h", "failed", msg="HTTP 400: MC_ERR_X")]}})
    assert plan["stages"]["remove_sources"] == {"k2-a": [{"name": "g", "current_role": "source", "state": "absent"}]}
    assert plan["outcomes"] == {"g": None, "h": "failed"}
    assert plan["messages"]["h"] == "on k2-b, remove targets: HTTP 400: MC_ERR_X"
    plan = planner.advance(plan, "remove_sources", {"k2-a": {"sessions": [entry("g", "changed")]}})
    assert plan["outcomes"] == {"g": "done", "h": "failed"}
    summary = planner.summary(plan)
    assert summary["failed"] == ["h"] and summary["counts"] == {"done": 1, "failed": 1, "refused": 0}
    assert summary["lines"][0] == "topology: 2 pairs, 1 changed, 1 failed, 0 refused"
    assert summary["lines"][2] == "failed: h (k2-a -> k2-b): on k2-b, remove targets: HTTP 400: MC_ERR_X"
    # The message that fails the run names the failed pair alone, not g, which was changed.
    assert summary["lines"][1].startswith("changed: g ")
    assert summary["failed_lines"] == ["failed: h (k2-a -> k2-b): on k2-b, remove targets: HTTP 400: MC_ERR_X"]


def test_a_stage_that_did_not_run_on_an_array_fails_its_steps():
    plan = planner.plan(topology(pair("n")), reads(a_entries=[entry("n", "changed", create("n"), session=src("n"))]),
                        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"skipped": True}})
    assert plan["outcomes"]["n"] == "failed" and plan["stages"]["follow"] == {}
    assert "did not run" in plan["messages"]["n"]
    plan = planner.plan(topology(pair("n")), reads(a_entries=[entry("n", "changed", create("n"), session=src("n"))]),
                        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"failed": True, "msg": "cannot connect to k2-a"}})
    assert plan["messages"]["n"] == "on k2-a, converge: cannot connect to k2-a"


def test_a_wait_that_runs_out_names_what_the_session_shows():
    plan = planner.plan(topology(pair("n")), reads(a_entries=[entry("n", "changed", create("n"), session=src("n"))]),
                        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("n", "changed")]}})
    plan = planner.advance(plan, "follow", {"k2-b": {"failed": True, "unmet": [
        {"name": "remote_n", "found": {"state": "idle"}}]}})
    assert plan["messages"]["n"] == ("on k2-b, follow: remote_n did not show current_role target, rpo 300, "
                                     "state in_sync in time (it shows state idle)")
    plan = planner.plan(topology(pair("n")), reads(a_entries=[entry("n", "changed", create("n"), session=src("n"))]),
                        ARRAYS)
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("n", "changed")]}})
    plan = planner.advance(plan, "follow", {"k2-b": {"failed": True, "msg": "HTTP 401"}})
    assert plan["messages"]["n"] == "on k2-b, follow: HTTP 401"
    with pytest.raises(planner.PlanError, match="stage must be one of"):
        planner.advance(plan, "nope", {})


# ---- rule 2: prune -------------------------------------------------------------------------------


def test_prune_never_removes_a_session_a_pair_names_on_either_side_in_any_case():
    """During a failback stopped after its reverse, the DR side of a pair reads source: it is still
    a declared name there."""
    decl = topology(pair("p1"), pair("p2", source="k2-b", target="k2-a", target_session="P-copy"),
                    pair("gone", state="absent"))
    pruned = [entry(n, "pruned", [{"name": "delete"}], session=src(n)) for n in ("p-copy", "p1", "p-old")]
    failed_over_peer = src("p-x", state="suspended", suspend_reason_code="peer_failed_over")
    b_pruned = [entry("p-x", "pruned", [{"name": "delete"}], session=failed_over_peer)]
    b_pruned += [entry(n, "pruned", [{"name": "delete"}], session=src(n)) for n in ("remote_p1", "REMOTE_P1")]
    plan = planner.plan(decl, reads([src("p1"), tgt("P-copy")], [src("remote_p1"), src("p2")],
                                    [entry("p1")] + pruned, [entry("p2")] + b_pruned), ARRAYS, prune=True)
    assert plan["prune"] == [
        {"array": "k2-a", "name": "p-old", "note": None},
        {"array": "k2-b", "name": "p-x", "note": "kept: its peer is failed over (fail it back or remove it by hand)"}]
    assert plan["stages"]["converge"] == {"k2-a": [{"name": "p-old", "current_role": "source", "state": "absent"}]}
    assert planner.plan(decl, reads([], [], pruned), ARRAYS)["prune"] == []  # prune off: nothing


def test_the_summary_lists_the_prune():
    plan = planner.plan(topology(), reads(a_entries=[entry("p-old", "pruned", session=src("p-old"))]), ARRAYS,
                        prune=True)
    assert planner.summary(plan, check_mode=True)["lines"] == [
        "topology check: 0 pairs, 0 would change, 0 failed, 0 refused", "prune: p-old on k2-a: would prune"]
    plan = planner.advance(plan, "converge", {"k2-a": {"sessions": [entry("p-old", "changed")]}})
    assert planner.summary(plan)["lines"][1] == "prune: p-old on k2-a: pruned"


def test_the_summary_lines_show_line_breaks_in_names_as_escapes():
    name = "p-x\r\n# No drift found\u2028"
    plan = planner.plan(topology(), reads(a_entries=[entry(name, "pruned", session=src(name))]), ARRAYS, prune=True)
    summary = planner.summary(plan, check_mode=True)
    assert summary["lines"][1] == "prune: p-x\\r\\n# No drift found\\u2028 on k2-a: would prune"
    assert plan["prune"][0]["name"] == name  # the data keeps the name as it is


# ---- undeclared, options, inputs -----------------------------------------------------------------


def test_undeclared_sessions_are_listed_from_both_arrays():
    plan = planner.plan(topology(pair("ok")), reads([src("ok"), src("other", local_volume_group_name="vg9")],
                                                    [tgt("remote_ok"), tgt("stray")], [entry("ok")]), ARRAYS)
    assert [(u["array"], u["name"], u["current_role"], u["volume_group"]) for u in plan["undeclared"]] == [
        ("k2-a", "other", "source", "vg9"), ("k2-b", "stray", "target", None)]


def test_options_from_strings_and_messages_name_the_role_variables():
    labels = {"prune": "replication_topology_prune", "prune_prefix": "replication_topology_prune_prefix",
              "wait_timeout": "replication_topology_wait_timeout"}
    assert planner.options({"prune": "false", "wait_timeout": "30", "follow_timeout": "12", "allow_partial": "yes"},
                           labels) == {"prune": False, "prune_prefix": None, "allow_partial": True, "wait_timeout": 30,
                                       "follow_timeout": 12}
    with pytest.raises(planner.PlanError, match="^replication_topology_prune needs replication_topology_prune_prefix"):
        planner.options({"prune": "true"}, labels)
    with pytest.raises(planner.PlanError, match="^replication_topology_prune_prefix is set but replication_topology_prune"):
        planner.options({"prune": False, "prune_prefix": "x"}, labels)
    with pytest.raises(planner.PlanError, match=r"^replication_topology_wait_timeout must be a number of seconds"):
        planner.options({"wait_timeout": "soon"}, labels)
    with pytest.raises(planner.PlanError, match="^allow_partial must be true or false, got 'maybe'"):
        planner.options({"allow_partial": "maybe"}, labels)


def test_read_plan_names_both_halves_and_checks_the_sources():
    decl = topology(pair("ab"), pair("ba", source="k2-b", target="k2-a", target_session="ba-copy"),
                    pair("gone", state="absent"))
    assert planner.read_plan(decl, "k2-a", ARRAYS) == {
        "names": ["ab", "gone", "ba-copy"],
        "check": [{"name": "ab", "current_role": "source", "local_volume_group": "vg_ab",
                   "replication_peer_k2array": "k2-b", "rpo": 300, "remote_replication_session_name": "remote_ab",
                   "replication_state": "in_sync"}]}


def test_bad_inputs_are_clear_errors():
    with pytest.raises(planner.PlanError, match="reads: expected a dictionary"):
        planner.plan(topology(), [], ARRAYS)
    with pytest.raises(planner.PlanError, match=r"reads: k2-z not among the arrays \(k2-a, k2-b\)"):
        planner.plan(topology(), {"k2-z": {}}, ARRAYS)
    with pytest.raises(PairError, match=r"^k2_topology.pairs\[1\] \(A\): the pair name 'A' is declared already by "
                                        r"k2_topology.pairs\[0\] \(a\)"):
        planner.plan(topology(pair("a"), pair("A", source="k2-b", target="k2-a")), {}, ARRAYS)


# ---- the property test -----------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

NAMES = ["a", "A", "b", "a-1", "remote_a", "x,y"]
HALF = st.one_of(st.none(), st.tuples(st.sampled_from(["source", "target"]),
                                      st.sampled_from(["in_sync", "suspended", "idle", "failed_over"]),
                                      st.sampled_from(["none", "link_down", "peer_failed_over"])))
ENTRY = st.sampled_from(["ok", "changed", "resume", "failed", "reversed"])


@st.composite
def scenes(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique_by=str.casefold))
    pairs = []
    for name in names:
        forward = draw(st.booleans())
        pairs.append(pair(name, *(("k2-a", "k2-b") if forward else ("k2-b", "k2-a")),
                          state=draw(st.sampled_from(["present", "present", "absent"])),
                          replication_state=draw(st.sampled_from([None, "in_sync", "suspended", "idle"]))))
    sessions = {"k2-a": [], "k2-b": []}
    entries = {"k2-a": [], "k2-b": []}
    for p in pairs:
        for array, name in ((p["source"], p["name"]), (p["target"], "remote_" + p["name"])):
            half = draw(HALF)
            if half is not None:
                sessions[array].append({"id": 1, "name": name, "current_role": half[0], "state": half[1],
                                        "rpo": 300, "suspend_reason_code": half[2]})
        if p["state"] == "present":
            kind = draw(ENTRY) if any(s["name"] == p["name"] for s in sessions[p["source"]]) else "create"
            actions = create(p["name"]) if kind == "create" else resume() if kind in ("resume", "changed") else []
            found = entry(p["name"], "changed" if kind in ("resume", "create") else kind, actions,
                          session=src(p["name"]))
            entries[p["source"]].append(found)
    for array in ("k2-a", "k2-b"):
        for name in draw(st.lists(st.sampled_from(NAMES + ["p-1", "p-2"]), max_size=3)):
            entries[array].append(entry(name, "pruned", [{"name": "delete"}], session=src(name)))
    down = draw(st.sampled_from([None, None, "k2-a", "k2-b"]))
    read = dict((array, {"info": {"sessions": sessions[array]}, "converge": {"sessions": entries[array]}})
                for array in ("k2-a", "k2-b") if array != down)
    return topology(*pairs), read, draw(st.booleans()), draw(st.booleans())


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
@hypothesis.given(scenes())
def test_every_plan_keeps_rules_1_to_4_and_6(scene):
    decl, read, prune, partial = scene
    before = copy.deepcopy(read)
    try:
        plan = planner.plan(decl, read, ARRAYS, prune=prune, allow_partial=partial)
    except PairError as exc:
        # Look-alike names that one array cannot hold twice: refused, naming the pair and its index.
        assert "is used by k2_topology.pairs[" in str(exc) and str(exc).startswith("k2_topology.pairs[")
        return
    assert read == before  # pure: the inputs are untouched
    found = by_name(plan)
    pairs = dict((p["name"], p) for p in decl["pairs"])
    halves = {}
    for array, data in read.items():
        for s in data["info"]["sessions"]:
            halves[(array, s["name"])] = s
    declared = set()
    for p in decl["pairs"]:
        declared |= {(p["source"], p["name"].casefold()), (p["target"], ("remote_" + p["name"]).casefold())}
    # Rule 1: a refused pair gets no step; any refusal without allow_partial stops the run; every
    # step targets an array that was read.
    refused = [n for n, f in found.items() if f["status"] in planner.REFUSED]
    assert plan["stop"] == (bool(refused) and not partial)
    assert sorted(plan["refused"]) == sorted(refused)
    for step in plan["steps"]:
        assert step["pair"] not in refused
        assert step["array"] in read
    # Rule 2: nothing is deleted that a present pair names; a delete of a declared name belongs to
    # that name's own absent pair.
    for step in plan["steps"]:
        if step["payload"].get("state") != "absent":
            continue
        key = (step["array"], step["payload"]["name"].casefold())
        if step["pair"] is None:
            assert key not in declared, step
        else:
            owner = pairs[step["pair"]]
            assert owner["state"] == "absent"
            assert key in {(owner["source"], owner["name"].casefold()),
                           (owner["target"], ("remote_" + owner["name"]).casefold())}
    # Rule 3: a removal needs both arrays read; its source half is deleted only after its target half
    # (when there is one) was deleted; nothing failed over is removed.
    for name, p in pairs.items():
        stages = [s[0] for s in steps_of(plan, name)]
        if p["state"] != "absent" or not stages:
            continue
        assert p["source"] in read and p["target"] in read
        target_half = halves.get((p["target"], "remote_" + name))
        if "remove_sources" in stages and target_half is not None:
            assert stages.index("remove_targets") < stages.index("remove_sources")
        assert stages == sorted(stages, key=planner.STAGES.index)
        assert all((halves.get(k) or {}).get("state") != "failed_over"
                   for k in ((p["source"], name), (p["target"], "remote_" + name)))
    # Rule 4: no step resumes (or starts) a source whose other half reads failed_over.
    for name, p in pairs.items():
        other = halves.get((p["target"], "remote_" + name))
        if other is not None and other["state"] == "failed_over":
            assert not [s for s in steps_of(plan, name) if s[2].get("replication_state") == "in_sync"]
            if p["state"] == "present" and p["source"] in read and p["target"] in read:
                assert found[name]["status"] in ("failed_over", "reversed", "source_missing")
    # Rule 6: exactly one half missing (both arrays read, the other half not reversed) is its own status.
    for name, p in pairs.items():
        if p["state"] != "present" or p["source"] not in read or p["target"] not in read:
            continue
        first, second = halves.get((p["source"], name)), halves.get((p["target"], "remote_" + name))
        if (first is None) != (second is None):
            assert found[name]["status"] == ("source_missing" if first is None else "mirror_missing")
            assert found[name]["fix"]
