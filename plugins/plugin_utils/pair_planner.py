# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cross-array planner: every pair of a `k2_topology` declaration (see pairs.py) planned from
what BOTH of its arrays showed, before anything is written anywhere.

A module talks to one array; this sees both halves of every pair. Its inputs are what the roles
read on each array of the play (k2_replication_session_info, and a check-mode
k2_replication_topology run of the pairs the array is the source of); its output is one status per
pair, the reason and the fix for any pair it refuses, and, for an apply, the steps on each array in
order. The roles carry out exactly those steps: the drift report is this plan, read-only.

The rules it enforces:
1. Nothing is written until every array was read and every pair planned. A pair it refuses (an
   array not read, a reference or a field the converge refuses, a missing half, a pair failed over
   or reversed) stops the apply before any write, naming each pair and the cause, unless the caller
   opts in to applying the others (`allow_partial`). A wait covers only what the run changed.
2. A session that any pair names, on either array and either side, is never pruned; nothing is
   deleted unless its pair says state: absent.
3. A pair is removed only with both arrays read: stop the source, wait until the target half reads
   idle, delete the target half, and only once it is gone, the source half. A step that fails stops
   that pair where it is, so a rerun finishes it. A half that is failed over is never removed.
4. A source is never resumed while the other half of its pair reads failed_over, whatever its
   suspend_reason_code says: the pair is `failed_over`, and the fix is the failback.
6. A missing half is its own status (`source_missing`, `mirror_missing`), refused, with the fix.
10. A failed-over or reversed pair is drift whether or not replication_state is declared.
(Rule 5, unique pair names, is checked by pairs.normalize.)

Pure: no I/O, no Ansible import.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.api import reference_id, reference_name
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ReferenceError
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    PEER_FAILED_OVER,
    REFERENCE_PATHS,
    SOURCE,
    TARGET,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_wait import side_of
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import visible

IN_SYNC, DRIFTED, MISSING = "in_sync", "drifted", "missing"
SOURCE_MISSING, MIRROR_MISSING, MIRROR_DRIFTED = "source_missing", "mirror_missing", "mirror_drifted"
REVERSED, FAILED_OVER, BLOCKED = "reversed", "failed_over", "blocked"
# Every pair gets exactly one of these.
STATUSES = (IN_SYNC, DRIFTED, MISSING, SOURCE_MISSING, MIRROR_MISSING, MIRROR_DRIFTED, REVERSED, FAILED_OVER,
            BLOCKED)
# What an apply refuses to touch.
REFUSED = (SOURCE_MISSING, MIRROR_MISSING, REVERSED, FAILED_OVER, BLOCKED)
FAILED_OVER_STATE, IDLE = "failed_over", "idle"

# The stages of an apply, in order, and the side of the pair each works on.
CONVERGE, FOLLOW, REMOVE_TARGETS, REMOVE_SOURCES = "converge", "follow", "remove_targets", "remove_sources"
STAGES = (CONVERGE, FOLLOW, REMOVE_TARGETS, REMOVE_SOURCES)
# What a pair comes to in an apply.
DONE, FAILED, REFUSED_OUTCOME = "done", "failed", "refused"

NOT_IN_RUN = "not in this run (the play was limited or sliced, or the host failed before the reads)"
FIX_FAILBACK = "run playbooks/failback.yml for this pair (it continues from where the pair is)"


class PlanError(ValueError):
    """The inputs are unusable (the declaration, an option, what was read)."""


# ---- what each array showed ------------------------------------------------------------------------


def _message(result, fallback):
    msg = result.get("msg") if isinstance(result, dict) else None
    return str(msg) if msg else fallback


