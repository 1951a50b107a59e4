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
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import visible

FAILED_OVER, IN_SYNC, SUSPENDED = "failed_over", "in_sync", "suspended"

# Failback phases: the table above, in order, with settling between restoring and done.
NOT_FAILED_OVER, BLOCKED, DONE, SETTLING = "not_failed_over", "blocked", "done", "settling"
# A pair in one of these needs nothing more from a failback.
FINISHED = (DONE, NOT_FAILED_OVER)
# The steps of a failback, in order, and the phase each acts on.
STEPS = ("reverse", "sync", "failover", "restore", "settle")
STEP_ACTS_ON = {"reverse": "failed_over", "sync": "reversed", "failover": "reversed", "restore": "failed_back",
                "settle": SETTLING}
# The phases a step finds a pair in half-way through it (a run stopped while its writes landed): it
# only waits for those.
STEP_IN_FLIGHT = {"reverse": "reversing", "failover": "failing_back", "restore": "restoring"}
NEXT = {
    "failed_over": "reverse on the target array: replication runs from it to the source array",
    "reversing": "wait until the source array's session reads current_role=target, in_sync",
    "reversed": "take a replication snapshot on the target array, then fail over on the source array",
    "failing_back": "wait until the target array's session reads suspended",
    "failed_back": "reverse on the source array: replication runs in its original direction again",
    "restoring": "wait until the target array's session reads current_role=target, in_sync",
    SETTLING: "back to its declared state on the source array (the target follows)",
    DONE: "nothing: the pair replicates in its original direction, in_sync on both sides",
    NOT_FAILED_OVER: "nothing: the pair is not failed over",
}


class DrError(ValueError):
    """The selection is unusable; the message names the variable."""


# ---- selection -----------------------------------------------------------------------------------


def _names(value, declared=()):
    """A list of pair names from a list (each item a name, taken as written) or a comma-separated
    string (an AWX "Text" survey answer); a string that is exactly a declared pair name is that name,
    commas and all."""
    if value is None:
        return []
    if isinstance(value, str):
        if value in declared:
            return [value]
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, str) or not item:
                raise DrError("expected pair names (non-empty strings), got %r" % (item,))
        return list(value)
    raise DrError("expected a list of pair names or a comma-separated string, got %r" % (value,))


def select(pairs, names=None, source=None, arrays=None, labels=("pairs", "source")):
    """The present pairs of `pairs` (normalised, see pairs.normalize) that an operator selected:
    by name (`names`, a list or a comma-separated string), or all those replicating from the
    array `source`. Exactly one of the two must be given (an empty string or list counts as not
    given); `labels` are the variable names used in the messages."""
    wanted = _names(names, set(p["name"] for p in pairs))
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


def needed_arrays(selected, sides, play_hosts):
    """Refuse a selection whose arrays on `sides` are not all in the run (--limit or a job slice
    left one out): a run that can do nothing must fail, not end green having done nothing."""
    missing = [a for a in arrays_of(selected, sides) if a not in (play_hosts or [])]
    if missing:
        needs = dict((a, [p["name"] for p in selected if any(p[side] == a for side in sides)]) for a in missing)
        raise DrError("%s not in this run (--limit or a job slice left %s out), but the selected pairs need %s: %s; "
                      "nothing was changed" % (", ".join(missing), "it" if len(missing) == 1 else "them",
                                               "it" if len(missing) == 1 else "them",
                                               "; ".join("%s for %s" % (a, ", ".join(n)) for a, n in needs.items())))
    return True


