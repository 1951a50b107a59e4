# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report (filter drift_report_html): one well-formed, self-contained page (no script, no
URL, nothing to load), every array and pair drawn and tabled, colours from fixed classes, every value
from an array or the declaration escaped in text and attributes, SVG included."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.drift_report import drift_report, drift_report_html
from ansible_collections.kaminario.k2.plugins.plugin_utils import html_report
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import visible
from ansible_collections.kaminario.k2.tests.unit.plugins.plugin_utils.drift_reads import (
    converged,
    health,
    read,
    source,
    target,
    unread,
)

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base", "embed", "param", "track"}
SVG_LEAVES = {"rect", "line", "polygon", "circle", "path"}
ALLOWED = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "div", "b", "section", "ul",
           "li", "span", "table", "thead", "tbody", "tr", "th", "td", "footer", "svg", "g", "text"} | SVG_LEAVES
ALLOWED_ATTRIBUTES = {"charset", "http-equiv", "content", "name", "lang", "class", "id", "role", "aria-labelledby",
                      "aria-hidden", "viewbox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r",
                      "rx", "points", "text-anchor", "data-array", "data-pair"}


class Page(HTMLParser):
    """The document parsed: tags in order (checked to nest), attributes, text; errors kept."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.errors, self.texts = [], [], [], []
        self.attributes = []
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append("unclosed: %s" % self.stack)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] not in ("style",):
            self.texts.append(data)

    def values(self, name):
        return [attrs[name] for _tag, attrs in self.attributes if name in attrs]


def build(names=("oracle", "sql", "reports", "web"), arrays=("k2-a", "k2-b", "k2-c"), health_on=True):
    """A report over three arrays: pair 0 and 1 k2-a -> k2-b (ok, late), pair 2 k2-b -> k2-a declared
    suspended (not replicating), pair 3 k2-c -> k2-b with k2-c not read (judged on its target half),
    one pair declared absent, one undeclared session."""
    first, second, third, fourth = names
    a, b, c = arrays
    topology = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
        {"name": first, "source": a, "target": b, "volume_group": "vg1"},
        {"name": second, "source": a, "target": b, "volume_group": "vg2"},
        {"name": third, "source": b, "target": a, "volume_group": "vg3", "replication_state": "suspended"},
        {"name": fourth, "source": c, "target": b, "volume_group": "vg4"},
        {"name": "old", "source": a, "target": b, "state": "absent"}]}
    suspended = dict(state="suspended", suspend_reason_code="user_request")
    reads = {
        a: read([source(first, peer=b, health_of=health(30)), source(second, peer=b, health_of=health(400)),
                 target("remote_" + third, health_of=health(20, **suspended), **suspended),
                 source("stray", peer=b, health_of=health(10))], converged(first, second)),
        b: read([target("remote_" + first), target("remote_" + second),
                 source(third, peer=a, health_of=health(20, **suspended), **suspended),
                 target("remote_" + fourth, health_of=health(50))], converged(third)),
        c: unread("connection refused <b>twice</b>"),
    }
    return drift_report(topology, reads, list(arrays), generated_at="2026-12-05T03:00:00Z", health=health_on)


def test_a_well_formed_page_with_every_array_and_pair_drawn_and_tabled():
    report = build()
    text = drift_report_html(report)
    page = Page(text)
    assert page.errors == []
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert set(page.tags) <= ALLOWED, set(page.tags) - ALLOWED
    assert {a for _tag, attrs in page.attributes for a in attrs} <= ALLOWED_ATTRIBUTES
    # Every array: in the overview once, and once per couple of arrays it has pairs with.
    assert sorted(page.values("data-array")) == sorted(["k2-a", "k2-b", "k2-c", "k2-a", "k2-b", "k2-c", "k2-b"])
    # Every pair drawn once (declared absent too), in declared order per couple of arrays.
    assert page.values("data-pair") == ["oracle", "sql", "reports", "old", "web"]
    classes = dict((attrs["data-pair"], attrs["class"].split()) for _tag, attrs in page.attributes
                   if "data-pair" in attrs)
    assert classes == {
        "oracle": ["pair", "drift-in-sync", "d-in-sync", "h-ok"], "sql": ["pair", "drift-in-sync", "d-in-sync", "h-late"],
        "reports": ["pair", "drift-in-sync", "d-in-sync", "h-not_replicating"],
        "old": ["pair", "drift-in-sync", "d-in-sync", "absent"], "web": ["pair", "drift-refused", "d-refused", "h-ok"]}
    # One arrow per direction in the overview, coloured by its worst pair, dashed when one drifted.
    links = [attrs["class"].split() for _tag, attrs in page.attributes if attrs.get("id", "").startswith("link-")]
    assert links == [["link", "h-late", "d-in-sync"], ["link", "h-not_replicating", "d-in-sync"],
                     ["link", "h-ok", "d-drift"]]
    assert ["2 pairs: 1 ok, 1 late", "1 pair: 1 not_replicating", "1 pair: 1 ok"] == [
        t for t in page.texts if re.match(r"\d+ pairs?: ", t)]
    # The tables: recovery points worst first, then the pairs, the undeclared sessions, the arrays not read.
    assert [t for t in page.texts if t in ("Recovery points, worst first", "Pairs", "Undeclared sessions",
                                           "Arrays not read")] == ["Recovery points, worst first", "Pairs",
                                                                   "Undeclared sessions", "Arrays not read"]
    rows = re.findall(r'<tr( class="breach")?><td>([^<]*)</td>', text)
    assert rows[:4] == [("", "reports"), (' class="breach"', "sql"), ("", "web"), ("", "oracle")]
    assert "judged on" in page.texts and "target half remote_web on k2-b" in page.texts
    assert "6 min 40 s" in page.texts and "1.33" in page.texts
    assert "connection refused <b>twice</b>" in page.texts and "<b>twice" not in text
    assert "1 RPO breach" in page.texts and "Drift found" in page.texts and "1 array not read" in page.texts


def test_nothing_is_loaded_from_anywhere():
    text = drift_report_html(build())
    for found in ("http:", "https:", "//", "src=", "href=", "url(", "@import", "<script", "<link", "<img",
                  "<iframe", "<object", "<embed", "xmlns", "@font-face"):
        assert found not in text, found
    page = Page(text)
    [policy] = [attrs["content"] for tag, attrs in page.attributes if attrs.get("http-equiv") ==
                "Content-Security-Policy"]
    assert policy == "default-src 'none'; style-src 'unsafe-inline'"
    assert not [a for _tag, attrs in page.attributes for a in attrs if a.startswith("on")]


HOSTILE = ['"><script>alert(1)</script>', "</text><script>x()</script>", "a' onload='x()", "x\n</svg><img src=x>",
           "&lt;b&gt;", "a\u2028b\x00c", "{{ lookup('pipe', 'id') }}", "<!--", "]]>", "x" * 200]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_text_everywhere(name):
    """A pair, an array (an inventory host) and an error message named `name`: wherever they are
    shown (SVG text and titles, data attributes, table cells), the parsed page holds exactly the
    value as text (control characters shown as escapes) and no element or attribute it would add."""
    report = build(names=(name, "sql", "reports", "web"), arrays=("k2-a", name + "-array", "k2-c"))
    report["arrays"][2]["error"] = name
    text = drift_report_html(report)
    page = Page(text)
    assert page.errors == []
    assert set(page.tags) <= ALLOWED and "script" not in page.tags and "img" not in page.tags
    assert {a for _tag, attrs in page.attributes for a in attrs} <= ALLOWED_ATTRIBUTES
    shown = visible(name)
    assert shown in page.values("data-pair") and visible(name + "-array") in page.values("data-array")
    assert shown in page.texts  # the table cells
    assert any(t.startswith("array k2-c: not read: " + shown) for t in page.texts)
    assert all("\n" not in v and "\x00" not in v and "\u2028" not in v for v in page.texts if v.strip())


def test_without_health_the_arrows_take_the_drift_colour_and_there_is_no_health_table():
    report = build(health_on=False)
    text = drift_report_html(report)
    page = Page(text)
    assert page.errors == [] and "recovery-points" not in page.values("id")
    classes = [attrs["class"].split() for _tag, attrs in page.attributes if "data-pair" in attrs]
    assert [c[-1] for c in classes] == ["by-drift", "by-drift", "by-drift", "absent", "by-drift"]
    assert "Replication drift report" in page.texts and "health" not in page.texts


def test_a_couple_with_too_many_pairs_draws_the_first_and_tables_them_all():
    count = html_report.MAX_DRAWN + 5
    topology = {"defaults": {"rpo": 300}, "pairs": [
        {"name": "p%03d" % i, "source": "k2-a", "target": "k2-b", "volume_group": "vg"} for i in range(count)]}
    names = ["p%03d" % i for i in range(count)]
    reads = {"k2-a": read([source(n, health_of=health(i)) for i, n in enumerate(names)], converged(*names)),
             "k2-b": read([target("remote_" + n) for n in names])}
    page = Page(drift_report_html(drift_report(topology, reads, ["k2-a", "k2-b"], health=True)))
    assert page.values("data-pair") == names[:html_report.MAX_DRAWN]
    assert "and 5 more pairs between these arrays: see the tables below" in page.texts
    # The drawn ones are named in the drawing; both tables list every pair.
    assert sum(1 for t in page.texts if t in names) == html_report.MAX_DRAWN + 2 * count


@pytest.mark.parametrize("count", range(1, 9))
def test_the_overview_places_any_number_of_arrays_inside_its_drawing(count):
    arrays = ["array-%d" % i for i in range(count)]
    pairs = [{"name": "p%d" % i, "source": arrays[i], "target": arrays[(i + 1) % count], "volume_group": "vg"}
             for i in range(count if count > 1 else 0)]
    report = drift_report({"pairs": pairs}, {}, arrays)
    svg = html_report.overview(report)
    width, height = (float(v) for v in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    for name, value in re.findall(r'\b(x|x1|x2|cx|y|y1|y2|cy)="(-?[\d.]+)"', svg):
        assert 0 <= float(value) <= (width if name.startswith("x") or name == "cx" else height), (name, value)
    for point in re.findall(r'points="([^"]+)"', svg):
        for x, y in (p.split(",") for p in point.split()):
            assert 0 <= float(x) <= width and 0 <= float(y) <= height
    assert len(re.findall(r'<g class="array', svg)) == count and len(re.findall(r'id="link-', svg)) == len(pairs)


def test_the_same_report_renders_the_same_page_and_bad_input_is_refused():
    report = build()
    assert drift_report_html(report) == drift_report_html(build())
    for bad in (None, "text", {"pairs": []}, {"summary": {}, "pairs": []}):
        with pytest.raises(AnsibleFilterError, match="drift_report_html: expected the result of kaminario.k2.drift_report"):
            drift_report_html(bad)
    with pytest.raises(html_report.HtmlReportError, match="expected the result"):
        html_report.render({"summary": {}})
