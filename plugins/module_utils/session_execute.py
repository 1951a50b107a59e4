# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The write path of session_apply's engine: send each job's planned actions, wait with one poll per
round for every session in transition, and recover from writes whose outcome is unknown (re-read,
let an in-flight write settle, plan again) so that no write the array took is sent twice.
session_apply imports it only for a run that has something to write."""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE
from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2BadRequest,
    K2Error,
    K2NotFound,
    K2OutcomeUnknown,
    K2WaitTimeout,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import (
    ARRAY_ERRORS,
    FIRST_DELAY,
    MAX_DELAY,
    MAX_UNKNOWN,
    SETTLE_SECONDS,
    _plan_pending,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    NEW_SESSION_ID,
    PlanError,
    node_of,
    plan,
    session_path,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SESSIONS_PATH

_Wait = namedtuple("_Wait", "state until settling")


class _Stop(Exception):
    """An error that concerns the array, not one session (no connection, TLS, credentials): the run
    stops for every session."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class SessionFailed(K2Error):
    """A session's run stopped on an error from the array (or from reaching it): the error, then
    what is known of the session, so the message says what happened AND where the session is.
    `doubt`: the K2OutcomeUnknown of a write not settled by a re-read yet (None: there is none)."""

    def __init__(self, error, name, session, done, doubt):
        self.error = error
        self.session = session
        note = state_note(name, session, done)
        if doubt is not None:
            note += "; whether it took %s %s is unknown" % (doubt.method, doubt.path)
        super().__init__("%s; %s" % (error, note))

    def details(self):
        found = dict(self.error.details())
        found["session"] = self.session or {}
        return found


def state_note(name, session, done):
    """'replication session 'x' (id 5) was in_sync (source side, rpo 300) when last read; accepted by
    the array before the error: transition to suspended' -- for a failure message."""
    if session is None:
        note = "replication session %r did not exist when last read" % name
    else:
        state, role = node_of(session)
        note = "replication session %r (id %s) was %s (%s side, rpo %s) when last read" % (
            session.get("name", name), session.get("id"), state, role, session.get("rpo"))
    if done:
        note += "; accepted by the array before the error: %s" % ", ".join(
            "transition to %s" % a.wait_state if a.name == "transition" else
            "update %s" % ", ".join(sorted(a.body or {})) if a.name == "update" else a.name for a in done)
    else:
        note += "; no change was accepted by the array"
    return note


def execute(applier, jobs):
    """Carry out every job's pending actions on `applier`'s array, then give each job that failed on
    an array error a message that also says where its session is."""
    _Writer(applier)._execute(jobs)
    for job in jobs:
        if job.error is not None and not isinstance(job.error, (PlanError, K2WaitTimeout, SessionFailed)) \
                and not job.refused:
            job.error = SessionFailed(job.error, job.name, job.session, job.done, job.doubt)