class ArrayRead:
    """What one array showed: its sessions by name and the check-mode converge entries by name,
    or why it could not be read (`error`)."""

    def __init__(self, name, read=None):
        self.name = name
        self.error = None
        self.sessions = {}
        self.entries = {}
        if read is None:
            self.error = NOT_IN_RUN
            return
        if isinstance(read, (list, tuple)):  # [info, converge], as the roles zip them
            read = dict(zip(("info", "converge"), read))
        info = read.get("info") or {}
        if info.get("failed") or not isinstance(info.get("sessions"), list):
            self.error = _message(info, "its sessions could not be read")
            return
        self.sessions = dict((s.get("name"), s) for s in info["sessions"] if isinstance(s, dict))
        converge = read.get("converge") or {}
        if isinstance(converge.get("sessions"), list):
            self.entries = dict((e.get("name"), e) for e in converge["sessions"] if isinstance(e, dict))
        elif converge and not converge.get("skipped"):
            self.error = _message(converge, "the check-mode converge did not run")

    @property
    def read(self):
        return self.error is None


def read_plan(topology, array, arrays=None, variable="k2_topology"):
    """What the roles read on `array` before planning: the names of the sessions the declaration
    puts there (both halves, every pair) and the k2_replication_topology items of the present
    pairs it is the source of (run in check mode)."""
    pairs = model.normalize(topology, arrays, variable)
    names = [p["name"] for p in pairs if p["source"] == array] + \
        [p["target_session"] for p in pairs if p["target"] == array]
    return {"names": names, "check": [model.source_item(p) for p in model.of_source(pairs, array)]}


# ---- findings ------------------------------------------------------------------------------------


def _field(side, array, session, field, current, declared):
    return {"side": side, "array": array, "session": session, "field": field, "current": current,
            "declared": declared}


def _action(array, session, name, method=None, fields=None, text=None):
    return {"array": array, "session": session, "action": name, "method": method,
            "fields": list(fields or []), "text": text or name}


def converge_actions(array, entry):
    """The writes a converge would send (check-mode actions), by field name: no body, so no ref."""
    found = []
    for action in entry.get("actions") or []:
        body = action.get("body") or {}
        name = action.get("name")
        fields = sorted(body) if isinstance(body, dict) else []
        if name == "create":
            text = "create %s (%s)" % (entry.get("name"), ", ".join(f for f in fields if f != "name"))
        elif name == "transition":
            text = "change the state of %s to %s" % (entry.get("name"), body.get("state"))
        elif name == "update":
            text = "update %s of %s" % (", ".join(fields), entry.get("name"))
        elif name == "delete":
            text = "delete %s" % entry.get("name")
        else:
            text = "%s %s" % (name, entry.get("name"))
        found.append(_action(array, entry.get("name"), name, action.get("method"), fields, "on %s: %s" % (array, text)))
    return found


def diff_fields(array, entry):
    """[field] where the session differs from the declaration, from the converge's diff (by name)."""
    diff = entry.get("diff") or {}
    before, after = diff.get("before") or {}, diff.get("after") or {}
    return [_field(SOURCE, array, entry.get("name"), key, before.get(key), after.get(key))
            for key in sorted(set(before) | set(after)) if key != "name" and before.get(key) != after.get(key)]


def _matches(declared, session, field):
    """Whether a declared reference (a name, an id or a ref) is the one the session shows; a name
    counts as matching when the session's name for it is unknown (not resolved)."""
    value = session.get(field)
    ref = value.get("ref") if isinstance(value, dict) else value
    try:
        declared_id = reference_id(REFERENCE_PATHS[field], declared, field)
    except K2ReferenceError:
        return False
    if declared_id is not None:
        return str(ref or "").rstrip("/").rsplit("/", 1)[-1] == str(declared_id)
    if session.get(field + "_name") is None:
        return True
    return str(session[field + "_name"]) == reference_name(declared)


def _show_state(session):
    state = session.get("state")
    code = session.get("suspend_reason_code")
    return "%s (%s)" % (state, code) if state == "suspended" and code not in (None, "", "none") else state