def failover_plan(selected, readings, restored_snapshot=LATEST):
    """What a failover does on each DR array, from the target halves read there (`readings`: {array:
    the k2_replication_session_info result, or a failed one}). Returns {act: {array: items}, pairs:
    [records]}; a record's status is `planned`, `already_failed_over`, `reversed` (already failed
    over and reversed: the DR side replicates), `skipped` (the target half is idle: nothing
    replicates to it, as for a pair declared idle) or `refused` (with `msg` saying why and what to
    do). Nothing is read from or sent to the source arrays."""
    act, records = {}, []
    send_none = no_snapshot(restored_snapshot)
    for pair in selected:
        array, name = pair["target"], pair["target_session"]
        reading = (readings or {}).get(array) or {}
        record = {"pair": pair["name"], "source": pair["source"], "array": array, "session": name,
                  "state": None, "restored_snapshot": None, "msg": ""}
        records.append(record)
        if not isinstance(reading.get("sessions"), list):
            record.update(status="refused", msg="%s could not be read: %s" % (array, reading.get("msg") or "no answer"))
            continue
        session = _by_name(reading["sessions"]).get(name)
        if session is None:
            record.update(status="refused", msg="the target half %s does not exist on %s" % (name, array))
            continue
        record["state"] = session.get("state")
        if role_of(session) == SOURCE:
            record.update(status="reversed", msg="already failed over and reversed: %s replicates from %s"
                          % (array, array))
        elif session.get("state") == FAILED_OVER:
            record["status"] = "already_failed_over"
        elif session.get("state") == "idle":
            record.update(status="skipped", msg="the target half is idle: nothing replicates to it (a pair declared "
                                                "or stopped idle), so there is nothing to fail over")
        elif not send_none and str(restored_snapshot).strip() == LATEST and not session.get("latest_replicated_snapshot"):
            record.update(status="refused", msg="no snapshot has replicated to %s yet (the first replication round "
                          "has not completed), so there is no latest one to restore: wait for it and run again, "
                          "or fail over with k2_failover_restored_snapshot=none to keep what %s holds now"
                          % (array, array))
        else:
            item = {"name": name, "current_role": TARGET, "replication_state": FAILED_OVER}
            if not send_none:
                item["restored_snapshot"] = str(restored_snapshot).strip()
                # By name, as a person reads it; "latest" (what is sent) when its name could not be read,
                # never a ref.
                record["restored_snapshot"] = (session.get("latest_replicated_snapshot_name") or LATEST) \
                    if item["restored_snapshot"] == LATEST else item["restored_snapshot"]
            record["status"] = "planned"
            act.setdefault(array, []).append(item)
    return {"act": act, "pairs": records}


def failover_report(plan, results, check_mode=False):
    """The records of `plan` (failover_plan) with the outcome of each planned failover, from the
    k2_replication_topology result on each DR array (`results`: {array: result}): failed_over (or
    would_fail_over in check mode) or failed, with the message."""
    records = []
    for planned in plan["pairs"]:
        record = dict(planned)
        if record["status"] == "planned":
            result = (results or {}).get(record["array"]) or {}
            entries = dict((e.get("name"), e) for e in result.get("sessions") or [] if isinstance(e, dict))
            entry = entries.get(record["session"])
            if entry is None:
                record.update(status="failed", msg=result.get("msg") or "the failover did not run on %s" % record["array"])
            elif entry.get("status") in ("changed", "ok"):
                record["status"] = "would_fail_over" if check_mode else "failed_over"
                record["state"] = (entry.get("session") or {}).get("state") or record["state"]
            else:
                record.update(status="failed", msg=entry.get("msg") or entry.get("status"))
        records.append(record)
    return records


FAILOVER_STATUSES = ("failed_over", "would_fail_over", "already_failed_over", "reversed", "skipped", "refused",
                     "failed")
# What makes the failover playbook fail: a pair that should have failed over and did not.
FAILOVER_FAILURES = ("refused", "failed")


def failover_line(record):
    """One line of text for a failover record (line breaks in names shown as escapes)."""
    line = "%s: %s on %s %s" % (record["pair"], record["session"], record["array"], record["status"])
    if record.get("state"):
        line += ", state %s" % record["state"]
    if record.get("restored_snapshot") and record["status"] in ("failed_over", "would_fail_over"):
        line += ", restoring snapshot %s" % record["restored_snapshot"]
    if record.get("msg"):
        line += ": %s" % record["msg"]
    return visible(line)


def failover_summary(records):
    """{pairs: records, lines: one text line per pair, a count per status, failed: the pairs that
    should have failed over and did not}."""
    summary = {"pairs": list(records), "lines": [failover_line(r) for r in records]}
    for status in FAILOVER_STATUSES:
        summary[status] = sum(1 for r in records if r["status"] == status)
    summary["failed_pairs"] = [r["pair"] for r in records if r["status"] in FAILOVER_FAILURES]
    summary["failed_lines"] = [failover_line(r) for r in records if r["status"] in FAILOVER_FAILURES]
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


def _readings(readings):
    """{array: {name: session}} from {array: k2_replication_session_info result, or a list of
    sessions}; an array whose read failed maps to None."""
    found = {}
    for array, reading in (readings or {}).items():
        sessions = reading.get("sessions") if isinstance(reading, dict) else reading
        found[array] = _by_name(sessions) if isinstance(sessions, list) else None
    return found


