# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report's details, as a reader sees them: the summary cards (class and words per
count), the page's heading line (arrays, check mode), the words under each drawn pair (health, age
of rpo, declared absent), the legend, every table's columns and cells, where names are shortened in
the drawing, how many pairs a panel draws (exactly MAX_DRAWN = 300), arrays a report has no entry
for, and the overview's arrows: from the source box to the target box, outside both, side by side
when a couple replicates both ways, each label beside its own arrow."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from ansible_collections.kaminario.k2.plugins.filter.drift_report import drift_report
from ansible_collections.kaminario.k2.plugins.plugin_utils import html_report
from ansible_collections.kaminario.k2.tests.unit.plugins.plugin_utils.drift_reads import (
    converged,
    health,
    read,
    source,
    target,
)
from ansible_collections.kaminario.k2.tests.unit.plugins.plugin_utils.test_html_report import build

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base", "embed", "param", "track"}


class Node:
    """An element of the parsed page: tag, attributes, children (Nodes and str)."""

    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children = tag, dict(attrs), []

    @property
    def classes(self):
        return self.attrs.get("class", "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def own_text(self):
        return "".join(c for c in self.children if isinstance(c, str))

    def all(self, tag=None, css=None, **attrs):
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (css is None or css in child.classes) and \
                        all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.all(tag, css, **attrs))
        return found

    def one(self, tag=None, css=None, **attrs):
        [found] = self.all(tag, css, **attrs)
        return found


class Tree(HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, attrs))

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, (tag, self.stack[-1].tag)
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def page(report):
    return Tree(html_report.render(report)).root


def small_report(pairs, sessions, names=None, **options):
    """A report over k2-a and k2-b: `pairs` declared k2-a -> k2-b; each name in `sessions` has its
    source half on k2-a (health: `sessions[name]` seconds old, None: none yet) and its target half
    on k2-b; the check-mode converge found `names` (default: every session) as declared."""
    topology = {"defaults": {"rpo": 300}, "pairs": [
        dict({"source": "k2-a", "target": "k2-b", "volume_group": "vg"}, **p) for p in pairs]}
    reads = {"k2-a": read([source(n, peer="k2-b", health_of=health(age)) for n, age in sessions.items()],
                          converged(*(list(sessions) if names is None else names))),
             "k2-b": read([target("remote_" + n) for n in sessions])}
    options.setdefault("health", True)
    return drift_report(topology, reads, ["k2-a", "k2-b"], **options)


def cards(root):
    return [(card.classes[1:], card.one("b").text(), card.own_text()) for card in root.one("div", "cards").all("div", "card")]


def table(root, section):
    """(headers, rows of cell texts) of the table in the section with that id."""
    found = root.one("section", id=section).one("table")
    return [th.text() for th in found.all("th")], [[td.text() for td in tr.all("td")] for tr in found.one("tbody").all("tr")]


def pair_words(root):
    """Per drawn pair: the words under its arrow."""
    return dict((g.attrs["data-pair"], g.one("text", "small").text()) for g in root.all("g", "pair"))


# ---- the cards and the heading line --------------------------------------------------------------


def test_the_cards_of_a_report_with_drift_a_breach_an_unread_array_and_undeclared_sessions_that_count():
    assert cards(page(build())) == [
        (["bad"], "Drift found", "5 pairs, 4 in sync"),
        (["bad"], "1 RPO breach", "2 ok, 1 late, 1 not_replicating"),
        (["bad"], "1 array not read", "3 arrays"),
        (["bad"], "1 undeclared session", "count as drift")]


def test_the_cards_of_a_clean_report_and_undeclared_sessions_that_do_not_count():
    report = small_report([{"name": "a1"}, {"name": "a2"}], {"a1": 10, "a2": 20, "stray": 5}, undeclared_is_drift=False)
    assert cards(page(report)) == [
        (["good"], "No drift", "2 pairs, 2 in sync"),
        (["good"], "0 RPO breaches", "2 ok"),
        (["good"], "0 arrays not read", "2 arrays"),
        ([], "2 undeclared sessions", "do not count as drift")]


def test_the_health_card_of_a_report_without_pairs_says_no_pair():
    report = small_report([], {})
    assert cards(page(report))[1] == (["good"], "0 RPO breaches", "no pair")


def test_the_heading_line_names_the_arrays_and_check_mode():
    root = page(build())
    assert root.one("p", "meta").text() == \
        "Generated 2026-12-05T03:00:00Z. Arrays: k2-a (4 sessions), k2-b (4 sessions), k2-c (NOT READ)."
    assert root.one("head").one("title").text() == "Replication report 2026-12-05T03:00:00Z"
    assert root.one("meta", name="viewport").attrs["content"] == "width=device-width, initial-scale=1"
    checked = page(small_report([{"name": "a1"}], {"a1": 10}, check_mode=True))
    assert checked.one("p", "meta").text() == "Arrays: k2-a (1 sessions), k2-b (1 sessions). Check mode."
    assert checked.one("head").one("title").text() == "Replication report"