def fixed_fields(pair, session, array):
    """[field] where an existing source half differs from its pair in what is fixed at creation,
    by name, from the listed session."""
    found = []
    for option, field in (("volume_group", "local_volume_group"), ("peer_array", "replication_peer_k2array")):
        if pair[option] is not None and not _matches(pair[option], session, field):
            found.append(_field(SOURCE, array, pair["name"], field, session.get(field + "_name"), pair[option]))
    remote = session.get("remote_replication_session_name")
    if remote is not None and remote != pair["target_session"]:
        found.append(_field(SOURCE, array, pair["name"], "remote_replication_session_name", remote,
                            pair["target_session"]))
    return found


def _first_sentence(text):
    return str(text or "no reason given").split(". ", 1)[0]


class Finding:
    """One pair: its status, why, what differs, what a converge would do, how to fix a refusal."""

    def __init__(self, pair):
        self.pair = pair
        self.status = IN_SYNC
        self.reason = None
        self.fix = None
        self.fields = []
        self.actions = []
        self.notes = []
        self.steps = []       # (stage, array, kind, payload) for an apply, in order

    def set(self, status, reason=None, fix=None, note=None):
        self.status = status
        self.reason = reason or self.reason
        self.fix = fix or self.fix
        if note:
            self.notes.append(note)
        return self

    @property
    def refused(self):
        return self.status in REFUSED

    def summary(self):
        """One line: what differs, why, what a converge would do, or how to fix it."""
        if self.status == IN_SYNC:
            return "as declared" if self.pair["state"] == "present" else "absent, as declared"
        parts = [self.reason] if self.reason else []
        if self.fields:
            parts.append(", ".join("%s%s %s (declared %s)" % (
                "" if f["side"] == SOURCE else "target side ", f["field"], _show(f["current"]), _show(f["declared"]))
                for f in self.fields))
        if self.actions and not self.refused:
            parts.append("a converge would: " + "; ".join(a["text"] for a in self.actions))
        if self.fix:
            parts.append("fix: " + self.fix)
        return "; ".join(parts)

    def as_dict(self):
        p = self.pair
        return {
            "name": p["name"], "source": p["source"], "target": p["target"], "state": p["state"],
            "source_session": p["name"], "target_session": p["target_session"],
            "volume_group": p["volume_group"], "status": self.status, "refused": self.refused,
            "summary": self.summary(), "reason": self.reason, "fix": self.fix, "fields": self.fields,
            "actions": self.actions, "notes": self.notes,
        }


def _show(value):
    return "none" if value is None else str(value)


def _unread(finding, arrays):
    unread = [a for a in arrays if not a.read]
    if unread:
        return finding.set(BLOCKED, "; ".join("array %s not read: %s" % (a.name, a.error) for a in unread),
                           "make every array of the pair reachable and in the play, then run again")
    return None


def _sides(pair, source, target, first, second):
    """The status of a pair whose two halves exist but that does not replicate source -> target
    as declared (failed over, reversed, mid-failback), or None."""
    seen = "%s on %s reads %s %s, %s on %s reads %s %s" % (
        pair["name"], source.name, side_of(first), _show_state(first), pair["target_session"], target.name,
        side_of(second), _show_state(second))
    if side_of(first) == SOURCE and side_of(second) == TARGET:
        if second.get("state") == FAILED_OVER_STATE:
            return FAILED_OVER, "failed over to %s (%s)" % (target.name, seen)
        return None
    return REVERSED, "replication does not run %s -> %s as declared (%s): failed over and reversed, or a " \
                     "failback that stopped part way" % (source.name, target.name, seen)


def _expected_target(pair, session):
    """What the target half of a present pair shows once it follows `session` (its source half as
    the converge left it, or as read)."""
    equal = {"current_role": TARGET, "state": pair["replication_state"] or (session or {}).get("state") or IDLE}
    rpo = pair["rpo"] if pair["rpo"] is not None else (session or {}).get("rpo")
    if rpo is not None:
        equal["rpo"] = rpo
    return equal


