# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reads behind recovery-point health (replication_health.py judges; this file reads), batched:
for sessions already listed, their latest replicated snapshots and their running rounds, and the
array's clock.

- Snapshots: one request per 100 distinct `latest_replicated_snapshot` ids
  (`GET /snapshots?id__in=...`, projected to what health reads).
- Running rounds: one request per 100 sessions that are in sync
  (`GET /replication/rpo_history?round_end=0&session.ref__in=<refs>`): the API's reference filter
  with the `in` modifier. A session that is not in sync is judged without its round.
- Now: the Date header of the array's last answer (the listing's, when nothing more was read). Never
  the controller's clock: the array stamped the snapshots.
So N sessions cost at most ceil(N/100) requests per resource, never one per session.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE
from ansible_collections.kaminario.k2.plugins.module_utils.replication_health import (
    DEFAULT_CRITICAL_FACTOR,
    DEFAULT_STALL_FACTOR,
    DEFAULT_TOLERANCE,
    IN_SYNC,
    ROUND_FIELDS_READ,
    SESSION_FIELDS_READ,
    SNAPSHOT_FIELDS_READ,
    HealthError,
    assess,
    check_thresholds,
    number,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    REFERENCE_PATHS,
    SESSIONS_PATH,
    split_ref,
)

SNAPSHOTS_PATH = REFERENCE_PATHS["latest_replicated_snapshot"]
RPO_HISTORY_PATH = REFERENCE_PATHS["replication_rpo_history"]
# What a session listing must hold for health: the fields assess() reads, and the id (rounds are
# matched to sessions by ref).
HEALTH_SESSION_FIELDS = ("id",) + SESSION_FIELDS_READ


def _batches(values):
    values = list(values)
    for start in range(0, len(values), PAGE_SIZE):
        yield values[start:start + PAGE_SIZE]


def _ordered_ids(ids):
    return sorted(set(ids), key=lambda i: (len(i), i))


def snapshot_lookups(sessions):
    """[(path, params)]: one query per 100 distinct latest_replicated_snapshot ids."""
    ids = []
    for session in sessions:
        parsed = split_ref(session.get("latest_replicated_snapshot"))
        if parsed and parsed[0] == SNAPSHOTS_PATH:
            ids.append(parsed[1])
    return [(SNAPSHOTS_PATH, {"id__in": ",".join(batch), "__fields": ",".join(SNAPSHOT_FIELDS_READ)})
            for batch in _batches(_ordered_ids(ids))]


def round_lookups(sessions):
    """[(path, params)]: the running rounds (round_end 0) of the sessions in sync, one query per 100."""
    refs = ["%s/%s" % (SESSIONS_PATH, s["id"]) for s in sessions
            if s.get("state") == IN_SYNC and s.get("id") is not None]
    refs = list(dict.fromkeys(refs))
    return [(RPO_HISTORY_PATH, {"round_end": 0, "session.ref__in": ",".join(batch),
                                "__fields": ",".join(ROUND_FIELDS_READ)})
            for batch in _batches(refs)]


def _started(record):
    start = number(record.get("round_start"))
    return start if start is not None else float("-inf")


def read_health(api, sessions, tolerance=DEFAULT_TOLERANCE, critical_factor=DEFAULT_CRITICAL_FACTOR,
                stall_factor=DEFAULT_STALL_FACTOR, previous=None):
    """The health (replication_health.assess) of each of `sessions` (listed with at least
    HEALTH_SESSION_FIELDS), in their order; reads as the module docstring says. The factors are
    checked first (K2OptionError naming health_<factor>). `previous` maps a session id (a string)
    to an earlier observation of it (replication_health.observation), for the progress check of
    a caller that reads again and again; without it, a transfer is never judged stalled by its
    progress alone."""
    factors = check_thresholds(tolerance, critical_factor, stall_factor, prefix="health_")
    if not sessions:
        return []
    snapshots = {}
    for path, params in snapshot_lookups(sessions):
        for obj in api.iterate(path, params=params):
            if isinstance(obj, dict) and obj.get("id") is not None:
                snapshots[(path, str(obj["id"]))] = obj
    rounds = {}
    for path, params in round_lookups(sessions):
        for obj in api.iterate(path, params=params):
            key = split_ref(obj.get("session")) if isinstance(obj, dict) else None
            if key is None:
                continue
            # Several running records for one session: the latest started is the round in flight.
            if key not in rounds or _started(obj) > _started(rounds[key]):
                rounds[key] = obj
    now = api.last_date
    if now is None:
        raise HealthError("health needs the array's clock, and the array's answers carried no Date header")
    healths = []
    for session in sessions:
        latest = split_ref(session.get("latest_replicated_snapshot"))
        running = rounds.get((SESSIONS_PATH, str(session.get("id"))))
        earlier = (previous or {}).get(str(session.get("id")))
        healths.append(assess(session, snapshots.get(latest) if latest else None, running, now, previous=earlier,
                              **factors))
    return healths
