# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift_report filters: one status per pair from what the arrays showed and what a check-mode
converge would do, fields by name, undeclared sessions, arrays not read, and the Markdown."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.drift_report import drift_report, drift_report_markdown
from ansible_collections.kaminario.k2.plugins.plugin_utils import drift, export, markup

ARRAYS = ["k2-a", "k2-b"]
TOPOLOGY = {
    "defaults": {"rpo": 300, "replication_state": "in_sync"},
    "pairs": [
        {"name": "ok", "source": "k2-a", "target": "k2-b", "volume_group": "vg_ok"},
        {"name": "drift", "source": "k2-a", "target": "k2-b", "volume_group": "vg_drift"},
        {"name": "gone", "source": "k2-a", "target": "k2-b", "state": "absent"},
        {"name": "back", "source": "k2-b", "target": "k2-a", "volume_group": "vg_back", "target_session": "back-dr"},
    ],
}


def src(name, vg, **extra):
    session = {"name": name, "current_role": "source", "state": "in_sync", "rpo": 300,
               "local_volume_group": {"ref": "/volume_groups/7"}, "local_volume_group_name": vg,
               "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
               "replication_peer_k2array_name": "k2-b" if name != "back" else "k2-a",
               "remote_replication_session_name": "remote_" + name, "suspend_reason_code": "none"}
    session.update(extra)
    return session


def tgt(name, **extra):
    session = {"name": name, "current_role": "target", "state": "in_sync", "rpo": 300}
    session.update(extra)
    return session


def entry(name, status="ok", actions=(), before=None, after=None, **extra):
    found = {"name": name, "status": status, "actions": list(actions),
             "diff": {"before": before or {}, "after": after or before or {}}}
    found.update(extra)
    return found


def healthy():
    return {
        "k2-a": {"info": {"sessions": [src("ok", "vg_ok"), src("drift", "vg_drift"), tgt("back-dr")]},
                 "converge": {"sessions": [entry("ok"), entry("drift")]}},
        "k2-b": {"info": {"sessions": [tgt("remote_ok"), tgt("remote_drift"),
                                       src("back", "vg_back", remote_replication_session_name="back-dr")]},
                 "converge": {"sessions": [entry("back")]}},
    }


def statuses(report):
    return dict((p["name"], p["status"]) for p in report["pairs"])


def test_everything_as_declared_is_in_sync_and_no_drift():
    report = drift_report(TOPOLOGY, healthy(), ARRAYS, generated_at="now", check_mode=True)
    assert statuses(report) == {"ok": "in_sync", "drift": "in_sync", "gone": "in_sync", "back": "in_sync"}
    assert report["summary"]["drift"] is False and report["summary"]["in_sync"] == 4
    assert report["summary"]["total"] == 4 and report["undeclared"] == []
    assert report["lines"] == ["drift report: no drift; 4 pairs (4 in_sync), 0 undeclared sessions"]
    assert (report["generated_at"], report["check_mode"]) == ("now", True)


def test_a_drifted_source_names_fields_by_name_and_the_actions_without_refs():
    reads = healthy()
    reads["k2-a"]["converge"]["sessions"][1] = entry(
        "drift", "changed",
        actions=[{"name": "update", "method": "PATCH", "path": "/replication/sessions/2",
                  "body": {"rpo": 300, "retention_policy": {"ref": "/retention_policies/6"}}}],
        before={"name": "drift", "rpo": 900, "retention_policy": "Best_Effort_Retention"},
        after={"name": "drift", "rpo": 300, "retention_policy": "Replication_Retention"},
        session=src("drift", "vg_drift"))
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    found = dict((p["name"], p) for p in report["pairs"])["drift"]
    assert found["status"] == "drifted" and "/retention_policies/6" not in str(found)
    assert report["lines"][1] == (
        "drifted: drift (k2-a -> k2-b): retention_policy Best_Effort_Retention (declared Replication_Retention), "
        "rpo 900 (declared 300); a converge would: on k2-a: update retention_policy, rpo of drift")
    assert report["summary"]["drift"] is True and report["summary"]["drifted"] == 1


@pytest.mark.parametrize("change, status, words", [
    (lambda r: r["k2-a"]["info"]["sessions"].pop(0), "source_missing", ["the source half ok on k2-a is gone"]),
    (lambda r: r["k2-b"]["info"]["sessions"].pop(0), "mirror_missing", ["the target half remote_ok on k2-b is gone"]),
    (lambda r: r["k2-b"]["info"]["sessions"][0].update(state="failed_over"), "failed_over",
     ["failed over to k2-b", "fix: run playbooks/failback.yml"]),
    (lambda r: r["k2-a"]["info"]["sessions"][0].update(current_role="target"), "reversed",
     ["replication does not run k2-a -> k2-b as declared"]),
    (lambda r: r["k2-b"]["info"]["sessions"][0].update(state="suspended"), "mirror_drifted",
     ["target side state suspended (declared in_sync)"]),
    (lambda r: r["k2-b"].update(info={"failed": True, "msg": "connection refused"}), "blocked",
     ["array k2-b not read: connection refused"]),
])
def test_each_status_in_the_report(change, status, words):
    reads = healthy()
    change(reads)
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    found = dict((p["name"], p) for p in report["pairs"])["ok"]
    assert found["status"] == status, found
    assert all(w in found["summary"] for w in words), found["summary"]
    assert report["summary"][status] >= 1 and report["summary"]["drift"] is True
    assert any(line.startswith("%s: ok (k2-a -> k2-b): " % status) for line in report["lines"])
    assert "refused" not in found  # a report never does anything