def _present(pair, arrays):
    finding = Finding(pair)
    source, target = arrays[pair["source"]], arrays[pair["target"]]
    name, target_name = pair["name"], pair["target_session"]
    if _unread(finding, (source, target)):
        return finding
    first, second = source.sessions.get(name), target.sessions.get(target_name)
    if first is None and second is not None:
        return finding.set(SOURCE_MISSING, "the source half %s on %s is gone; the target half %s remains on %s "
                           "(%s, %s)" % (name, source.name, target_name, target.name, side_of(second),
                                         _show_state(second)),
                           "delete %s on %s (stop or fail it over and stop it first if it is not idle), or declare the "
                           "pair state: absent and apply; then declare it present again to re-create it"
                           % (target_name, target.name))
    if first is not None and second is None:
        return finding.set(MIRROR_MISSING, "the target half %s on %s is gone; the source half %s remains on %s (%s)"
                           % (target_name, target.name, name, source.name, _show_state(first)),
                           "declare the pair state: absent and apply (it stops and deletes %s on %s), then declare it "
                           "present again to re-create both halves" % (name, source.name))
    if first is not None:
        sides = _sides(pair, source, target, first, second)
        if sides is not None and sides[0] == FAILED_OVER:
            finding.fields.append(_field(TARGET, target.name, target_name, "state", FAILED_OVER_STATE,
                                         pair["replication_state"] or "the state of its source half"))
        elif sides is not None:
            finding.fields.append(_field(SOURCE, source.name, name, "current_role", side_of(first), SOURCE))
        if sides is not None:
            return finding.set(sides[0], sides[1], FIX_FAILBACK)
    entry = source.entries.get(name)
    if entry is None:
        return finding.set(BLOCKED, "no check-mode converge result for %s on %s" % (name, source.name),
                           "run again; if it persists, report it")
    if entry.get("status") == "reversed":
        return finding.set(REVERSED, "the source half %s on %s reads current_role target" % (name, source.name),
                           FIX_FAILBACK)
    if entry.get("status") == "failed":
        fixed = fixed_fields(pair, first, source.name) if first is not None else []
        finding.fields.extend(fixed)
        if fixed:
            reason = "fixed at creation: %s" % ", ".join(f["field"] for f in fixed)
            fix = "declare the values the pair was created with, or remove the pair (state: absent) and declare it again"
        else:
            how = "refused" if entry.get("refused") else "failed by the array"
            reason = "a converge would be %s: %s" % (how, _first_sentence(entry.get("msg")))
            fix = "correct the declaration (the message names the option) and run again"
        return finding.set(BLOCKED, reason, fix, entry.get("msg"))
    finding.actions = converge_actions(source.name, entry)
    if first is None and not finding.actions:
        return finding.set(BLOCKED, "%s read no session %s, but its check-mode converge planned nothing for it (it "
                                    "changed while being read)" % (source.name, name), "run again")
    if first is None:
        finding.set(MISSING, "no session %s on %s" % (name, source.name))
    elif finding.actions:
        finding.fields.extend(diff_fields(source.name, entry))
        finding.set(DRIFTED)
    if finding.actions:
        finding.steps.append((CONVERGE, source.name, "item", model.source_item(pair)))
        finding.steps.append((FOLLOW, target.name, "wait", {"name": target_name,
                                                            "equal": _expected_target(pair, entry.get("session"))}))
        return finding
    expected = _expected_target(pair, first)
    found = [(f, second.get(f) if f != "current_role" else side_of(second), v) for f, v in expected.items()
             if str(second.get(f) if f != "current_role" else side_of(second)) != str(v)]
    if found:
        finding.fields.extend(_field(TARGET, target.name, target_name, f, c, d) for f, c, d in found)
        finding.set(MIRROR_DRIFTED, "the target half %s on %s does not follow its source yet" % (target_name, target.name))
        finding.steps.append((FOLLOW, target.name, "wait", {"name": target_name, "equal": expected}))
    return finding


