# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disaster recovery on the pairs of a `k2_topology` declaration: which pairs an operator selected,
what a failover sends to each DR array and how it went, and, for a failback, the phase of each pair
read from its two sessions and the next step.

Names: a pair's SOURCE array and session are the ones it was declared with (`source`, `name`), its
TARGET (DR) array and session are `target` and `target_session`, whatever the direction of
replication is today. Pure: no I/O, no Ansible import (the filters in plugins/filter/dr_plan.py wrap
these functions).

Failback, after a failover on the target (DR) array, follows the vendor's Cinder driver (its
failback, commit 4e92c272e: reverse, let it sync, fail over the primary, reverse again). Each step
acts on the pairs whose two sessions show the phase it starts from, so a run stopped anywhere
continues where it stopped:

    phase            source session (on source)   target session (on DR)    next step
    failed_over      source, any state            target, failed_over       reverse (on DR)
    reversing        source, not in_sync          source, in_sync           (reverse: wait)
    reversed         target, in_sync              source, in_sync           sync, then failover (on source)
    failing_back     target, failed_over          source, in_sync           (failover: wait)
    failed_back      target, failed_over          source, suspended         restore (on source)
    restoring        source, in_sync              source, not in_sync       (restore: wait)
    done             source, in_sync              target, in_sync           nothing
    not_failed_over  source                       target, not failed_over   nothing (left alone)
    blocked          anything else (a session missing, both targets, both sources in_sync, ...)
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    LATEST,
    SOURCE,
    TARGET,
    ref_string,
)

FAILED_OVER, IN_SYNC, SUSPENDED = "failed_over", "in_sync", "suspended"

# Failback phases, in the order a pair goes through them.
PHASES = ("failed_over", "reversing", "reversed", "failing_back", "failed_back", "restoring", "done")
NOT_FAILED_OVER, BLOCKED, DONE = "not_failed_over", "blocked", "done"
# The steps of a failback, in order; the phase each acts on and the phases it waits for.
STEPS = ("reverse", "sync", "failover", "restore")
STEP_ACTS_ON = {"reverse": "failed_over", "sync": "reversed", "failover": "reversed", "restore": "failed_back"}
STEP_WAITS_FOR = {
    "reverse": ("failed_over", "reversing"),
    "sync": ("reversed",),
    "failover": ("reversed", "failing_back"),
    "restore": ("failed_back", "restoring"),
}
NEXT = {
    "failed_over": "reverse on the target array: replication runs from it to the source array",
    "reversing": "wait until the source array's session reads current_role=target, in_sync",
    "reversed": "take a replication snapshot on the target array, then fail over on the source array",
    "failing_back": "wait until the target array's session reads suspended",
    "failed_back": "reverse on the source array: replication runs in its original direction again",
    "restoring": "wait until the target array's session reads current_role=target, in_sync",
    DONE: "nothing: the pair replicates in its original direction, in_sync on both sides",
    NOT_FAILED_OVER: "nothing: the pair is not failed over",
}

# What a failover's module entry status means for the pair.
FAILOVER_STATUS = {"changed": "failed_over", "ok": "already_failed_over", "failed": "failed",
                   "reversed": "reversed"}


class DrError(ValueError):
    """The selection is unusable; the message names the variable."""


# ---- selection -----------------------------------------------------------------------------------


