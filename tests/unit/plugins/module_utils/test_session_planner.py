# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session planner: a pure (desired, actual) -> ordered actions function."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    Action,
    PlanError,
    diff_view,
    node_of,
    plan,
    references_needed,
    transition_path,
    validate,
)

PATH = "/replication/sessions/7"
NEW = "/replication/sessions/(new)"


def session(**over):
    """A session as the API shows it (numbers as strings, as a real array may send them)."""
    data = {
        "id": 7,
        "name": "s1",
        "state": "idle",
        "current_role": "source",
        "primary": True,
        "rpo": "1200",
        "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
        "local_volume_group": {"ref": "/volume_groups/5"},
        "retention_policy": {"ref": "/retention_policies/5"},
        "external_retention_policy": {"ref": "/retention_policies/6"},
        "target_exposure": "Read Only",
        "remote_replication_session_name": "remote_s1",
        "replication_peer_volume_group": {"ref": "/replication/peer_volume_groups/2"},
        "latest_replicated_snapshot": {"ref": "/snapshots/428"},
    }
    data.update(over)
    return data


def full_desired(**over):
    data = {
        "name": "s1",
        "state": "present",
        "replication_peer_k2array": "/replication/peer_k2arrays/1",
        "local_volume_group": "/volume_groups/5",
        "rpo": 1200,
        "retention_policy": "/retention_policies/5",
        "external_retention_policy": "/retention_policies/6",
        "target_exposure": "Read Only",
        "remote_replication_session_name": "remote_s1",
    }
    data.update(over)
    return data


def transition(state, **extra):
    body = {"state": state}
    body.update(extra)
    return Action("transition", "PATCH", PATH, body, state)


def test_plan_error_is_a_k2_error():
    assert issubclass(PlanError, K2Error)


# ---- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rpo", [60, 300, 1200, "1200", 3600])
def test_valid_rpo(rpo):
    validate({"name": "s1", "rpo": rpo})


@pytest.mark.parametrize("rpo", [0, 30, 100, 301, 600 + 60, -300, "abc", True])
def test_invalid_rpo_names_the_option(rpo):
    with pytest.raises(PlanError, match=r"^rpo must be 60 .* multiple of 300"):
        validate({"name": "s1", "rpo": rpo})


def test_invalid_target_exposure():
    with pytest.raises(PlanError, match="target_exposure must be one of unmapped, Read Only, Mapped - Not Exposed"):
        validate({"name": "s1", "target_exposure": "exposed"})


def test_invalid_replication_state():
    with pytest.raises(PlanError, match="replication_state must be one of"):
        validate({"name": "s1", "replication_state": "running"})


def test_replication_state_with_absent():
    with pytest.raises(PlanError, match="replication_state cannot be used with state=absent"):
        validate({"name": "s1", "state": "absent", "replication_state": "idle"})


@pytest.mark.parametrize("option", ["snapshot_wwn", "offline_initial_sync", "restored_snapshot"])
def test_transition_options_need_replication_state(option):
    with pytest.raises(PlanError, match="%s is sent with a state change: it needs replication_state" % option):
        validate({"name": "s1", option: "x"})
    with pytest.raises(PlanError, match="%s cannot be used with state=absent" % option):
        validate({"name": "s1", "state": "absent", option: "x"})


def test_offline_initial_sync_needs_in_sync():
    with pytest.raises(PlanError, match="offline_initial_sync applies to starting replication only"):
        validate({"name": "s1", "replication_state": "suspended", "offline_initial_sync": True})


def test_restored_snapshot_needs_failover():
    with pytest.raises(PlanError, match="restored_snapshot applies to a failover only"):
        validate({"name": "s1", "replication_state": "in_sync", "restored_snapshot": "latest"})


def test_plan_validates_first():
    with pytest.raises(PlanError, match="rpo"):
        plan({"name": "s1", "rpo": 61}, session())


# ---- create -------------------------------------------------------------------------------------


def test_create_sends_the_set_fields_in_api_form():
    desired = full_desired(rpo="1200", target_exposure="read_only", auto_configure_peer_volumes="True",
                           replication_peer_volume_group_name="vg_remote")
    result = plan(desired, None)
    body = {
        "name": "s1",
        "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
        "local_volume_group": {"ref": "/volume_groups/5"},
        "rpo": 1200,
        "retention_policy": {"ref": "/retention_policies/5"},
        "external_retention_policy": {"ref": "/retention_policies/6"},
        "target_exposure": "Read Only",
        "remote_replication_session_name": "remote_s1",
        "replication_peer_volume_group_name": "vg_remote",
        "auto_configure_peer_volumes": True,
    }
    assert result.actions == [Action("create", "POST", "/replication/sessions", body, None)]
    predicted = dict(body, state="idle", current_role="source")
    del predicted["replication_peer_volume_group_name"], predicted["auto_configure_peer_volumes"]
    assert result.after == predicted