def _absent(pair, arrays):
    finding = Finding(pair)
    source, target = arrays[pair["source"]], arrays[pair["target"]]
    name, target_name = pair["name"], pair["target_session"]
    if _unread(finding, (source, target)):
        return finding
    first, second = source.sessions.get(name), target.sessions.get(target_name)
    if first is None and second is None:
        return finding
    if first is not None and second is not None:
        sides = _sides(pair, source, target, first, second)
        if sides is not None:
            return finding.set(BLOCKED, "declared absent, but %s: a pair failed over or reversed is never removed by "
                                        "a converge" % sides[1],
                               "fail it back first (playbooks/failback.yml), or remove the sessions by hand")
    for array, half in ((source, first), (target, second)):
        if half is not None and half.get("state") == FAILED_OVER_STATE:
            return finding.set(BLOCKED, "declared absent, but %s on %s reads failed_over: a half that is failed over "
                                        "is never removed by a converge" % (half.get("name"), array.name),
                               "fail it back first (playbooks/failback.yml), or stop and delete it by hand")
    if first is None and second.get("state") != IDLE:
        return finding.set(BLOCKED, "declared absent; its target half %s on %s reads %s and its source half is gone, so "
                                    "it cannot be stopped from the source" % (target_name, target.name,
                                                                              _show_state(second)),
                           "on %s, fail %s over and stop it (failed_over, then idle), then run again"
                           % (target.name, target_name))
    if first is not None:
        finding.fields.append(_field(SOURCE, source.name, name, "state", _show_state(first), "absent"))
        if first.get("state") != IDLE:
            finding.actions.append(_action(source.name, name, "transition", "PATCH", ["state"],
                                           "on %s: stop %s (idle)" % (source.name, name)))
            finding.steps.append((CONVERGE, source.name, "item",
                                  {"name": name, "current_role": SOURCE, "replication_state": IDLE}))
    if second is not None:
        finding.fields.append(_field(TARGET, target.name, target_name, "state", _show_state(second), "absent"))
        if second.get("state") != IDLE or first is not None and first.get("state") != IDLE:
            finding.actions.append(_action(target.name, target_name, "wait", None, ["state"],
                                           "on %s: wait until %s is idle" % (target.name, target_name)))
        finding.steps.append((FOLLOW, target.name, "wait", {"name": target_name, "equal": {"state": IDLE}}))
        finding.actions.append(_action(target.name, target_name, "delete", "DELETE", [],
                                       "on %s: delete %s" % (target.name, target_name)))
        finding.steps.append((REMOVE_TARGETS, target.name, "item",
                              {"name": target_name, "current_role": TARGET, "state": "absent"}))
    if first is not None:
        finding.actions.append(_action(source.name, name, "delete", "DELETE", [],
                                       "on %s: delete %s" % (source.name, name)))
        finding.steps.append((REMOVE_SOURCES, source.name, "item",
                              {"name": name, "current_role": SOURCE, "state": "absent"}))
    return finding.set(DRIFTED, "declared absent, still there")


# ---- undeclared sessions and prune ---------------------------------------------------------------


def undeclared(pairs, arrays):
    """The sessions found on the read arrays that no pair names, on either side."""
    names = model.declared_names(pairs)
    found = []
    for array in arrays.values():
        for name, session in sorted(array.sessions.items(), key=lambda item: str(item[0])):
            if (array.name, name) in names:
                continue
            found.append({
                "array": array.name, "name": name, "current_role": side_of(session), "state": session.get("state"),
                "rpo": session.get("rpo"), "volume_group": session.get("local_volume_group_name"),
                "peer_array": session.get("replication_peer_k2array_name"),
                "peer_session": session.get("remote_replication_session_name"),
            })
    return found


