# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry session plans out on one array: read in batches, resolve references in batches, plan each
session (session_planner.plan, pure), write, wait with one poll per round for every session in
transition, and recover from writes whose outcome is unknown. One engine: k2_replication_session
is its one-session case, k2_replication_topology runs it over every declared session."""

from __future__ import annotations

import time
from collections import namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE
from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2BadRequest,
    K2Error,
    K2NotFound,
    K2OutcomeUnknown,
    K2TransportError,
    K2Unauthorized,
    K2WaitTimeout,
)
from ansible_collections.kaminario.k2.plugins.module_utils.references import References
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    NEW_SESSION_ID,
    REFERENCE_PATHS,
    PlanError,
    RoleMismatch,
    diff_view,
    node_of,
    plan,
    references_needed,
    session_path,
    validate,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SESSIONS_PATH, SOURCE

# Polling back-off after a transition: 0.25 s doubling up to 5 s, never past the deadline.
FIRST_DELAY, MAX_DELAY = 0.25, 5.0
# How long a transition whose outcome is unknown may take to show before it is taken as not sent.
# The array answers a transition at once and carries it out within seconds.
SETTLE_SECONDS = 30.0
# Writes with an unknown outcome tolerated for one session in a run before giving up on it (each
# is re-read first).
MAX_UNKNOWN = 3

# Errors that concern the array rather than one session (no connection, TLS, credentials): they stop
# the whole run. Any other error fails only the session it came from.
ARRAY_ERRORS = (K2TransportError, K2Unauthorized)

# A session's status after a run.
OK, CHANGED, FAILED, REVERSED, PRUNED = "ok", "changed", "failed", "reversed", "pruned"
STATUSES = (OK, CHANGED, FAILED, REVERSED, PRUNED)

Outcome = namedtuple("Outcome", "changed session actions before after")
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


def action_result(action):
    """An action as the modules return it."""
    return dict(name=action.name, method=action.method, path=action.path, body=action.body)


class Job:
    """One session through a run: what is declared, what the array shows, what is left to do."""

    def __init__(self, desired, pruned=False):
        self.desired = desired
        self.name = desired["name"]
        self.pruned = pruned
        self.actual = None    # as read at the start of the run
        self.session = None   # as last read or answered
        self.pending = []     # planned actions not sent yet
        self.done = []        # actions the array took (in check mode: the planned ones)
        self.unknown = 0
        self.doubt = None     # the K2OutcomeUnknown of a write not settled by a re-read and re-plan yet
        self.raced = False    # a create refused because another client had just created it
        self.wait = None      # a _Wait while a transition is landing
        self.error = None     # the K2Error that stopped this session
        self.refused = False  # the error came before any write to it (a plan refusal)
        self.before = self.after = None

    @property
    def active(self):
        return self.error is None and (self.pending or self.wait is not None)

    @property
    def status(self):
        if isinstance(self.error, RoleMismatch):
            return REVERSED
        if self.error is not None:
            return FAILED
        if not self.done:
            return OK
        return PRUNED if self.pruned else CHANGED

    def fail(self, error):
        self.error = error
        self.refused = not self.done and isinstance(error, PlanError)
        self.pending, self.wait = [], None


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
        self.references = References(api)

    # ---- one session ---------------------------------------------------------------------------

    def converge(self, desired, check_mode=False, diff=False):
        """Converge one session; a session that cannot be converged raises its K2Error."""
        validate(desired)
        job = self.run([Job(desired)], check_mode=check_mode, diff=diff)[0]
        if job.error is not None:
            raise job.error
        return Outcome(bool(job.done), job.session or {}, [action_result(a) for a in job.done], job.before, job.after)

    # ---- many sessions -------------------------------------------------------------------------

    def run(self, jobs, check_mode=False, diff=False, prune_prefix=None):
        """Read, resolve, plan and (unless in check mode) apply every job; a session that cannot be
        converged is marked failed and the others go on. With `prune_prefix`, source-side sessions
        whose name starts with it and that no job names get a removal job (marked pruned).
        Returns the jobs, pruned ones last. Array-wide errors while reading are raised."""
        names = []
        for job in jobs:
            names += [job.name] + ([job.desired["new_name"]] if job.desired.get("new_name") else [])
        found = self.api.find_by_names(SESSIONS_PATH, names)
        for job in jobs:
            self._read(job, found)
        if prune_prefix:
            jobs = list(jobs) + self._prune_jobs(prune_prefix, names)
        self._resolve(jobs)
        for job in jobs:
            if job.error is None:
                _plan_pending(job, job.actual)
        if check_mode:
            for job in jobs:
                if job.error is None:
                    job.done, job.session = job.pending, plan(job.desired, job.actual).after
                    job.pending = []
        else:
            self._execute(jobs)
            for job in jobs:
                if job.error is not None and not isinstance(job.error, (PlanError, K2WaitTimeout, SessionFailed)) \
                        and not job.refused:
                    job.error = SessionFailed(job.error, job.name, job.session, job.done, job.doubt)
        if diff:
            self._diff(jobs)
        return jobs

    def _prune_jobs(self, prefix, declared):
        declared = set(declared)
        jobs = []
        for session in self.api.iterate(SESSIONS_PATH, params={"name__prefix": prefix}):
            name = session.get("name")
            if name in declared or not str(name).startswith(prefix) or node_of(session)[1] != SOURCE:
                continue
            job = Job({"name": name, "state": "absent"}, pruned=True)
            job.actual = job.session = session
            jobs.append(job)
        return jobs

    def _read(self, job, found):
        current = found.get(job.name)
        new_name = job.desired.get("new_name")
        if new_name and new_name in found:
            if current is not None and new_name != job.name:
                job.fail(PlanError(
                    "cannot rename replication session %r to %r: a session named %r exists already"
                    % (job.name, new_name, new_name)))
                return
            current = found[new_name]
        job.actual = job.session = current

    def _resolve(self, jobs):
        """Turn the reference options each plan reads into ref strings, looking every name up once."""
        wanted = [(REFERENCE_PATHS[o], job.desired[o]) for job in jobs if job.error is None
                  for o in references_needed(job.desired, job.actual)]
        self.references.prefetch(wanted)
        for job in jobs:
            if job.error is not None:
                continue
            resolved = dict(job.desired)
            try:
                for option in references_needed(job.desired, job.actual):
                    resolved[option] = self.references.ref(REFERENCE_PATHS[option], job.desired[option], option)
            except K2Error as exc:
                job.fail(exc)
                job.refused = True
                continue
            job.desired = resolved

    def _diff(self, jobs):
        views = [(job, diff_view(job.actual), diff_view(None if job.error else job.session)) for job in jobs]
        refs = [v[f] for _job, before, after in views for v in (before, after) for f in REFERENCE_PATHS
                if v.get(f)]
        names = self.references.names_of(refs) if refs else {}
        for job, before, after in views:
            job.before = diff_view(job.actual, names)
            job.after = job.before if job.error else diff_view(job.session, names)

    # ---- applying ------------------------------------------------------------------------------

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


def _plan_pending(job, session):
    """Plan the job's actions from `session` as it is (False: the plan refused, the job failed)."""
    try:
        job.pending = list(plan(job.desired, session).actions)
    except PlanError as exc:
        job.fail(exc)
        return False
    return True


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