def test_create_with_only_the_mandatory_fields():
    desired = {"name": "s1", "replication_peer_k2array": "/replication/peer_k2arrays/1",
               "local_volume_group": "/volume_groups/5", "rpo": 60}
    result = plan(desired, None)
    assert result.actions[0].body == {
        "name": "s1", "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
        "local_volume_group": {"ref": "/volume_groups/5"}, "rpo": 60,
    }


@pytest.mark.parametrize("missing", [["rpo"], ["local_volume_group", "rpo"],
                                     ["replication_peer_k2array", "local_volume_group", "rpo"]])
def test_create_without_mandatory_fields(missing):
    desired = full_desired()
    for field in missing:
        del desired[field]
    with pytest.raises(PlanError) as err:
        plan(desired, None)
    assert str(err.value) == "replication session 's1' does not exist; to create it, also give %s" % ", ".join(missing)


@pytest.mark.parametrize("requested, states", [
    ("idle", []),
    ("in_sync", ["in_sync"]),
    ("suspended", ["in_sync", "suspended"]),
])
def test_create_then_transitions_from_idle(requested, states):
    result = plan(full_desired(replication_state=requested), None)
    assert [a.name for a in result.actions] == ["create"] + ["transition"] * len(states)
    assert [(a.method, a.path, a.body, a.wait_state) for a in result.actions[1:]] == [
        ("PATCH", NEW, {"state": s}, s) for s in states
    ]
    assert result.after["state"] == requested
    assert result.after["current_role"] == "source"


def test_create_then_failover_is_refused_before_any_action():
    with pytest.raises(PlanError) as err:
        plan(full_desired(replication_state="failed_over"), None)
    assert "from idle to failed_over" in str(err.value)
    assert "failover is done on the target-side session" in str(err.value)


def test_create_start_carries_the_transition_options():
    desired = full_desired(replication_state="in_sync", snapshot_wwn="0x1234", offline_initial_sync="True")
    result = plan(desired, None)
    assert [a.body for a in result.actions[1:]] == [
        {"state": "in_sync", "snapshot_wwn": "0x1234", "offline_initial_sync": True},
    ]


# ---- existing session: no-op, update, immutable -------------------------------------------------


@pytest.mark.parametrize("actual_over", [
    {},
    {"rpo": 1200},
    {"target_exposure": "read only"},
    {"target_exposure": "READ_ONLY"},
])
def test_noop_after_normalisation(actual_over):
    actual = session(**actual_over)
    result = plan(full_desired(target_exposure="Read Only", replication_state="idle"), actual)
    assert result.actions == []
    assert result.after == actual


def test_options_left_out_are_not_desired_state():
    actual = session(rpo="300", target_exposure="unmapped", state="in_sync")
    assert plan({"name": "s1"}, actual) == (([], actual))


def test_update_is_one_patch_with_only_the_differing_fields():
    actual = session(target_exposure="Mapped - Not Exposed")
    desired = full_desired(rpo=300, retention_policy="/retention_policies/9",
                           target_exposure="mapped_not_exposed")
    result = plan(desired, actual)
    body = {"rpo": 300, "retention_policy": {"ref": "/retention_policies/9"}}
    assert result.actions == [Action("update", "PATCH", PATH, body, None)]
    assert result.after == dict(actual, **body)


def test_update_target_exposure_is_sent_in_the_api_spelling():
    result = plan({"name": "s1", "target_exposure": "mapped - not exposed"}, session(target_exposure="unmapped"))
    assert result.actions == [Action("update", "PATCH", PATH, {"target_exposure": "Mapped - Not Exposed"}, None)]


def test_update_then_transition():
    result = plan({"name": "s1", "rpo": 60, "replication_state": "in_sync"}, session())
    assert result.actions == [Action("update", "PATCH", PATH, {"rpo": 60}, None), transition("in_sync")]
    assert result.after["rpo"] == 60 and result.after["state"] == "in_sync"


@pytest.mark.parametrize("field, wanted, current", [
    ("local_volume_group", "/volume_groups/9", "/volume_groups/5"),
    ("replication_peer_k2array", "/replication/peer_k2arrays/2", "/replication/peer_k2arrays/1"),
    ("remote_replication_session_name", "other_name", "remote_s1"),
])
def test_immutable_field_is_refused(field, wanted, current):
    with pytest.raises(PlanError) as err:
        plan(full_desired(**{field: wanted, "rpo": 300}), session())
    msg = str(err.value)
    assert msg.startswith("%s of replication session 's1' is %s, not %s, and cannot be changed" % (field, current, wanted))
    assert "state=absent" in msg and "never deletes and recreates" in msg


