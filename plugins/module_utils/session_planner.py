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

from collections import deque, namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    CREATE_FIELDS,
    DIFF_FIELDS,
    EXPOSURES,
    IMMUTABLE_FIELDS,
    LATEST,
    MANDATORY_ON_CREATE,
    OPTION_REFERENCE_PATHS as REFERENCE_PATHS,
    PEER_FAILED_OVER,
    SESSIONS_PATH,
    SOURCE,
    STATES,
    TARGET,
    TRANSITION_OPTIONS,
    UNSHOWN_FIELDS,
    WRITABLE_FIELDS,
    exposure_spelling,
    ref_string,
)

Action = namedtuple("Action", "name method path body wait_state")
Plan = namedtuple("Plan", "actions after")

# The path of a session that does not exist yet: the applier puts in the id the POST returned.
NEW_SESSION_ID = "(new)"

# The allowed moves over (state, current_role) nodes. Order = preference on ties.
MOVES = {
    ("idle", SOURCE): (("in_sync", SOURCE),),
    ("in_sync", SOURCE): (("suspended", SOURCE),),
    ("suspended", SOURCE): (("in_sync", SOURCE), ("idle", SOURCE)),
    ("in_sync", TARGET): (("failed_over", TARGET),),
    ("suspended", TARGET): (("failed_over", TARGET),),
    ("failed_over", TARGET): (("in_sync", SOURCE), ("idle", TARGET)),
}

RPO_STEP, RPO_MINUTE = 300, 60


class PlanError(K2Error):
    """The desired state cannot be planned; raised before any write."""


class RoleMismatch(PlanError):
    """The session is on the other side of its pair than declared (the pair was failed over and
    reversed): nothing is planned for it."""


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
        return exposure_spelling(value) or value
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
    if exposure is not None and exposure_spelling(exposure) is None:
        raise PlanError("target_exposure must be one of %s (case, spaces, hyphens and underscores do not matter); "
                        "got %r" % (", ".join(EXPOSURES), exposure))
    new_name = desired.get("new_name")
    if new_name is not None and not str(new_name).strip():
        raise PlanError("new_name must not be empty")
    requested = desired.get("replication_state")
    if requested is not None and requested not in STATES:
        raise PlanError("replication_state must be one of %s; got %r" % (", ".join(STATES), requested))
    role = desired.get("current_role")
    if role is not None and role not in (SOURCE, TARGET):
        raise PlanError("current_role must be %s or %s; got %r" % (SOURCE, TARGET, role))
    if desired.get("state", "present") == "absent":
        given = [o for o in ("replication_state", "new_name") + TRANSITION_OPTIONS if desired.get(o) is not None]
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


def _transitions(name, path, start, goal, extras=None, deleting=False):
    """The transition actions from `start` to `goal` and the node they end on. `extras()` gives the
    transition options, sent with the last hop: evaluated only when a hop is planned, so that
    re-running a failover that is done asks nothing of the session (say, its latest snapshot)."""
    hops = transition_path(start, goal)
    if hops is None:
        raise _impossible(name, start, goal, deleting)
    actions = []
    for i, (state, _role) in enumerate(hops):
        body = {"state": state}
        if i == len(hops) - 1 and extras is not None:
            body.update(extras())
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


def check_role(desired, actual):
    """Raise RoleMismatch when the declared current_role is not the session's side. Without a
    declaration, any side is accepted."""
    declared = desired.get("current_role")
    if declared is None:
        return
    name = desired["name"]
    if actual is None:
        if declared == TARGET and desired.get("state", "present") != "absent":
            raise PlanError(
                "replication session %r does not exist and is declared current_role=target: a target-side session "
                "is created by its source array when the pair is created there; create the pair on the source array"
                % name)
        return
    role = node_of(actual)[1]
    if role != declared:
        raise RoleMismatch(
            "replication session %r is declared current_role=%s but is the %s side of its pair (state %s): the pair "
            "has been failed over and reversed. Nothing was changed. Declare current_role=%s to manage it on this "
            "array as it is now, or fail it back first"
            % (name, declared, role, actual.get("state"), role))


def _refuse_resume(name, actual, goal):
    """A source suspended because its peer failed over cannot be resumed: the array refuses while the
    peer is failed over. Say so before any write (in check mode too) and what to do instead."""
    if goal == "in_sync" and node_of(actual) == ("suspended", SOURCE) and \
            actual.get("suspend_reason_code") == PEER_FAILED_OVER:
        raise PlanError(
            "cannot resume replication session %r: it is suspended because its peer session failed over "
            "(suspend_reason_code %s), and the array refuses to resume it while the peer is failed over. Fail back "
            "from the DR side instead: reverse the failed-over session on the peer array (replication_state: in_sync "
            "there), let it sync, then fail over and reverse again to return to this direction"
            % (name, PEER_FAILED_OVER))


def plan(desired, actual):
    """Plan the ordered actions that take `actual` to `desired`, and predict the session after them
    (None when it ends absent). Raises PlanError before any write when that cannot be done."""
    validate(desired)
    name = desired["name"]
    requested = desired.get("replication_state")
    check_role(desired, actual)

    if desired.get("state", "present") == "absent":
        if actual is None:
            return Plan([], None)
        path = session_path(actual["id"])
        actions, _node = _transitions(name, path, node_of(actual), "idle", deleting=True)
        return Plan(actions + [Action("delete", "DELETE", path, None, None)], None)

    new_name = desired.get("new_name")
    if actual is None:
        missing = [f for f in MANDATORY_ON_CREATE if desired.get(f) is None]
        if missing:
            raise PlanError("replication session %r does not exist; to create it, also give %s"
                            % (new_name or name, ", ".join(missing)))
        body = {"name": new_name or name}
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
        body = {}
        if new_name is not None and actual.get("name") != new_name:
            body["name"] = new_name
        body.update(
            (f, _api_value(f, desired[f])) for f in WRITABLE_FIELDS
            if desired.get(f) is not None and canonical(f, desired[f]) != canonical(f, actual.get(f))
        )
        actions = [Action("update", "PATCH", path, body, None)] if body else []
        after = dict(actual)
        after.update(body)
        node = node_of(actual)
        if requested is not None:
            _refuse_resume(name, actual, requested)

    moves = []
    if requested is not None:
        moves, node = _transitions(name, path, node, requested, lambda: _transition_extras(desired, actual))
        actions.extend(moves)
    if actual is None or moves:
        after["state"], after["current_role"] = node
    return Plan(actions, after)


def diff_view(session, names=None):
    """The managed fields, side and state of a session in canonical form, for a readable diff.
    `names` maps ref strings to object names: a reference shows as its name when it is known."""
    if not session:
        return {}
    view = dict((f, canonical(f, session[f])) for f in DIFF_FIELDS if f in session)
    if names:
        for field in REFERENCE_PATHS:
            if view.get(field) in names:
                view[field] = names[view[field]]
    return view
