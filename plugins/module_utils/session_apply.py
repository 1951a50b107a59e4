# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry session plans out on one array: read in batches, resolve references in batches, plan each
session (session_planner.plan, pure), then write, wait and recover (session_execute.py). One engine:
k2_replication_session is its one-session case, k2_replication_topology runs it over every declared
session.

The write path is imported only by a run that has something to write: a no-op or a check-mode run
never compiles it (a module's module_utils are compiled on every run, from the AnsiballZ zip)."""

from __future__ import annotations

import time
from collections import namedtuple

from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2Error,
    K2TransportError,
    K2Unauthorized,
)
from ansible_collections.kaminario.k2.plugins.module_utils.references import References
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    REFERENCE_PATHS,
    PlanError,
    RoleMismatch,
    diff_view,
    node_of,
    plan,
    references_needed,
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
        elif any(job.active for job in jobs):
            from ansible_collections.kaminario.k2.plugins.module_utils.session_execute import execute

            execute(self, jobs)
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


def _plan_pending(job, session):
    """Plan the job's actions from `session` as it is (False: the plan refused, the job failed)."""
    try:
        job.pending = list(plan(job.desired, session).actions)
    except PlanError as exc:
        job.fail(exc)
        return False
    return True
