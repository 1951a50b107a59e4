# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report's health section: which half is judged, the order (worst first), the breach
rule, the counts, the summary lines and the Markdown; health off changes nothing."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.drift_report import drift_report
from ansible_collections.kaminario.k2.plugins.plugin_utils import drift, markup
from ansible_collections.kaminario.k2.tests.unit.plugins.plugin_utils.drift_reads import (
    converged,
    health,
    read,
    source,
    target,
    unread,
)

ARRAYS = ["k2-a", "k2-b"]


def topology(*pairs, **defaults):
    return {"defaults": dict({"rpo": 300, "replication_state": "in_sync"}, **defaults),
            "pairs": [dict({"source": "k2-a", "target": "k2-b", "volume_group": "vg"}, **p) for p in pairs]}


def reads_of(ages, **target_health):
    """Pairs named after their ages on k2-a (in_sync, rpo 300), as declared, their targets on k2-b."""
    return {"k2-a": read([source(n, health_of=h) for n, h in ages.items()], converged(*ages)),
            "k2-b": read([target("remote_" + n, health_of=target_health.get(n)) for n in ages])}


def by_pair(report):
    return dict((h["pair"], h) for h in report["health"])


def test_every_pair_judged_on_its_source_half_worst_first():
    ages = {"fresh": health(10), "late": health(400), "critical": health(700, running_for=100),
            "stalled": health(60, running_for=700), "none-yet": health(None, running_for=30),
            "later": health(500)}
    pairs = [{"name": n} for n in ages]
    report = drift_report(topology(*pairs), reads_of(ages), ARRAYS, health=True)
    assert report["summary"]["drift"] is False
    # Severity (ok < late < critical < stalled < not_replicating), then age / rpo highest first; no
    # recovery point yet is critical with the highest ratio of all.
    assert [h["pair"] for h in report["health"]] == ["stalled", "none-yet", "critical", "later", "late", "fresh"]
    assert [h["status"] for h in report["health"]] == ["stalled", "critical", "critical", "late", "late", "ok"]
    assert report["summary"]["health"] == {"ok": 1, "late": 2, "critical": 2, "stalled": 1, "not_replicating": 0,
                                           "unknown": 0}
    assert report["summary"]["rpo_breach"] == 5
    entry = by_pair(report)["late"]
    assert {k: entry[k] for k in ("pair", "source", "target", "declared_state", "side", "array", "session",
                                  "status", "age", "rpo", "ratio", "breach", "drift_status")} == {
        "pair": "late", "source": "k2-a", "target": "k2-b", "declared_state": "in_sync", "side": "source",
        "array": "k2-a", "session": "late", "status": "late", "age": 400, "rpo": 300, "ratio": 1.3333,
        "breach": True, "drift_status": "in_sync"}
    assert entry["reason"] == "Late: the recovery point is 400 s old, over 1.25 x rpo (375 s)."
    for field in ("recovery_point", "generation_number", "now", "transfer", "thresholds"):
        assert entry[field] == ages["late"][field], field
    assert {p["name"]: p["health"] for p in report["pairs"]} == dict((n, ages[n]["status"]) for n in ages)


def test_equal_pairs_keep_the_declared_order_and_unknown_comes_last():
    ages = {"b": health(100), "a": health(100), "c": health(100)}
    reads = reads_of(ages)
    reads["k2-a"]["converge"]["sessions"].append({"name": "gone", "status": "changed", "actions": [
        {"name": "create", "method": "POST", "body": {"name": "gone"}}]})
    pairs = [{"name": "gone"}, {"name": "b"}, {"name": "a"}, {"name": "c"}]
    report = drift_report(topology(*pairs), reads, ARRAYS, health=True)
    assert [h["pair"] for h in report["health"]] == ["b", "a", "c", "gone"]
    gone = by_pair(report)["gone"]
    assert (gone["status"], gone["side"], gone["breach"], gone["age"]) == ("unknown", None, False, None)
    assert gone["reason"] == ("Unknown: no half of the pair to judge: the source half gone is not on k2-a; "
                              "the target half remote_gone is not on k2-b.")
    assert gone["drift_status"] == "missing"


@pytest.mark.parametrize("status, declared, breach", [
    ("ok", "in_sync", False), ("late", "in_sync", True), ("critical", "suspended", True),
    ("stalled", None, True), ("not_replicating", "in_sync", True), ("not_replicating", "suspended", False),
    ("not_replicating", "idle", False), ("not_replicating", None, False), ("unknown", "in_sync", False),
])
def test_the_breach_rule(status, declared, breach):
    assert drift.is_breach(status, declared) is breach


