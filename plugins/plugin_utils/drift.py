# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report: for every pair of a `k2_topology` declaration, one status, from what each array
showed (its sessions, listed with names resolved) and what a converge in check mode would do there
(k2_replication_topology's per-session result); plus the sessions nobody declares.

Pure: no I/O, no Ansible import. The inputs are the registered results of the role's two read tasks,
so they may be failed or skipped results; an array whose sessions could not be listed is "not read"
and every pair that needs it is blocked, saying why.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model

IN_SYNC, DRIFTED, MISSING, REVERSED = "in_sync", "drifted", "missing", "reversed"
MIRROR_MISSING, MIRROR_DRIFTED, BLOCKED = "mirror_missing", "mirror_drifted", "blocked"
# Every pair gets exactly one of these.
STATUSES = (IN_SYNC, DRIFTED, MISSING, REVERSED, MIRROR_MISSING, MIRROR_DRIFTED, BLOCKED)
SOURCE, TARGET = "source", "target"
# The session fields the role lists on every array (k2_replication_session_info `fields`).
LISTED_FIELDS = ("name", "current_role", "primary", "state", "rpo", "local_volume_group",
                 "replication_peer_k2array", "remote_replication_session_name", "suspend_reason_code")
NOT_IN_RUN = "not in this run (the play was limited, sliced, or the host failed before the reads)"


class DriftError(ValueError):
    """The inputs are unusable (the declaration, or what was read)."""


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
        info = read.get("info") or {}
        if not isinstance(info.get("sessions"), list):
            self.error = _message(info, "its sessions could not be listed")
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


def _message(result, fallback):
    msg = result.get("msg") if isinstance(result, dict) else None
    return str(msg) if msg else fallback


def _role(session):
    role = session.get("current_role")
    if role:
        return role
    return SOURCE if str(session.get("primary")).lower() == "true" else TARGET


def _field(side, array, session, field, current, declared):
    return {"side": side, "array": array, "session": session, "field": field, "current": current,
            "declared": declared}


def _action(array, session, name, method=None, path=None, fields=None, text=None):
    return {"array": array, "session": session, "action": name, "method": method, "path": path,
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
        found.append(_action(array, entry.get("name"), name, action.get("method"), action.get("path"), fields,
                             "on %s: %s" % (array, text)))
    return found


def diff_fields(array, entry):
    """[field] where the session differs from the declaration, from the converge's diff (by name)."""
    diff = entry.get("diff") or {}
    before, after = diff.get("before") or {}, diff.get("after") or {}
    return [_field(SOURCE, array, entry.get("name"), key, before.get(key), after.get(key))
            for key in sorted(set(before) | set(after)) if key != "name" and before.get(key) != after.get(key)]


class Finding:
    def __init__(self, pair):
        self.pair = pair
        self.status = IN_SYNC
        self.reason = None   # short, for the summary line
        self.fields = []
        self.actions = []
        self.notes = []      # the details (a module's whole message, say)

    def set(self, status, reason=None, note=None):
        self.status = status
        if reason:
            self.reason = reason
        if note:
            self.notes.append(note)
        return self

    def as_dict(self):
        p = self.pair
        return {
            "name": p["name"], "source": p["source"], "target": p["target"], "state": p["state"],
            "source_session": p["name"], "target_session": p["target_session"],
            "volume_group": p["volume_group"], "status": self.status, "summary": self.summary(),
            "reason": self.reason, "fields": self.fields, "actions": self.actions, "notes": self.notes,
        }

    def summary(self):
        """One line: what differs, why, and what a converge would do."""
        if self.status == IN_SYNC:
            return "as declared" if self.pair["state"] == "present" else "absent, as declared"
        parts = []
        if self.reason:
            parts.append(self.reason)
        if self.fields:
            parts.append(", ".join("%s%s %s (declared %s)" % (
                "" if f["side"] == SOURCE else "target side ", f["field"], _show(f["current"]), _show(f["declared"]))
                for f in self.fields))
        if self.actions:
            parts.append("a converge would: " + "; ".join(a["text"] for a in self.actions))
        return "; ".join(parts)


def _show(value):
    return "none" if value is None else str(value)


def _matches(declared, session, field):
    """Whether a declared reference (a name, an id or a ref) is the one the session shows; a name
    counts as matching when the session's name for it is unknown (not resolved)."""
    value = session.get(field)
    ref = value.get("ref") if isinstance(value, dict) else value
    shown = set(str(v) for v in (ref, str(ref or "").rstrip("/").rsplit("/", 1)[-1] or None) if v is not None)
    declared = str(declared)
    if session.get(field + "_name") is not None:
        shown.add(str(session[field + "_name"]))
    elif not (declared.isdigit() or declared.startswith("/")):
        return True
    return declared in shown


def fixed_fields(pair, session, array):
    """[field] where an existing source session differs from its pair in what is fixed at creation
    or in its state, by name, from the listed session."""
    found = []
    for option, field in (("volume_group", "local_volume_group"), ("peer_array", "replication_peer_k2array")):
        if pair[option] is not None and not _matches(pair[option], session, field):
            found.append(_field(SOURCE, array, pair["name"], field, session.get(field + "_name"), pair[option]))
    remote = session.get("remote_replication_session_name")
    if remote is not None and remote != pair["target_session"]:
        found.append(_field(SOURCE, array, pair["name"], "remote_replication_session_name", remote,
                            pair["target_session"]))
    if pair["replication_state"] is not None and session.get("state") != pair["replication_state"]:
        state = session.get("state")
        if session.get("suspend_reason_code") not in (None, "none"):
            state = "%s (%s)" % (state, session.get("suspend_reason_code"))
        found.append(_field(SOURCE, array, pair["name"], "state", state, pair["replication_state"]))
    return found


def _refusal(pair, session, entry, array):
    """(reason, fields) for a source session the converge refuses or fails on."""
    fields = fixed_fields(pair, session or {}, array) if session else []
    fixed = [f["field"] for f in fields if f["field"] != "state"]
    if fixed:
        reason = "a converge would be refused: fixed at creation: %s" % ", ".join(fixed)
    elif session and session.get("suspend_reason_code") == "peer_failed_over":
        reason = "a converge would be refused: the peer failed over, the source cannot be resumed (fail back)"
    elif entry.get("refused"):
        reason = "a converge would be refused: %s" % str(entry.get("msg") or "no reason given").split(". ", 1)[0]
    else:
        reason = "a converge would fail on the array: %s" % str(entry.get("msg") or "no reason given").split(". ", 1)[0]
    return reason, fields


def _present(pair, arrays):
    finding = Finding(pair)
    source, target = arrays[pair["source"]], arrays[pair["target"]]
    name, target_name = pair["name"], pair["target_session"]
    if not source.read:
        return finding.set(BLOCKED, "source array %s not read: %s" % (source.name, source.error))
    entry = source.entries.get(name)
    session = source.sessions.get(name)
    if entry is None:
        return finding.set(BLOCKED, "no check-mode converge result for %s on %s" % (name, source.name))
    if entry.get("status") == "reversed":
        finding.fields.append(_field(SOURCE, source.name, name, "current_role", TARGET, SOURCE))
        return finding.set(REVERSED, "the declared source is now the target (failed over and reversed)",
                           entry.get("msg"))
    if entry.get("status") == "failed":
        reason, finding.fields = _refusal(pair, session, entry, source.name)
        return finding.set(BLOCKED, reason, entry.get("msg"))
    if session is None:
        finding.actions = converge_actions(source.name, entry)
        if target.read and target_name in target.sessions:
            finding.notes.append("the target-side session %s exists already on %s: the create would conflict"
                                 % (target_name, target.name))
        return finding.set(MISSING, "no session %s on %s" % (name, source.name))
    if entry.get("actions"):
        finding.fields.extend(diff_fields(source.name, entry))
        finding.actions = converge_actions(source.name, entry)
        finding.status = DRIFTED
    if not target.read:
        why = "target array %s not read: %s" % (target.name, target.error)
        return finding.set(DRIFTED, note=why) if finding.status == DRIFTED else finding.set(BLOCKED, why)
    mirror = target.sessions.get(target_name)
    if mirror is None:
        why = "no target-side session %s on %s" % (target_name, target.name)
        return finding.set(DRIFTED, note=why) if finding.status == DRIFTED else finding.set(MIRROR_MISSING, why)
    found = model.mirror_fields(pair, mirror)
    finding.fields.extend(_field(TARGET, target.name, target_name, f, c, d) for f, c, d in found)
    if found and finding.status == IN_SYNC:
        finding.status = MIRROR_DRIFTED
    return finding


def _absent(pair, arrays):
    finding = Finding(pair)
    source, target = arrays[pair["source"]], arrays[pair["target"]]
    name, target_name = pair["name"], pair["target_session"]
    unread = [a for a in (source, target) if not a.read]
    if unread:
        return finding.set(BLOCKED, "; ".join("array %s not read: %s" % (a.name, a.error) for a in unread))
    first, second = source.sessions.get(name), target.sessions.get(target_name)
    if first is None and second is None:
        return finding
    if first is not None:
        finding.fields.append(_field(SOURCE, source.name, name, "state", first.get("state"), "absent"))
        if first.get("state") != "idle":
            finding.actions.append(_action(source.name, name, "transition", "PATCH", None, ["state"],
                                           "on %s: stop %s (idle)" % (source.name, name)))
    if second is not None:
        finding.fields.append(_field(TARGET, target.name, target_name, "state", second.get("state"), "absent"))
        if second.get("state") != "idle":
            finding.actions.append(_action(target.name, target_name, "wait", None, None, ["state"],
                                           "on %s: wait until %s is idle" % (target.name, target_name)))
        finding.actions.append(_action(target.name, target_name, "delete", "DELETE", None, [],
                                       "on %s: delete %s" % (target.name, target_name)))
    if first is not None:
        finding.actions.append(_action(source.name, name, "delete", "DELETE", None, [],
                                       "on %s: delete %s" % (source.name, name)))
    return finding.set(DRIFTED, "declared absent, still there")


def undeclared(pairs, arrays):
    """The sessions found on the read arrays that no pair declares, on either side."""
    names = set()
    for pair in pairs:
        names.add((pair["source"], pair["name"]))
        names.add((pair["target"], pair["target_session"]))
    found = []
    for array in arrays.values():
        for name, session in sorted(array.sessions.items(), key=lambda item: str(item[0])):
            if (array.name, name) in names:
                continue
            found.append({
                "array": array.name, "name": name, "current_role": _role(session), "state": session.get("state"),
                "rpo": session.get("rpo"), "volume_group": session.get("local_volume_group_name"),
                "peer_array": session.get("replication_peer_k2array_name"),
                "peer_session": session.get("remote_replication_session_name"),
            })
    return found


def drift_report(topology, reads, arrays, undeclared_is_drift=True, generated_at=None, check_mode=None):
    """The report (a dict, as written to the JSON file); see plugins/filter/drift_report.yml."""
    arrays = list(arrays or [])
    if not isinstance(reads, dict):
        raise DriftError("reads: expected a dictionary of array -> {info, converge}")
    unknown = sorted(set(reads) - set(arrays))
    if unknown:
        raise DriftError("reads: %s not among the arrays (%s)" % (", ".join(unknown), ", ".join(arrays)))
    try:
        pairs = model.normalize(topology, arrays)
    except model.PairError as exc:
        raise DriftError(str(exc))
    state = dict((name, ArrayRead(name, reads.get(name))) for name in arrays)
    findings = [(_present if p["state"] == "present" else _absent)(p, state).as_dict() for p in pairs]
    extra = undeclared(pairs, state)
    counts = dict((status, 0) for status in STATUSES)
    for finding in findings:
        counts[finding["status"]] += 1
    drift = any(f["status"] != IN_SYNC for f in findings) or bool(extra and undeclared_is_drift)
    summary = {"drift": drift, "total": len(findings), "undeclared": len(extra),
               "undeclared_is_drift": bool(undeclared_is_drift)}
    summary.update(counts)
    result = {
        "generated_at": generated_at,
        "check_mode": check_mode,
        "summary": summary,
        "arrays": [{"name": a.name, "read": a.read, "error": a.error, "sessions": len(a.sessions)}
                   for a in state.values()],
        "pairs": findings,
        "undeclared": extra,
    }
    result["lines"] = summary_lines(result)
    return result


def summary_lines(report):
    """The short summary the role prints: a line of counts, then one line per pair not in sync and
    per undeclared session."""
    summary = report["summary"]
    counts = ", ".join("%d %s" % (summary[s], s) for s in STATUSES if summary[s])
    lines = ["drift report: %s; %d pairs (%s), %d undeclared sessions" % (
        "DRIFT" if summary["drift"] else "no drift", summary["total"], counts or "none", summary["undeclared"])]
    for finding in report["pairs"]:
        if finding["status"] != IN_SYNC:
            lines.append("%s: %s (%s -> %s): %s" % (finding["status"], finding["name"], finding["source"],
                                                    finding["target"], finding["summary"]))
    for session in report["undeclared"]:
        lines.append("undeclared: %s on %s (%s, %s)" % (session["name"], session["array"], session["current_role"],
                                                        session["state"]))
    for array in report["arrays"]:
        if not array["read"]:
            lines.append("not read: %s: %s" % (array["name"], array["error"]))
    return lines


# ---- Markdown ------------------------------------------------------------------------------------

def _cell(value):
    text = _show(value) if not isinstance(value, list) else ", ".join(_show(v) for v in value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


def markdown(report):
    """The report as a Markdown document."""
    summary = report["summary"]
    out = ["# Replication drift report", ""]
    when = report.get("generated_at")
    arrays = ", ".join("%s (%s)" % (a["name"], "%d sessions" % a["sessions"] if a["read"] else "NOT READ")
                       for a in report["arrays"])
    out.append("%sArrays: %s.%s" % ("Generated %s. " % when if when else "", arrays,
                                    " Check mode." if report.get("check_mode") else ""))
    out.append("")
    out.append("**%s**: %d pairs, %d in sync; %d undeclared sessions." % (
        "Drift found" if summary["drift"] else "No drift", summary["total"], summary[IN_SYNC], summary["undeclared"]))
    out.append("")
    out.extend(_table(["status", "count"], [(s, summary[s]) for s in STATUSES] + [("undeclared", summary["undeclared"])]))
    out.append("")
    if report["pairs"]:
        out.extend(["## Pairs", ""])
        out.extend(_table(["pair", "source -> target", "status", "finding"], [
            (f["name"], "%s -> %s" % (f["source"], f["target"]), f["status"],
             "" if f["status"] == IN_SYNC else f["summary"]) for f in report["pairs"]]))
        out.append("")
    for f in report["pairs"]:
        if f["status"] == IN_SYNC:
            continue
        out.extend(["### %s: %s" % (f["name"], f["status"]), ""])
        out.append("%s -> %s, sessions `%s` (source) and `%s` (target)%s." % (
            f["source"], f["target"], f["source_session"], f["target_session"],
            ", declared absent" if f["state"] == "absent" else ""))
        out.append("")
        for note in f["notes"]:
            out.append("- " + note)
        if f["notes"]:
            out.append("")
        if f["fields"]:
            out.extend(_table(["side", "array", "session", "field", "current", "declared"], [
                (x["side"], x["array"], x["session"], x["field"], x["current"], x["declared"]) for x in f["fields"]]))
            out.append("")
        if f["actions"]:
            out.append("A converge would:")
            out.append("")
            out.extend("%d. %s" % (i, a["text"]) for i, a in enumerate(f["actions"], 1))
            out.append("")
    if report["undeclared"]:
        out.extend(["## Undeclared sessions", ""])
        out.extend(_table(["array", "session", "role", "state", "rpo", "volume group", "peer array", "peer session"], [
            (u["array"], u["name"], u["current_role"], u["state"], u["rpo"], u["volume_group"], u["peer_array"],
             u["peer_session"]) for u in report["undeclared"]]))
        out.append("")
    unread = [a for a in report["arrays"] if not a["read"]]
    if unread:
        out.extend(["## Arrays not read", ""])
        out.extend("- %s: %s" % (a["name"], a["error"]) for a in unread)
        out.append("")
    return "\n".join(out)