def test_create_only_fields_are_not_compared_on_an_existing_session():
    desired = full_desired(auto_configure_peer_volumes=False, replication_peer_volume_group_name="other")
    assert plan(desired, session()).actions == []


def test_immutable_field_the_session_does_not_show_is_not_compared():
    actual = session()
    del actual["remote_replication_session_name"]
    assert plan(full_desired(remote_replication_session_name="x"), actual).actions == []


# ---- transitions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("start, goal, hops", [
    (("idle", "source"), "idle", []),
    (("idle", "source"), "in_sync", [("in_sync", "source")]),
    (("idle", "source"), "suspended", [("in_sync", "source"), ("suspended", "source")]),
    (("idle", "source"), "failed_over", None),
    (("in_sync", "source"), "suspended", [("suspended", "source")]),
    (("in_sync", "source"), "idle", [("suspended", "source"), ("idle", "source")]),
    (("in_sync", "source"), "failed_over", None),
    (("suspended", "source"), "in_sync", [("in_sync", "source")]),
    (("suspended", "source"), "idle", [("idle", "source")]),
    (("suspended", "source"), "failed_over", None),
    (("in_sync", "target"), "failed_over", [("failed_over", "target")]),
    (("suspended", "target"), "failed_over", [("failed_over", "target")]),
    (("in_sync", "target"), "idle", None),  # would need a failover on the way
    (("in_sync", "target"), "suspended", None),
    (("suspended", "target"), "in_sync", None),
    (("suspended", "target"), "idle", None),
    (("failed_over", "target"), "in_sync", [("in_sync", "source")]),
    (("failed_over", "target"), "idle", [("idle", "target")]),
    (("failed_over", "target"), "suspended", None),  # would need a reverse on the way
    (("idle", "target"), "in_sync", None),
    (("idle", "target"), "idle", []),
])
def test_transition_path(start, goal, hops):
    assert transition_path(start, goal) == hops


@pytest.mark.parametrize("state, role, requested, states", [
    ("idle", "source", "in_sync", ["in_sync"]),
    ("idle", "source", "suspended", ["in_sync", "suspended"]),
    ("in_sync", "source", "suspended", ["suspended"]),
    ("in_sync", "source", "idle", ["suspended", "idle"]),
    ("suspended", "source", "in_sync", ["in_sync"]),
    ("suspended", "source", "idle", ["idle"]),
    ("in_sync", "target", "failed_over", ["failed_over"]),
    ("suspended", "target", "failed_over", ["failed_over"]),
    ("failed_over", "target", "in_sync", ["in_sync"]),
    ("failed_over", "target", "idle", ["idle"]),
])
def test_transitions_on_an_existing_session(state, role, requested, states):
    actual = session(state=state, current_role=role)
    result = plan({"name": "s1", "replication_state": requested}, actual)
    assert result.actions == [transition(s) for s in states]
    assert result.after["state"] == requested


@pytest.mark.parametrize("state", ["in_sync", "suspended", "idle", "failed_over"])
def test_requested_state_already_there_is_a_noop(state):
    actual = session(state=state, current_role="target" if state == "failed_over" else "source")
    assert plan({"name": "s1", "replication_state": state, "snapshot_wwn": "0x1"}, actual) == ([], actual)


def test_reverse_makes_the_session_the_source():
    result = plan({"name": "s1", "replication_state": "in_sync"}, session(state="failed_over", current_role="target"))
    assert result.after["current_role"] == "source"


def test_failover_with_restored_snapshot_latest_costs_nothing():
    actual = session(state="in_sync", current_role="target", primary=False)
    desired = {"name": "s1", "replication_state": "failed_over", "restored_snapshot": "latest"}
    result = plan(desired, actual)
    assert result.actions == [transition("failed_over", restored_snapshot={"ref": "/snapshots/428"})]
    assert result.after["state"] == "failed_over" and result.after["current_role"] == "target"


def test_failover_with_a_given_snapshot():
    actual = session(state="suspended", current_role="target")
    desired = {"name": "s1", "replication_state": "failed_over", "restored_snapshot": "/snapshots/12"}
    assert plan(desired, actual).actions == [transition("failed_over", restored_snapshot={"ref": "/snapshots/12"})]


def test_failover_latest_without_a_replicated_snapshot():
    actual = session(state="in_sync", current_role="target", latest_replicated_snapshot=None)
    desired = {"name": "s1", "replication_state": "failed_over", "restored_snapshot": "latest"}
    with pytest.raises(PlanError, match="restored_snapshot=latest: replication session 's1' has no"):
        plan(desired, actual)


def test_transition_options_only_on_the_final_hop():
    desired = {"name": "s1", "replication_state": "idle", "snapshot_wwn": "0xab"}
    result = plan(desired, session(state="in_sync"))
    assert result.actions == [transition("suspended"), transition("idle", snapshot_wwn="0xab")]


