# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's pair rules: the declared side, a source whose peer failed over, failover options
evaluated only when a failover is sent, renames, and every spelling of target_exposure."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    Action,
    PlanError,
    RoleMismatch,
    plan,
    validate,
)
from ansible_collections.kaminario.k2.tests.unit.plugins.module_utils.test_session_planner import (
    PATH,
    full_desired,
    session,
    transition,
)


# ---- declared side ---------------------------------------------------------------------------


@pytest.mark.parametrize("desired", [
    {"name": "s1", "current_role": "source", "rpo": 300},
    {"name": "s1", "current_role": "source", "replication_state": "in_sync"},
    {"name": "s1", "current_role": "source", "state": "absent"},
])
def test_a_reversed_session_is_refused_whatever_the_task_asks(desired):
    reversed_pair = session(state="in_sync", current_role="target", primary=False)
    with pytest.raises(RoleMismatch) as caught:
        plan(desired, reversed_pair)
    message = str(caught.value)
    assert "declared current_role=source but is the target side of its pair (state in_sync)" in message
    assert "Nothing was changed" in message


def test_the_declared_side_is_read_from_primary_without_current_role():
    # No current_role, primary false: the target side.
    actual = session(state="in_sync", primary=False)
    del actual["current_role"]
    with pytest.raises(RoleMismatch, match="is the target side"):
        plan({"name": "s1", "current_role": "source"}, actual)
    assert plan({"name": "s1", "current_role": "target"}, actual).actions == []


def test_a_matching_or_undeclared_side_plans_as_usual():
    actual = session(state="in_sync", current_role="target", primary=False)
    assert plan({"name": "s1", "current_role": "target", "replication_state": "failed_over"}, actual).actions == [
        transition("failed_over")]
    assert plan({"name": "s1", "replication_state": "failed_over"}, actual).actions == [transition("failed_over")]


def test_a_missing_session_declared_target_is_not_created():
    with pytest.raises(PlanError, match="created by its source array") as caught:
        plan(full_desired(current_role="target"), None)
    assert not isinstance(caught.value, RoleMismatch)
    # Absent and missing: nothing to do.
    assert plan({"name": "s1", "state": "absent", "current_role": "target"}, None).actions == []


def test_current_role_is_validated():
    with pytest.raises(PlanError, match="current_role must be source or target; got 'primary'"):
        validate({"name": "s1", "current_role": "primary"})


# ---- peer failed over ------------------------------------------------------------------------


def peer_failed_over(**over):
    return session(state="suspended", suspend_reason_code="peer_failed_over", **over)


def test_resuming_a_source_whose_peer_failed_over_is_refused_before_any_write():
    with pytest.raises(PlanError) as caught:
        plan({"name": "s1", "replication_state": "in_sync", "rpo": 300}, peer_failed_over())
    message = str(caught.value)
    assert message.startswith("cannot resume replication session 's1': it is suspended because its peer session "
                              "failed over (suspend_reason_code peer_failed_over)")
    assert "Fail back from the DR side" in message


def test_a_source_whose_peer_failed_over_can_still_be_stopped_changed_and_left_suspended():
    actual = peer_failed_over()
    assert plan({"name": "s1", "replication_state": "idle"}, actual).actions == [transition("idle")]
    assert plan({"name": "s1", "state": "absent"}, actual).actions == [
        transition("idle"), Action("delete", "DELETE", PATH, None, None)]
    assert plan({"name": "s1", "replication_state": "suspended", "rpo": 300}, actual).actions == [
        Action("update", "PATCH", PATH, {"rpo": 300}, None)]
    # Suspended for another reason: a resume is planned.
    assert plan({"name": "s1", "replication_state": "in_sync"}, session(state="suspended",
                suspend_reason_code="user_request")).actions == [transition("in_sync")]


# ---- failover options only with a failover ----------------------------------------------------


def test_rerunning_a_failover_that_is_done_is_a_noop_without_a_replicated_snapshot():
    actual = session(state="failed_over", current_role="target", primary=False, latest_replicated_snapshot=None)
    result = plan({"name": "s1", "replication_state": "failed_over", "restored_snapshot": "latest"}, actual)
    assert result.actions == []


def test_a_failover_that_is_sent_still_needs_the_latest_snapshot():
    actual = session(state="in_sync", current_role="target", primary=False, latest_replicated_snapshot=None)
    with pytest.raises(PlanError, match="restored_snapshot=latest: replication session 's1' has no "
                                        "latest_replicated_snapshot"):
        plan({"name": "s1", "replication_state": "failed_over", "restored_snapshot": "latest"}, actual)


# ---- rename ----------------------------------------------------------------------------------


def test_rename_is_one_patch_of_the_name_with_the_other_changes():
    result = plan({"name": "s1", "new_name": "s1-new", "rpo": 300}, session())
    assert result.actions == [Action("update", "PATCH", PATH, {"name": "s1-new", "rpo": 300}, None)]
    assert result.after["name"] == "s1-new"


def test_rename_already_done_is_a_noop():
    assert plan({"name": "s1", "new_name": "s1-new"}, session(name="s1-new")).actions == []


def test_a_session_created_with_new_name_gets_the_new_name():
    result = plan(full_desired(new_name="s1-new"), None)
    assert result.actions[0].body["name"] == "s1-new"


@pytest.mark.parametrize("desired, message", [
    ({"name": "s1", "new_name": " "}, "new_name must not be empty"),
    ({"name": "s1", "new_name": "s2", "state": "absent"}, "new_name cannot be used with state=absent"),
])
def test_rename_options_are_validated(desired, message):
    with pytest.raises(PlanError, match=message):
        validate(desired)


# ---- target_exposure spellings ----------------------------------------------------------------


@pytest.mark.parametrize("spelling, api", [
    ("read only", "Read Only"), ("READ-ONLY", "Read Only"), ("read_only", "Read Only"),
    ("Mapped - Not Exposed", "Mapped - Not Exposed"), ("mapped_not_exposed", "Mapped - Not Exposed"),
    ("UNMAPPED", "unmapped"),
])
def test_every_spelling_of_target_exposure_is_taken_and_sent_as_the_api_spells_it(spelling, api):
    validate({"name": "s1", "target_exposure": spelling})
    other = "unmapped" if api != "unmapped" else "Read Only"
    assert plan({"name": "s1", "target_exposure": spelling}, session(target_exposure=other)).actions == [
        Action("update", "PATCH", PATH, {"target_exposure": api}, None)]
