# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report (drift.drift_report) as one self-contained HTML page: the topology drawn as
arrays and pairs (inline SVG: an arrow per pair in its declared replication direction, coloured by
its recovery-point health, its drift status as the dot at the arrow's tail and the line's pattern),
a legend, the recovery points worst first, the pairs, the undeclared sessions and the arrays not
read.

Self-contained and offline: inline CSS and SVG only, no script, no font, image, stylesheet or link
to load; a Content-Security-Policy that forbids every load says so to the browser too. Every value
from an array or the declaration is escaped (markup.html_text), in text and in attributes, SVG
included; classes and ids come from fixed lists, never from a value.

Pure: no I/O, no Ansible import.
"""

from __future__ import annotations

import math

from ansible_collections.kaminario.k2.plugins.plugin_utils import drift
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import html_text, visible

# The drift statuses, grouped for colour: as declared, drift a converge fixes, what an apply refuses.
DRIFT_GROUPS = {drift.IN_SYNC: "in-sync"}
DRIFT_GROUPS.update((s, "drift") for s in ("drifted", "missing", "mirror_drifted"))
DRIFT_GROUPS.update((s, "refused") for s in drift.planner.REFUSED)
DRIFT_GROUP_TEXT = (("in-sync", "in_sync: as declared"),
                    ("drift", "drifted, missing, mirror_drifted: a converge fixes it"),
                    ("refused", "source_missing, mirror_missing, failed_over, reversed, blocked: an apply refuses it"))
HEALTH_TEXT = (
    ("ok", "ok: the recovery point is within tolerance x rpo"),
    ("late", "late: older than tolerance x rpo"),
    ("critical", "critical: older than critical_factor x rpo, or none yet"),
    ("stalled", "stalled: in sync, but replication does not move"),
    ("not_replicating", "not_replicating: suspended, idle or failed over"),
    ("unknown", "unknown: no half of the pair to judge"),
)
HEALTH_CLASSES = tuple(status for status, _text in HEALTH_TEXT)

# Colours (WCAG AA on white for the text ones).
CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1f24;
       margin: 0; padding: 24px 32px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.card.bad { border-color: #cf222e; background: #fff5f5; } .card.good { border-color: #1a7f37; background: #f3fbf5; }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; }
.tag { display: inline-block; padding: 0 6px; border-radius: 10px; font-weight: 600; white-space: nowrap; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 8px 0 16px; padding: 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: 6px; }
svg { display: block; max-width: 100%; height: auto; margin: 8px 0; }
svg text { font: 13px system-ui, "DejaVu Sans", sans-serif; fill: #1b1f24; }
svg .array rect { fill: #f6f8fa; stroke: #57606a; stroke-width: 1.5; }
svg .array.unread rect { fill: #fff5f5; stroke: #cf222e; stroke-dasharray: 6 4; }
svg .array text.name { font-weight: 700; } svg text.small { font-size: 11px; fill: #57606a; }
svg text.halo { paint-order: stroke; stroke: #fff; stroke-width: 5px; stroke-linejoin: round; fill: #1b1f24; }
svg line.link { stroke-width: 3; fill: none; } svg line.pair-line { stroke-width: 2.5; fill: none; }
svg .drift-drift line, svg .drift-refused line, svg line.dashed { stroke-dasharray: 9 5; }
.h-ok { --c: #1a7f37; } .h-late { --c: #9a6700; } .h-critical { --c: #cf222e; } .h-stalled { --c: #8250df; }
.h-not_replicating { --c: #57606a; } .h-unknown { --c: #8c959f; }
.d-in-sync { --d: #1a7f37; } .d-drift { --d: #bc4c00; } .d-refused { --d: #cf222e; }
.by-drift { --c: var(--d); } .absent { --c: #8c959f; }
svg .pair line, svg line.link, svg line.swatch { stroke: var(--c, #57606a); }
svg .pair.absent line { stroke-dasharray: 2 5; stroke-width: 1.5; }
svg .arrowhead { fill: var(--c, #57606a); }
svg circle.dot { fill: var(--d, #57606a); stroke: #fff; stroke-width: 1.5; }
.tag.h-ok, .tag.h-late, .tag.h-critical, .tag.h-stalled, .tag.h-not_replicating, .tag.h-unknown {
  color: #fff; background: var(--c); }
.tag.d-in-sync, .tag.d-drift, .tag.d-refused { color: #fff; background: var(--d); }
tr.breach td { background: #fff5f5; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
"""

