# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planner for replication sessions: (desired, actual) -> ordered actions and the predicted
session. No I/O here, so one module (k2_replication_session) and a later "converge many sessions"
module plan the same way; session_apply.py carries the plans out.

`desired` holds only the options the user set (an option left out is not desired state):
`name`, `state` (present/absent), the session fields named as in the API, `replication_state`,
`snapshot_wwn`, `offline_initial_sync` and `restored_snapshot`. Reference options hold ref
strings ("/volume_groups/5"); `restored_snapshot` may also be "latest". `actual` is the session as
the API returns it, or None.
"""

from __future__ import annotations

import re
from collections import deque, namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import (
    REFERENCE_PATHS as SESSION_REFERENCE_PATHS,
    SESSIONS_PATH,
)

Action = namedtuple("Action", "name method path body wait_state")
Plan = namedtuple("Plan", "actions after")

# The path of a session that does not exist yet: the applier puts in the id the POST returned.
NEW_SESSION_ID = "(new)"

# Reference options and the resource each points to.
REFERENCE_PATHS = dict(
    (f, SESSION_REFERENCE_PATHS[f])
    for f in ("replication_peer_k2array", "local_volume_group", "retention_policy", "external_retention_policy")
)
REFERENCE_PATHS["restored_snapshot"] = SESSION_REFERENCE_PATHS["latest_replicated_snapshot"]
LATEST = "latest"

MANDATORY_ON_CREATE = ("replication_peer_k2array", "local_volume_group", "rpo")
CREATE_FIELDS = (
    "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy", "external_retention_policy",
    "target_exposure", "remote_replication_session_name", "replication_peer_volume_group_name",
    "auto_configure_peer_volumes",
)
# Fields a PATCH may change after creation (contract.md), apart from state and name.
WRITABLE_FIELDS = ("rpo", "retention_policy", "external_retention_policy", "target_exposure")
# Fixed at creation and shown by the API, so a difference can be seen and refused.
# auto_configure_peer_volumes is not returned and replication_peer_volume_group_name is shown only as
# a ref to the peer group: both apply on create only.
IMMUTABLE_FIELDS = ("local_volume_group", "replication_peer_k2array", "remote_replication_session_name")
# The create-only fields the API never shows back: not part of a predicted session.
UNSHOWN_FIELDS = ("replication_peer_volume_group_name", "auto_configure_peer_volumes")
# What the diff shows: the fields the module manages, plus state.
DIFF_FIELDS = (
    "name", "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy",
    "external_retention_policy", "target_exposure", "remote_replication_session_name", "state",
)
# Options that go with a transition, sent on the hop that reaches the requested state.
TRANSITION_OPTIONS = ("snapshot_wwn", "offline_initial_sync", "restored_snapshot")

STATES = ("in_sync", "suspended", "idle", "failed_over")
SOURCE, TARGET = "source", "target"
# The allowed moves over (state, current_role) nodes (contract.md). Order = preference on ties.
MOVES = {
    ("idle", SOURCE): (("in_sync", SOURCE),),
    ("in_sync", SOURCE): (("suspended", SOURCE),),
    ("suspended", SOURCE): (("in_sync", SOURCE), ("idle", SOURCE)),
    ("in_sync", TARGET): (("failed_over", TARGET),),
    ("suspended", TARGET): (("failed_over", TARGET),),
    ("failed_over", TARGET): (("in_sync", SOURCE), ("idle", TARGET)),
}

# target_exposure as the API spells it.
EXPOSURES = ("unmapped", "Read Only", "Mapped - Not Exposed")
RPO_STEP, RPO_MINUTE = 300, 60


class PlanError(K2Error):
    """The desired state cannot be planned; raised before any write."""


def exposure_key(value):
    """'Mapped - Not Exposed', 'mapped_not_exposed' and 'MAPPED NOT EXPOSED' all compare equal."""
    return re.sub(r"[\s_-]+", " ", str(value).strip().lower())


_EXPOSURE_SPELLING = dict((exposure_key(e), e) for e in EXPOSURES)


def exposure_spelling(value):
    """The API's spelling of a target_exposure value (unknown values are kept as they are)."""
    return _EXPOSURE_SPELLING.get(exposure_key(value), value)


def ref_string(value):
    """A reference as a ref string: {"ref": "/x/1"} -> "/x/1"; None stays None."""
    if isinstance(value, dict):
        return value.get("ref")
    return value


