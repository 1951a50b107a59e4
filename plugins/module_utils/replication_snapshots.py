# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication snapshots of many sessions in one run (k2_replication_snapshot): read the sessions in
batches, check them all before the first write, take one snapshot per session (POST /snapshots with
the session's ref), and wait until each has reached the peer array (its is_exist_on_peer), polling
every snapshot still travelling with one request per round.

A POST whose outcome is unknown (502, or the connection lost after it may have been sent) is never
repeated blindly: before the first POST the run notes which snapshots each session already has
(one batched read); after an unknown outcome it re-reads the session's snapshots and adopts one that
was not there before. Only when none is there (a write that got no answer at all first gets
SETTLE_SECONDS to show) is the POST sent again, at most MAX_UNKNOWN times per session.

The first part of this file is pure (checks, the report); SnapshotRun does the I/O."""

from __future__ import annotations

import time

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE
from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2Error,
    K2OutcomeUnknown,
    K2ProtocolError,
    K2WaitTimeout,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import (
    ARRAY_ERRORS,
    FIRST_DELAY,
    MAX_DELAY,
    MAX_UNKNOWN,
    SETTLE_SECONDS,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import (
    node_of,
    session_path,
    to_bool,
    to_int,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SESSIONS_PATH, SOURCE, split_ref
from ansible_collections.kaminario.k2.plugins.module_utils.topology import NAMED_IN_MESSAGE

SNAPSHOTS_PATH = "/snapshots"
# What a snapshot taken through the API shows as triggered_by, on the array that took it (a round the
# array schedules shows Replication; the copy on the peer, Replication_API).
API_TRIGGER = "api"
IN_SYNC = "in_sync"


class SnapshotRefused(K2Error):
    """The options, or a session, do not allow a replication snapshot; raised before any write."""


class SnapshotFailed(K2Error):
    """A session's snapshot failed on an error from the array: the error, then what became of it."""

    def __init__(self, error, note):
        self.error = error
        super().__init__("%s; %s" % (error, note))

    def details(self):
        return self.error.details()


# ---- pure ------------------------------------------------------------------------------------------


def check_names(names):
    """The session names of the `sessions` option, checked before any request."""
    problems = []
    seen = set()
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            problems.append("sessions[%d]: a session name must not be empty" % index)
        elif name in seen:
            problems.append("sessions[%d]: %r is listed more than once" % (index, name))
        seen.add(name)
    if problems:
        raise SnapshotRefused("; ".join(problems))
    return list(names)


def refusal(name, session):
    """Why `session` (as read, None when missing) cannot take a replication snapshot; None when it can.
    Snapshots replicate from the source side, and the array takes one only from a session in sync."""
    if session is None:
        return "replication session %r does not exist on this array" % name
    state, role = node_of(session)
    if role != SOURCE:
        return ("replication session %r is the %s side of its pair: a replication snapshot is taken on the array "
                "of the source side" % (name, role))
    if state != IN_SYNC:
        return "replication session %r is %s, not in_sync: only a session in sync takes a replication snapshot" % (
            name, state)
    return None


def on_peer(snapshot):
    """Whether a snapshot (as the API shows it, booleans maybe as "True") has reached the peer array."""
    return bool(snapshot) and to_bool(snapshot.get("is_exist_on_peer")) is True


def newest(snapshots):
    """The snapshot with the highest generation number (then id) among `snapshots`; None if empty."""
    def order(snapshot):  # a value that is not a number sorts below every number
        return tuple(value if isinstance(value, int) else float("-inf")
                     for value in (to_int(snapshot.get("generation_number")), to_int(snapshot.get("id"))))
    return max(snapshots, key=order, default=None)


def entry(job):
    """One session's entry of the module result."""
    snapshot = job.snapshot or {}
    found = dict(session=job.name, session_id=(job.session or {}).get("id"), snapshot=snapshot,
                 name=snapshot.get("name"), id=snapshot.get("id"),
                 generation_number=to_int(snapshot.get("generation_number")), exists_on_peer=on_peer(snapshot))
    if job.error is not None:
        found["msg"] = str(job.error)
    return found


def _named(jobs):
    named = "; ".join(str(job.error) for job in jobs[:NAMED_IN_MESSAGE])
    more = " (and %d more)" % (len(jobs) - NAMED_IN_MESSAGE) if len(jobs) > NAMED_IN_MESSAGE else ""
    return named + more


def report(jobs, check_mode):
    """The module result, and the message to fail it with (None when every session got its snapshot)."""
    entries = [entry(job) for job in jobs]
    refused = [job for job in jobs if job.refused]
    if refused:
        message = "%d of %d replication sessions cannot take a replication snapshot, nothing was done: %s" % (
            len(refused), len(jobs), _named(refused))
        return dict(changed=False, snapshots=entries), message
    changed = bool(jobs) if check_mode else any(job.snapshot is not None for job in jobs)
    result = dict(changed=changed, snapshots=entries)
    failed = [job for job in jobs if job.error is not None]
    if not failed:
        return result, None
    return result, "%d of %d replication snapshots failed: %s" % (len(failed), len(jobs), _named(failed))


# ---- the run ---------------------------------------------------------------------------------------


class _Stop(Exception):
    """An error that concerns the array, not one session: the run stops for every session.
    `raise _Stop(error)`."""

    @property
    def error(self):
        (error,) = self.args
        return error


class SnapshotJob:
    """One session through a run."""

    def __init__(self, name, session):
        self.name = name
        self.session = session  # as read at the start of the run (None: it does not exist)
        self.snapshot = None  # the snapshot taken (or adopted), as last read or answered
        self.known = set()    # ids (as text) of the session's own snapshots before the first POST
        self.unknown = 0      # POSTs whose outcome was unknown
        self.error = None
        self.refused = False  # refused before any write (the run then writes nothing at all)

    @property
    def travelling(self):
        return self.error is None and self.snapshot is not None and not on_peer(self.snapshot)

    @property
    def ref(self):
        return session_path(self.session["id"])


class SnapshotRun:
    """Takes a replication snapshot of each named session on one array. One deadline (now +
    wait_timeout) covers every wait of the run. `sleep` and `clock` are injectable so tests do not sleep."""

    def __init__(self, api, wait, wait_timeout, sleep=None, clock=None):
        self.api = api
        self.wait = wait
        self.wait_timeout = wait_timeout
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self.deadline = self._clock() + wait_timeout

    def run(self, names, check_mode):
        """Read and check every session; unless one is refused or in check mode, take the snapshots
        and (with wait) wait for them. Returns the jobs. Errors while reading are raised."""
        names = check_names(names)
        if not names:
            return []
        found = self.api.find_by_names(SESSIONS_PATH, names)
        jobs = [SnapshotJob(name, found.get(name)) for name in names]
        for job in jobs:
            problem = refusal(job.name, job.session)
            if problem is not None:
                job.error, job.refused = SnapshotRefused(problem), True
        if check_mode or any(job.refused for job in jobs):
            return jobs
        self._remember(jobs)
        try:
            for job in jobs:
                self._take(job)
            if self.wait:
                self._wait(jobs)
        except _Stop as stop:
            for job in jobs:
                if job.error is None and job.snapshot is None:
                    job.error = K2Error("stopped before a replication snapshot of replication session %r was taken: "
                                        "%s" % (job.name, stop.error))
                elif job.travelling and self.wait:
                    job.error = K2Error("stopped before the replication snapshot %r (id %s) of replication session %r "
                                        "was seen on the peer array: %s"
                                        % (job.snapshot.get("name"), job.snapshot.get("id"), job.name, stop.error))
        return jobs

    # ---- before the first write ------------------------------------------------------------------

    def _remember(self, jobs):
        """Note the snapshots taken so far through the API for each session: one list request per
        PAGE_SIZE sessions (and per page of their snapshots), ids only. Copies that came from the peer
        are left out (they are not this side's), and so are the snapshots of the replication rounds
        the array schedules itself (triggered_by Replication): a round may take one at any time, and it
        is not the snapshot this module asked for."""
        by_id = dict((str(job.session["id"]), job) for job in jobs)
        refs = [job.ref for job in jobs]
        for start in range(0, len(refs), PAGE_SIZE):
            params = {"replication_session.ref__in": refs[start:start + PAGE_SIZE], "is_originating_from_peer": False,
                      "triggered_by": API_TRIGGER, "__fields": "id,replication_session"}
            for snapshot in self.api.iterate(SNAPSHOTS_PATH, params=params):
                parsed = split_ref(snapshot.get("replication_session"))
                job = by_id.get(parsed[1]) if parsed else None
                if job is not None:
                    job.known.add(str(snapshot.get("id")))

    # ---- writing -----------------------------------------------------------------------------------

    def _take(self, job):
        """POST the session's snapshot; after an unknown outcome, adopt the snapshot it made or send
        it again (see the module docstring)."""
        body = {"replication_session": {"ref": job.ref}}
        while True:
            try:
                answer = self.api.create(SNAPSHOTS_PATH, body)
            except K2OutcomeUnknown as exc:
                job.unknown += 1
                try:
                    adopted, settled = self._recover(job, exc)
                except K2Error as error:
                    self._fail(job, error, "whether the array took the replication snapshot of replication session "
                                           "%r is unknown (%s)" % (job.name, exc))
                    return
                if adopted is not None:
                    job.snapshot = adopted
                    return
                if not settled:
                    job.error = SnapshotFailed(exc, "no new snapshot of replication session %r showed before "
                                                    "wait_timeout ran out, and the array may still take it: not sent "
                                                    "again" % job.name)
                    return
                if job.unknown >= MAX_UNKNOWN:
                    job.error = SnapshotFailed(exc, "no new snapshot of replication session %r showed after %d "
                                                    "requests whose outcome was unknown: not sent again"
                                               % (job.name, job.unknown))
                    return
                continue
            except K2Error as error:  # the array answered, or nothing was sent: no snapshot was taken
                self._fail(job, error, "no replication snapshot of replication session %r was taken" % job.name)
                return
            if not isinstance(answer, dict) or not isinstance(to_int(answer.get("id")), int):
                job.error = K2ProtocolError("POST", SNAPSHOTS_PATH, 201, "the new snapshot of replication session "
                                            "%r came back without an id" % job.name)
                return
            job.snapshot = answer
            return

    def _recover(self, job, exc):
        """After a POST with an unknown outcome: (the snapshot it made, or None; whether the re-read
        is conclusive). A write that got no answer at all (`in_flight`) may still be carried out:
        it gets SETTLE_SECONDS (never past the deadline) to show; when the deadline cuts that
        short and nothing showed, the outcome stays open and the POST must not be repeated."""
        adopted = self._new_snapshot(job)
        if adopted is not None or not exc.in_flight:
            return adopted, True
        wanted = self._clock() + SETTLE_SECONDS
        until = min(self.deadline, wanted)
        delay = FIRST_DELAY
        while adopted is None and self._clock() < until:
            self._sleep(min(delay, until - self._clock()))
            delay = min(delay * 2, MAX_DELAY)
            adopted = self._new_snapshot(job)
        return adopted, adopted is not None or until >= wanted

    def _new_snapshot(self, job):
        """The newest of the session's own snapshots that were not there before the first POST."""
        params = {"replication_session": {"ref": job.ref}, "is_originating_from_peer": False,
                  "triggered_by": API_TRIGGER}
        return newest([s for s in self.api.iterate(SNAPSHOTS_PATH, params=params)
                       if isinstance(s, dict) and str(s.get("id")) not in job.known])

    @staticmethod
    def _fail(job, error, note):
        """Fail `job` with `error` and what became of its snapshot; an error that concerns the array
        stops the run."""
        job.error = SnapshotFailed(error, note)
        if isinstance(error, ARRAY_ERRORS):
            raise _Stop(error)

    # ---- waiting -----------------------------------------------------------------------------------

    def _wait(self, jobs):
        """Poll every snapshot still travelling, one request per round (per PAGE_SIZE snapshots),
        backing off from FIRST_DELAY to MAX_DELAY, until all are on the peer or the deadline."""
        delay = FIRST_DELAY
        while True:
            travelling = [job for job in jobs if job.travelling]
            if not travelling:
                return
            now = self._clock()
            if now >= self.deadline:
                for job in travelling:
                    job.error = K2WaitTimeout(
                        "the replication snapshot %r (id %s) of replication session %r has not reached the peer array "
                        "when wait_timeout (%s s) ran out; it is taken and may still arrive (running the task again "
                        "takes another one)"
                        % (job.snapshot.get("name"), job.snapshot.get("id"), job.name, self.wait_timeout))
                return
            self._sleep(min(delay, self.deadline - now))
            delay = min(delay * 2, MAX_DELAY)
            self._poll(travelling)

    def _poll(self, jobs):
        ids = [str(job.snapshot["id"]) for job in jobs]
        current = {}
        try:
            for start in range(0, len(ids), PAGE_SIZE):
                for snapshot in self.api.iterate(SNAPSHOTS_PATH, params={"id__in": ids[start:start + PAGE_SIZE]}):
                    current[str(snapshot.get("id"))] = snapshot
        except K2Error as exc:
            raise _Stop(exc) from None
        for job in jobs:
            snapshot = current.get(str(job.snapshot["id"]))
            if snapshot is None:
                job.error = K2Error("the replication snapshot %r (id %s) of replication session %r disappeared before "
                                    "it reached the peer array" % (job.snapshot.get("name"), job.snapshot["id"],
                                                                   job.name))
            else:
                job.snapshot = snapshot