# ---- the drawn pairs -----------------------------------------------------------------------------


def test_the_words_under_each_pair_give_its_health_and_the_age_of_its_recovery_point():
    assert pair_words(page(build())) == {
        "oracle": "in_sync \u00b7 ok \u00b7 age 30 s of rpo 5 min",
        "sql": "in_sync \u00b7 late \u00b7 age 6 min 40 s of rpo 5 min \u00b7 RPO BREACH",
        "reports": "in_sync \u00b7 not_replicating \u00b7 age 20 s of rpo 5 min",
        "old": "in_sync \u00b7 declared absent",
        "web": "blocked \u00b7 ok \u00b7 age 50 s of rpo 5 min"}
    # No recovery point yet: no age to give.
    assert pair_words(page(small_report([{"name": "a1"}], {"a1": None}))) == {"a1": "in_sync \u00b7 critical \u00b7 RPO BREACH"}


def test_a_pair_s_title_gives_the_finding_only_when_it_is_not_in_sync_and_drift_takes_the_drift_colour():
    report = small_report([{"name": "a1"}, {"name": "gone", "state": "absent"}], {"a1": 10, "gone": 10}, names=["a1"])
    root = page(report)
    titles = dict((g.attrs["data-pair"], g.one("title").text()) for g in root.all("g", "pair"))
    status = dict((p["name"], p) for p in report["pairs"])
    assert status["gone"]["status"] == "drifted"
    assert titles["gone"].startswith("gone: k2-a -> k2-b; drifted: %s" % status["gone"]["summary"])
    assert titles["a1"].startswith("a1: k2-a -> k2-b; in_sync; health ")
    assert "as declared" not in titles["a1"]
    classes = dict((g.attrs["data-pair"], g.classes) for g in root.all("g", "pair"))
    assert classes["gone"][:3] == ["pair", "drift-drift", "d-drift"]


def test_a_name_of_exactly_the_limit_is_drawn_whole_and_a_longer_one_is_cut_to_the_limit():
    limit, array_limit = html_report.NAME_CHARS, html_report.ARRAY_CHARS
    whole, cut = "w" * limit, "c" * (limit + 1)
    report = small_report([{"name": whole}, {"name": cut}], {whole: 10, cut: 10})
    drawn = dict((g.attrs["data-pair"], g.one("text", "pair-name").text()) for g in page(report).all("g", "pair"))
    assert drawn == {whole: whole, cut: "c" * (limit - 1) + "\u2026"}
    assert len(drawn[cut]) == limit
    for name, shown in (("a" * array_limit, "a" * array_limit), ("b" * (array_limit + 1), "b" * (array_limit - 1) + "\u2026")):
        report = drift_report({"pairs": [{"name": "p", "source": name, "target": "k2-z", "volume_group": "vg"}]}, {},
                              [name, "k2-z"])
        root = page(report)
        names = [t.text() for t in root.all("text", "name")]
        assert names == [shown, "k2-z", shown, "k2-z"]


@pytest.mark.parametrize("count, more", [(300, 0), (301, 1)])
def test_a_panel_draws_exactly_300_pairs(count, more):
    names = ["p%03d" % i for i in range(count)]
    report = small_report([{"name": n} for n in names], dict((n, 10) for n in names))
    root = page(report)
    assert [g.attrs["data-pair"] for g in root.all("g", "pair")] == names[:300]
    notes = [t.text() for t in root.all("text", "more")]
    assert notes == (["and %d more pairs between these arrays: see the tables below" % more] if more else [])
    assert [row[0] for row in table(root, "pairs")[1]] == names


def test_a_panel_shows_an_array_the_report_has_no_entry_for_as_read_with_unknown_sessions():
    report = small_report([{"name": "a1"}], {"a1": 10})
    report["arrays"] = [a for a in report["arrays"] if a["name"] != "k2-b"]
    panel = page(report).one("svg", "panel")
    boxes = dict((g.attrs["data-array"], (g.classes, g.one("text", "small").text())) for g in panel.all("g", "array"))
    assert boxes == {"k2-a": (["array"], "1 sessions"), "k2-b": (["array"], "? sessions")}


