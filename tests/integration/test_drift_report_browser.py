# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML drift report in a real browser: Debian's Chromium, headless, driven over the DevTools
protocol on a pipe (harness/browser.py). The report a real playbook run wrote (pairs stalled, late,
not replicating, ok, one of them with a hostile name) is loaded from its file: the page renders every
array and pair (drawn, with the health colours, and in the tables), logs no console error, loads
nothing but itself, and a screenshot is a PNG of the viewport's size with something drawn on it.

Skipped, with one line saying so, when no Chromium is installed (.ci/run installs the `chromium`
package). Marked newest: the page does not depend on the ansible-core version.
"""

import os
import struct
import zlib

import pytest
from harness import arrays_inventory, run_playbook
from harness.browser import Browser, chromium_binary
from harness.rounds import at_age, start_together
from harness.simulator import REPO_ROOT

pytestmark = pytest.mark.newest

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
HOSTILE = '<img src=x onerror=alert(1)>"&'
PAIRS = {
    "p-ora": ("k2-a", "k2-b", "vg_oracle_prod", 60, "in_sync"),
    HOSTILE: ("k2-a", "k2-b", "vg_sql_prod", 60, "in_sync"),
    "p-web": ("k2-a", "k2-b", "vg_web_prod", 300, "in_sync"),
    "p-rep": ("k2-b", "k2-a", "vg_reports_dr", 300, "in_sync"),
    "p-test": ("k2-b", "k2-a", "vg_test_dr", 300, "suspended"),
}
# The stroke of each health status (the report's CSS), as the browser computes it.
COLOURS = {"ok": "rgb(26, 127, 55)", "late": "rgb(154, 103, 0)", "critical": "rgb(207, 34, 46)",
           "stalled": "rgb(130, 80, 223)", "not_replicating": "rgb(87, 96, 106)"}
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def chromium():
    found = chromium_binary()
    if found is None:
        pytest.skip("no Chromium on the PATH (Debian: apt-get install chromium): the HTML report was NOT checked "
                    "in a browser")
    return found


def png_pixels(data):
    """(width, height, distinct byte values of the decompressed image data) of a PNG; checks the
    signature and that every chunk is whole."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    offset, chunks = 8, {}
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        assert len(body) == length and zlib.crc32(kind + body) == struct.unpack(
            ">I", data[offset + 8 + length:offset + 12 + length])[0], kind
        chunks.setdefault(kind, []).append(body)
        offset += 12 + length
    assert b"IEND" in chunks
    width, height = struct.unpack(">II", chunks[b"IHDR"][0][:8])
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    return width, height, len(set(raw))


def test_the_driver_sees_console_errors_exceptions_and_requests(chromium, tmp_path):
    """The checks below can fail: a page that logs an error, throws and loads an image (from a
    loopback port nobody listens on) is seen doing all three."""
    page_path = tmp_path / "bad.html"
    page_path.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                         '<img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); '
                         'null.f();</script></body></html>')
    with Browser(chromium, str(tmp_path)) as browser:
        page = browser.load(str(page_path), width=400, height=300)
        assert page.evaluate("document.title") == "bad"
    assert "boom" in page.console_errors
    assert any("TypeError" in e for e in page.exceptions), page.exceptions
    assert "http://127.0.0.1:9/x.png" in page.requests


def test_the_html_report_renders_every_array_and_pair_with_no_console_error(chromium, k2sim, tmp_path):
    start = start_together(k2sim, PAIRS)
    k2sim.stall("k2-a", "p-ora")  # its round at +60 never moves
    at_age(k2sim, start, 170)  # the hostile pair's rounds at +60 and +120 arrive
    k2sim.slow_link(10 ** 6, "k2-a", "k2-b")
    at_age(k2sim, start, 200)  # p-ora stalled (its round runs for 140 s); the hostile one late (80 s old)
    folder = tmp_path / "run"
    topology = {"pairs": [{"name": n, "source": s, "target": t, "volume_group": vg, "rpo": rpo,
                           "replication_state": state} for n, (s, t, vg, rpo, state) in PAIRS.items()]}
    result = run_playbook(k2sim, PLAYBOOK, inventory=arrays_inventory(k2sim), workdir=str(folder),
                          extra_vars={"k2_topology": topology, "drift_report_dir": str(folder / "reports")})
    assert result.rc == 0, result
    html_path = folder / "reports" / "drift_report.html"
    with Browser(chromium, str(tmp_path)) as browser:
        page = browser.load(str(html_path), width=WIDTH, height=HEIGHT)
        shot = page.screenshot()
        arrays = page.evaluate("[...document.querySelectorAll('svg [data-array]')].map(e => e.getAttribute('data-array'))")
        drawn = page.evaluate("[...document.querySelectorAll('svg [data-pair]')].map(e => [e.getAttribute('data-pair'), "
                              "e.querySelector('text').textContent, getComputedStyle(e.querySelector('line')).stroke, "
                              "e.getBBox().width])")
        boxes = page.evaluate("[...document.querySelectorAll('svg .array rect')].map(r => r.getBBox().width)")
        tables = page.evaluate("[...document.querySelectorAll('#recovery-points tbody tr')].map(r => "
                               "[...r.cells].map(c => c.textContent))")
        pairs_table = page.evaluate("[...document.querySelectorAll('#pairs tbody tr td:first-child')].map(c => c.textContent)")
        scripts = page.evaluate("document.scripts.length + document.images.length")
    assert page.console_errors == [], page.console_errors
    assert page.requests == ["file://" + str(html_path)], page.requests
    assert scripts == 0
    width, height, values = png_pixels(shot)
    assert (width, height) == (WIDTH, HEIGHT) and len(shot) > 10000 and values > 20
    assert sorted(set(arrays)) == ["k2-a", "k2-b"] and arrays.count("k2-a") == 2 and all(w > 0 for w in boxes)
    expected = {"p-ora": "stalled", HOSTILE: "late", "p-web": "ok", "p-rep": "ok", "p-test": "not_replicating"}
    assert sorted(d[0] for d in drawn) == sorted(PAIRS)
    for name, label, stroke, box in drawn:
        assert label == name and stroke == COLOURS[expected[name]] and box > 0, (name, label, stroke, box)
    assert [(row[0], row[2]) for row in tables] == [
        ("p-test", "not_replicating"), ("p-ora", "stalled"), (HOSTILE, "late"), ("p-web", "ok"), ("p-rep", "ok")]
    assert sorted(pairs_table) == sorted(PAIRS)
