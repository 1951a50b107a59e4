# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Event-Driven Ansible source kaminario.k2.replication_events
(extensions/eda/plugins/event_source/replication_events.py): its options, one poll's reads, what
changed since the last poll (as events), and the polling loop. The source file holds its
documentation and calls `run`.

One poll reads one array: the sessions (one request per 100, projected to what the events tell),
then, when health changes are asked for, their recovery-point health through session_health
(one request per 100 sessions per resource). The blocking reads run in a worker thread
(`asyncio.to_thread`), so ansible-rulebook's event loop keeps running while the array answers.

Events
------
Each event is ``{"k2_replication": {...}}`` with the keys

kind        one of EVENT_KINDS, or SESSION_PRESENT (the state at start, with emit_initial).
array       the array as the source's ``host`` option names it.
session, session_id
            the session's name and id; None for the array events.
before, after
            the value of what changed: the field (state_changed: the state, ...), the health
            status (health_changed), the session's fields (session_appeared: before None;
            session_removed: after None), "reachable"/"unreachable" (array events).
changes     {field: {"before", "after"}} of every watched field (state, current_role,
            suspend_reason_code, health) that changed in this poll; {} when none did.
details     session events: the session as this poll read it (as last seen, for
            session_removed), with ``health`` (status, reason, age, rpo, ratio, recovery_point)
            when health is read; array events: the error (``error``, ``error_type``) and since when.
timestamp, epoch, clock
            when it was seen, as ISO 8601 UTC and epoch seconds, and by which clock: "array" (the
            Date header of the array's answers to this poll) or "controller" (this host's clock:
            array_unreachable, or an array that sent no Date).

One change, one event (decisions, documented for rulebook authors):
- A session's changes in one poll make ONE event: of state_changed, current_role_changed and
  suspend_reason_code_changed, the first (in that order) whose field changed and whose kind is
  asked for; `changes` names every field that changed. A suspension (state and reason code) is one
  state_changed event; a reverse (state and role) is one state_changed event.
- health_changed is its own event, but not where the state already tells it: a session that
  leaves in_sync becomes not_replicating, and one that comes back in_sync and ok was only
  resumed; neither is a health event. One that comes back late, critical or stalled is.
- A poll that fails makes one array_unreachable event; the following failed polls make none
  until one succeeds (array_reachable), and the changes made meanwhile come as their events then.