def test_a_panel_marks_the_array_not_read():
    boxes = [(g.attrs["data-array"], g.classes, g.one("text", "small").text())
             for svg in page(build()).all("svg", "panel") for g in svg.all("g", "array")]
    assert boxes == [("k2-a", ["array"], "4 sessions"), ("k2-b", ["array"], "4 sessions"),
                     ("k2-b", ["array"], "4 sessions"), ("k2-c", ["array", "unread"], "NOT READ")]


# ---- the legend and the tables -------------------------------------------------------------------


def test_the_legend_explains_every_health_status_only_when_there_is_health():
    items = page(build()).one("ul", "legend").all("li")
    swatches = [(li.one("g").classes, li.own_text()) for li in items if li.all("line")]
    assert swatches == [(["h-" + status], text) for status, text in html_report.HEALTH_TEXT]
    assert [status for status, _text in html_report.HEALTH_TEXT] == [
        "ok", "late", "critical", "stalled", "not_replicating", "unknown"]
    assert "critical: older than critical_factor x rpo, or none yet" in [li.own_text() for li in items]
    without = page(build(health_on=False)).one("ul", "legend").all("li")
    assert not [li for li in without if li.all("line")]
    assert [li.own_text() for li in without][:3] == ["tail dot: " + text for _group, text in html_report.DRIFT_GROUP_TEXT]


def test_the_tables_have_every_column():
    root = page(build())
    headers, rows = table(root, "pairs")
    assert headers == ["pair", "source -> target", "status", "health", "finding"]
    assert rows[0] == ["oracle", "k2-a -> k2-b", "in_sync", "ok", ""]
    assert rows[3][:4] == ["web", "k2-c -> k2-b", "blocked", "ok"] and rows[3][4].startswith("array k2-c not read: ")
    assert rows[4] == ["old", "k2-a -> k2-b", "in_sync", "", ""]
    assert root.one("section", id="pairs").one("tbody").all("tr")[3].all("span", "d-refused")
    headers, rows = table(root, "undeclared")
    assert headers == ["array", "session", "role", "state", "rpo", "volume group", "peer array", "peer session"]
    assert rows == [["k2-a", "stray", "source", "in_sync", "300", "vg", "k2-b", "remote_stray"]]
    assert table(root, "unread") == (["array", "why"], [["k2-c", "connection refused <b>twice</b>"]])
    headers, rows = table(page(build(health_on=False)), "pairs")
    assert headers == ["pair", "source -> target", "status", "finding"] and rows[0] == ["oracle", "k2-a -> k2-b", "in_sync", ""]


def test_an_array_entry_without_read_counts_as_read():
    report = small_report([{"name": "a1"}], {"a1": 10})
    for array in report["arrays"]:
        del array["read"]
    root = page(report)
    assert root.one("p", "meta").text() == "Arrays: k2-a (1 sessions), k2-b (1 sessions)."
    assert not root.all("section", id="unread")


def test_a_report_missing_summary_pairs_or_arrays_is_refused():
    for bad in ({"pairs": [], "arrays": []}, {"summary": {}, "arrays": []}, {"summary": {}, "pairs": []}):
        with pytest.raises(html_report.HtmlReportError, match="expected the result"):
            html_report.render(bad)


def test_a_number_is_formatted_without_decimals_unless_asked():
    assert html_report._num(12.34) == "12" and html_report._num(12.34, 1) == "12.3"


# ---- the overview's arrows -----------------------------------------------------------------------


def three_ways():
    """Three arrays; k2-a and k2-b replicate both ways, k2-b -> k2-c and k2-c -> k2-a one way."""
    pairs = [("ab", "k2-a", "k2-b"), ("ba", "k2-b", "k2-a"), ("bc", "k2-b", "k2-c"), ("ca", "k2-c", "k2-a"),
             ("ab2", "k2-a", "k2-b")]
    return drift_report({"pairs": [{"name": n, "source": s, "target": t, "volume_group": "vg"} for n, s, t in pairs]}, {},
                        ["k2-a", "k2-b", "k2-c"])


def two_ways():
    return drift_report({"pairs": [{"name": "ab", "source": "k2-a", "target": "k2-b", "volume_group": "vg"},
                                   {"name": "ba", "source": "k2-b", "target": "k2-a", "volume_group": "vg"}]}, {},
                        ["k2-a", "k2-b"])


def one_way():
    return drift_report({"pairs": [{"name": "ab", "source": "k2-a", "target": "k2-b", "volume_group": "vg"}]}, {},
                        ["k2-a", "k2-b"])


def inside(box, x, y):
    left, top, width, height = box
    return left <= x <= left + width and top <= y <= top + height