# Drawing sizes (px).
BOX_W, BOX_H = 160, 48
PANEL_W, SIDE_W, ROW_H, PANEL_TOP = 980, 170, 44, 56
MAX_DRAWN = 300      # pairs drawn per array couple; the tables list every pair
NAME_CHARS, ARRAY_CHARS = 56, 20


class HtmlReportError(ValueError):
    """The input is not a drift report."""


def _e(value):
    return html_text(value)


def _short(value, limit):
    """The value as shown in a drawing: control characters escaped, cut to `limit` characters (the
    full value is in the element's title)."""
    text = visible(value)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _drift_class(status):
    return "d-" + DRIFT_GROUPS.get(status, "refused")


def _health_class(status):
    return "h-" + (status if status in HEALTH_CLASSES else "unknown")


def _num(value, digits=0):
    return "%.*f" % (digits, value)


def _tag(css, text):
    return '<span class="tag %s">%s</span>' % (css, _e(text))


# ---- the drawing ---------------------------------------------------------------------------------


def _arrow(x1, y1, x2, y2, css, width=2.5):
    """An SVG line with an arrowhead at (x2, y2), drawn as a polygon (no marker ids to share)."""
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    head, half = 7 + 2 * width, 3 + 1.5 * width
    bx, by = x2 - ux * head, y2 - uy * head
    points = "%s,%s %s,%s %s,%s" % (_num(x2, 1), _num(y2, 1), _num(bx - uy * half, 1), _num(by + ux * half, 1),
                                    _num(bx + uy * half, 1), _num(by - ux * half, 1))
    return ('<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/><polygon class="arrowhead" points="%s"/>'
            % (css, _num(x1, 1), _num(y1, 1), _num(bx, 1), _num(by, 1), points))


def _worst(statuses):
    ranked = [s for s in drift.rh.STATUSES if s in statuses]
    if ranked:
        return ranked[-1]
    return drift.UNKNOWN if statuses else None


def _health_of(report):
    return dict((h["pair"], h) for h in report.get("health") or [])


def _trim(dx, dy):
    """Distance from a box's centre to its border along (dx, dy) (a unit vector), plus a gap."""
    candidates = []
    if abs(dx) > 1e-9:
        candidates.append((BOX_W / 2.0) / abs(dx))
    if abs(dy) > 1e-9:
        candidates.append((BOX_H / 2.0) / abs(dy))
    return min(candidates) + 8


def _array_box(cx, cy, array, index):
    read = array.get("read", True)
    label = "%s sessions" % array.get("sessions") if read else "NOT READ"
    title = "array %s: %s" % (visible(array.get("name")), label if read else "not read: %s" % visible(array.get("error")))
    return ('<g class="array%s" data-array="%s" id="array-%d"><title>%s</title>'
            '<rect x="%s" y="%s" width="%d" height="%d" rx="8"/>'
            '<text class="name" x="%s" y="%s" text-anchor="middle">%s</text>'
            '<text class="small" x="%s" y="%s" text-anchor="middle">%s</text></g>'
            % ("" if read else " unread", _e(array.get("name")), index, _e(title), _num(cx - BOX_W / 2.0, 1),
               _num(cy - BOX_H / 2.0, 1), BOX_W, BOX_H, _num(cx, 1), _num(cy - 3, 1),
               _e(_short(array.get("name"), ARRAY_CHARS)), _num(cx, 1), _num(cy + 14, 1), _e(label)))