def test_not_replicating_breaches_only_a_pair_declared_in_sync():
    suspended = health(50, state="suspended", suspend_reason_code="user_request")
    ages = {"want-sync": suspended, "want-suspended": suspended, "say-nothing": suspended}
    reads = {"k2-a": read([source(n, state="suspended", suspend_reason_code="user_request", health_of=h)
                           for n, h in ages.items()], converged(*ages)),
             "k2-b": read([target("remote_" + n, state="suspended") for n in ages])}
    pairs = [{"name": "want-sync", "replication_state": "in_sync"},
             {"name": "want-suspended", "replication_state": "suspended"},
             {"name": "say-nothing", "replication_state": None}]
    report = drift_report(topology(*pairs, replication_state=None), reads, ARRAYS, health=True)
    found = by_pair(report)
    assert {n: (h["status"], h["declared_state"], h["breach"]) for n, h in found.items()} == {
        "want-sync": ("not_replicating", "in_sync", True), "want-suspended": ("not_replicating", "suspended", False),
        "say-nothing": ("not_replicating", None, False)}
    assert report["summary"]["rpo_breach"] == 1
    assert [line for line in report["lines"] if line.startswith("rpo breach: ")] == [
        "rpo breach: want-sync (k2-a -> k2-b): Not replicating: the session is suspended (suspend_reason_code "
        "user_request)."]


def test_the_target_half_is_judged_when_the_source_array_was_not_read_and_the_report_says_so():
    reads = {"k2-a": unread(), "k2-b": read([target("remote_p", health_of=health(800))])}
    report = drift_report(topology({"name": "p"}), reads, ARRAYS, health=True)
    entry = by_pair(report)["p"]
    assert (entry["status"], entry["side"], entry["array"], entry["session"], entry["age"]) == (
        "stalled", "target", "k2-b", "remote_p", 800)
    assert entry["notes"] == ["judged on the target half: the source array k2-a was not read"]
    assert entry["drift_status"] == "blocked"
    assert "rpo breach: p (k2-a -> k2-b): Stalled: no round completed for 2 x rpo (600 s) while in sync; the " \
           "recovery point is 800 s old. (judged on the target half remote_p on k2-b)" in report["lines"]
    text = drift.markdown(report)
    assert "| stalled | 13 min 20 s | 5 min | 2\\.67 | yes | target half remote\\_p on k2\\-b |" in text
    assert "\\(judged on the target half\\: the source array k2\\-a was not read\\)" in text


def test_the_target_half_is_judged_when_the_source_half_is_gone():
    reads = {"k2-a": read([], converged()), "k2-b": read([target("remote_p", health_of=health(30))])}
    entry = by_pair(drift_report(topology({"name": "p"}), reads, ARRAYS, health=True))["p"]
    assert (entry["status"], entry["side"], entry["notes"]) == (
        "ok", "target", ["judged on the target half: the source half p is not on k2-a"])
    assert entry["drift_status"] == "source_missing"


def test_no_array_read_is_unknown_and_no_breach():
    reads = {"k2-a": unread(), "k2-b": unread("HTTP 401")}
    report = drift_report(topology({"name": "p"}), reads, ARRAYS, health=True)
    entry = by_pair(report)["p"]
    assert entry["status"] == "unknown" and entry["breach"] is False
    assert entry["reason"] == ("Unknown: no half of the pair to judge: the source array k2-a was not read; the "
                               "target array k2-b was not read.")
    assert report["summary"]["health"]["unknown"] == 1 and report["summary"]["rpo_breach"] == 0
    assert report["lines"][0].endswith("; health: 1 unknown; 0 RPO breaches")


def test_a_listing_without_health_is_unknown_naming_the_option():
    report = drift_report(topology({"name": "p"}), reads_of({"p": None}), ARRAYS, health=True)
    entry = by_pair(report)["p"]
    assert (entry["status"], entry["side"], entry["array"]) == ("unknown", "source", "k2-a")
    assert entry["reason"] == ("Unknown: the listing of k2-a carried no health for p (k2_replication_session_info "
                               "health=true).")


def test_pairs_declared_absent_are_not_judged():
    report = drift_report(topology({"name": "p"}, {"name": "old", "state": "absent"}), reads_of({"p": health(5)}),
                          ARRAYS, health=True)
    assert [h["pair"] for h in report["health"]] == ["p"]
    assert {p["name"]: p["health"] for p in report["pairs"]} == {"p": "ok", "old": None}


