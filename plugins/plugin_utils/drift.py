# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report: the cross-array plan (pair_planner.plan) of a `k2_topology` declaration, read
only, as a report: one status per pair with the reason, the fields by name, what a converge would do
or how to fix what it would refuse; the sessions nobody declares; the arrays not read. Rendered as
JSON (the dict), summary lines and Markdown, every value from an array escaped where it is shown.

With `health`, also whether each pair meets its RPO (the health section), from the health
k2_replication_session_info added to the sessions it listed (replication_health.assess: the one
definition). Per pair declared present:

- The half judged is the source half; the target half when the source half cannot be (its array
  was not read, or it is not there) and the target half can: `side` says which, and a note why.
  Both halves show the same recovery point. A pair with no half to judge is `unknown`, with why.
- A pair breaches its RPO when its status is late, critical or stalled, or not_replicating while
  its declaration says replication_state: in_sync (a pair declared suspended or idle is not
  replicating as declared; one that declares no state asks nothing of it). unknown is no breach:
  the drift statuses and the arrays not read say why there is nothing to judge.
- Worst first: by status (ok, late, critical, stalled, not_replicating, least to most severe), then
  by age / rpo, highest first; unknown last; equal pairs in the declared order.

Pure: no I/O, no Ansible import.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils import replication_health as rh
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SOURCE, TARGET
from ansible_collections.kaminario.k2.plugins.plugin_utils import pair_planner as planner
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import markdown_text, visible

IN_SYNC = planner.IN_SYNC
STATUSES = planner.STATUSES
# The session fields the role lists on every array (k2_replication_session_info `fields`).
LISTED_FIELDS = ("id", "name", "current_role", "primary", "state", "rpo", "local_volume_group",
                 "replication_peer_k2array", "remote_replication_session_name", "suspend_reason_code")


UNKNOWN = "unknown"
# Every pair declared present gets one of these in the health section, least to most severe, then
# unknown (nothing to judge).
HEALTH_STATUSES = rh.STATUSES + (UNKNOWN,)
# Always a breach; not_replicating is one for a pair declared replication_state: in_sync.
BREACH_STATUSES = (rh.LATE, rh.CRITICAL, rh.STALLED)
# What a health entry copies from the assessment of the half judged.
HEALTH_FIELDS = ("status", "reason", "age", "rpo", "ratio", "recovery_point", "generation_number", "now",
                 "transfer", "thresholds", "notes")


class DriftError(ValueError):
    """The inputs are unusable (the declaration, or what was read)."""


def drift_report(topology, reads, arrays, undeclared_is_drift=True, generated_at=None, check_mode=None,
                 health=False):
    """The report (a dict, as written to the JSON file); see plugins/filter/drift_report.yml.
    `health`: add the health section, from the health the listings carry."""
    try:
        plan = planner.plan(topology, reads, arrays)
        pairs = model.normalize(topology, arrays)
    except (planner.PlanError, model.PairError) as exc:
        raise DriftError(str(exc))
    findings = plan["pairs"]
    for finding in findings:
        # The report says what would be done; it never does it.
        finding.pop("refused", None)
        finding["health"] = None
    extra = plan["undeclared"]
    counts = dict((status, sum(1 for f in findings if f["status"] == status)) for status in STATUSES)
    unread = [a for a in plan["arrays"] if not a["read"]]
    drift = any(f["status"] != IN_SYNC for f in findings) or bool(extra and undeclared_is_drift)
    summary = {"drift": drift, "total": len(findings), "undeclared": len(extra),
               "undeclared_is_drift": bool(undeclared_is_drift), "unread": len(unread)}
    summary.update(counts)
    section = None
    summary["health"], summary["rpo_breach"] = None, 0
    if health:
        state = dict((name, planner.ArrayRead(name, reads.get(name))) for name in arrays)
        section = health_section(pairs, findings, state)
        summary["health"] = dict((status, sum(1 for h in section if h["status"] == status))
                                 for status in HEALTH_STATUSES)
        summary["rpo_breach"] = sum(1 for h in section if h["breach"])
    result = {
        "generated_at": generated_at,
        "check_mode": check_mode,
        "summary": summary,
        "arrays": plan["arrays"],
        "pairs": findings,
        "health": section,
        "undeclared": extra,
    }
    result["lines"] = summary_lines(result)
    return result


# ---- recovery-point health -----------------------------------------------------------------------

def is_breach(status, declared_state):
    """Whether a pair with this health status breaches its RPO (see the module docstring)."""
    return status in BREACH_STATUSES or (status == rh.NOT_REPLICATING and declared_state == IN_SYNC)


def _half(array, name, side):
    """(session, None) when the half can be judged, else (None, why not)."""
    if not array.read:
        return None, "the %s array %s was not read" % (side, array.name)
    session = array.sessions.get(name)
    if session is None:
        return None, "the %s half %s is not on %s" % (side, name, array.name)
    return session, None


