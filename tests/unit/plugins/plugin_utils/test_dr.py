# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failback model: the phase of a pair from its two sessions, the plan of each step (writes,
snapshots, waits) and the summary; a failback walked through every phase by hand."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.plugin_utils import dr
from ansible_collections.kaminario.k2.plugins.plugin_utils.pairs import normalize

TOPOLOGY = {"defaults": {"rpo": 300}, "pairs": [
    {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ora"},
    {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_rep", "target_session": "rep_copy"},
]}
PAIRS = normalize(TOPOLOGY, ["k2-a", "k2-b"])
ORA = [p for p in PAIRS if p["name"] == "ora"]


def s(name, role, state, **extra):
    session = {"name": name, "current_role": role, "state": state, "id": extra.pop("id", 7)}
    session.update(extra)
    return session


@pytest.mark.parametrize("a, b, expected", [
    (("source", "suspended"), ("target", "failed_over"), "failed_over"),
    (("source", "in_sync"), ("target", "failed_over"), "failed_over"),  # the source has not heard yet
    (("source", "suspended"), ("source", "in_sync"), "reversing"),
    (("target", "in_sync"), ("source", "in_sync"), "reversed"),
    (("target", "failed_over"), ("source", "in_sync"), "failing_back"),
    (("target", "failed_over"), ("source", "suspended"), "failed_back"),
    (("source", "in_sync"), ("source", "suspended"), "restoring"),
    (("source", "in_sync"), ("target", "in_sync"), "done"),
    (("source", "suspended"), ("target", "suspended"), "not_failed_over"),
    (("source", "idle"), ("target", "idle"), "not_failed_over"),
    (("source", "in_sync"), ("source", "in_sync"), "blocked"),
    (("target", "in_sync"), ("target", "in_sync"), "blocked"),
    (("target", "in_sync"), ("source", "suspended"), "blocked"),
])
def test_the_phase_of_a_pair_comes_from_both_sides(a, b, expected):
    found, reason = dr.phase(s("ora", *a), s("remote_ora", *b))
    assert found == expected
    assert ("source side %s %s, target side %s %s" % (a + b)) in reason


def test_a_missing_session_blocks_the_pair_and_says_which():
    assert dr.phase(None, s("remote_ora", "target", "failed_over")) == \
        ("blocked", "the source-side session does not exist")
    assert dr.phase(s("ora", "source", "in_sync"), None)[1] == "the target-side session does not exist"


def test_primary_tells_the_side_when_current_role_is_missing():
    a = {"name": "ora", "primary": True, "state": "in_sync"}
    b = {"name": "remote_ora", "primary": False, "state": "in_sync"}
    assert dr.phase(a, b)[0] == "done"
    assert dr.phase(dict(a, primary=False), dict(b, primary="True"))[0] == "reversed"


def walk(readings, step):
    return dr.failback_plan(ORA, readings, step)


def test_step_reverse_reverses_on_the_dr_array_and_waits_for_both_sides():
    readings = {"k2-a": [s("ora", "source", "suspended")], "k2-b": [s("remote_ora", "target", "failed_over")]}
    plan = walk(readings, "reverse")
    assert plan["act"] == {"k2-b": [{"name": "remote_ora", "current_role": "target", "replication_state": "in_sync"}]}
    assert plan["snapshot"] == {}
    assert plan["expect"] == {
        "k2-b": [{"name": "remote_ora", "equal": {"current_role": "source", "state": "in_sync"}}],
        "k2-a": [{"name": "ora", "equal": {"current_role": "target", "state": "in_sync"}}]}
    # The other steps have nothing to do for a pair in this phase.
    for step in ("sync", "failover", "restore"):
        plan = walk(readings, step)
        assert (plan["act"], plan["snapshot"], plan["expect"]) == ({}, {}, {}), step


def test_a_pair_half_way_through_a_step_is_only_waited_for():
    readings = {"k2-a": [s("ora", "source", "suspended")], "k2-b": [s("remote_ora", "source", "in_sync")]}
    plan = walk(readings, "reverse")
    assert plan["pairs"][0]["phase"] == "reversing" and plan["act"] == {}
    assert plan["expect"]["k2-a"] == [{"name": "ora", "equal": {"current_role": "target", "state": "in_sync"}}]


def test_step_sync_snapshots_the_dr_session_marks_and_waits_for_the_source_latest_to_move():
    readings = {"k2-a": [s("ora", "target", "in_sync", latest_replicated_snapshot={"ref": "/snapshots/4"})],
                "k2-b": [s("remote_ora", "source", "in_sync", id=12)]}
    plan = walk(readings, "sync")
    assert plan["act"] == {}
    assert plan["snapshot"] == {"k2-b": ["remote_ora"]}
    assert plan["marks"] == {"ora": "/snapshots/4"}
    assert plan["expect"] == {"k2-a": [{"name": "ora", "equal": {"current_role": "target", "state": "in_sync"},
                                        "differ": {"latest_replicated_snapshot": "/snapshots/4"}}]}
    # Even with a snapshot under way already, a new one is taken: only one taken after this read counts.
    readings["k2-b"][0]["current_snapshot"] = "vg_ora:snap_9"
    assert walk(readings, "sync")["snapshot"] == {"k2-b": ["remote_ora"]}


def test_step_failover_restores_only_a_snapshot_that_arrived_after_the_sync_of_this_run():
    before = {"ref": "/snapshots/4"}
    readings = {"k2-a": [s("ora", "target", "in_sync", latest_replicated_snapshot=before)],
                "k2-b": [s("remote_ora", "source", "in_sync")]}
    # No sync in this run (no mark), or the source half still shows what it showed before the sync:
    # nothing is failed over, and the pair says why.
    for marks in ({}, {"ora": "/snapshots/4"}, {"other": None}):
        plan = dr.failback_plan(ORA, readings, "failover", marks=marks)
        assert (plan["act"], plan["expect"]) == ({}, {}), marks
        assert plan["pairs"][0]["next"].startswith("sync first")
    readings["k2-a"][0]["latest_replicated_snapshot"] = {"ref": "/snapshots/9"}
    plan = dr.failback_plan(ORA, readings, "failover", marks={"ora": "/snapshots/4"})
    assert plan["act"] == {"k2-a": [{"name": "ora", "current_role": "target", "replication_state": "failed_over",
                                     "restored_snapshot": "latest"}]}
    assert plan["expect"]["k2-b"] == [
        {"name": "remote_ora", "equal": {"current_role": "source", "state": "suspended"}}]
    # A source half that had no replicated snapshot at all before the sync is marked None.
    readings["k2-a"][0]["latest_replicated_snapshot"] = None
    assert dr.failback_plan(ORA, readings, "failover", marks={"ora": None})["act"] == {}


def test_step_restore_reverses_on_the_source_array_back_to_the_original_direction():
    readings = {"k2-a": [s("ora", "target", "failed_over")], "k2-b": [s("remote_ora", "source", "suspended")]}
    plan = walk(readings, "restore")
    assert plan["act"] == {"k2-a": [{"name": "ora", "current_role": "target", "replication_state": "in_sync"}]}
    assert plan["expect"] == {
        "k2-a": [{"name": "ora", "equal": {"current_role": "source", "state": "in_sync"}}],
        "k2-b": [{"name": "remote_ora", "equal": {"current_role": "target", "state": "in_sync"}}]}


def test_a_pair_done_or_blocked_gets_nothing_in_any_step():
    for a, b in ((("source", "in_sync"), ("target", "in_sync")), (("source", "in_sync"), ("source", "in_sync"))):
        readings = {"k2-a": [s("ora", *a)], "k2-b": [s("remote_ora", *b)]}
        for step in dr.STEPS:
            plan = dr.failback_plan(ORA, readings, step, marks={"ora": "x"})
            assert (plan["act"], plan["snapshot"], plan["expect"]) == ({}, {}, {})


def test_step_settle_returns_a_pair_to_its_declared_state():
    suspended = normalize({"pairs": [dict(TOPOLOGY["pairs"][0], replication_state="suspended")]}, ["k2-a", "k2-b"])
    readings = {"k2-a": [s("ora", "source", "in_sync")], "k2-b": [s("remote_ora", "target", "in_sync")]}
    plan = dr.failback_plan(suspended, readings, "settle")
    assert plan["pairs"][0]["phase"] == "settling"
    assert plan["act"] == {"k2-a": [{"name": "ora", "current_role": "source", "replication_state": "suspended"}]}
    assert plan["expect"] == {"k2-a": [{"name": "ora", "equal": {"current_role": "source", "state": "suspended"}}],
                              "k2-b": [{"name": "remote_ora", "equal": {"current_role": "target",
                                                                        "state": "suspended"}}]}
    readings = {"k2-a": [s("ora", "source", "suspended")], "k2-b": [s("remote_ora", "target", "suspended")]}
    plan = dr.failback_plan(suspended, readings, "settle")
    assert (plan["pairs"][0]["phase"], plan["act"]) == ("not_failed_over", {})


def test_an_array_that_could_not_be_read_blocks_its_pairs():
    plan = dr.failback_plan(ORA, {"k2-a": {"failed": True, "msg": "down"}, "k2-b": [s("remote_ora", "target", "failed_over")]},
                            "reverse")
    assert (plan["pairs"][0]["phase"], plan["pairs"][0]["reason"], plan["act"]) == ("blocked", "k2-a could not be read", {})


def test_an_unknown_step_is_refused():
    with pytest.raises(dr.DrError, match="step must be one of reverse, sync, failover, restore, settle, got 'back'"):
        dr.failback_plan(ORA, {}, "back")


def test_the_pairs_are_read_by_their_own_names_on_their_own_arrays():
    # rep: source k2-b (session rep), target k2-a (session rep_copy). Sessions of other pairs and a
    # session of the same name on the wrong array do not count.
    readings = {"k2-a": [s("rep_copy", "target", "failed_over"), s("rep", "source", "in_sync")],
                "k2-b": [s("rep", "source", "suspended"), s("remote_ora", "target", "in_sync")]}
    plan = dr.failback_plan(PAIRS, readings, "reverse")
    assert [(r["pair"], r["phase"]) for r in plan["pairs"]] == [("ora", "blocked"), ("rep", "failed_over")]
    assert plan["pairs"][0]["reason"] == "the source-side session does not exist"
    assert plan["act"] == {"k2-a": [{"name": "rep_copy", "current_role": "target", "replication_state": "in_sync"}]}
    assert plan["counts"] == {"blocked": 1, "failed_over": 1}


def test_a_whole_failback_walks_every_phase_in_order():
    """Apply each step's writes the way the array does, mirror included: each step moves the pair on,
    and each step's expectations hold once its writes landed."""
    from ansible_collections.kaminario.k2.plugins.module_utils import session_wait

    a, b = s("ora", "source", "suspended"), s("remote_ora", "target", "failed_over")
    readings = {"k2-a": [a], "k2-b": [b]}
    seen, marks = [walk(readings, None)["pairs"][0]["phase"]], {}
    for step in dr.STEPS:
        plan = dr.failback_plan(ORA, readings, step, marks=marks)
        marks = plan["marks"] or marks
        for array, items in plan["act"].items():
            for item in items:
                session = a if array == "k2-a" else b
                peer = b if session is a else a
                if item["replication_state"] == "in_sync":  # a reverse
                    session.update(current_role="source", state="in_sync")
                    peer.update(current_role="target", state="in_sync")
                else:  # a failover
                    session.update(state="failed_over")
                    peer.update(state="suspended")
        if plan["snapshot"]:
            a["latest_replicated_snapshot"] = {"ref": "/snapshots/99"}
        for array, found in (("k2-a", a), ("k2-b", b)):
            expectations = session_wait.check(plan["expect"].get(array))
            assert session_wait.unmet({found["name"]: found}, expectations) == [], (step, array)
        seen.append(walk(readings, None)["pairs"][0]["phase"])
    assert seen == ["failed_over", "reversed", "reversed", "failed_back", "done", "done"]


def test_the_summary_says_where_each_pair_started_and_ended():
    start = {"pairs": [{"pair": "ora", "phase": "failed_over"}, {"pair": "rep", "phase": "done"},
                       {"pair": "x", "phase": "reversed"}]}
    end = {"pairs": [
        {"pair": "ora", "source": "k2-a", "target": "k2-b", "source_session": "ora", "target_session": "remote_ora",
         "phase": "done", "reason": "r", "next": dr.NEXT["done"]},
        {"pair": "rep", "source": "k2-b", "target": "k2-a", "source_session": "rep", "target_session": "rep_copy",
         "phase": "done", "reason": "r", "next": dr.NEXT["done"]},
        {"pair": "x", "source": "k2-a", "target": "k2-b", "source_session": "x", "target_session": "remote_x",
         "phase": "reversed", "reason": "r", "next": dr.NEXT["reversed"]}]}
    summary = dr.failback_summary(start, end, "reverse")
    assert summary["completed"] == 1 and summary["unfinished"] == ["x"]
    assert summary["phases"] == {"done": 2, "reversed": 1} and summary["stopped_after"] == "reverse"
    assert summary["lines"] == [
        "ora (k2-a -> k2-b): done (was failed_over)",
        "rep (k2-b -> k2-a): done",
        "x (k2-a -> k2-b): reversed; next: " + dr.NEXT["reversed"]]
    assert summary["unfinished_lines"] == ["x (k2-a -> k2-b): reversed; next: " + dr.NEXT["reversed"]]
    assert summary["pairs"][0]["started"] == "failed_over"


def test_the_summary_lines_show_line_breaks_in_names_as_escapes():
    end = {"pairs": [{"pair": "ora\n# done", "source": "k2-a", "target": "k2-b", "source_session": "ora\n# done",
                      "target_session": "r\u2028", "phase": "done", "reason": "r", "next": dr.NEXT["done"]}]}
    summary = dr.failback_summary(None, end)
    assert summary["lines"] == ["ora\\n# done (k2-a -> k2-b): done"] and summary["pairs"][0]["pair"] == "ora\n# done"
    record = {"pair": "p\r\n", "source": "k2-a", "array": "k2-b", "session": "s\u2028", "status": "failed_over",
              "state": "failed_over", "restored_snapshot": None, "msg": ""}
    assert dr.failover_summary([record])["lines"] == ["p\\r\\n: s\\u2028 on k2-b failed_over, state failed_over"]