@pytest.mark.parametrize("build_report, offsets", [(one_way, [0]), (two_ways, [10, 10]), (three_ways, [10, 10, 0, 0])])
def test_each_overview_arrow_runs_from_its_source_box_to_its_target_box(build_report, offsets):
    """Each arrow lies along the line between the two boxes' centres (beside it, 10 px to its own
    left, when the couple replicates both ways), points at the target, starts and ends outside
    both boxes; its label is beside it, on its own side, extending away from it."""
    svg = Tree(html_report.overview(build_report())).root
    boxes = {}
    for g in svg.all("g", "array"):
        rect = g.one("rect")
        boxes[g.attrs["data-array"]] = tuple(float(rect.attrs[k]) for k in ("x", "y", "width", "height"))
    found = []
    for link in svg.all("g", "link"):
        ends = link.one("title").text().split(":")[0]
        start, end = ends.split(" -> ")
        line = link.one("line")
        x1, y1 = float(line.attrs["x1"]), float(line.attrs["y1"])
        tip_x, tip_y = (float(v) for v in link.one("polygon").attrs["points"].split()[0].split(","))
        (sx, sy), (tx, ty) = ((bx + w / 2, by + h / 2) for bx, by, w, h in (boxes[start], boxes[end]))
        length = math.hypot(tx - sx, ty - sy)
        ux, uy = (tx - sx) / length, (ty - sy) / length
        px, py = -uy, ux
        # Along the centre line, pointing at the target.
        assert (tip_x - x1) * ux + (tip_y - y1) * uy > 20
        assert abs((tip_x - x1) * uy - (tip_y - y1) * ux) < 0.5
        # The line ends at the middle of the head's base; the head is symmetric about the line.
        end_x, end_y = float(line.attrs["x2"]), float(line.attrs["y2"])
        assert 0 < (end_x - x1) * ux + (end_y - y1) * uy < (tip_x - x1) * ux + (tip_y - y1) * uy
        assert abs((end_x - x1) * uy - (end_y - y1) * ux) < 0.5
        (left_x, left_y), (right_x, right_y) = (
            (float(v) for v in point.split(",")) for point in link.one("polygon").attrs["points"].split()[1:])
        assert abs((left_x + right_x) / 2 - end_x) < 0.2 and abs((left_y + right_y) / 2 - end_y) < 0.2
        assert math.hypot(left_x - right_x, left_y - right_y) > 10
        offset = (x1 - sx) * px + (y1 - sy) * py
        found.append(round(offset))
        assert abs(((tip_x - sx) * px + (tip_y - sy) * py) - offset) < 0.5
        for box in boxes.values():
            assert not inside(box, x1, y1) and not inside(box, tip_x, tip_y)
        # The label: beside the middle of its arrow, on the arrow's side, beyond it.
        label = link.one("text")
        lx, ly, anchor = float(label.attrs["x"]), float(label.attrs["y"]), label.attrs["text-anchor"]
        mx, my = (sx + tx) / 2, (sy + ty) / 2
        assert (lx - mx) * px + (ly - my) * py >= offset + 5
        if anchor == "start":
            assert lx > mx + 5
        elif anchor == "end":
            assert lx < mx - 5
        else:
            assert abs(uy) <= 0.3 and abs(lx - mx) < 0.5
    assert found == offsets


def test_each_panel_draws_inside_its_drawing_with_each_arrow_from_its_source_column_to_its_target_column():
    report = build()
    pairs = dict((p["name"], p) for p in report["pairs"])
    for svg in page(report).all("svg", "panel"):
        width, height = (float(v) for v in svg.attrs["viewbox"].split()[2:])
        columns = {}
        for g in svg.all("g", "array"):
            rect = g.one("rect")
            x, y, w, h = (float(rect.attrs[k]) for k in ("x", "y", "width", "height"))
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
            for text in g.all("text"):
                assert x <= float(text.attrs["x"]) <= x + w and y <= float(text.attrs["y"]) <= y + h
            columns[g.attrs["data-array"]] = (x, x + w)
        for g in svg.all("g", "pair"):
            pair = pairs[g.attrs["data-pair"]]
            line = g.one("line")
            x1, x2 = float(line.attrs["x1"]), float(line.attrs["x2"])
            tip = float(g.one("polygon").attrs["points"].split()[0].split(",")[0])
            (source_left, source_right), (target_left, target_right) = columns[pair["source"]], columns[pair["target"]]
            assert abs(float(g.one("circle").attrs["cx"]) - x1) < 0.5
            if source_left < target_left:
                assert source_right < x1 < x2 < tip < target_left
            else:
                assert target_right < tip < x2 < x1 < source_left
            for text in g.all("text"):
                assert abs(float(text.attrs["x"]) - width / 2) < 0.5 and 0 <= float(text.attrs["y"]) <= height