def prune_candidates(pairs, arrays):
    """[(array, name, note)] of the sessions a prune may remove: those the check-mode converge found
    (source sides whose name has the prefix) that no pair names on that array, on either side and in
    any case; a source whose peer failed over is kept (note says why)."""
    declared = set((array, name.casefold()) for array, name in model.declared_names(pairs))
    found = []
    for array in arrays.values():
        for name, entry in sorted(array.entries.items(), key=lambda item: str(item[0])):
            if entry.get("status") != "pruned" or (array.name, str(name).casefold()) in declared:
                continue
            session = entry.get("session") or array.sessions.get(name) or {}
            kept = session.get("suspend_reason_code") == PEER_FAILED_OVER
            found.append((array.name, name, "kept: its peer is failed over (fail it back or remove it by hand)"
                          if kept else None))
    return found


# ---- the plan ------------------------------------------------------------------------------------


def _bool(value, label):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1", "y", "t"):
        return True
    if text in ("false", "no", "off", "0", "n", "f", ""):
        return False
    raise PlanError("%s must be true or false, got %r" % (label, value))


def _seconds(value, label):
    try:
        seconds = int(str(value).strip())
    except ValueError:
        seconds = None
    if isinstance(value, bool) or seconds is None or seconds < 0:
        raise PlanError("%s must be a number of seconds (0 or more), got %r" % (label, value))
    return seconds


def options(values, labels):
    """The options of a plan from role variables (strings from -e converted), checked; `labels`
    maps each option to the variable that sets it, for the messages."""
    prune = _bool(values.get("prune", False), labels.get("prune", "prune"))
    prefix = values.get("prune_prefix")
    prefix_label = labels.get("prune_prefix", "prune_prefix")
    if prune and (not isinstance(prefix, str) or not prefix):
        raise PlanError("%s needs %s: the name prefix of the undeclared sessions it may remove"
                        % (labels.get("prune", "prune"), prefix_label))
    if not prune and prefix:
        raise PlanError("%s is set but %s is false: set it true to remove the undeclared sessions the prefix "
                        "matches, or leave the prefix out" % (prefix_label, labels.get("prune", "prune")))
    return {
        "prune": prune,
        "prune_prefix": prefix if prune else None,
        "allow_partial": _bool(values.get("allow_partial", False), labels.get("allow_partial", "allow_partial")),
        "wait_timeout": _seconds(values.get("wait_timeout", 600), labels.get("wait_timeout", "wait_timeout")),
        "follow_timeout": _seconds(values.get("follow_timeout", 120), labels.get("follow_timeout", "follow_timeout")),
    }


def plan(topology, reads, arrays, prune=False, allow_partial=False, variable="k2_topology"):
    """The plan (a dict: see plugins/filter/topology_plan.yml). `reads`: {array: {"info": the
    k2_replication_session_info result, "converge": the check-mode k2_replication_topology result}}
    (or [info, converge]) for the arrays read in this run; an array of `arrays` missing from it was
    not read."""
    arrays = list(arrays or [])
    if not isinstance(reads, dict):
        raise PlanError("reads: expected a dictionary of array -> {info, converge}")
    unknown = sorted(set(reads) - set(arrays), key=str)
    if unknown:
        raise PlanError("reads: %s not among the arrays (%s)" % (", ".join(map(str, unknown)), ", ".join(arrays)))
    pairs = model.normalize(topology, arrays, variable)
    state = dict((name, ArrayRead(name, reads.get(name))) for name in arrays)
    findings = [(_present if p["state"] == "present" else _absent)(p, state) for p in pairs]
    refused = [f for f in findings if f.refused]
    candidates = prune_candidates(pairs, state) if prune else []
    result = {
        "arrays": [{"name": a.name, "read": a.read, "error": a.error, "sessions": len(a.sessions)}
                   for a in state.values()],
        "pairs": [f.as_dict() for f in findings],
        "undeclared": undeclared(pairs, state),
        "prune": [{"array": a, "name": n, "note": note} for a, n, note in candidates],
        "refused": [f.pair["name"] for f in refused],
        "stop": bool(refused) and not allow_partial,
        "counts": dict((s, sum(1 for f in findings if f.status == s)) for s in STATUSES),
    }
    steps = []
    for finding in findings:
        if not finding.refused:
            steps.extend({"pair": finding.pair["name"], "stage": stage, "array": array, "kind": kind,
                          "payload": payload, "outcome": None} for stage, array, kind, payload in finding.steps)
    for array, name, note in candidates:
        if note is None:
            steps.append({"pair": None, "stage": CONVERGE, "array": array, "kind": "item", "outcome": None,
                          "payload": {"name": name, "current_role": SOURCE, "state": "absent"}})
    result["steps"] = steps
    result["outcomes"] = dict((f.pair["name"], REFUSED_OUTCOME if f.refused else None) for f in findings)
    result["messages"] = {}
    result["message"] = refusal_message(result) if refused else None
    result["stages"], result["due"] = due(result)
    return result