def overview(report):
    """The arrays as boxes (on a circle when more than two) and one arrow per replication direction
    with its pairs declared present: coloured by the worst health among them, dashed when one has
    drifted; labelled with the count."""
    arrays = report["arrays"]
    health = _health_of(report)
    count = len(arrays)
    if count <= 2:
        width, height = 760, 170
        places = [(width / 2.0, height / 2.0)] if count == 1 else [(BOX_W / 2.0 + 20, height / 2.0),
                                                                   (width - BOX_W / 2.0 - 20, height / 2.0)]
    else:
        radius = max(170.0, count * 46.0)
        circle = [(radius * math.cos(2 * math.pi * i / count - math.pi / 2),
                   radius * math.sin(2 * math.pi * i / count - math.pi / 2)) for i in range(count)]
        left, top = min(x for x, _y in circle) - BOX_W / 2.0 - 60, min(y for _x, y in circle) - BOX_H / 2.0 - 30
        places = [(x - left, y - top) for x, y in circle]
        width = int(max(x for x, _y in places) + BOX_W / 2.0 + 60)
        height = int(max(y for _x, y in places) + BOX_H / 2.0 + 30)
    where = dict((a["name"], places[i]) for i, a in enumerate(arrays))
    links = {}
    for pair in report["pairs"]:
        if pair["state"] == "present" and pair["source"] in where and pair["target"] in where:
            links.setdefault((pair["source"], pair["target"]), []).append(pair)
    out = ['<svg class="overview" role="img" aria-labelledby="overview-title" viewBox="0 0 %d %d" width="%d" '
           'height="%d"><title id="overview-title">The arrays and how many pairs replicate in each direction'
           '</title>' % (width, height, width, height)]
    for index, ((source, target), pairs) in enumerate(links.items()):
        (x1, y1), (x2, y2) = where[source], where[target]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        px, py = -uy, ux
        shift = 10 if (target, source) in links else 0
        trim = _trim(ux, uy)
        statuses = [health[p["name"]]["status"] for p in pairs if p["name"] in health]
        worst = _worst(statuses)
        drifted = [p for p in pairs if p["status"] != drift.IN_SYNC]
        counts = ", ".join("%d %s" % (statuses.count(s), s) for s in drift.HEALTH_STATUSES if s in statuses)
        label = _plural(len(pairs), "pair") + (": " + counts if counts else "")
        title = "%s -> %s: %s; %d not in sync" % (visible(source), visible(target), label, len(drifted))
        css = "%s %s" % (_health_class(worst) if worst else "by-drift", "d-drift" if drifted else "d-in-sync")
        out.append('<g class="link %s" id="link-%d"><title>%s</title>' % (css, index, _e(title)))
        out.append(_arrow(x1 + ux * trim + px * shift, y1 + uy * trim + py * shift,
                          x2 - ux * trim + px * shift, y2 - uy * trim + py * shift,
                          "link" + (" dashed" if drifted else ""), width=3))
        # The label beside the middle of its arrow, on the arrow's own side, extending away from it.
        mx, my = (x1 + x2) / 2.0 + px * (shift + 10), (y1 + y2) / 2.0 + py * (shift + 10)
        anchor = "start" if px > 0.3 else "end" if px < -0.3 else "middle"
        out.append('<text class="small halo" x="%s" y="%s" text-anchor="%s">%s</text></g>'
                   % (_num(mx, 1), _num(my + 4 + (py * 8 if anchor == "middle" else 0), 1), anchor, _e(label)))
    for index, array in enumerate(arrays):
        out.append(_array_box(where[array["name"]][0], where[array["name"]][1], array, index))
    out.append("</svg>")
    return "".join(out)