def pair_health(pair, arrays):
    """The health entry of one pair declared present; `arrays`: {name: pair_planner.ArrayRead}."""
    entry = {"pair": pair["name"], "source": pair["source"], "target": pair["target"],
             "declared_state": pair["replication_state"], "side": None, "array": None, "session": None}
    entry.update((field, None) for field in HEALTH_FIELDS)
    entry["notes"] = []
    source, why_not = _half(arrays[pair["source"]], pair["name"], SOURCE)
    target, target_why_not = _half(arrays[pair["target"]], pair["target_session"], TARGET)
    if source is not None:
        side, array, session = SOURCE, pair["source"], source
    elif target is not None:
        side, array, session = TARGET, pair["target"], target
        entry["notes"].append("judged on the target half: %s" % why_not)
    else:
        entry.update(status=UNKNOWN, reason="Unknown: no half of the pair to judge: %s; %s." % (why_not, target_why_not),
                     breach=False)
        return entry
    entry.update(side=side, array=array, session=session.get("name"))
    found = session.get("health")
    if not isinstance(found, dict) or found.get("status") not in rh.STATUSES:
        entry.update(status=UNKNOWN, breach=False,
                     reason="Unknown: the listing of %s carried no health for %s (k2_replication_session_info "
                            "health=true)." % (array, session.get("name")))
        return entry
    entry.update((field, found.get(field)) for field in HEALTH_FIELDS if field != "notes")
    entry["notes"] = entry["notes"] + list(found.get("notes") or [])
    entry["breach"] = is_breach(entry["status"], pair["replication_state"])
    return entry


def health_key(entry):
    """Worst first (replication_health.sort_key), unknown last."""
    return (entry["status"] == UNKNOWN,) + rh.sort_key(entry)


def health_section(pairs, findings, arrays):
    """The health entries of the pairs declared present, worst first; each finding gets the status
    of its pair (`health`)."""
    by_name = dict((f["name"], f) for f in findings)
    entries = []
    for pair in pairs:
        if pair["state"] != "present":
            continue
        entry = pair_health(pair, arrays)
        entry["drift_status"] = by_name[pair["name"]]["status"]
        by_name[pair["name"]]["health"] = entry["status"]
        entries.append(entry)
    return sorted(entries, key=health_key)