- A session missing from a listing is looked up by id (one request per 100 missing) before it is
  reported removed: objects that come and go while the pages are read shift the pages, and a
  session skipped that way is not gone.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import namedtuple

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE, K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error, K2OptionError
from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import k2_argument_spec
from ansible_collections.kaminario.k2.plugins.module_utils.replication_health import (
    DEFAULT_CRITICAL_FACTOR,
    DEFAULT_STALL_FACTOR,
    DEFAULT_TOLERANCE,
    NOT_REPLICATING,
    OK,
    HealthError,
    check_thresholds,
    observation,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_health import HEALTH_SESSION_FIELDS, read_health
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SESSIONS_PATH, ref_string
from ansible_collections.kaminario.k2.plugins.module_utils.transport import (
    HAS_REQUESTS,
    K2Transport,
)

logger = logging.getLogger(__name__)

EVENT_KEY = "k2_replication"

SESSION_PRESENT = "session_present"
SESSION_APPEARED = "session_appeared"
SESSION_REMOVED = "session_removed"
STATE_CHANGED = "state_changed"
ROLE_CHANGED = "current_role_changed"
REASON_CHANGED = "suspend_reason_code_changed"
HEALTH_CHANGED = "health_changed"
ARRAY_UNREACHABLE = "array_unreachable"
ARRAY_REACHABLE = "array_reachable"
EVENT_KINDS = (SESSION_APPEARED, SESSION_REMOVED, STATE_CHANGED, ROLE_CHANGED, REASON_CHANGED, HEALTH_CHANGED,
               ARRAY_UNREACHABLE, ARRAY_REACHABLE)
# The watched session fields and their kinds, most telling first (see "One change, one event").
WATCHED_FIELDS = (("state", STATE_CHANGED), ("current_role", ROLE_CHANGED), ("suspend_reason_code", REASON_CHANGED))
REACHABLE, UNREACHABLE = "reachable", "unreachable"
ARRAY_CLOCK, CONTROLLER_CLOCK = "array", "controller"

# What an event tells of a session, and what a poll lists (that, and what health reads).
DETAIL_FIELDS = ("id", "name", "state", "current_role", "suspend_reason_code", "rpo",
                 "remote_replication_session_name", "replication_peer_k2array", "local_volume_group")
REF_FIELDS = ("replication_peer_k2array", "local_volume_group")
LISTED_FIELDS = tuple(dict.fromkeys(DETAIL_FIELDS + HEALTH_SESSION_FIELDS))
HEALTH_DETAILS = ("status", "reason", "age", "rpo", "ratio", "recovery_point")

DEFAULT_INTERVAL = 30.0
# A poll retries less than a module does (a module's budget is 5 retries and 120 s per request):
# the next poll comes soon, and an array that stops answering is reported while it matters.
POLL_RETRIES = 2
POLL_RETRY_MAX_TIME = 30
# ansible-rulebook adds arguments of its own to a source's (eda_feedback_queue): not options.
RESERVED_PREFIX = "eda_"

SOURCE_OPTIONS = dict(
    interval=dict(type="float", default=DEFAULT_INTERVAL),
    event_kinds=dict(type="list", elements="str", choices=list(EVENT_KINDS), default=list(EVENT_KINDS)),
    emit_initial=dict(type="bool", default=False),
    health_tolerance=dict(type="float", default=DEFAULT_TOLERANCE),
    health_critical_factor=dict(type="float", default=DEFAULT_CRITICAL_FACTOR),
    health_stall_factor=dict(type="float", default=DEFAULT_STALL_FACTOR),
)


class EventSourceError(K2Error):
    """The source's arguments are unusable; raised before any request."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("kaminario.k2.replication_events: " + "; ".join(self.problems))


def _problem(error):
    if isinstance(error, UnsupportedError):
        return "unsupported option(s): " + error.error_message
    return error.error_message


def source_options(args):
    """The source's options from ansible-rulebook's `args`, checked: the connection options of
    every module (same names, K2_* environment fallbacks, defaults and types), then the source's
    own. EventSourceError or K2OptionError names what is wrong; no value is repeated."""
    params = dict((key, value) for key, value in dict(args or {}).items()
                  if not str(key).startswith(RESERVED_PREFIX))
    result = ArgumentSpecValidator(k2_argument_spec(**SOURCE_OPTIONS)).validate(params)
    if result.error_messages:  # (result.errors, a collection of errors, is true even when empty)
        raise EventSourceError(_problem(error) for error in result.errors)
    options = dict(result.validated_parameters)
    if options["interval"] <= 0:
        raise K2OptionError("interval", "expected a positive number of seconds, got %r" % (options["interval"],))
    # The types made them floats already: this checks their ranges and order.
    check_thresholds(options["health_tolerance"], options["health_critical_factor"], options["health_stall_factor"],
                     prefix="health_")
    options["event_kinds"] = list(dict.fromkeys(options["event_kinds"]))
    return options


def health_factors(options):
    """The keyword arguments of read_health from the options."""
    return dict(tolerance=options["health_tolerance"], critical_factor=options["health_critical_factor"],
                stall_factor=options["health_stall_factor"])


def connect(options):
    """A K2Api on a new transport for the options (K2OptionError for an unusable host, ca_path, ...)."""
    if not HAS_REQUESTS:
        raise K2Error("kaminario.k2.replication_events needs the Python package requests (>= 2.28) "
                      "where ansible-rulebook runs")
    transport = K2Transport(options["host"], options["username"], options["password"],
                            validate_certs=options["validate_certs"], ca_path=options["ca_path"],
                            timeout=options["timeout"], retries=POLL_RETRIES, retry_max_time=POLL_RETRY_MAX_TIME)
    return K2Api(transport)


class Poll(namedtuple("Poll", ["sessions", "healths", "now", "clock"])):
    """One poll's result: the sessions (listed, and those of `known` the listing missed but a lookup
    by id found); their healths in the same order (None when not read); when (epoch seconds) and by
    which clock."""

    __slots__ = ()


def _by_id(items):
    return [s for s in items if isinstance(s, dict) and s.get("id") is not None]


def read_poll(api, known=(), health=False, factors=None, previous=None, clock=time.time):
    """One poll (blocking): the sessions, listed by id, one request per 100; those of `known` (ids
    seen before) that the listing missed, looked up by id (one request per 100 missing); with
    `health`, their recovery-point health (read_health, with `previous` observations for the
    progress check). K2Error when the array could not be read. Health that cannot be judged this
    time (HealthError: no Date header, a session without an rpo) is left out (None) and logged."""
    fields = ",".join(LISTED_FIELDS)
    sessions = _by_id(api.iterate(SESSIONS_PATH, params={"__fields": fields, "__sort": "id"}))
    listed = set(str(s["id"]) for s in sessions)
    missing = sorted((key for key in known if key not in listed), key=lambda key: (len(key), key))
    for start in range(0, len(missing), PAGE_SIZE):
        batch = ",".join(missing[start:start + PAGE_SIZE])
        sessions.extend(s for s in _by_id(api.iterate(SESSIONS_PATH, params={"id__in": batch, "__fields": fields}))
                        if str(s["id"]) not in listed)
    healths = None
    if health:
        try:
            healths = read_health(api, sessions, previous=previous, **(factors or {}))
        except HealthError as exc:
            logger.warning("recovery-point health not judged this poll: %s", exc)
    now = api.last_date
    which = ARRAY_CLOCK
    if now is None:
        now, which = clock(), CONTROLLER_CLOCK
    return Poll(sessions, healths, now, which)


def iso_time(epoch):
    """Epoch seconds as ISO 8601 UTC (whole seconds), e.g. 2026-12-01T10:00:00Z."""
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _health_details(health):
    return dict((key, health.get(key)) for key in HEALTH_DETAILS) if health is not None else None


def session_details(session, health=None):
    """What an event tells of a session: its DETAIL_FIELDS (refs as ref strings), and its health."""
    details = dict((field, session.get(field)) for field in DETAIL_FIELDS)
    for field in REF_FIELDS:
        details[field] = ref_string(details[field])
    details["health"] = _health_details(health)
    return details


def _health_event_due(before, after):
    """Whether a health status change is an event of its own (see "One change, one event")."""
    if before is None or after is None or before == after or after == NOT_REPLICATING:
        return False
    return not (before == NOT_REPLICATING and after == OK)


class Tracker:
    """What the source last saw of one array, and the events each poll makes of it (no I/O).

    `succeeded(poll)` and `failed(error, now)` return the events (dicts) to put on the queue, in
    order; the state moves on with each call.
    """

    def __init__(self, array, kinds=EVENT_KINDS, emit_initial=False):
        self.array = array
        self.kinds = frozenset(kinds)
        self.emit_initial = emit_initial
        self.sessions = None  # id -> session as last seen; None until a poll succeeded
        self.healths = {}  # id -> the last health judged
        self.observations = {}  # id -> replication_health.observation, for the progress check
        self.unreachable = None  # while polls fail: since when, the first error, how many polls failed

    @property
    def wants_health(self):
        return HEALTH_CHANGED in self.kinds

    def event(self, kind, now, clock, session=None, before=None, after=None, changes=None, details=None):
        """One event (see the module docstring)."""
        return {EVENT_KEY: {
            "kind": kind,
            "array": self.array,
            "session": session.get("name") if session is not None else None,
            "session_id": session.get("id") if session is not None else None,
            "before": before,
            "after": after,
            "changes": changes or {},
            "details": details,
            "timestamp": iso_time(now),
            "epoch": now,
            "clock": clock,
        }}

    def failed(self, error, now):
        """A poll failed with `error` (a K2Error) at `now` (this host's clock): one
        array_unreachable event for the first failure, none for the next ones."""
        if self.unreachable is not None:
            self.unreachable["failed_polls"] += 1
            return []
        self.unreachable = {"since": now, "error": str(error), "error_type": type(error).__name__, "failed_polls": 1}
        if ARRAY_UNREACHABLE not in self.kinds:
            return []
        before = REACHABLE if self.sessions is not None else None
        details = {"error": str(error), "error_type": type(error).__name__}
        return [self.event(ARRAY_UNREACHABLE, now, CONTROLLER_CLOCK, before=before, after=UNREACHABLE,
                           details=details)]

    def succeeded(self, poll):
        """A poll read `poll` (a Poll): the events of what changed since the last good poll."""
        events = []
        if self.unreachable is not None:
            down, self.unreachable = self.unreachable, None
            if ARRAY_REACHABLE in self.kinds:
                details = {"unreachable_since": iso_time(down["since"]), "unreachable_since_epoch": down["since"],
                           "failed_polls": down["failed_polls"], "error": down["error"],
                           "error_type": down["error_type"]}
                events.append(self.event(ARRAY_REACHABLE, poll.now, poll.clock, before=UNREACHABLE, after=REACHABLE,
                                         details=details))
        healths = {}
        if poll.healths is not None:
            healths = dict((str(s["id"]), h) for s, h in zip(poll.sessions, poll.healths))
        current = dict((str(s["id"]), s) for s in poll.sessions)
        if self.sessions is None:
            if self.emit_initial:
                events.extend(self.event(SESSION_PRESENT, poll.now, poll.clock, session,
                                         after=session_details(session, healths.get(key)),
                                         details=session_details(session, healths.get(key)))
                              for key, session in current.items())
        else:
            events.extend(self._changes(poll, current, healths))
        self._remember(poll, current, healths)
        return events

    def _changes(self, poll, current, healths):
        events = []
        for key, session in current.items():
            details = session_details(session, healths.get(key, self.healths.get(key)))
            seen = self.sessions.get(key)
            if seen is None:
                if SESSION_APPEARED in self.kinds:
                    events.append(self.event(SESSION_APPEARED, poll.now, poll.clock, session, after=details,
                                             details=details))
                continue
            events.extend(self._session_changes(poll, key, seen, session, healths.get(key), details))
        if SESSION_REMOVED in self.kinds:
            for key, seen in self.sessions.items():
                if key not in current:
                    details = session_details(seen, self.healths.get(key))
                    events.append(self.event(SESSION_REMOVED, poll.now, poll.clock, seen, before=details,
                                             details=details))
        return events

    def _session_changes(self, poll, key, seen, session, health, details):
        changes = dict((field, {"before": seen.get(field), "after": session.get(field)})
                       for field, _kind in WATCHED_FIELDS if seen.get(field) != session.get(field))
        before_health = (self.healths.get(key) or {}).get("status")
        after_health = (health or {}).get("status")
        if health is not None and before_health is not None and before_health != after_health:
            changes["health"] = {"before": before_health, "after": after_health}
        events = []
        for field, kind in WATCHED_FIELDS:
            if field in changes and kind in self.kinds:
                events.append(self.event(kind, poll.now, poll.clock, session, before=changes[field]["before"],
                                         after=changes[field]["after"], changes=changes, details=details))
                break
        if HEALTH_CHANGED in self.kinds and _health_event_due(before_health, after_health if health else None):
            events.append(self.event(HEALTH_CHANGED, poll.now, poll.clock, session, before=before_health,
                                     after=after_health, changes=changes, details=details))
        return events

    def _remember(self, poll, current, healths):
        self.sessions = current
        for key in list(self.healths):
            if key not in current:
                del self.healths[key]
        self.healths.update(healths)
        for key in list(self.observations):
            if key not in current:
                del self.observations[key]
        if poll.clock == ARRAY_CLOCK:
            for session in poll.sessions:
                key = str(session["id"])
                kept = observation(session, poll.now, self.observations.get(key))
                if kept is None:
                    self.observations.pop(key, None)
                else:
                    self.observations[key] = kept


async def run(queue, args, sleep=None, clock=None):
    """The source's loop: poll, put each event on `queue` (awaiting room: ansible-rulebook's queue
    holds one event), sleep until the next poll is due, forever. An array error is an event
    (Tracker.failed), never the end of the loop. Cancelled (ansible-rulebook shuts down), it
    closes the HTTP session and re-raises. Unusable options raise before any request.
    `sleep` and `clock` (asyncio.sleep and time.time) are for tests."""
    sleep = sleep or asyncio.sleep
    clock = clock or time.time
    options = source_options(args)
    api = connect(options)
    tracker = Tracker(options["host"], options["event_kinds"], options["emit_initial"])
    logger.info("kaminario.k2.replication_events: polling %s every %g s for %s", options["host"],
                options["interval"], ", ".join(options["event_kinds"]))
    loop = asyncio.get_running_loop()
    try:
        while True:
            started = loop.time()
            try:
                poll = await asyncio.to_thread(read_poll, api, list(tracker.sessions or ()), tracker.wants_health,
                                               health_factors(options), dict(tracker.observations), clock)
            except K2Error as exc:
                if tracker.unreachable is None:
                    logger.warning("kaminario.k2.replication_events: %s cannot be read: %s", options["host"], exc)
                events = tracker.failed(exc, clock())
            else:
                if tracker.unreachable is not None:
                    logger.info("kaminario.k2.replication_events: %s answers again", options["host"])
                events = tracker.succeeded(poll)
            for event in events:
                await queue.put(event)  # a full queue (ansible-rulebook's holds one event) is awaited
            await sleep(max(0.0, started + options["interval"] - loop.time()))
    except asyncio.CancelledError:
        logger.info("kaminario.k2.replication_events: stopping (%s)", options["host"])
        raise
    finally:
        api.transport.close()