def _couples(report):
    """[(left array, right array, [pairs])] in the order the pairs are declared; left is the array
    listed first."""
    order = dict((a["name"], i) for i, a in enumerate(report["arrays"]))
    couples = {}
    for pair in report["pairs"]:
        ends = sorted((pair["source"], pair["target"]), key=lambda n: (order.get(n, len(order)), str(n)))
        couples.setdefault(tuple(ends), []).append(pair)
    return [(left, right, pairs) for (left, right), pairs in couples.items()]


def _pair_row(pair, entry, left, y, index):
    """One pair of a panel: its arrow from the source side to the target side."""
    forward = pair["source"] == left
    x_left, x_right = SIDE_W + 14, PANEL_W - SIDE_W - 14
    x1, x2 = (x_left, x_right) if forward else (x_right, x_left)
    absent = pair["state"] != "present"
    status = entry["status"] if entry else None
    classes = ["pair", _drift_class(pair["status"]).replace("d-", "drift-"), _drift_class(pair["status"])]
    if absent:
        classes.append("absent")
    elif status is not None:
        classes.append(_health_class(status))
    else:
        classes.append("by-drift")
    words = [pair["status"]]
    if absent:
        words.append("declared absent")
    elif entry is not None:
        words.append(entry["status"])
        if entry.get("age") is not None:
            words.append("age %s of rpo %s" % (drift.duration(entry["age"]), drift.duration(entry["rpo"])))
        if entry.get("breach"):
            words.append("RPO BREACH")
    title = "%s: %s -> %s; %s%s%s" % (
        visible(pair["name"]), visible(pair["source"]), visible(pair["target"]), visible(pair["status"]),
        "" if pair["status"] == drift.IN_SYNC else ": " + visible(pair.get("summary")),
        "; health " + visible(entry["reason"]) if entry else "")
    group = '<g class="%s" data-pair="%s" id="pair-%d"><title>%s</title>' % (
        " ".join(classes), _e(pair["name"]), index, _e(title))
    return ''.join((
        group,
        _arrow(x1, y, x2, y, "pair-line"),
        '<circle class="dot" cx="%s" cy="%s" r="6"/>' % (_num(x1, 1), _num(y, 1)),
        '<text class="pair-name" x="%d" y="%s" text-anchor="middle">%s</text>' % (
            PANEL_W // 2, _num(y - 8, 1), _e(_short(pair["name"], NAME_CHARS))),
        '<text class="small" x="%d" y="%s" text-anchor="middle">%s</text></g>' % (
            PANEL_W // 2, _num(y + 17, 1), _e(" \u00b7 ".join(visible(w) for w in words))),
    ))


def panels(report):
    """Per couple of arrays, the two arrays as columns and every pair between them as an arrow
    (at most MAX_DRAWN per couple: the rest are counted, and in the tables)."""
    arrays = dict((a["name"], a) for a in report["arrays"])
    health = _health_of(report)
    out = []
    index = 0
    for number, (left, right, pairs) in enumerate(_couples(report)):
        drawn = pairs[:MAX_DRAWN]
        more = len(pairs) - len(drawn)
        height = PANEL_TOP + ROW_H * len(drawn) + (ROW_H if more else 0) + 12
        out.append('<svg class="panel" role="img" aria-labelledby="panel-title-%d" viewBox="0 0 %d %d" width="%d" '
                   'height="%d"><title id="panel-title-%d">The pairs between %s and %s</title>'
                   % (number, PANEL_W, height, PANEL_W, height, number, _e(left), _e(right)))
        for name, x in ((left, 8), (right, PANEL_W - SIDE_W - 8)):
            array = arrays.get(name, {"name": name, "read": True, "sessions": "?"})
            read = array.get("read", True)
            out.append('<g class="array%s" data-array="%s"><title>array %s%s</title><rect x="%d" y="8" width="%d" '
                       'height="%d" rx="8"/><text class="name" x="%d" y="30" text-anchor="middle">%s</text>'
                       '<text class="small" x="%d" y="46" text-anchor="middle">%s</text></g>'
                       % ("" if read else " unread", _e(name), _e(name),
                          "" if read else _e(": not read: %s" % visible(array.get("error"))), x, SIDE_W,
                          height - 16, x + SIDE_W // 2, _e(_short(name, ARRAY_CHARS)), x + SIDE_W // 2,
                          "%s sessions" % _e(array.get("sessions")) if read else "NOT READ"))
        for row, pair in enumerate(drawn):
            out.append(_pair_row(pair, health.get(pair["name"]), left, PANEL_TOP + ROW_H * row + ROW_H // 2, index))
            index += 1
        if more:
            out.append('<text class="small more" x="%d" y="%d" text-anchor="middle">and %d more pairs between these '
                       'arrays: see the tables below</text>' % (PANEL_W // 2, PANEL_TOP + ROW_H * len(drawn) + 20, more))
        out.append("</svg>")
    return "".join(out)


def legend(report):
    items = []
    if report.get("health") is not None:
        for status, text in HEALTH_TEXT:
            items.append('<li><svg width="44" height="14" aria-hidden="true"><g class="%s">%s</g></svg>%s</li>'
                         % (_health_class(status), _arrow(2, 7, 42, 7, "swatch"), _e(text)))
    for group, text in DRIFT_GROUP_TEXT:
        items.append('<li><svg width="16" height="16" aria-hidden="true"><g class="d-%s"><circle class="dot" cx="8" '
                     'cy="8" r="6"/></g></svg>%s</li>' % (group, _e("tail dot: " + text)))
    items.append("<li>%s</li>" % _e("solid line: in sync; dashed: not in sync; dotted grey: declared absent"))
    items.append("<li>%s</li>" % _e("red dashed box: an array that was NOT READ"))
    return '<ul class="legend">%s</ul>' % "".join(items)


# ---- the page ------------------------------------------------------------------------------------


def _table(headers, rows, row_classes=None):
    out = ["<table><thead><tr>%s</tr></thead><tbody>" % "".join("<th>%s</th>" % _e(h) for h in headers)]
    for index, row in enumerate(rows):
        css = (row_classes or [None] * len(rows))[index]
        out.append("<tr%s>%s</tr>" % (' class="%s"' % css if css else "", "".join(row)))
    out.append("</tbody></table>")
    return "".join(out)


def _td(value, css=None):
    return '<td%s>%s</td>' % (' class="%s"' % css if css else "", _e(value))


def _plural(count, noun, suffix="s"):
    return "%d %s%s" % (count, noun, "" if count == 1 else suffix)


def _cards(report):
    summary = report["summary"]
    cards = [('bad' if summary["drift"] else 'good', "Drift found" if summary["drift"] else "No drift",
              "%s, %d in sync" % (_plural(summary["total"], "pair"), summary[drift.IN_SYNC]))]
    counts = summary.get("health")
    if counts is not None:
        found = ", ".join("%d %s" % (counts[s], s) for s in drift.HEALTH_STATUSES if counts.get(s))
        cards.append(("bad" if summary["rpo_breach"] else "good", _plural(summary["rpo_breach"], "RPO breach", "es"),
                      found or "no pair"))
    cards.append(("bad" if summary["unread"] else "good", _plural(summary["unread"], "array") + " not read",
                  _plural(len(report["arrays"]), "array")))
    cards.append(("bad" if summary["undeclared"] and summary["undeclared_is_drift"] else "",
                  _plural(summary["undeclared"], "undeclared session"),
                  "count as drift" if summary["undeclared_is_drift"] else "do not count as drift"))
    return '<div class="cards">%s</div>' % "".join(
        '<div class="card %s"><b>%s</b>%s</div>' % (css, _e(big), _e(small)) for css, big, small in cards)


def _health_table(report):
    rows, classes = [], []
    for h in report["health"]:
        rows.append([
            _td(h["pair"]), _td("%s -> %s" % (visible(h["source"]), visible(h["target"]))),
            '<td>%s</td>' % _tag(_health_class(h["status"]), h["status"]),
            _td(drift.duration(h["age"]) if h["age"] is not None else "", "num"),
            _td(drift.duration(h["rpo"]) if h["rpo"] is not None else "", "num"),
            _td("%.2f" % h["ratio"] if isinstance(h["ratio"], (int, float)) else "", "num"),
            _td("yes" if h["breach"] else "no"), _td(drift.judged_on(h)),
            _td(" ".join([visible(h["reason"])] + ["(%s)" % visible(n) for n in h.get("notes") or []])),
        ])
        classes.append("breach" if h["breach"] else None)
    return _table(["pair", "source -> target", "status", "age", "rpo", "age / rpo", "breach", "judged on", "reason"],
                  rows, classes)


def _pairs_table(report):
    with_health = report.get("health") is not None
    rows = []
    for p in report["pairs"]:
        row = [_td(p["name"]), _td("%s -> %s" % (visible(p["source"]), visible(p["target"]))),
               '<td>%s</td>' % _tag(_drift_class(p["status"]), p["status"])]
        if with_health:
            row.append('<td>%s</td>' % _tag(_health_class(p["health"]), p["health"]) if p.get("health") else _td(""))
        row.append(_td("" if p["status"] == drift.IN_SYNC else p.get("summary")))
        rows.append(row)
    headers = ["pair", "source -> target", "status"] + (["health"] if with_health else []) + ["finding"]
    return _table(headers, rows)


def render(report):
    """The report as an HTML document (a str)."""
    if not isinstance(report, dict) or not all(k in report for k in ("summary", "pairs", "arrays")):
        raise HtmlReportError("expected the result of kaminario.k2.drift_report")
    when = report.get("generated_at")
    arrays = ", ".join("%s (%s)" % (visible(a["name"]), "%s sessions" % a.get("sessions") if a.get("read", True)
                                    else "NOT READ") for a in report["arrays"])
    heading = "Replication report: drift and recovery points" if report.get("health") is not None \
        else "Replication drift report"
    meta = "%sArrays: %s.%s" % ("Generated %s. " % visible(when) if when else "", arrays,
                                " Check mode." if report.get("check_mode") else "")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title>" % _e("Replication report" + (" %s" % visible(when) if when else "")),
           "<style>%s</style></head><body>" % CSS,
           '<header><h1>%s</h1><p class="meta">%s</p></header>' % (heading, _e(meta)),
           _cards(report),
           '<section id="topology"><h2>Topology</h2>', legend(report), overview(report), panels(report), "</section>"]
    if report.get("health") is not None:
        out.extend(['<section id="recovery-points"><h2>Recovery points, worst first</h2>', _health_table(report),
                    "</section>"])
    out.extend(['<section id="pairs"><h2>Pairs</h2>', _pairs_table(report), "</section>"])
    if report.get("undeclared"):
        out.extend(['<section id="undeclared"><h2>Undeclared sessions</h2>', _table(
            ["array", "session", "role", "state", "rpo", "volume group", "peer array", "peer session"],
            [[_td(u.get(k)) for k in ("array", "name", "current_role", "state", "rpo", "volume_group", "peer_array",
                                      "peer_session")] for u in report["undeclared"]]), "</section>"])
    unread = [a for a in report["arrays"] if not a.get("read", True)]
    if unread:
        out.extend(['<section id="unread"><h2>Arrays not read</h2>',
                    _table(["array", "why"], [[_td(a["name"]), _td(a.get("error"))] for a in unread]), "</section>"])
    out.append("<footer>%s</footer></body></html>\n" % _e(
        "Made by the filter kaminario.k2.drift_report_html: one file, no script, nothing loaded from anywhere."))
    return "\n".join(out)
