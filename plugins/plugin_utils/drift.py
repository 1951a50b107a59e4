# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report: the cross-array plan (pair_planner.plan) of a `k2_topology` declaration, read
only, as a report: one status per pair with the reason, the fields by name, what a converge would do
or how to fix what it would refuse; the sessions nobody declares; the arrays not read. Rendered as
JSON (the dict), summary lines and Markdown, every value from an array escaped where it is shown.

Pure: no I/O, no Ansible import.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.plugin_utils import pair_planner as planner
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import markdown_text, visible

IN_SYNC = planner.IN_SYNC
STATUSES = planner.STATUSES
# The session fields the role lists on every array (k2_replication_session_info `fields`).
LISTED_FIELDS = ("id", "name", "current_role", "primary", "state", "rpo", "local_volume_group",
                 "replication_peer_k2array", "remote_replication_session_name", "suspend_reason_code")


class DriftError(ValueError):
    """The inputs are unusable (the declaration, or what was read)."""


def drift_report(topology, reads, arrays, undeclared_is_drift=True, generated_at=None, check_mode=None):
    """The report (a dict, as written to the JSON file); see plugins/filter/drift_report.yml."""
    try:
        plan = planner.plan(topology, reads, arrays)
    except (planner.PlanError, model.PairError) as exc:
        raise DriftError(str(exc))
    findings = plan["pairs"]
    for finding in findings:
        # The report says what would be done; it never does it.
        finding.pop("refused", None)
    extra = plan["undeclared"]
    counts = dict((status, sum(1 for f in findings if f["status"] == status)) for status in STATUSES)
    unread = [a for a in plan["arrays"] if not a["read"]]
    drift = any(f["status"] != IN_SYNC for f in findings) or bool(extra and undeclared_is_drift)
    summary = {"drift": drift, "total": len(findings), "undeclared": len(extra),
               "undeclared_is_drift": bool(undeclared_is_drift), "unread": len(unread)}
    summary.update(counts)
    result = {
        "generated_at": generated_at,
        "check_mode": check_mode,
        "summary": summary,
        "arrays": plan["arrays"],
        "pairs": findings,
        "undeclared": extra,
    }
    result["lines"] = summary_lines(result)
    return result


def summary_lines(report):
    """The short summary the role prints: a line of counts, then one line per pair not in sync, per
    undeclared session and per array not read. Values from arrays with line breaks escaped."""
    summary = report["summary"]
    counts = ", ".join("%d %s" % (summary[s], s) for s in STATUSES if summary[s])
    lines = ["drift report: %s; %d pairs (%s), %d undeclared sessions%s" % (
        "DRIFT" if summary["drift"] else "no drift", summary["total"], counts or "none", summary["undeclared"],
        ", %d arrays NOT READ" % summary["unread"] if summary["unread"] else "")]
    for finding in report["pairs"]:
        if finding["status"] != IN_SYNC:
            lines.append(visible("%s: %s (%s -> %s): %s" % (finding["status"], finding["name"], finding["source"],
                                                            finding["target"], finding["summary"])))
    for session in report["undeclared"]:
        lines.append(visible("undeclared: %s on %s (%s, %s)" % (session["name"], session["array"],
                                                                session["current_role"], session["state"])))
    for array in report["arrays"]:
        if not array["read"]:
            lines.append(visible("not read: %s: %s" % (array["name"], array["error"])))
    return lines


# ---- Markdown ------------------------------------------------------------------------------------

def _cell(value):
    if isinstance(value, list):
        return ", ".join(markdown_text(v) for v in value)
    return markdown_text(value)


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


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
    if report["pairs"]:
        out.extend(["## Pairs", ""])
        out.extend(_table(["pair", "source -> target", "status", "finding"], [
            (f["name"], "%s -> %s" % (f["source"], f["target"]), f["status"],
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
