# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery-point health of a replication session: is replication meeting its RPO? Pure (no I/O,
no Ansible import): the info module, the drift report and event sources all judge with `assess`.

Definitions
-----------
Recovery point
    The `creation_time` of the session's `latest_replicated_snapshot`: the point in time of the
    newest data that has reached the target side. Both sides of a pair show the same point (the copy
    on the target keeps the snapshot's creation time).
Age
    `now - recovery point`, in seconds, where `now` is the ARRAY's clock (the `Date` of its answers),
    never the controller's: the two may disagree by minutes, and the array stamped the snapshot.
    When the array's clock is behind the recovery point (skew), the age is 0 and a note says so.
Ratio
    `age / rpo`: how many RPOs old the recovery point is; the order within one status.
Transfer
    A snapshot in flight: the session's `current_snapshot` is set. Its `current_snapshot_progress`
    (0-100) and `estimated_remaining_time`, and the running round of `replication/rpo_history` (the
    record whose `round_end` is 0, started at `round_start`), describe it.

Status (the first that applies)
-------------------------------
not_replicating
    The session is not `in_sync` (suspended, idle, failed_over): the reason gives the state and,
    when suspended, its `suspend_reason_code`.
stalled
    In sync, but replication is not moving: a transfer whose progress has not changed since an
    earlier observation (`previous`, at least `progress_interval` seconds old, of the same snapshot);
    or a running round that started more than `stall_factor` x rpo ago; or no round running and an
    age over `stall_factor` x rpo (no round completed for that long while in sync).
critical
    The age is over `critical_factor` x rpo; or there is no recovery point yet (nothing has reached
    the target: the initial sync is still running).
late
    The age is over `tolerance` x rpo.
ok
    Otherwise.

"Over" is strict: an age of exactly `tolerance` x rpo is not late. Defaults: tolerance 1.25,
critical_factor 2, stall_factor 2. Numbers may arrive as strings ("300"), as from the API.
Severity, least to most: ok, late, critical, stalled, not_replicating (`worst_first` sorts by it,
then by ratio, highest first).
"""

from __future__ import annotations

import math

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error, K2OptionError
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import ref_string

OK, LATE, CRITICAL, STALLED, NOT_REPLICATING = "ok", "late", "critical", "stalled", "not_replicating"
STATUSES = (OK, LATE, CRITICAL, STALLED, NOT_REPLICATING)  # least to most severe
SEVERITY = dict((status, rank) for rank, status in enumerate(STATUSES))

DEFAULT_TOLERANCE = 1.25
DEFAULT_CRITICAL_FACTOR = 2.0
DEFAULT_STALL_FACTOR = 2.0
# An earlier observation counts for the progress check only when it is at least this old (seconds).
PROGRESS_INTERVAL = 60

IN_SYNC = "in_sync"
NO_REASON_CODES = ("", "none")

# The session fields `assess` reads (a projection must keep them).
SESSION_FIELDS_READ = (
    "name", "state", "current_role", "primary", "rpo", "suspend_reason_code", "latest_replicated_snapshot",
    "current_snapshot", "current_snapshot_progress", "estimated_remaining_time",
)
SNAPSHOT_FIELDS_READ = ("id", "creation_time", "generation_number")
ROUND_FIELDS_READ = ("id", "session", "round_start", "round_end", "generation_number")


class HealthError(K2Error):
    """The inputs cannot be judged (no rpo, no array clock)."""


def number(value):
    """An int or float from what the API sent (numbers may be strings); None when it is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value if not (isinstance(value, float) and (math.isnan(value) or math.isinf(value))) else None
    try:
        text = str(value).strip()
        parsed = float(text)
    except ValueError:
        return None
    if math.isnan(parsed) or math.isinf(parsed):
        return None
    return int(parsed) if parsed.is_integer() and "." not in text and "e" not in text.lower() else parsed


def _whole(value):
    """Seconds for display: an int when whole."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 3)


def _factor_text(value):
    return ("%g" % value)


def check_thresholds(tolerance=DEFAULT_TOLERANCE, critical_factor=DEFAULT_CRITICAL_FACTOR,
                     stall_factor=DEFAULT_STALL_FACTOR, prefix=""):
    """The three factors as floats; K2OptionError naming the option (`prefix` + name) when one is
    not a positive number or tolerance is over critical_factor."""
    values = {}
    for name, value in (("tolerance", tolerance), ("critical_factor", critical_factor),
                        ("stall_factor", stall_factor)):
        parsed = number(value)
        if parsed is None or parsed <= 0:
            raise K2OptionError(prefix + name, "expected a positive number, got %r" % (value,))
        values[name] = float(parsed)
    if values["tolerance"] > values["critical_factor"]:
        raise K2OptionError(prefix + "tolerance", "must not be over %scritical_factor (%s > %s)"
                            % (prefix, _factor_text(values["tolerance"]), _factor_text(values["critical_factor"])))
    return values


def _not_replicating_reason(session):
    state = session.get("state")
    if state is None or state == "":
        return "Not replicating: the session shows no state."
    if state == "suspended":
        code = session.get("suspend_reason_code")
        if code is None or str(code).strip().lower() in NO_REASON_CODES:
            return "Not replicating: the session is suspended (no reason code given)."
        return "Not replicating: the session is suspended (suspend_reason_code %s)." % code
    return "Not replicating: the session is %s." % state


def _transfer(session, running_round, now):
    snapshot = session.get("current_snapshot")
    in_progress = snapshot not in (None, "")
    start = number((running_round or {}).get("round_start")) if running_round else None
    return {
        "in_progress": in_progress,
        "snapshot": snapshot if in_progress else None,
        "progress": number(session.get("current_snapshot_progress")),
        "estimated_remaining_time": number(session.get("estimated_remaining_time")),
        "round_start": start,
        "round_age": _whole(max(0, now - start)) if start is not None else None,
    }


def _progress_stuck(transfer, previous, now, interval):
    """Seconds the transfer has stayed at its progress, or None when it moved or cannot be told."""
    if not transfer["in_progress"] or not previous:
        return None
    then = number(previous.get("time"))
    before = number(previous.get("current_snapshot_progress"))
    if then is None or before is None or transfer["progress"] is None or now - then < interval:
        return None
    earlier = previous.get("current_snapshot")
    if earlier not in (None, "") and earlier != transfer["snapshot"]:
        return None  # another snapshot since: the transfer moved on
    return now - then if transfer["progress"] <= before else None


def assess(session, snapshot=None, running_round=None, now=None, previous=None,
           tolerance=DEFAULT_TOLERANCE, critical_factor=DEFAULT_CRITICAL_FACTOR,
           stall_factor=DEFAULT_STALL_FACTOR, progress_interval=PROGRESS_INTERVAL):
    """The health of one session (see the module docstring for the definitions).

    session:       the session as listed (state, current_role or primary, rpo, suspend_reason_code,
                   latest_replicated_snapshot, current_snapshot, current_snapshot_progress,
                   estimated_remaining_time).
    snapshot:      the object `latest_replicated_snapshot` points at (creation_time,
                   generation_number), or None.
    running_round: the session's replication/rpo_history record with round_end 0, or None.
    now:           the array's clock, epoch seconds.
    previous:      an earlier observation of this session ({"time", "current_snapshot_progress",
                   optionally "current_snapshot"}), or None.
    Returns {status, reason, age, rpo, ratio, recovery_point, now, transfer, thresholds, notes}.
    """
    factors = check_thresholds(tolerance, critical_factor, stall_factor)
    now = number(now)
    if now is None:
        raise HealthError("the array's clock (now) is needed to judge the recovery point")
    rpo = number(session.get("rpo"))
    if rpo is None or rpo <= 0:
        raise HealthError("session %r has no usable rpo (%r)" % (session.get("name"), session.get("rpo")))
    late_after = factors["tolerance"] * rpo
    critical_after = factors["critical_factor"] * rpo
    stalled_after = factors["stall_factor"] * rpo
    notes = []
    if running_round is not None and number(running_round.get("round_end")) not in (0, None):
        running_round = None  # a finished round is not running
    latest = ref_string(session.get("latest_replicated_snapshot"))
    recovery_point = number(snapshot.get("creation_time")) if snapshot else None
    if latest and recovery_point is None:
        notes.append("the latest replicated snapshot %s could not be read" % latest)
    age = None
    if recovery_point is not None:
        age = now - recovery_point
        if age < 0:
            notes.append("the array's clock is %s s behind the recovery point: age taken as 0" % _whole(-age))
            age = 0
    ratio = age / rpo if age is not None else None
    transfer = _transfer(session, running_round, now)
    status, reason = _judge(session, transfer, previous, now, age, recovery_point, latest,
                            (late_after, critical_after, stalled_after), factors, progress_interval)
    if notes and status == OK:
        reason = reason[:-1] + "; " + "; ".join(notes) + "."
    return {
        "status": status,
        "reason": reason,
        "age": _whole(age),
        "rpo": rpo,
        "ratio": round(ratio, 4) if ratio is not None else None,
        "recovery_point": recovery_point,
        "generation_number": number(snapshot.get("generation_number")) if snapshot else None,
        "now": now,
        "transfer": transfer,
        "thresholds": dict(factors, late_after=_whole(late_after), critical_after=_whole(critical_after),
                           stalled_after=_whole(stalled_after)),
        "notes": notes,
    }


def _judge(session, transfer, previous, now, age, recovery_point, latest, limits, factors, interval):
    late_after, critical_after, stalled_after = limits
    if session.get("state") != IN_SYNC:
        return NOT_REPLICATING, _not_replicating_reason(session)
    stuck = _progress_stuck(transfer, previous, now, interval)
    if stuck is not None:
        return STALLED, ("Stalled: the transfer of %s has stayed at %s%% for %s s."
                         % (transfer["snapshot"], _whole(transfer["progress"]), _whole(stuck)))
    start = transfer["round_start"]
    if start is not None and now - start > stalled_after:
        return STALLED, ("Stalled: the running round started %s s ago, over %s x rpo (%s s)."
                         % (_whole(now - start), _factor_text(factors["stall_factor"]), _whole(stalled_after)))
    running = start is not None or transfer["in_progress"]
    if not running and age is not None and age > stalled_after:
        return STALLED, ("Stalled: no round completed for %s x rpo (%s s) while in sync; the recovery point "
                         "is %s s old." % (_factor_text(factors["stall_factor"]), _whole(stalled_after), _whole(age)))
    if recovery_point is None:
        if latest:
            return CRITICAL, "Critical: the recovery point is unknown (%s could not be read)." % latest
        return CRITICAL, "Critical: no recovery point yet: nothing has reached the target (initial sync still running)."
    if age > critical_after:
        return CRITICAL, ("Critical: the recovery point is %s s old, over %s x rpo (%s s)."
                          % (_whole(age), _factor_text(factors["critical_factor"]), _whole(critical_after)))
    if age > late_after:
        return LATE, ("Late: the recovery point is %s s old, over %s x rpo (%s s)."
                      % (_whole(age), _factor_text(factors["tolerance"]), _whole(late_after)))
    return OK, ("OK: the recovery point is %s s old, within %s x rpo (%s s)."
                % (_whole(age), _factor_text(factors["tolerance"]), _whole(late_after)))


def observation(session, now, previous=None):
    """What to keep of `session` (as listed at `now`, the array's clock) for the next
    `assess(previous=...)`: the EARLIEST observation at which its transfer showed the progress it
    shows now, so that a transfer that stays put is seen as stalled once `progress_interval` has
    passed since then, however often it is polled. `previous` is what this function returned for
    the session last time. None when no transfer is in flight (not in sync, no current_snapshot or
    no progress shown): there is nothing to compare."""
    snapshot = session.get("current_snapshot")
    progress = number(session.get("current_snapshot_progress"))
    when = number(now)
    if session.get("state") != IN_SYNC or snapshot in (None, "") or progress is None or when is None:
        return None
    if previous and previous.get("current_snapshot") == snapshot \
            and number(previous.get("current_snapshot_progress")) == progress:
        return previous
    return {"time": when, "current_snapshot": snapshot, "current_snapshot_progress": progress}


def _health_of(item, get):
    return get(item) if get is not None else item


def sort_key(health):
    """Worst first: higher severity, then higher ratio (no ratio counts as the highest)."""
    ratio = health.get("ratio")
    return (-SEVERITY.get(health.get("status"), len(STATUSES)), -(ratio if ratio is not None else math.inf))


def worst_first(items, get=None):
    """`items` ordered worst first (see sort_key); `get(item)` gives an item's health (default: the
    item is the health). Stable: equal items keep their order."""
    return sorted(items, key=lambda item: sort_key(_health_of(item, get)))


def count_by_status(items, get=None):
    """{status: count} for every status (zeros included)."""
    counts = dict((status, 0) for status in STATUSES)
    for item in items:
        status = _health_of(item, get).get("status")
        counts[status] = counts.get(status, 0) + 1
    return counts