def refusal_message(result):
    """Why an apply stops before any write: every refused pair, its cause and its fix."""
    refused = [p for p in result["pairs"] if p["refused"]]
    return "%d of %d pairs cannot be applied: %s" % (len(refused), len(result["pairs"]), "; ".join(
        "%s (%s -> %s): %s" % (p["name"], p["source"], p["target"], p["status"] + ": " + p["summary"]) for p in refused))


def due(run):
    """({stage: {array: [items or wait_for entries]}}, {stage: [step indexes]}): the steps that may
    run now, those of pairs whose earlier steps are all done and that have not failed."""
    do = dict((stage, {}) for stage in STAGES)
    indexes = dict((stage, []) for stage in STAGES)
    blocked = set()
    for index, step in enumerate(run["steps"]):
        key = step["pair"] if step["pair"] is not None else ("prune", step["array"], step["payload"]["name"])
        if key in blocked or step["outcome"] == DONE:
            continue
        blocked.add(key)
        if step["outcome"] is None:
            do[step["stage"]].setdefault(step["array"], []).append(step["payload"])
            indexes[step["stage"]].append(index)
    return do, indexes


def _entries(result):
    result = result if isinstance(result, dict) else {}
    found = {}
    for entry in result.get("sessions") or []:
        if isinstance(entry, dict):
            found[entry.get("name")] = entry
    return found


def advance(run, stage, results):
    """The run after `stage` ran: `results` is {array: the registered result of the stage's task on
    it}. A step whose session converged (or, for a wait, showed what was waited for) is done; any
    other is failed, with the message, and the pair's later steps never run."""
    if stage not in STAGES:
        raise PlanError("stage must be one of %s, got %r" % (", ".join(STAGES), stage))
    run = dict(run)
    steps = [dict(s) for s in run["steps"]]
    outcomes = dict(run["outcomes"])
    messages = dict(run.get("messages") or {})
    for step in (steps[i] for i in run["due"][stage]):
        result = (results or {}).get(step["array"])
        done, why = _step_result(step, result)
        step["outcome"] = DONE if done else FAILED
        if step["pair"] is None:
            continue
        if not done:
            outcomes[step["pair"]] = FAILED
            messages[step["pair"]] = "on %s, %s: %s" % (step["array"], step["stage"].replace("_", " "), why)
    unfinished = set(s["pair"] for s in steps if s["outcome"] != DONE)
    for step in steps:
        if step["pair"] is not None and outcomes.get(step["pair"]) is None and step["pair"] not in unfinished:
            outcomes[step["pair"]] = DONE
    run.update(steps=steps, outcomes=outcomes, messages=messages)
    run["stages"], run["due"] = due(run)
    return run


