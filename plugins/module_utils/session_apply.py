# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry a session plan out on the array: read, resolve, write, wait, and recover from writes whose
outcome is unknown. The planning itself is session_planner.plan (pure); this is the I/O around it,
shared by k2_replication_session and any module that converges several sessions."""

from __future__ import annotations

import time
from collections import namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2NotFound,
    K2OutcomeUnknown,
    K2WaitTimeout,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    NEW_SESSION_ID,
    REFERENCE_PATHS,
    SESSIONS_PATH,
    diff_view,
    plan,
    ref_string,
    references_needed,
    session_path,
    validate,
)

# The module options that describe a session (everything but the connection and wait options).
DESIRED_OPTIONS = (
    "name", "state", "replication_peer_k2array", "local_volume_group", "rpo", "retention_policy",
    "external_retention_policy", "target_exposure", "remote_replication_session_name",
    "replication_peer_volume_group_name", "auto_configure_peer_volumes", "replication_state",
    "snapshot_wwn", "offline_initial_sync", "restored_snapshot",
)

# Polling back-off after a transition: 0.25 s doubling up to 5 s, never past the deadline.
FIRST_DELAY, MAX_DELAY = 0.25, 5.0
# How long a transition whose outcome is unknown may take to show before it is taken as not sent.
# The array answers a transition at once and carries it out within seconds (contract.md).
SETTLE_SECONDS = 30.0
# Writes with an unknown outcome tolerated in one run before giving up (each is re-read first).
MAX_UNKNOWN = 3

Outcome = namedtuple("Outcome", "changed session actions before after")


def desired_state(options):
    """The desired state from the module options: only those the user set (None = not desired)."""
    return dict((k, options[k]) for k in DESIRED_OPTIONS if options.get(k) is not None)


def resolve_references(api, desired, actual):
    """`desired` with the reference options plan(desired, actual) reads turned into ref strings.
    An id or a ref costs no request, a name one."""
    resolved = dict(desired)
    for option in references_needed(desired, actual):
        resolved[option] = ref_string(api.ref(REFERENCE_PATHS[option], desired[option], option))
    return resolved


def action_result(action):
    """An action as the module returns it."""
    return dict(name=action.name, method=action.method, path=action.path, body=action.body)


class SessionApplier:
    """Runs plans against one array. One deadline (now + wait_timeout) covers every wait of the run.
    `sleep` and `clock` are injectable so tests do not sleep."""

    def __init__(self, api, wait=True, wait_timeout=600, sleep=None, clock=None):
        self.api = api
        self.wait = wait
        self.wait_timeout = wait_timeout
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self.deadline = self._clock() + wait_timeout

    def converge(self, desired, check_mode=False):
        """Read the session (one GET by name), plan, and apply unless in check mode."""
        validate(desired)
        actual = self.api.find_by_name(SESSIONS_PATH, desired["name"])
        resolved = resolve_references(self.api, desired, actual)
        planned = plan(resolved, actual)
        if check_mode or not planned.actions:
            session, done = planned.after, planned.actions
        else:
            session, done = self.apply(resolved, actual, planned.actions)
        return Outcome(bool(done), session or {}, [action_result(a) for a in done],
                       diff_view(actual), diff_view(session))

    def apply(self, desired, actual, actions):
        """Carry out `actions` (planned from `actual`); returns (session after, actions done).
        The one place that writes. After a write with an unknown outcome, re-read, re-plan from
        what is there and go on: a write the array took is never sent again."""
        session, done, unknown = actual, [], 0
        pending = list(actions)
        while pending:
            action = self._bind(pending.pop(0), session)
            try:
                answer = self._send(action, session)
            except K2OutcomeUnknown:
                unknown += 1
                if unknown > MAX_UNKNOWN:
                    raise
                session = self._recover(action, desired["name"], session)
                pending = list(plan(desired, session).actions)
                if not any(_same_step(action, p) for p in pending):
                    done.append(action)  # the array took it
                continue
            done.append(action)
            session = self._landed(action, answer, session, last=not pending)
        return session, done

    @staticmethod
    def _bind(action, session):
        """Put the id of the session created earlier in the run into a planned path."""
        if session is not None and action.path == session_path(NEW_SESSION_ID):
            return action._replace(path=session_path(session["id"]))
        return action

    def _send(self, action, session):
        if action.method == "POST":
            return self.api.create(SESSIONS_PATH, action.body)
        if action.method == "PATCH":
            return self.api.update(SESSIONS_PATH, session["id"], action.body)
        return self.api.delete(SESSIONS_PATH, session["id"])

    def _landed(self, action, answer, session, last):
        """The session once `action` is done (for a transition, once its state shows, when waiting)."""
        if action.name == "delete":
            return None
        after = answer if answer else session
        if action.name == "transition" and (self.wait or not last):
            after = self._wait_for(after, action.wait_state, self.deadline)
        return after

    def _recover(self, action, name, session):
        """Re-read after a write with an unknown outcome: by name after a POST, by id otherwise."""
        if action.method == "POST":
            return self.api.find_by_name(SESSIONS_PATH, name)
        try:
            current = self.api.get(SESSIONS_PATH, session["id"])
            if action.name == "transition" and current.get("state") == session.get("state"):
                # Not moved yet: the array may be carrying it out. Give it time to show before the
                # re-plan sends the transition again.
                until = min(self.deadline, self._clock() + SETTLE_SECONDS)
                current = self._wait_for(current, action.wait_state, until, give_up=True)
            return current
        except K2NotFound:
            return None

    def _wait_for(self, session, state, until, give_up=False):
        """Poll the session by id until it is in `state`. At `until`, raise K2WaitTimeout (or, with
        give_up, return the session as last read); never sleeps past `until`."""
        delay = FIRST_DELAY
        while session.get("state") != state:
            remaining = until - self._clock()
            if remaining <= 0:
                if give_up:
                    break
                raise K2WaitTimeout(
                    "replication session %r (id %s) is still %s, not %s, when wait_timeout (%s s) ran out; the array "
                    "may still carry the transition out: run again to continue from where the session is"
                    % (session.get("name"), session.get("id"), session.get("state"), state, self.wait_timeout))
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_DELAY)
            session = self.api.get(SESSIONS_PATH, session["id"])
        return session


def _same_step(done, planned):
    """Whether a re-plan still holds the write whose outcome was unknown (it was not taken)."""
    return done.name == planned.name and (done.name != "transition" or done.wait_state == planned.wait_state)