def test_undeclared_sessions_on_either_side_are_listed_and_count_as_drift_unless_told():
    reads = healthy()
    reads["k2-a"]["info"]["sessions"].append(src("stray", "vg_s", replication_peer_k2array_name="k2-b"))
    reads["k2-b"]["info"]["sessions"].append(tgt("remote_stray"))
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    assert [(u["array"], u["name"], u["current_role"], u["volume_group"]) for u in report["undeclared"]] == [
        ("k2-a", "stray", "source", "vg_s"), ("k2-b", "remote_stray", "target", None)]
    assert report["summary"]["drift"] is True and report["summary"]["undeclared"] == 2
    assert drift_report(TOPOLOGY, reads, ARRAYS, undeclared_is_drift=False)["summary"]["drift"] is False


def test_an_array_whose_converge_did_not_run_is_not_read_and_counted():
    reads = healthy()
    reads["k2-b"]["converge"] = {"failed": True, "msg": "HTTP 401"}
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    assert statuses(report)["back"] == "blocked" and statuses(report)["ok"] == "blocked"
    assert report["arrays"][1] == {"name": "k2-b", "read": False, "error": "HTTP 401", "sessions": 3}
    assert "not read: k2-b: HTTP 401" in report["lines"] and report["summary"]["unread"] == 1
    assert report["lines"][0].endswith(", 1 arrays NOT READ")


def test_a_skipped_converge_is_no_error():
    reads = healthy()
    reads["k2-b"]["converge"] = {"skipped": True}
    topology = {"pairs": TOPOLOGY["pairs"][:1]}
    reads["k2-a"]["info"]["sessions"].pop()  # back-dr: undeclared now
    report = drift_report(topology, reads, ARRAYS, undeclared_is_drift=False)
    assert statuses(report) == {"ok": "in_sync"} and report["arrays"][1]["read"] is True


def test_the_markdown_holds_every_finding():
    reads = healthy()
    reads["k2-b"]["info"]["sessions"].pop(0)
    text = drift_report_markdown(drift_report(TOPOLOGY, reads, ARRAYS, generated_at="2026-01-01T00:00:00Z"))
    assert text.startswith("# Replication drift report\n")
    assert "**Drift found**: 4 pairs, 3 in sync; 0 undeclared sessions." in text
    assert "| mirror\\_missing | 1 |" in text and "### ok: mirror_missing" in text
    assert "Fix: declare the pair state\\: absent and apply" in text


HOSTILE = ["x\n# No drift found", "x\r| a | b |", "<script>alert(1)</script>", "`code`", "**bold**", "[l](http://e)",
           "a\u2028b", " lead", "trail ", "{{ lookup('pipe', 'id') }}", "1. item", "> quote", "x|y"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_cannot_add_markup_to_the_markdown(name):
    """An undeclared session and a pair, each named `name`: wherever the name is shown (headings,
    table cells, lists, notes), it is literal text: no new line, heading, table cell, HTML, code
    span, emphasis or link."""
    topology = {"pairs": [{"name": name, "source": "k2-a", "target": "k2-b", "volume_group": name}]}
    reads = {"k2-a": {"info": {"sessions": [src(name, name, state="idle"), src(name + "2", "vg")]},
                      "converge": {"sessions": [entry(name, "changed", actions=[{"name": "transition", "body": {
                          "state": "in_sync"}}], session=src(name, name))]}},
             "k2-b": {"info": {"sessions": [tgt("remote_" + name, state="idle")]}, "converge": {"skipped": True}}}
    text = drift_report_markdown(drift_report(topology, reads, ARRAYS))
    lines = text.split("\n")
    assert [line for line in lines if line.startswith("#")] == [
        "# Replication drift report", "## Pairs", "### %s: drifted" % markup.markdown_text(name),
        "## Undeclared sessions"]
    for line in lines:
        if line.startswith("|"):
            # Every row of a table has as many unescaped cell separators as its header.
            assert line.replace("\\|", "").count("|") in (3, 5, 7, 9), line
        assert "<script" not in line and "\r" not in line and "\u2028" not in line
        assert "`" not in line.replace("\\`", "")


def test_bad_inputs_are_clear_errors():
    with pytest.raises(AnsibleFilterError, match=r"pairs\[0\]: name is required"):
        drift_report({"pairs": [{"source": "k2-a", "target": "k2-b"}]}, {}, ARRAYS)
    with pytest.raises(AnsibleFilterError, match="k2-c not among the arrays"):
        drift_report(TOPOLOGY, {"k2-c": {}}, ARRAYS)
    with pytest.raises(AnsibleFilterError, match="expected the result"):
        drift_report_markdown({"pairs": []})


def test_the_role_lists_the_fields_the_report_reads():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "roles", "replication_topology", "tasks", "read.yml"), encoding="utf-8") as handle:
        [read] = [t for t in yaml.safe_load(handle)[1]["block"] if "kaminario.k2.k2_replication_session_info" in t]
    assert tuple(read["kaminario.k2.k2_replication_session_info"]["fields"]) == drift.LISTED_FIELDS
    with open(os.path.join(root, "playbooks", "export_topology.yml"), encoding="utf-8") as handle:
        [read] = [t for t in yaml.safe_load(handle)[0]["tasks"][0]["block"]
                  if "kaminario.k2.k2_replication_session_info" in t]
    assert tuple(read["kaminario.k2.k2_replication_session_info"]["fields"]) == export.LISTED_FIELDS