def to_int(value):
    """The API may send numbers as strings ("1200")."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return value


def to_bool(value):
    """The API may send booleans as "True"/"False"."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def canonical(field, value):
    """A value of `field` in one form, whichever way the API or the user spelled it: refs as ref
    strings, rpo as an int, booleans as bools, target_exposure in the API's spelling."""
    if value is None:
        return None
    if field in REFERENCE_PATHS:
        return ref_string(value)
    if field == "rpo":
        return to_int(value)
    if field == "target_exposure":
        return exposure_spelling(value)
    if field in ("auto_configure_peer_volumes", "offline_initial_sync"):
        return to_bool(value)
    return value


def _api_value(field, value):
    """A desired value in the form the API takes in a body (a reference as {"ref": ...})."""
    value = canonical(field, value)
    return {"ref": value} if field in REFERENCE_PATHS else value


def validate(desired):
    """Check what can be checked without the array. Raises PlanError naming the option; the applier
    calls it before its first request (plan() calls it too)."""
    rpo = desired.get("rpo")
    if rpo is not None:
        value = to_int(rpo)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or (value != RPO_MINUTE and value % RPO_STEP):
            raise PlanError("rpo must be 60 (1 minute) or a positive multiple of 300 (5 minutes), in seconds; got %r"
                            % (rpo,))
    exposure = desired.get("target_exposure")
    if exposure is not None and exposure_key(exposure) not in _EXPOSURE_SPELLING:
        raise PlanError("target_exposure must be one of %s; got %r" % (", ".join(EXPOSURES), exposure))
    requested = desired.get("replication_state")
    if requested is not None and requested not in STATES:
        raise PlanError("replication_state must be one of %s; got %r" % (", ".join(STATES), requested))
    if desired.get("state", "present") == "absent":
        given = [o for o in ("replication_state",) + TRANSITION_OPTIONS if desired.get(o) is not None]
        if given:
            raise PlanError("%s cannot be used with state=absent (the session is stopped and deleted)"
                            % ", ".join(given))
        return
    for option in TRANSITION_OPTIONS:
        if desired.get(option) is not None and requested is None:
            raise PlanError("%s is sent with a state change: it needs replication_state" % option)
    if desired.get("restored_snapshot") is not None and requested != "failed_over":
        raise PlanError("restored_snapshot applies to a failover only: it needs replication_state=failed_over")
    if desired.get("offline_initial_sync") is not None and requested != "in_sync":
        raise PlanError("offline_initial_sync applies to starting replication only: it needs replication_state=in_sync")


def references_needed(desired, actual):
    """The reference options plan(desired, actual) reads, so the caller resolves only these (a name
    costs one request). The others (and restored_snapshot: latest) are left as given."""
    if desired.get("state", "present") == "absent":
        return []
    needed = [f for f in REFERENCE_PATHS if f != "restored_snapshot" and desired.get(f) is not None]
    snapshot = desired.get("restored_snapshot")
    if snapshot is not None and snapshot != LATEST and actual is not None and actual.get("state") != "failed_over":
        needed.append("restored_snapshot")
    return needed


def session_path(session_id):
    return "%s/%s" % (SESSIONS_PATH, session_id)


def node_of(session):
    """(state, current_role) of a session; without current_role, `primary` tells the side."""
    role = session.get("current_role")
    if role not in (SOURCE, TARGET):
        role = TARGET if to_bool(session.get("primary")) is False else SOURCE
    return session.get("state"), role


def _impossible(name, start, goal, deleting):
    state, role = start
    if state not in STATES:
        return PlanError("replication session %r is in the unknown state %r: no transition can be planned from it"
                         % (name, state))
    what = "stop replication session %r to delete it" % name if deleting else \
        "move replication session %r from %s to %s" % (name, state, goal)
    msg = "cannot %s: it is %s on the %s side, and " % (what, state, role)
    if role == TARGET and state in ("in_sync", "suspended"):
        msg += ("a target-side session follows its source. Stop the session on the source array first, or fail it "
                "over deliberately (replication_state: failed_over)")
    elif goal == "failed_over" and role == SOURCE:
        msg += "failover is done on the target-side session, on the peer array"
    else:
        allowed = [node[0] for node in MOVES.get(start, ())] + (["delete"] if state == "idle" else [])
        msg += "from there the array allows only: %s (failover and reverse are never taken as steps on " \
            "the way to another state)" % (", ".join(allowed) or "nothing")
    return PlanError(msg)