def failback_plan(selected, readings, step=None, marks=None):
    """The failback plan from what both arrays show now. `readings`: {array: the sessions listed on
    it (the k2_replication_session_info result)}. `marks` ({pair: ref}) are what the sync step saw
    as each source half's latest_replicated_snapshot before it took its snapshot (RV(marks) of the
    sync step's plan): the failover step acts only on the pairs whose source half shows a newer one,
    so the snapshot a failback restores has reached the original source after the reverse, never
    before it. Returns:
      pairs:    [{pair, source, target, source_session, target_session, phase, reason, next}]
      act:      {array: [k2_replication_topology items]} for step `step` (not sync)
      snapshot: {array: [session names]}: the DR-side sessions to take a replication snapshot of (sync)
      marks:    {pair: ref} (sync): each source half's latest_replicated_snapshot before the snapshot
      expect:   {array: [k2_replication_session_info wait_for items]}: what each array must show
                before the next step
      counts:   {phase: number of pairs}
    """
    if step is not None and step not in STEPS:
        raise DrError("step must be one of %s, got %r" % (", ".join(STEPS), step))
    rows, act, snap, expect, new_marks = [], {}, {}, {}, {}
    found = _readings(readings)
    for pair in selected:
        on_source, on_target = found.get(pair["source"]), found.get(pair["target"])
        if on_source is None or on_target is None:
            unread = pair["source"] if on_source is None else pair["target"]
            current, reason = BLOCKED, "%s could not be read" % unread
            a = b = None
        else:
            a, b = on_source.get(pair["name"]), on_target.get(pair["target_session"])
            current, reason = phase(a, b)
        declared = pair.get("replication_state") or IN_SYNC
        if current == DONE and declared != IN_SYNC:
            current, reason = SETTLING, "%s; declared %s" % (reason, declared)
        rows.append({"pair": pair["name"], "source": pair["source"], "target": pair["target"],
                     "source_session": pair["name"], "target_session": pair["target_session"],
                     "phase": current, "reason": reason, "next": NEXT.get(current, "nothing: " + reason)})
        if step is not None and current == STEP_IN_FLIGHT.get(step):
            for array, wanted in _expectations(step, pair, declared):
                expect.setdefault(array, []).append(wanted)
        if step is None or current != STEP_ACTS_ON[step]:
            continue
        src, dst = pair["source"], pair["target"]
        if step == "sync":
            snap.setdefault(dst, []).append(pair["target_session"])
            new_marks[pair["name"]] = ref_string(a.get("latest_replicated_snapshot"))
            wanted = _wanted(pair["name"], current_role=TARGET, state=IN_SYNC)
            wanted["differ"] = {"latest_replicated_snapshot": new_marks[pair["name"]]}
            expect.setdefault(src, []).append(wanted)
            continue
        if step == "failover":
            mark = (marks or {}).get(pair["name"], MISSING_MARK)
            if mark is MISSING_MARK or _same(a.get("latest_replicated_snapshot"), mark):
                rows[-1]["next"] = "sync first: no snapshot taken after the reverse has reached %s in this run" % src
                continue
        item_array, item = {
            "reverse": (dst, {"name": pair["target_session"], "current_role": TARGET, "replication_state": IN_SYNC}),
            "failover": (src, {"name": pair["name"], "current_role": TARGET, "replication_state": FAILED_OVER,
                               "restored_snapshot": LATEST}),
            "restore": (src, {"name": pair["name"], "current_role": TARGET, "replication_state": IN_SYNC}),
            "settle": (src, {"name": pair["name"], "current_role": SOURCE, "replication_state": declared}),
        }[step]
        act.setdefault(item_array, []).append(item)
        for array, wanted in _expectations(step, pair, declared):
            expect.setdefault(array, []).append(wanted)
    counts = {}
    for row in rows:
        counts[row["phase"]] = counts.get(row["phase"], 0) + 1
    return {"pairs": rows, "act": act, "snapshot": snap, "marks": new_marks, "expect": expect, "counts": counts}


MISSING_MARK = object()


def _expectations(step, pair, declared):
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
    return [(src, _wanted(a, current_role=SOURCE, state=declared)),
            (dst, _wanted(b, current_role=TARGET, state=declared))]


def _same(current, expected):
    if isinstance(current, dict) or isinstance(expected, dict):
        return (ref_string(current) or None) == (ref_string(expected) or None)
    return current == expected


def failback_summary(start, end, stopped_after=None):
    """The failback's report from the plans read before the first step (`start`) and after the
    last (`end`): {pairs: [{pair, source, target, source_session, target_session, started, phase,
    reason, next}], phases: {phase: count}, completed: pairs brought back by this run,
    unfinished: names of the pairs not back in their declared state, unfinished_lines: their lines,
    stopped_after}."""
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
        elif r["phase"] not in FINISHED:
            line += "; next: %s" % r["next"]
        lines.append(visible(line))
    return {
        "pairs": rows,
        "lines": lines,
        "phases": phases,
        "completed": sum(1 for r in rows if r["phase"] in FINISHED and r["started"] not in (None,) + FINISHED),
        "unfinished": [r["pair"] for r in rows if r["phase"] not in FINISHED],
        # Their lines alone, for the message that fails the run (never the pairs that are back).
        "unfinished_lines": [line for r, line in zip(rows, lines) if r["phase"] not in FINISHED],
        "stopped_after": stopped_after,
    }
