# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift_report filters: one status per pair from what the arrays showed and what a check-mode
converge would do, fields by name, undeclared sessions, arrays not read, and the Markdown."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.drift_report import drift_report, drift_report_markdown
from ansible_collections.kaminario.k2.plugins.plugin_utils import drift, export

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
        after={"name": "drift", "rpo": 300, "retention_policy": "Replication_Retention"})
    reads["k2-b"]["info"]["sessions"][1]["rpo"] = 900
    [found] = [p for p in drift_report(TOPOLOGY, reads, ARRAYS)["pairs"] if p["name"] == "drift"]
    assert found["status"] == "drifted"
    assert [(f["side"], f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("source", "retention_policy", "Best_Effort_Retention", "Replication_Retention"),
        ("source", "rpo", 900, 300), ("target", "rpo", 900, 300)]
    assert [(a["action"], a["method"], a["fields"]) for a in found["actions"]] == [
        ("update", "PATCH", ["retention_policy", "rpo"])]
    assert "/retention_policies" not in str(found["actions"]) and "update retention_policy, rpo" in found["summary"]


@pytest.mark.parametrize("change, status, reason", [
    (lambda r: r["k2-a"]["info"]["sessions"].pop(0) and r["k2-a"]["converge"]["sessions"].__setitem__(0, entry(
        "ok", "changed", actions=[{"name": "create", "method": "POST", "path": "/replication/sessions",
                                   "body": {"name": "ok", "rpo": 300}}])), "missing", "no session ok on k2-a"),
    (lambda r: r["k2-a"]["converge"]["sessions"].__setitem__(0, entry("ok", "reversed", msg="is the target", refused=True)),
     "reversed", "now the target"),
    (lambda r: r["k2-b"]["info"]["sessions"].pop(0), "mirror_missing", "no target-side session remote_ok on k2-b"),
    (lambda r: r["k2-b"]["info"]["sessions"][0].update(state="failed_over"), "mirror_drifted", None),
    (lambda r: r["k2-a"]["converge"]["sessions"].__setitem__(0, entry("ok", "failed", msg="cannot resume. More.",
                                                                      refused=True)),
     "blocked", "a converge would be refused: cannot resume"),
    (lambda r: r.pop("k2-b"), "blocked", "target array k2-b not read: not in this run"),
    (lambda r: r["k2-a"].update(info={"failed": True, "msg": "connection refused"}), "blocked",
     "source array k2-a not read: connection refused"),
])
def test_each_status(change, status, reason):
    reads = healthy()
    change(reads)
    [found] = [p for p in drift_report(TOPOLOGY, reads, ARRAYS)["pairs"] if p["name"] == "ok"]
    assert found["status"] == status, found
    if reason:
        assert reason in found["reason"], found


def test_blocked_by_a_field_fixed_at_creation_names_it_by_name_and_peer_failed_over_says_so():
    topology = {"pairs": [{"name": "ok", "source": "k2-a", "target": "k2-b", "volume_group": "vg_new"}]}
    reads = healthy()
    reads["k2-a"]["converge"]["sessions"][0] = entry("ok", "failed", refused=True,
                                                     msg="local_volume_group is /volume_groups/7, not /volume_groups/8")
    [found] = drift_report(topology, reads, ARRAYS)["pairs"]
    assert found["status"] == "blocked" and "fixed at creation: local_volume_group" in found["reason"]
    assert [(f["field"], f["current"], f["declared"]) for f in found["fields"]] == [
        ("local_volume_group", "vg_ok", "vg_new")]
    reads["k2-a"]["info"]["sessions"][0].update(state="suspended", suspend_reason_code="peer_failed_over")
    [found] = drift_report(TOPOLOGY, reads, ARRAYS)["pairs"][:1]
    assert found["status"] == "blocked" and "peer failed over" in found["reason"]
    assert [(f["field"], f["current"]) for f in found["fields"]] == [("state", "suspended (peer_failed_over)")]


def test_a_declared_reference_by_id_or_ref_matches_the_session():
    for value in ("7", "/volume_groups/7", "vg_ok"):
        topology = {"pairs": [{"name": "ok", "source": "k2-a", "target": "k2-b", "volume_group": value}]}
        reads = healthy()
        reads["k2-a"]["converge"]["sessions"][0] = entry("ok", "failed", refused=True, msg="other")
        [found] = drift_report(topology, reads, ARRAYS)["pairs"]
        assert found["fields"] == [] and "other" in found["reason"]


def test_an_absent_pair_with_halves_left_is_drifted_with_the_removal_steps():
    reads = healthy()
    reads["k2-a"]["info"]["sessions"].append(src("gone", "vg_gone"))
    reads["k2-b"]["info"]["sessions"].append(tgt("remote_gone"))
    [found] = [p for p in drift_report(TOPOLOGY, reads, ARRAYS)["pairs"] if p["name"] == "gone"]
    assert found["status"] == "drifted"
    assert [a["text"] for a in found["actions"]] == [
        "on k2-a: stop gone (idle)", "on k2-b: wait until remote_gone is idle", "on k2-b: delete remote_gone",
        "on k2-a: delete gone"]
    reads["k2-a"]["info"]["sessions"].pop()
    reads["k2-b"]["info"]["sessions"][-1]["state"] = "idle"
    [found] = [p for p in drift_report(TOPOLOGY, reads, ARRAYS)["pairs"] if p["name"] == "gone"]
    assert [a["text"] for a in found["actions"]] == ["on k2-b: delete remote_gone"]


def test_undeclared_sessions_on_either_side_are_listed_and_count_as_drift_unless_told():
    reads = healthy()
    reads["k2-a"]["info"]["sessions"].append(src("stray", "vg_s", replication_peer_k2array_name="k2-b"))
    reads["k2-b"]["info"]["sessions"].append(tgt("remote_stray"))
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    assert [(u["array"], u["name"], u["current_role"], u["volume_group"]) for u in report["undeclared"]] == [
        ("k2-a", "stray", "source", "vg_s"), ("k2-b", "remote_stray", "target", None)]
    assert report["summary"]["drift"] is True and report["summary"]["undeclared"] == 2
    assert drift_report(TOPOLOGY, reads, ARRAYS, undeclared_is_drift=False)["summary"]["drift"] is False


def test_an_array_whose_converge_did_not_run_is_not_read():
    reads = healthy()
    reads["k2-b"]["converge"] = {"failed": True, "msg": "HTTP 401"}
    report = drift_report(TOPOLOGY, reads, ARRAYS)
    assert statuses(report)["back"] == "blocked" and statuses(report)["ok"] == "blocked"
    assert report["arrays"][1] == {"name": "k2-b", "read": False, "error": "HTTP 401", "sessions": 3}
    assert "not read: k2-b: HTTP 401" in report["lines"]


def test_a_skipped_converge_is_no_error():
    reads = healthy()
    reads["k2-b"]["converge"] = {"skipped": True}
    topology = {"pairs": TOPOLOGY["pairs"][:1]}
    reads["k2-a"]["info"]["sessions"].pop()  # back-dr: undeclared now
    report = drift_report(topology, reads, ARRAYS, undeclared_is_drift=False)
    assert statuses(report) == {"ok": "in_sync"} and report["arrays"][1]["read"] is True


def test_the_markdown_holds_every_finding_and_escapes_pipes():
    reads = healthy()
    reads["k2-b"]["info"]["sessions"].pop(0)
    reads["k2-a"]["info"]["sessions"].append(src("st|ray", "vg_s"))
    text = drift_report_markdown(drift_report(TOPOLOGY, reads, ARRAYS, generated_at="2026-01-01T00:00:00Z"))
    assert text.startswith("# Replication drift report\n")
    assert "**Drift found**: 4 pairs, 3 in sync; 1 undeclared sessions." in text
    assert "| mirror_missing | 1 |" in text and "### ok: mirror_missing" in text
    assert "| k2-a | st\\|ray | source |" in text


def test_bad_inputs_are_clear_errors():
    with pytest.raises(AnsibleFilterError, match=r"pairs\[0\]: name is required"):
        drift_report({"pairs": [{"source": "k2-a", "target": "k2-b"}]}, {}, ARRAYS)
    with pytest.raises(AnsibleFilterError, match="k2-c not among the arrays"):
        drift_report(TOPOLOGY, {"k2-c": {}}, ARRAYS)
    with pytest.raises(AnsibleFilterError, match="expected the result"):
        drift_report_markdown({"pairs": []})


def test_the_role_lists_the_fields_the_report_reads():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "roles", "drift_report", "tasks", "main.yml"), encoding="utf-8") as handle:
        [read] = [t for t in yaml.safe_load(handle)[0]["block"] if "kaminario.k2.k2_replication_session_info" in t]
    assert tuple(read["kaminario.k2.k2_replication_session_info"]["fields"]) == drift.LISTED_FIELDS
    with open(os.path.join(root, "playbooks", "export_topology.yml"), encoding="utf-8") as handle:
        [read] = [t for t in yaml.safe_load(handle)[0]["tasks"][0]["block"]
                  if "kaminario.k2.k2_replication_session_info" in t]
    assert tuple(read["kaminario.k2.k2_replication_session_info"]["fields"]) == export.LISTED_FIELDS