def test_the_notes_of_the_assessment_are_kept():
    skewed = health(-30)  # the array's clock is behind the recovery point
    entry = by_pair(drift_report(topology({"name": "p"}), reads_of({"p": skewed}), ARRAYS, health=True))["p"]
    assert entry["status"] == "ok" and entry["age"] == 0
    assert entry["notes"] == ["the array's clock is 30 s behind the recovery point: age taken as 0"]


def test_health_off_leaves_the_report_as_it_was():
    reads = reads_of({"p": health(900)})
    plain = drift_report(topology({"name": "p"}), reads, ARRAYS)
    assert (plain["health"], plain["summary"]["health"], plain["summary"]["rpo_breach"]) == (None, None, 0)
    assert plain["pairs"][0]["health"] is None
    assert plain["lines"] == ["drift report: no drift; 1 pairs (1 in_sync), 0 undeclared sessions"]
    text = drift.markdown(plain)
    assert "## Recovery points" not in text and "| pair | source -> target | status | finding |" in text
    judged = drift_report(topology({"name": "p"}), reads, ARRAYS, health="true")
    assert judged["lines"] == ["drift report: no drift; 1 pairs (1 in_sync), 0 undeclared sessions; health: "
                               "1 stalled; 1 RPO breach",
                               "rpo breach: p (k2-a -> k2-b): Stalled: no round completed for 2 x rpo (600 s) while "
                               "in sync; the recovery point is 900 s old."]
    assert drift_report(topology({"name": "p"}), reads, ARRAYS, health="no")["health"] is None
    with pytest.raises(AnsibleFilterError, match="health must be true or false, got 'maybe'"):
        drift_report(topology({"name": "p"}), reads, ARRAYS, health="maybe")


def test_the_markdown_health_section():
    ages = {"fresh": health(10), "late": health(400)}
    text = drift.markdown(drift_report(topology({"name": "fresh"}, {"name": "late"}), reads_of(ages), ARRAYS,
                                       health=True))
    assert "## Recovery points\n\n**RPO breached**: 2 of 2 pairs judged; 1 breaches its RPO.\n" in text
    assert "| late | 1 |" in text and "| unknown | 0 |" in text
    assert ("| late | k2\\-a \\-&gt; k2\\-b | late | 6 min 40 s | 5 min | 1\\.33 | yes | source half late on k2\\-a | "
            "Late\\: the recovery point is 400 s old\\, over 1\\.25 x rpo \\(375 s\\)\\. |") in text
    assert "| pair | source -> target | status | health | finding |" in text
    assert "| fresh | k2\\-a \\-&gt; k2\\-b | in\\_sync | ok |  |" in text
    assert text.index("## Recovery points") < text.index("## Pairs")
    healthy = drift.markdown(drift_report(topology({"name": "fresh"}), reads_of({"fresh": health(10)}), ARRAYS,
                                          health=True))
    assert "**Every pair judged meets its RPO**: 1 of 1 pairs judged." in healthy


HOSTILE = ["x\n# No drift found", "x\r| a | b |", "<script>alert(1)</script>", "`code`", "[l](http://e)", "a\u2028b",
           " lead", "x|y", "1. item"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_adds_no_markup_to_the_health_section(name):
    reads = {"k2-a": read([source(name, health_of=health(500))], converged(name)),
             "k2-b": read([target("remote_" + name, health_of=health(500))])}
    text = drift.markdown(drift_report(topology({"name": name}), reads, ARRAYS, health=True))
    lines = text.split("\n")
    assert [line for line in lines if line.startswith("#")] == [
        "# Replication drift report", "## Recovery points", "## Pairs"]
    header = None
    for line in lines:
        if not line.startswith("|"):
            header = None
            continue
        cells = line.replace("\\|", "").count("|")
        header = header or cells
        assert cells == header, line  # every row has its table's columns, no more
        assert "<script" not in line and "\r" not in line and "\u2028" not in line
    assert "| %s | " % markup.markdown_text(name) in text


@pytest.mark.parametrize("seconds, text", [
    (None, "none"), (0, "0 s"), (59, "59 s"), (59.6, "1 min"), (60, "1 min"), (61, "1 min 1 s"),
    (3599, "59 min 59 s"), (3600, "1 h"), (3660, "1 h 1 min"), (86399, "23 h 59 min"), (86400, "1 d"),
    (90000, "1 d 1 h"), (10 * 86400 + 59, "10 d"),
])
def test_duration(seconds, text):
    assert drift.duration(seconds) == text