class _Writer:
    """The write path for one run of a SessionApplier: its array, its deadline, its clock."""

    def __init__(self, applier):
        self.api = applier.api
        self.wait = applier.wait
        self.wait_timeout = applier.wait_timeout
        self.deadline = applier.deadline
        self._sleep = applier._sleep
        self._clock = applier._clock

    def _execute(self, jobs):
        """Send every job's actions, each job as far as it can go without waiting, then poll every
        job in transition with one request per round, until all are done or failed."""
        delay = FIRST_DELAY
        try:
            while True:
                started = False
                for job in jobs:
                    if job.active and job.wait is None:
                        started = self._advance(job) or started
                if started:
                    delay = FIRST_DELAY
                waiting = [job for job in jobs if job.wait is not None]
                if not waiting:
                    return
                now = self._clock()
                expired = [job for job in waiting if now >= job.wait.until]
                for job in expired:
                    self._expired(job)
                if expired:
                    continue
                self._sleep(min(delay, min(job.wait.until for job in waiting) - now))
                delay = min(delay * 2, MAX_DELAY)
                self._poll(waiting)
        except _Stop as stop:
            for job in jobs:
                if job.active:
                    job.fail(K2Error(
                        "stopped before replication session %r was converged: %s" % (job.name, stop.error)))
                    job.refused = False

    def _advance(self, job):
        """Send the job's next actions until it must wait, is done or fails. True when it started a wait."""
        while job.pending:
            action = _bind(job.pending[0], job.session)
            try:
                answer = self._send(action, job.session)
            except K2OutcomeUnknown as exc:
                job.unknown += 1
                job.doubt = exc
                if job.unknown > MAX_UNKNOWN:
                    job.fail(exc)
                    return False
                if self._recover(job, action, in_flight=exc.in_flight):
                    return True
                continue
            except K2BadRequest as exc:
                if action.method == "POST" and self._created_meanwhile(job, action):
                    continue
                return _failed(job, exc)
            except K2Error as exc:
                return _failed(job, exc)
            job.pending.pop(0)
            job.done.append(action)
            if action.name == "delete":
                job.session = None
                continue
            job.session = answer or job.session
            if action.name == "transition" and (self.wait or job.pending) and \
                    job.session.get("state") != action.wait_state:
                job.wait = _Wait(action.wait_state, self.deadline, None)
                return True
        return False

    def _created_meanwhile(self, job, action):
        """A create the array refused (names are unique) while another client (a concurrent run)
        created a session of that name since this run read it: re-read it and plan again from it,
        once, so the immutable fields are still checked. False when it is not there."""
        if job.actual is not None or job.raced:
            return False
        job.raced = True
        try:
            found = self.api.find_by_name(SESSIONS_PATH, action.body["name"])
        except K2Error:
            return False
        if found is None:
            return False
        job.session = found
        _plan_pending(job, found)
        return True

    def _send(self, action, session):
        if action.method == "POST":
            return self.api.create(SESSIONS_PATH, action.body)
        if action.method == "PATCH":
            return self.api.update(SESSIONS_PATH, session["id"], action.body)
        return self.api.delete(SESSIONS_PATH, session["id"])

    def _recover(self, job, action, in_flight=False):
        """Re-read after a write with an unknown outcome (by name after a POST, by id otherwise) and
        re-plan from what is there, so a write the array took is never sent again. A transition not
        shown yet may still be under way: it gets SETTLE_SECONDS to show first (True: waiting). So
        does any other write that got no answer within the timeout (`in_flight`): the array may
        still be carrying it out, and a create, update or delete sent again at once would race it."""
        try:
            current = self._reread(job, action)
            if current is not None and action.name == "transition" and \
                    current.get("state") == job.session.get("state") != action.wait_state:
                job.session = current
                until = min(self.deadline, self._clock() + SETTLE_SECONDS)
                job.wait = _Wait(action.wait_state, until, action)
                return True
            if in_flight and action.name != "transition":
                current = self._settle(job, action, current)
            job.session = current
        except K2Error as exc:
            return _failed(job, exc)
        self._replan(job, action)
        return False

    def _reread(self, job, action):
        """The session as the array shows it now: by name after a POST, else by id (None: gone)."""
        if action.method == "POST":
            return self.api.find_by_name(SESSIONS_PATH, action.body["name"])
        try:
            return self.api.get(SESSIONS_PATH, job.session["id"])
        except K2NotFound:
            return None

    def _settle(self, job, action, current):
        """Re-read a write that timed out until it shows (a plan from the session no longer holds
        it) or SETTLE_SECONDS have passed (then it is taken as not carried out). The other sessions
        of the run wait meanwhile: this happens only after a timeout."""
        until = min(self.deadline, self._clock() + SETTLE_SECONDS)
        delay = FIRST_DELAY
        while self._clock() < until:
            try:
                if not any(_same_step(action, p) for p in plan(job.desired, current).actions):
                    break
            except PlanError:
                break
            self._sleep(min(delay, until - self._clock()))
            delay = min(delay * 2, MAX_DELAY)
            current = self._reread(job, action)
        return current

    def _replan(self, job, action):
        """Plan again from the session as it is; the write whose outcome was unknown counts as done
        when the new plan no longer holds it."""
        job.doubt = None
        if not _plan_pending(job, job.session):
            return
        if not any(_same_step(action, p) for p in job.pending):
            job.done.append(action)

    def _expired(self, job):
        wait, job.wait = job.wait, None
        if wait.settling is not None:
            self._replan(job, wait.settling)
            return
        session = job.session
        job.fail(K2WaitTimeout(
            "replication session %r (id %s) is still %s, not %s, when wait_timeout (%s s) ran out; the array "
            "may still carry the transition out: run again to continue from where the session is"
            % (session.get("name"), session.get("id"), session.get("state"), wait.state, self.wait_timeout)))

    def _poll(self, jobs):
        """Read every session in `jobs` again: a GET by id for one, else one list request per
        PAGE_SIZE sessions (id__in)."""
        try:
            if len(jobs) == 1:
                try:
                    current = {jobs[0].session["id"]: self.api.get(SESSIONS_PATH, jobs[0].session["id"])}
                except K2NotFound:
                    current = {}
            else:
                ids = [job.session["id"] for job in jobs]
                current = {}
                for start in range(0, len(ids), PAGE_SIZE):
                    for obj in self.api.iterate(SESSIONS_PATH, params={"id__in": ids[start:start + PAGE_SIZE]}):
                        current[obj.get("id")] = obj
        except K2Error as exc:
            raise _Stop(exc)
        for job in jobs:
            session = current.get(job.session["id"])
            if session is None:
                job.fail(K2NotFound("GET", session_path(job.session["id"]), 404, "replication session %r disappeared "
                                    "while waiting for it to reach %s" % (job.name, job.wait.state)))
                continue
            job.session = session
            if session.get("state") == job.wait.state:
                wait, job.wait = job.wait, None
                if wait.settling is not None:
                    self._replan(job, wait.settling)


def _failed(job, error):
    """Mark `job` failed with `error` (False: it waits for nothing). An error that concerns the array
    rather than the session (no connection, TLS, credentials) stops the whole run."""
    job.fail(error)
    if isinstance(error, ARRAY_ERRORS):
        raise _Stop(error)
    return False


def _bind(action, session):
    """Put the id of the session created earlier in the run into a planned path."""
    if session is not None and action.path == session_path(NEW_SESSION_ID):
        return action._replace(path=session_path(session["id"]))
    return action


def _same_step(done, planned):
    """Whether a re-plan still holds the write whose outcome was unknown (it was not taken)."""
    return done.name == planned.name and (done.name != "transition" or done.wait_state == planned.wait_state)