def _step_result(step, result):
    """(done, why not) for one step from the result of its task on its array."""
    if not isinstance(result, dict) or result.get("skipped"):
        return False, "the step did not run (the array left the play?)"
    name = step["payload"]["name"]
    if step["kind"] == "wait":
        left = [u for u in result.get("unmet") or [] if isinstance(u, dict) and u.get("name") == name]
        if left:
            found = left[0].get("found")
            return False, "%s did not show %s in time (it shows %s)" % (
                name, ", ".join("%s %s" % kv for kv in sorted(step["payload"].get("equal", {}).items())),
                "nothing: it does not exist" if found is None else
                ", ".join("%s %s" % kv for kv in sorted(found.items())))
        if result.get("failed") and "unmet" not in result:
            return False, _message(result, "the wait failed")
        return True, None
    entry = _entries(result).get(name)
    if entry is None:
        return False, _message(result, "no result for %s" % name)
    if entry.get("status") in ("ok", "changed", "pruned"):
        return True, None
    return False, entry.get("msg") or entry.get("status")


def summary(run, check_mode=False):
    """The apply's report: per pair its status as planned and its outcome (done, failed with the
    message, refused with the cause and fix), the counts,
    and the lines to print (pairs not in sync only, then the prune). `failed` lists every pair the
    run did not bring to its declaration, `failed_lines` their lines alone."""
    pairs = []
    for pair in run["pairs"]:
        outcome = run["outcomes"].get(pair["name"])
        if outcome is None:
            outcome = DONE if pair["status"] == IN_SYNC or check_mode else FAILED
        record = {"name": pair["name"], "source": pair["source"], "target": pair["target"], "status": pair["status"],
                  "outcome": outcome, "summary": pair["summary"], "message": run["messages"].get(pair["name"])}
        if outcome == FAILED and record["message"] is None:
            record["message"] = "not completed: a step before it failed or did not run"
        pairs.append(record)
    counts = dict((o, sum(1 for p in pairs if p["outcome"] == o)) for o in (DONE, FAILED, REFUSED_OUTCOME))
    changed = [p for p in pairs if p["status"] != IN_SYNC and p["outcome"] == DONE]
    lines = ["%s: %d pairs, %d %s, %d failed, %d refused%s" % (
        "topology check" if check_mode else "topology", len(pairs), len(changed),
        "would change" if check_mode else "changed", counts[FAILED], counts[REFUSED_OUTCOME],
        " (applying the others was allowed)" if run["refused"] and not run["stop"] else "")]
    for p in pairs:
        if p["outcome"] == REFUSED_OUTCOME:
            lines.append(visible("refused: %s (%s -> %s): %s: %s" % (
                p["name"], p["source"], p["target"], p["status"], p["summary"])))
        elif p["outcome"] == FAILED:
            lines.append(visible("failed: %s (%s -> %s): %s" % (p["name"], p["source"], p["target"], p["message"])))
        elif p["status"] != IN_SYNC:
            lines.append(visible("%s: %s (%s -> %s): %s" % (
                "would change" if check_mode else "changed", p["name"], p["source"], p["target"], p["summary"])))
    for pruned in run["prune"]:
        step = next((s for s in run["steps"] if s["pair"] is None and s["array"] == pruned["array"]
                     and s["payload"]["name"] == pruned["name"]), None)
        verb = pruned["note"] or ("would prune" if check_mode else
                                  "pruned" if step and step["outcome"] == DONE else "prune failed")
        pruned = dict(pruned, name=visible(pruned["name"]))  # its line shows line breaks as escapes
        lines.append("prune: %s on %s: %s" % (pruned["name"], pruned["array"], verb))
    failed = [p["name"] for p in pairs if p["outcome"] in (FAILED, REFUSED_OUTCOME)]
    # The lines of those pairs alone, for the message that fails the run (never the changed ones).
    failed_lines = [line for line in lines[1:] if line.startswith(("refused: ", "failed: "))]
    return {"pairs": pairs, "counts": counts, "lines": lines, "failed": failed, "failed_lines": failed_lines}