def duration(seconds):
    """Seconds as a short duration for people: 45 s, 4 min 10 s, 2 h 5 min, 3 d 4 h; "none" when None."""
    if seconds is None:
        return "none"
    value = int(round(float(seconds)))
    if value < 60:
        return "%d s" % value
    for unit, size, small, small_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if value >= size:
            rest = (value % size) // small_size
            return "%d %s" % (value // size, unit) + (" %d %s" % (rest, small) if rest else "")
    return "%d s" % value  # pragma: no cover - every value reached a unit above


def judged_on(entry):
    """Which half was judged, for people: "source k2-a", "target remote_x on k2-b", "" (unknown)."""
    if entry["side"] is None:
        return ""
    return "%s half %s on %s" % (entry["side"], entry["session"], entry["array"])


def summary_lines(report):
    """The short summary the role prints: a line of counts, then one line per pair not in sync, per
    undeclared session and per array not read. Values from arrays with line breaks escaped."""
    summary = report["summary"]
    counts = ", ".join("%d %s" % (summary[s], s) for s in STATUSES if summary[s])
    lines = ["drift report: %s; %d pairs (%s), %d undeclared sessions%s%s" % (
        "DRIFT" if summary["drift"] else "no drift", summary["total"], counts or "none", summary["undeclared"],
        ", %d arrays NOT READ" % summary["unread"] if summary["unread"] else "", health_line(summary))]
    for finding in report["pairs"]:
        if finding["status"] != IN_SYNC:
            lines.append(visible("%s: %s (%s -> %s): %s" % (finding["status"], finding["name"], finding["source"],
                                                            finding["target"], finding["summary"])))
    for entry in report.get("health") or []:
        if entry["breach"]:
            lines.append(visible("rpo breach: %s (%s -> %s): %s%s" % (
                entry["pair"], entry["source"], entry["target"], entry["reason"],
                " (judged on the %s)" % judged_on(entry) if entry["side"] == TARGET else "")))
    for session in report["undeclared"]:
        lines.append(visible("undeclared: %s on %s (%s, %s)" % (session["name"], session["array"],
                                                                session["current_role"], session["state"])))
    for array in report["arrays"]:
        if not array["read"]:
            lines.append(visible("not read: %s: %s" % (array["name"], array["error"])))
    return lines


def health_line(summary):
    """The health part of the first summary line ("" when health was not read)."""
    counts = summary.get("health")
    if counts is None:
        return ""
    found = ", ".join("%d %s" % (counts[s], s) for s in HEALTH_STATUSES if counts.get(s))
    return "; health: %s; %d RPO %s" % (found or "no pair", summary["rpo_breach"],
                                        "breach" if summary["rpo_breach"] == 1 else "breaches")


# ---- Markdown ------------------------------------------------------------------------------------

def _cell(value):
    if isinstance(value, list):
        return ", ".join(markdown_text(v) for v in value)
    return markdown_text(value)


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


def markdown_health(summary, health):
    """The health section of the Markdown report: the verdict, the counts, the pairs worst first."""
    counts = summary["health"]
    breaches = summary["rpo_breach"]
    out = ["## Recovery points", ""]
    out.append("**%s**: %d of %d pairs judged%s." % (
        "RPO breached" if breaches else "Every pair judged meets its RPO", len(health) - counts[UNKNOWN], len(health),
        "; %d %s" % (breaches, "breaches its RPO" if breaches == 1 else "breach their RPO") if breaches else ""))
    out.append("")
    out.extend(_table(["health", "count"], [(s, counts[s]) for s in HEALTH_STATUSES]))
    out.append("")
    if health:
        out.extend(_table(["pair", "source -> target", "status", "age", "rpo", "age / rpo", "breach", "judged on",
                           "reason"], [
            (h["pair"], "%s -> %s" % (h["source"], h["target"]), h["status"],
             duration(h["age"]) if h["age"] is not None else "", duration(h["rpo"]) if h["rpo"] is not None else "",
             "%.2f" % h["ratio"] if h["ratio"] is not None else "", "yes" if h["breach"] else "no", judged_on(h),
             h["reason"] + "".join(" (%s)" % note for note in h["notes"])) for h in health]))
        out.append("")
    return out


def markdown(report):
    """The report as a Markdown document. Every value that comes from the declaration or an array
    is escaped (markup.markdown_text), wherever it appears: headings, tables, lists, notes."""
    summary = report["summary"]
    out = ["# Replication drift report", ""]
    when = report.get("generated_at")
    arrays = ", ".join("%s (%s)" % (markdown_text(a["name"]), "%d sessions" % a["sessions"] if a["read"] else "NOT READ")
                       for a in report["arrays"])
    out.append("%sArrays: %s.%s" % ("Generated %s. " % markdown_text(when) if when else "", arrays,
                                    " Check mode." if report.get("check_mode") else ""))
    out.append("")
    out.append("**%s**: %d pairs, %d in sync; %d undeclared sessions%s." % (
        "Drift found" if summary["drift"] else "No drift", summary["total"], summary[IN_SYNC], summary["undeclared"],
        "; %d arrays NOT READ" % summary["unread"] if summary["unread"] else ""))
    out.append("")
    out.extend(_table(["status", "count"], [(s, summary[s]) for s in STATUSES] + [("undeclared", summary["undeclared"])]))
    out.append("")
    health = report.get("health")
    if health is not None:
        out.extend(markdown_health(summary, health))
    if report["pairs"]:
        out.extend(["## Pairs", ""])
        if health is None:
            out.extend(_table(["pair", "source -> target", "status", "finding"], [
                (f["name"], "%s -> %s" % (f["source"], f["target"]), f["status"],
                 "" if f["status"] == IN_SYNC else f["summary"]) for f in report["pairs"]]))
        else:
            out.extend(_table(["pair", "source -> target", "status", "health", "finding"], [
                (f["name"], "%s -> %s" % (f["source"], f["target"]), f["status"], f.get("health") or "",
                 "" if f["status"] == IN_SYNC else f["summary"]) for f in report["pairs"]]))
        out.append("")
    for f in report["pairs"]:
        if f["status"] == IN_SYNC:
            continue
        out.extend(["### %s: %s" % (markdown_text(f["name"]), f["status"]), ""])
        out.append("%s -> %s, sessions %s (source) and %s (target)%s." % (
            markdown_text(f["source"]), markdown_text(f["target"]), markdown_text(f["source_session"]),
            markdown_text(f["target_session"]), ", declared absent" if f["state"] == "absent" else ""))
        out.append("")
        if f["reason"]:
            out.extend(["Why: " + markdown_text(f["reason"]), ""])
        if f.get("fix"):
            out.extend(["Fix: " + markdown_text(f["fix"]), ""])
        for note in f["notes"]:
            out.append("- " + markdown_text(note))
        if f["notes"]:
            out.append("")
        if f["fields"]:
            out.extend(_table(["side", "array", "session", "field", "current", "declared"], [
                (x["side"], x["array"], x["session"], x["field"], x["current"], x["declared"]) for x in f["fields"]]))
            out.append("")
        if f["actions"] and not f.get("fix"):
            out.append("A converge would:")
            out.append("")
            out.extend("%d. %s" % (i, markdown_text(a["text"])) for i, a in enumerate(f["actions"], 1))
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
        out.extend("- %s: %s" % (markdown_text(a["name"]), markdown_text(a["error"])) for a in unread)
        out.append("")
    return "\n".join(out)