def _names(value):
    """A list of pair names from a list or a comma-separated string (an AWX "Text" survey answer)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, (list, tuple)):
        names = []
        for item in value:
            if not isinstance(item, str):
                raise DrError("expected pair names (strings), got %r" % (item,))
            names.extend(_names(item))
        return names
    raise DrError("expected a list of pair names or a comma-separated string, got %r" % (value,))


def select(pairs, names=None, source=None, arrays=None, labels=("pairs", "source")):
    """The present pairs of `pairs` (normalised, see pairs.normalize) that an operator selected:
    by name (`names`, a list or a comma-separated string), or all those replicating from the
    array `source`. Exactly one of the two must be given (an empty string or list counts as not
    given); `labels` are the variable names used in the messages."""
    wanted = _names(names)
    if source is not None and not isinstance(source, str):
        raise DrError("%s: expected the name of an array, got %r" % (labels[1], source))
    source = (source or "").strip()
    if bool(wanted) == bool(source):
        raise DrError("give exactly one of %s (a list of pair names) and %s (an array name)%s"
                      % (labels[0], labels[1], ", not both" if wanted else ""))
    present = [p for p in pairs if p["state"] == "present"]
    if source:
        if arrays is not None and source not in arrays:
            raise DrError("%s: %r is not an array of the inventory (known: %s)"
                          % (labels[1], source, ", ".join(sorted(arrays)) or "none"))
        chosen = [p for p in present if p["source"] == source]
        if not chosen:
            raise DrError("%s: no present pair of the topology replicates from %r" % (labels[1], source))
        return chosen
    by_name = dict((p["name"], p) for p in pairs)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise DrError("%s: unknown pair(s) %s; the topology declares %s"
                      % (labels[0], ", ".join(unknown), ", ".join(sorted(by_name)) or "none"))
    absent = [n for n in wanted if by_name[n]["state"] != "present"]
    if absent:
        raise DrError("%s: pair(s) %s are declared state=absent" % (labels[0], ", ".join(absent)))
    return [p for p in present if p["name"] in set(wanted)]


def arrays_of(selected, sides=("source", "target")):
    """The arrays (inventory hosts) the selected pairs have on `sides`, in order, once each."""
    return list(dict.fromkeys(p[side] for p in selected for side in sides))


# ---- failover ------------------------------------------------------------------------------------


def no_snapshot(value):
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


def failover_items(selected, array, restored_snapshot=LATEST):
    """k2_replication_topology items that fail over, on `array`, the target sides of the selected
    pairs whose target it is. `restored_snapshot` None, "" or "none" sends none."""
    items = []
    for pair in selected:
        if pair["target"] != array:
            continue
        item = {"name": pair["target_session"], "current_role": TARGET, "replication_state": FAILED_OVER}
        if not no_snapshot(restored_snapshot):
            item["restored_snapshot"] = str(restored_snapshot).strip()
        items.append(item)
    return items


def failover_report(selected, array, result, check_mode=False):
    """One record per selected pair whose target is `array`, from the k2_replication_topology result
    of the failover on it: pair, source, array, session, status (failed_over, already_failed_over,
    failed, reversed, or would_fail_over in check mode), state, restored_snapshot (a ref), msg."""
    result = result or {}
    entries = dict((e.get("name"), e) for e in result.get("sessions") or [] if isinstance(e, dict))
    records = []
    for pair in selected:
        if pair["target"] != array:
            continue
        entry = entries.get(pair["target_session"])
        record = {"pair": pair["name"], "source": pair["source"], "array": array,
                  "session": pair["target_session"], "state": None, "restored_snapshot": None, "msg": ""}
        if entry is None:
            record["status"] = "failed"
            record["msg"] = result.get("msg") or "the failover did not run on %s" % array
        else:
            session = entry.get("session") or {}
            record["status"] = FAILOVER_STATUS.get(entry.get("status"), entry.get("status"))
            if check_mode and record["status"] == "failed_over":
                record["status"] = "would_fail_over"
            record["state"] = session.get("state")
            record["restored_snapshot"] = ref_string(session.get("restored_snapshot")) or None
            record["msg"] = entry.get("msg") or ""
        records.append(record)
    return records


def failover_line(record):
    """One line of text for a failover record."""
    line = "%s: %s on %s %s" % (record["pair"], record["session"], record["array"], record["status"])
    if record.get("state"):
        line += ", state %s" % record["state"]
    if record.get("restored_snapshot"):
        line += ", restored snapshot %s" % record["restored_snapshot"]
    if record.get("msg"):
        line += ": %s" % record["msg"]
    return line


def failover_summary(records):
    """{pairs: records, lines: one text line per pair, a count per status} over the records of
    every DR array."""
    summary = {"pairs": list(records), "lines": [failover_line(r) for r in records]}
    for status in ("failed_over", "would_fail_over", "already_failed_over", "failed", "reversed"):
        summary[status] = sum(1 for r in records if r["status"] == status)
    return summary


# ---- failback ------------------------------------------------------------------------------------


def role_of(session):
    role = session.get("current_role")
    if role in (SOURCE, TARGET):
        return role
    return TARGET if str(session.get("primary")).lower() == "false" else SOURCE


def _by_name(sessions):
    return dict((s.get("name"), s) for s in sessions or [] if isinstance(s, dict))


def phase(source_session, target_session):
    """(phase, reason) of a pair from its source-side session (on the source array, named after the
    pair) and its target-side session (on the target array). None stands for a missing session."""
    if source_session is None or target_session is None:
        return BLOCKED, "the %s session does not exist" % ("source-side" if source_session is None else "target-side")
    ra, sa = role_of(source_session), source_session.get("state")
    rb, sb = role_of(target_session), target_session.get("state")
    seen = "source side %s %s, target side %s %s" % (ra, sa, rb, sb)
    if ra == SOURCE and rb == TARGET:
        if sb == FAILED_OVER:
            return "failed_over", seen
        if sa == IN_SYNC and sb == IN_SYNC:
            return DONE, seen
        return NOT_FAILED_OVER, seen
    if ra == SOURCE and rb == SOURCE:
        if sb == IN_SYNC and sa != IN_SYNC:
            return "reversing", seen
        if sa == IN_SYNC and sb != IN_SYNC:
            return "restoring", seen
        return BLOCKED, "both sides read current_role=source (%s): which one replicates cannot be told" % seen
    if ra == TARGET and rb == SOURCE:
        if sa == IN_SYNC and sb == IN_SYNC:
            return "reversed", seen
        if sa == FAILED_OVER and sb == IN_SYNC:
            return "failing_back", seen
        if sa == FAILED_OVER and sb == SUSPENDED:
            return "failed_back", seen
        return BLOCKED, "replication from the target array is not in_sync (%s): resume it there first" % seen
    return BLOCKED, "both sides read current_role=target (%s)" % seen


def _wanted(session, **fields):
    return {"name": session, "equal": fields}


def failback_plan(selected, readings, step=None, snapshot=True, restored_snapshot=LATEST):
    """The failback plan from what both arrays show now. `readings`: {array: [sessions listed on
    it]}. Returns:
      pairs:    [{pair, source, target, source_session, target_session, phase, reason, next}]
      act:      {array: [k2_replication_topology items]} for step `step`
      snapshot: {array: [{pair, session, id}]}: sessions to take a replication snapshot of (step
                sync, when `snapshot` is true and none is under way already)
      expect:   {array: [{name, equal: {field: value}, differ: {field: value}}]}: what the sessions
                of each array must show before the next step (see waiting())
      counts:   {phase: number of pairs}
    """
    if step is not None and step not in STEPS:
        raise DrError("step must be one of %s, got %r" % (", ".join(STEPS), step))
    rows, act, snap, expect = [], {}, {}, {}
    readings = readings or {}
    for pair in selected:
        a = _by_name(readings.get(pair["source"])).get(pair["name"])
        b = _by_name(readings.get(pair["target"])).get(pair["target_session"])
        current, reason = phase(a, b)
        rows.append({"pair": pair["name"], "source": pair["source"], "target": pair["target"],
                     "source_session": pair["name"], "target_session": pair["target_session"],
                     "phase": current, "reason": reason, "next": NEXT.get(current, "nothing: " + reason)})
        if step is None:
            continue
        src, dst = pair["source"], pair["target"]
        if current == STEP_ACTS_ON[step]:
            item = None
            if step == "reverse":
                item = (dst, {"name": pair["target_session"], "current_role": TARGET, "replication_state": IN_SYNC})
            elif step == "failover":
                body = {"name": pair["name"], "current_role": TARGET, "replication_state": FAILED_OVER}
                if not no_snapshot(restored_snapshot):
                    body["restored_snapshot"] = str(restored_snapshot).strip()
                item = (src, body)
            elif step == "restore":
                item = (src, {"name": pair["name"], "current_role": TARGET, "replication_state": IN_SYNC})
            elif snapshot and not b.get("current_snapshot"):
                snap.setdefault(dst, []).append({"pair": pair["name"], "session": pair["target_session"],
                                                 "id": b.get("id")})
            if item is not None:
                act.setdefault(item[0], []).append(item[1])
        if current in STEP_WAITS_FOR[step]:
            for array, wanted in _expectations(step, pair, a, snapshot):
                expect.setdefault(array, []).append(wanted)
    counts = {}
    for row in rows:
        counts[row["phase"]] = counts.get(row["phase"], 0) + 1
    return {"pairs": rows, "act": act, "snapshot": snap, "expect": expect, "counts": counts}


def _expectations(step, pair, source_session, snapshot):
    src, dst, a, b = pair["source"], pair["target"], pair["name"], pair["target_session"]
    if step == "reverse":
        return [(dst, _wanted(b, current_role=SOURCE, state=IN_SYNC)),
                (src, _wanted(a, current_role=TARGET, state=IN_SYNC))]
    if step == "failover":
        return [(src, _wanted(a, current_role=TARGET, state=FAILED_OVER)),
                (dst, _wanted(b, current_role=SOURCE, state=SUSPENDED))]
    if step == "restore":
        return [(src, _wanted(a, current_role=SOURCE, state=IN_SYNC)),
                (dst, _wanted(b, current_role=TARGET, state=IN_SYNC))]
    if not snapshot:
        return []
    # sync: the snapshot has reached the source array once its session's latest replicated
    # snapshot moves on (the failover there restores that one, with restored_snapshot=latest).
    wanted = _wanted(a, current_role=TARGET, state=IN_SYNC)
    wanted["differ"] = {"latest_replicated_snapshot": ref_string(source_session.get("latest_replicated_snapshot"))}
    return [(src, wanted)]


def waiting(sessions, expect):
    """The expectations (see failback_plan) that the sessions listed on an array do not meet yet,
    each with `found`: what the session shows. Empty when everything is there."""
    found = _by_name(sessions)
    unmet = []
    for wanted in expect or []:
        session = found.get(wanted["name"])
        if session is None:
            unmet.append(dict(wanted, found=None))
            continue
        values = dict(session, current_role=role_of(session))
        ok = all(_same(values.get(k), v) for k, v in (wanted.get("equal") or {}).items()) and \
            all(not _same(values.get(k), v) for k, v in (wanted.get("differ") or {}).items())
        if not ok:
            shown = dict((k, values.get(k)) for k in list(wanted.get("equal") or {}) + list(wanted.get("differ") or {}))
            unmet.append(dict(wanted, found=shown))
    return unmet


def _same(current, expected):
    if isinstance(current, dict) or isinstance(expected, dict):
        return (ref_string(current) or None) == (ref_string(expected) or None)
    return current == expected


def failback_summary(start, end, stopped_after=None):
    """The failback's report from the plans read before the first step (`start`) and after the
    last (`end`): {pairs: [{pair, source, target, source_session, target_session, started, phase,
    reason, next}], phases: {phase: count}, completed: pairs brought back to done by this run,
    unfinished: names of the pairs neither done nor left alone (not_failed_over), stopped_after}."""
    started = dict((row["pair"], row["phase"]) for row in (start or {}).get("pairs", []))
    rows = []
    for row in (end or {}).get("pairs", []):
        fields = ("pair", "source", "target", "source_session", "target_session", "phase", "reason", "next")
        record = dict((k, row[k]) for k in fields)
        record["started"] = started.get(row["pair"])
        rows.append(record)
    phases = {}
    for row in rows:
        phases[row["phase"]] = phases.get(row["phase"], 0) + 1
    lines = []
    for r in rows:
        line = "%s (%s -> %s): %s" % (r["pair"], r["source"], r["target"], r["phase"])
        if r["started"] not in (None, r["phase"]):
            line += " (was %s)" % r["started"]
        if r["phase"] == BLOCKED:
            line += ": %s" % r["reason"]
        elif r["phase"] not in (DONE, NOT_FAILED_OVER):
            line += "; next: %s" % r["next"]
        lines.append(line)
    return {
        "pairs": rows,
        "lines": lines,
        "phases": phases,
        "completed": sum(1 for r in rows if r["phase"] == DONE and r["started"] not in (None, DONE)),
        "unfinished": [r["pair"] for r in rows if r["phase"] not in (DONE, NOT_FAILED_OVER)],
        "stopped_after": stopped_after,
    }