def transition_path(start, goal):
    """The shortest list of (state, role) hops from `start` to a node in state `goal`, or None.
    Failover and reverse are deliberate moves, never intermediate hops: ->failed_over only when
    failed_over is the goal, failed_over->in_sync only when in_sync is the goal."""
    if start[0] == goal:
        return []
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in MOVES.get(node, ()):
            if nxt in previous:
                continue
            if nxt[0] == "failed_over" and goal != "failed_over":
                continue
            if node[0] == "failed_over" and nxt[0] == "in_sync" and goal != "in_sync":
                continue
            previous[nxt] = node
            if nxt[0] == goal:
                path = [nxt]
                while previous[path[-1]] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            queue.append(nxt)
    return None


def _transitions(name, path, start, goal, extras, deleting=False):
    hops = transition_path(start, goal)
    if hops is None:
        raise _impossible(name, start, goal, deleting)
    actions = []
    for i, (state, _role) in enumerate(hops):
        body = {"state": state}
        if i == len(hops) - 1:
            body.update(extras)
        actions.append(Action("transition", "PATCH", path, body, state))
    return actions, (hops[-1] if hops else start)


def _transition_extras(desired, actual):
    extras = {}
    for option in TRANSITION_OPTIONS:
        value = desired.get(option)
        if value is None:
            continue
        if option == "restored_snapshot":
            if value == LATEST:
                value = ref_string((actual or {}).get("latest_replicated_snapshot"))
                if not value:
                    raise PlanError("restored_snapshot=latest: replication session %r has no latest_replicated_snapshot"
                                    % desired["name"])
            extras[option] = {"ref": value}
        else:
            extras[option] = _api_value(option, value)
    return extras


def plan(desired, actual):
    """Plan the ordered actions that take `actual` to `desired`, and predict the session after them
    (None when it ends absent). Raises PlanError before any write when that cannot be done."""
    validate(desired)
    name = desired["name"]
    requested = desired.get("replication_state")

    if desired.get("state", "present") == "absent":
        if actual is None:
            return Plan([], None)
        path = session_path(actual["id"])
        actions, _node = _transitions(name, path, node_of(actual), "idle", {}, deleting=True)
        return Plan(actions + [Action("delete", "DELETE", path, None, None)], None)

    if actual is None:
        missing = [f for f in MANDATORY_ON_CREATE if desired.get(f) is None]
        if missing:
            raise PlanError("replication session %r does not exist; to create it, also give %s"
                            % (name, ", ".join(missing)))
        body = {"name": name}
        body.update((f, _api_value(f, desired[f])) for f in CREATE_FIELDS if desired.get(f) is not None)
        actions = [Action("create", "POST", SESSIONS_PATH, body, None)]
        after = dict((k, v) for k, v in body.items() if k not in UNSHOWN_FIELDS)
        node = ("idle", SOURCE)
        path = session_path(NEW_SESSION_ID)
    else:
        for field in IMMUTABLE_FIELDS:
            wanted, current = desired.get(field), actual.get(field)
            if wanted is None or current is None or canonical(field, wanted) == canonical(field, current):
                continue
            raise PlanError(
                "%s of replication session %r is %s, not %s, and cannot be changed on an existing session. "
                "The module never deletes and recreates a session: to replace it deliberately, remove it with "
                "state=absent (stopping replication), then create it again with the new %s."
                % (field, name, ref_string(current), wanted, field))
        path = session_path(actual["id"])
        body = dict(
            (f, _api_value(f, desired[f])) for f in WRITABLE_FIELDS
            if desired.get(f) is not None and canonical(f, desired[f]) != canonical(f, actual.get(f))
        )
        actions = [Action("update", "PATCH", path, body, None)] if body else []
        after = dict(actual)
        after.update(body)
        node = node_of(actual)

    moves = []
    if requested is not None:
        moves, node = _transitions(name, path, node, requested, _transition_extras(desired, actual))
        actions.extend(moves)
    if actual is None or moves:
        after["state"], after["current_role"] = node
    return Plan(actions, after)


def diff_view(session):
    """The managed fields and state of a session, in canonical form, for a readable before/after diff."""
    if not session:
        return {}
    return dict((f, canonical(f, session[f])) for f in DIFF_FIELDS if f in session)