@pytest.mark.parametrize("state, role, requested, fragments", [
    ("in_sync", "target", "idle", ["from in_sync to idle", "on the target side",
                                   "Stop the session on the source array first"]),
    ("suspended", "target", "in_sync", ["from suspended to in_sync", "Stop the session on the source array first"]),
    ("in_sync", "source", "failed_over", ["from in_sync to failed_over", "failover is done on the target-side"]),
    ("failed_over", "target", "suspended", ["from failed_over to suspended",
                                            "allows only: in_sync, idle (failover and reverse are never taken"]),
    ("idle", "target", "in_sync", ["from idle to in_sync", "allows only: delete"]),
])
def test_impossible_transition_fails_naming_both_states(state, role, requested, fragments):
    with pytest.raises(PlanError) as err:
        plan({"name": "s1", "replication_state": requested, "rpo": 60}, session(state=state, current_role=role))
    for fragment in fragments:
        assert fragment in str(err.value)


def test_unknown_state_cannot_be_planned():
    with pytest.raises(PlanError, match="unknown state 'syncing'"):
        plan({"name": "s1", "replication_state": "idle"}, session(state="syncing"))


def test_role_from_primary_when_current_role_is_missing():
    assert node_of({"state": "in_sync", "primary": "False"}) == ("in_sync", "target")
    assert node_of({"state": "in_sync", "primary": True}) == ("in_sync", "source")
    assert node_of({"state": "idle"}) == ("idle", "source")


# ---- absent -----------------------------------------------------------------------------------------


def test_absent_and_already_absent():
    assert plan({"name": "s1", "state": "absent"}, None) == ([], None)


@pytest.mark.parametrize("state, role, states", [
    ("idle", "source", []),
    ("in_sync", "source", ["suspended", "idle"]),
    ("suspended", "source", ["idle"]),
    ("failed_over", "target", ["idle"]),
    ("idle", "target", []),
])
def test_absent_walks_down_to_idle_then_deletes(state, role, states):
    desired = {"name": "s1", "state": "absent", "rpo": 300, "local_volume_group": "/volume_groups/99"}
    result = plan(desired, session(state=state, current_role=role))
    assert result.actions == [transition(s) for s in states] + [Action("delete", "DELETE", PATH, None, None)]
    assert result.after is None


@pytest.mark.parametrize("state", ["in_sync", "suspended"])
def test_absent_on_a_replicating_target_side_session_is_refused(state):
    with pytest.raises(PlanError) as err:
        plan({"name": "s1", "state": "absent"}, session(state=state, current_role="target"))
    assert str(err.value) == (
        "cannot stop replication session 's1' to delete it: it is %s on the target side, and a target-side "
        "session follows its source. Stop the session on the source array first, or fail it over deliberately "
        "(replication_state: failed_over)" % state)


# ---- what to resolve, and the diff view -------------------------------------------------------------


def test_references_needed():
    desired = full_desired(replication_state="failed_over", restored_snapshot="snap1")
    refs = ["replication_peer_k2array", "local_volume_group", "retention_policy", "external_retention_policy"]
    assert references_needed(desired, session(state="in_sync")) == refs + ["restored_snapshot"]
    # Already failed over: no failover hop, so the snapshot is not read. On create it cannot be reached.
    assert references_needed(desired, session(state="failed_over")) == refs
    assert references_needed(desired, None) == refs
    assert references_needed(dict(desired, restored_snapshot="latest"), session(state="in_sync")) == refs
    assert references_needed({"name": "s1", "rpo": 60}, session()) == []
    assert references_needed({"name": "s1", "state": "absent", "local_volume_group": "vg"}, session()) == []


def test_diff_view_is_normalised_and_limited_to_managed_fields():
    view = diff_view(session(target_exposure="read_only"))
    assert view == {
        "name": "s1",
        "replication_peer_k2array": "/replication/peer_k2arrays/1",
        "local_volume_group": "/volume_groups/5",
        "rpo": 1200,
        "retention_policy": "/retention_policies/5",
        "external_retention_policy": "/retention_policies/6",
        "target_exposure": "Read Only",
        "remote_replication_session_name": "remote_s1",
        "current_role": "source",
        "state": "idle",
    }
    # With names known, references show as names; an unknown ref stays as it is.
    named = diff_view(session(), {"/volume_groups/5": "vg_oracle_prod", "/retention_policies/5": "Best_Effort"})
    assert (named["local_volume_group"], named["retention_policy"], named["external_retention_policy"]) == (
        "vg_oracle_prod", "Best_Effort", "/retention_policies/6")
    assert diff_view(None) == {}


def test_plan_does_not_modify_its_inputs():
    actual = session(state="in_sync")
    desired = full_desired(rpo=300, replication_state="idle")
    saved = copy.deepcopy((desired, actual))
    plan(desired, actual)
    assert (desired, actual) == saved
