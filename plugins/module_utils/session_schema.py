# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of a replication session: its API fields and their types, where each
reference points, ref parsing, the spellings the API uses, the states and sides, which fields may be
written when, and the module options that describe a session (argument spec). No I/O and no Ansible
import: the planner, the applier, the filters and both modules read it from here."""

from __future__ import annotations

import re

SESSIONS_PATH = "/replication/sessions"

# ---- fields --------------------------------------------------------------------------------------

# The vendor's field list for replication/sessions, with each field's type.
INT, BOOL, STR, REF = "int", "bool", "string", "reference"
SESSION_FIELDS = {
    "common_snapshots_count": INT,
    "current_role": STR,
    "current_snapshot": STR,
    "current_snapshot_progress": INT,
    "estimated_remaining_time": INT,
    "external_retention_policy": REF,
    "id": INT,
    "latest_replicated_snapshot": REF,
    "local_volume_group": REF,
    "name": STR,
    "next_snapshot": STR,
    "primary": BOOL,
    "remote_replication_session_id": INT,
    "remote_replication_session_name": STR,
    "replication_peer_k2array": REF,
    "replication_peer_volume_group": REF,
    "replication_rpo_history": REF,
    "restored_snapshot": STR,
    "retention_policy": REF,
    "rpo": INT,
    "state": STR,
    "stopped": BOOL,
    "suspend_reason": STR,
    "suspend_reason_code": STR,
    "target_exposure": STR,
}

# Where each reference field of a session points (API paths, relative to /api/v2).
REFERENCE_PATHS = {
    "external_retention_policy": "/retention_policies",
    "latest_replicated_snapshot": "/snapshots",
    "local_volume_group": "/volume_groups",
    "replication_peer_k2array": "/replication/peer_k2arrays",
    "replication_peer_volume_group": "/replication/peer_volume_groups",
    "replication_rpo_history": "/replication/rpo_history",
    "retention_policy": "/retention_policies",
}
# rpo_history records have no name, so there is nothing to resolve for them.
NAMELESS_REFERENCES = frozenset(["replication_rpo_history"])

# The module options that are references, and the resource each points to.
OPTION_REFERENCE_PATHS = dict(
    (f, REFERENCE_PATHS[f])
    for f in ("replication_peer_k2array", "local_volume_group", "retention_policy", "external_retention_policy")
)
OPTION_REFERENCE_PATHS["restored_snapshot"] = REFERENCE_PATHS["latest_replicated_snapshot"]
LATEST = "latest"  # restored_snapshot: the session's latest_replicated_snapshot

MANDATORY_ON_CREATE = ("replication_peer_k2array", "local_volume_group", "rpo")
CREATE_FIELDS = (
    "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy", "external_retention_policy",
    "target_exposure", "remote_replication_session_name", "replication_peer_volume_group_name",
    "auto_configure_peer_volumes",
)
# Fields a PATCH may change after creation, apart from state (and name, for a rename).
WRITABLE_FIELDS = ("rpo", "retention_policy", "external_retention_policy", "target_exposure")
# Fixed at creation and shown by the API, so a difference can be seen and refused.
# auto_configure_peer_volumes is not returned and replication_peer_volume_group_name is shown only as
# a ref to the peer group: both apply on create only.
IMMUTABLE_FIELDS = ("local_volume_group", "replication_peer_k2array", "remote_replication_session_name")
# The create-only fields the API never shows back: not part of a predicted session.
UNSHOWN_FIELDS = ("replication_peer_volume_group_name", "auto_configure_peer_volumes")
# What a diff shows: the fields the modules manage, plus the side and the state.
DIFF_FIELDS = (
    "name", "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy",
    "external_retention_policy", "target_exposure", "remote_replication_session_name", "current_role", "state",
)
# Options that go with a transition, sent on the hop that reaches the requested state.
TRANSITION_OPTIONS = ("snapshot_wwn", "offline_initial_sync", "restored_snapshot")

# ---- states and sides ----------------------------------------------------------------------------

STATES = ("in_sync", "suspended", "idle", "failed_over")
SOURCE, TARGET = "source", "target"
ROLES = (SOURCE, TARGET)
# A source session whose target failed over reads suspended with this code, and the array refuses
# to resume it while the peer is failed over.
PEER_FAILED_OVER = "peer_failed_over"

# ---- spellings -----------------------------------------------------------------------------------

# target_exposure as the API spells it.
EXPOSURES = ("unmapped", "Read Only", "Mapped - Not Exposed")


def exposure_key(value):
    """'Mapped - Not Exposed', 'mapped_not_exposed' and 'MAPPED NOT EXPOSED' all compare equal."""
    return re.sub(r"[\s_-]+", " ", str(value).strip().lower())


_EXPOSURE_SPELLING = dict((exposure_key(e), e) for e in EXPOSURES)


def exposure_spelling(value):
    """The API's spelling of a target_exposure value, or None when it is none of them."""
    return _EXPOSURE_SPELLING.get(exposure_key(value))


def ref_string(value):
    """A reference as a ref string: {"ref": "/x/1"} -> "/x/1"; a string stays; None stays None."""
    if isinstance(value, dict):
        return value.get("ref")
    return value


def split_ref(value):
    """'/replication/peer_k2arrays/1' (or {"ref": ...}) -> ('/replication/peer_k2arrays', '1');
    None when the value is not a ref."""
    ref = ref_string(value)
    if not isinstance(ref, str) or "/" not in ref.strip("/"):
        return None
    path, obj_id = ref.rstrip("/").rsplit("/", 1)
    return (path, obj_id) if path and obj_id else None


# ---- module options ------------------------------------------------------------------------------

# The options that describe one session, as an argument spec. k2_replication_session takes them at
# the top level, k2_replication_topology once per item of `sessions` (doc fragment kaminario.k2.session).
# target_exposure has no `choices`: any spelling that exposure_key maps to one of EXPOSURES is taken.
SESSION_OPTIONS = dict(
    name=dict(type="str", required=True),
    new_name=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    current_role=dict(type="str", choices=list(ROLES)),
    replication_peer_k2array=dict(type="str", aliases=["peer_array"]),
    local_volume_group=dict(type="str", aliases=["volume_group"]),
    rpo=dict(type="int"),
    retention_policy=dict(type="str"),
    external_retention_policy=dict(type="str"),
    target_exposure=dict(type="str"),
    remote_replication_session_name=dict(type="str", aliases=["remote_session_name"]),
    replication_peer_volume_group_name=dict(type="str", aliases=["peer_volume_group_name"]),
    auto_configure_peer_volumes=dict(type="bool"),
    replication_state=dict(type="str", choices=list(STATES)),
    snapshot_wwn=dict(type="str"),
    offline_initial_sync=dict(type="bool"),
    restored_snapshot=dict(type="str"),
)
DESIRED_OPTIONS = tuple(SESSION_OPTIONS)
# What k2_replication_topology's `defaults` may set: everything but what names one session and
# whether it exists.
DEFAULTABLE_OPTIONS = tuple(o for o in SESSION_OPTIONS if o not in ("name", "new_name", "state"))

WAIT_OPTIONS = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)


def desired_state(options):
    """The desired state from module options: only the session options the user set."""
    return dict((k, options[k]) for k in DESIRED_OPTIONS if options.get(k) is not None)
