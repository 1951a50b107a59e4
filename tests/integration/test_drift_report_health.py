# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift report's recovery-point health (playbooks/drift_report.yml, role kaminario.k2.drift_report)
through real ansible-playbook runs against the simulator's scheduled replication: a healthy topology
reports every pair ok; a slowed link makes one pair late, then critical; a stalled transfer is
stalled; a cut link makes pairs late and fail_on_rpo_breach fails the play; a source array that is
down is judged on the target halves; health off reads nothing more; and 1,000 pairs cost ceil(N/100)
requests per resource with health on (from the journals).

The arrays' clock is frozen (the simulator's manual clock): the sessions start together, their
initial rounds arrive, and the clock is then moved to the age each test wants, so the report judges
exactly that age however slow the machine is (the module takes the array's time from the Date
header, which stands still while frozen). Nothing is timed.
"""

import json
import math
import os
from collections import Counter

import pytest
from harness import arrays_inventory, eventually, run_playbook, start_simulator
from harness.rounds import at_age, start_together
from harness.scene import writes
from harness.simulator import REPO_ROOT

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
ROLE = "kaminario.k2.drift_report : "
HEALTH_READS = ("/snapshots", "/replication/rpo_history")
# name: (source, target, volume group, rpo, declared state)
PAIRS = {
    "p-ora": ("k2-a", "k2-b", "vg_oracle_prod", 60, "in_sync"),
    "p-sql": ("k2-a", "k2-b", "vg_sql_prod", 300, "in_sync"),
    "p-rep": ("k2-b", "k2-a", "vg_reports_dr", 300, "in_sync"),
    "p-test": ("k2-b", "k2-a", "vg_test_dr", 300, "suspended"),
}
TOPOLOGY = {"pairs": [{"name": name, "source": s, "target": t, "volume_group": vg, "rpo": rpo,
                       "replication_state": state} for name, (s, t, vg, rpo, state) in PAIRS.items()]}


@pytest.fixture
def report(k2sim, tmp_path):
    """Run the drift report playbook on both arrays; returns (result, JSON report, Markdown, HTML)."""
    runs = []

    def run(**extra_vars):
        folder = tmp_path / ("run%d" % len(runs))
        runs.append(folder)
        extra_vars.update(k2_topology=TOPOLOGY, drift_report_dir=str(folder / "reports"))
        result = run_playbook(k2sim, PLAYBOOK, extra_vars=extra_vars, inventory=arrays_inventory(k2sim),
                              workdir=str(folder))
        found = {}
        for kind in ("json", "md", "html"):
            path = folder / "reports" / ("drift_report." + kind)
            found[kind] = path.read_text(encoding="utf-8") if path.exists() else None
        return result, json.loads(found["json"]) if found["json"] else None, found["md"], found["html"]
    return run


def health_of(found):
    return {h["pair"]: h for h in found["health"]}


def statuses(found):
    return {h["pair"]: h["status"] for h in found["health"]}


def get_paths(sim, array):
    """Counter of the GET paths (below /api/v2) the array received."""
    return Counter(e["path"][len("/api/v2"):] for e in sim.journal(array) if e["method"] == "GET")


def test_a_healthy_topology_reports_every_pair_ok_and_passes_fail_on_rpo_breach(k2sim, report):
    start = start_together(k2sim, PAIRS)
    at_age(k2sim, start, 45)
    now = int(k2sim.clock()["now"])
    result, found, markdown, html = report(fail_on_rpo_breach=True, fail_on_drift=True)
    assert result.rc == 0, result
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []
        reads = get_paths(k2sim, array)
        assert (reads["/snapshots"], reads["/replication/rpo_history"]) == (1, 1), reads
    assert found["summary"]["drift"] is False
    assert statuses(found) == {"p-ora": "ok", "p-sql": "ok", "p-rep": "ok", "p-test": "not_replicating"}
    assert found["summary"]["health"] == {"ok": 3, "late": 0, "critical": 0, "stalled": 0, "not_replicating": 1,
                                          "unknown": 0}
    assert found["summary"]["rpo_breach"] == 0
    health = health_of(found)
    for name, (source, target, _vg, rpo, _state) in PAIRS.items():
        entry = health[name]
        assert (entry["side"], entry["array"], entry["session"], entry["rpo"], entry["now"]) == (
            "source", source, name, rpo, now), entry
        assert (entry["source"], entry["target"], entry["drift_status"]) == (source, target, "in_sync")
    assert health["p-ora"]["age"] == 45 and health["p-ora"]["recovery_point"] == math.floor(start)
    assert "suspend_reason_code user_request" in health["p-test"]["reason"] and not health["p-test"]["breach"]
    # Worst first: not_replicating, then the ok ones by age / rpo (p-ora 45/60 before the others' 45/300).
    assert [h["pair"] for h in found["health"]] == ["p-test", "p-ora", "p-sql", "p-rep"]
    assert {p["name"]: p["health"] for p in found["pairs"]} == statuses(found)
    lines = result.task(ROLE + "Print the summary")["msg"]
    assert lines == ["drift report: no drift; 4 pairs (4 in_sync), 0 undeclared sessions; health: 3 ok, "
                     "1 not_replicating; 0 RPO breaches"]
    assert "**Every pair judged meets its RPO**: 4 of 4 pairs judged." in markdown
    assert "| p\\-ora | k2\\-a \\-&gt; k2\\-b | ok | 45 s | 1 min | 0\\.75 | no | source half p\\-ora on k2\\-a |" \
        in markdown
    stats = result.task(ROLE + "Publish the summary")["ansible_stats"]["data"]["drift_report_summary"]
    assert (stats["health"], stats["rpo_breach"]) == (found["summary"]["health"], 0)
    assert stats["html_report"].endswith("/reports/drift_report.html")
    assert result.status(ROLE + "Fail on RPO breach") == "skipped"
    # The HTML report: every array and pair drawn and in the tables; nothing to load from anywhere.
    assert html.startswith("<!DOCTYPE html>")
    for name in ("k2-a", "k2-b"):
        assert 'data-array="%s"' % name in html
    for name in PAIRS:
        assert html.count('data-pair="%s"' % name) == 1 and html.count("<td>%s</td>" % name) == 2
    for link in ("http:", "https:", "src=", "href=", "@import", "<script"):
        assert link not in html


def test_a_slowed_link_makes_one_pair_late_then_critical_and_fail_on_rpo_breach_fails(k2sim, report):
    start = start_together(k2sim, PAIRS)
    k2sim.slow_link(10 ** 6, "k2-a", "k2-b")  # p-ora's next round (due at +60) barely moves
    at_age(k2sim, start, 100)
    result, found, _markdown, _html = report()
    assert result.rc == 0, result
    assert statuses(found) == {"p-ora": "late", "p-sql": "ok", "p-rep": "ok", "p-test": "not_replicating"}
    late = health_of(found)["p-ora"]
    assert late["breach"] is True and late["age"] == 100 and late["transfer"]["in_progress"] is True
    assert late["reason"] == "Late: the recovery point is 100 s old, over 1.25 x rpo (75 s)."
    lines = result.task(ROLE + "Print the summary")["msg"]
    assert lines[0].endswith("; health: 2 ok, 1 late, 1 not_replicating; 1 RPO breach")
    assert lines[1:] == ["rpo breach: p-ora (k2-a -> k2-b): " + late["reason"]]

    at_age(k2sim, start, 150)
    result, found, markdown, html = report(fail_on_rpo_breach=True)
    assert result.rc == 2, result
    assert statuses(found)["p-ora"] == "critical"
    assert health_of(found)["p-ora"]["reason"] == "Critical: the recovery point is 150 s old, over 2 x rpo (120 s)."
    assert [h["pair"] for h in found["health"]] == ["p-test", "p-ora", "p-sql", "p-rep"]
    assert result.status(ROLE + "Fail on drift") == "skipped"
    assert result.status(ROLE + "Fail on RPO breach") == "failed"
    message = result.task(ROLE + "Fail on RPO breach")["msg"]
    assert message.startswith("1 pair(s) breach their RPO: rpo breach: p-ora (k2-a -> k2-b): Critical: ")
    assert "fail_on_rpo_breach is set" in message and message.endswith("drift_report.html")
    assert "**RPO breached**: 4 of 4 pairs judged; 1 breaches its RPO." in markdown
    assert '<tr class="breach"><td>p-ora</td>' in html


def test_a_stalled_transfer_is_stalled(k2sim, report):
    start = start_together(k2sim, PAIRS)
    k2sim.stall("k2-a", "p-ora")
    at_age(k2sim, start, 60 + 130)  # p-ora's round (started at +60) has run 130 s, over 2 x rpo
    result, found, _markdown, _html = report()
    assert result.rc == 0, result
    assert statuses(found) == {"p-ora": "stalled", "p-sql": "ok", "p-rep": "ok", "p-test": "not_replicating"}
    stalled = health_of(found)["p-ora"]
    assert stalled["reason"] == "Stalled: the running round started 130 s ago, over 2 x rpo (120 s)."
    assert stalled["breach"] is True and found["summary"]["rpo_breach"] == 1


def test_a_cut_link_makes_pairs_late_and_the_report_fails_with_fail_on_rpo_breach(k2sim, report):
    start = start_together(k2sim, PAIRS)
    k2sim.cut_link("k2-a", "k2-b")
    at_age(k2sim, start, 400)  # the rpo-300 rounds (at +300) cannot arrive; p-ora's (at +60) neither
    result, found, _markdown, _html = report(fail_on_rpo_breach=True)
    assert result.rc == 2, result
    assert statuses(found) == {"p-ora": "stalled", "p-sql": "late", "p-rep": "late", "p-test": "not_replicating"}
    assert found["summary"]["drift"] is False and found["summary"]["rpo_breach"] == 3
    assert [h["pair"] for h in found["health"]] == ["p-test", "p-ora", "p-sql", "p-rep"]
    assert result.status(ROLE + "Fail on RPO breach") == "failed"
    assert result.task(ROLE + "Fail on RPO breach")["msg"].startswith("3 pair(s) breach their RPO: ")


def test_a_source_array_that_is_down_is_judged_on_the_target_halves(k2sim, report):
    start = start_together(k2sim, PAIRS)
    at_age(k2sim, start, 45)
    k2sim.down("k2-a")
    result, found, markdown, _html = report(fail_on_unread=False)
    assert result.rc == 0, result
    health = health_of(found)
    for name in ("p-ora", "p-sql"):
        entry = health[name]
        assert (entry["status"], entry["side"], entry["array"], entry["session"], entry["age"]) == (
            "ok", "target", "k2-b", "remote_" + name, 45), entry
        assert entry["notes"] == ["judged on the target half: the source array k2-a was not read"]
    assert (health["p-rep"]["side"], health["p-rep"]["array"]) == ("source", "k2-b")
    assert "target half remote\\_p\\-ora on k2\\-b" in markdown


def test_health_off_reads_nothing_more_and_bad_health_options_stop_before_any_request(k2sim, report):
    start = start_together(k2sim, PAIRS)
    at_age(k2sim, start, 45)
    result, found, markdown, html = report(drift_report_health=False)
    assert result.rc == 0, result
    for array in ("k2-a", "k2-b"):
        reads = get_paths(k2sim, array)
        assert reads and not any(path in reads for path in HEALTH_READS), reads
    assert (found["health"], found["summary"]["health"], found["summary"]["rpo_breach"]) == (None, None, 0)
    assert {p["health"] for p in found["pairs"]} == {None}
    assert "## Recovery points" not in markdown and 'id="recovery-points"' not in html
    assert result.task(ROLE + "Print the summary")["msg"] == [
        "drift report: no drift; 4 pairs (4 in_sync), 0 undeclared sessions"]

    k2sim.clear_journal()
    result, found, _markdown, _html = report(drift_report_health=False, fail_on_rpo_breach=True)
    assert result.rc == 2 and found is None, result
    assert result.status(ROLE + "Check the report's options (no request)") == "failed"
    assert "needs drift_report_health" in result.task(ROLE + "Check the report's options (no request)")["msg"]
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []

    result, found, _markdown, _html = report(drift_report_health_tolerance="2.5")
    assert result.rc == 2 and found is None, result
    assert result.task(ROLE + "Check the health factors (no request)")["msg"].startswith(
        "drift_report_health_tolerance (2.5), drift_report_health_critical_factor (2.0) and ")
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []


# ---- scale ------------------------------------------------------------------------------------------
COUNT = 1000


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    """A simulator whose k2-a holds COUNT in_sync sessions (rpo 300) replicating to k2-b."""
    data = {"k2-a": {
        "volume_groups": [{"name": "vg-%04d" % i, "quota": 0} for i in range(COUNT)],
        "replication/sessions": [{"name": "s-%04d" % i, "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%04d" % i, "rpo": 300, "state": "in_sync"}
                                 for i in range(COUNT)],
    }}
    path = tmp_path_factory.mktemp("drift-health-seed") / "seed.json"
    path.write_text(json.dumps(data))
    simulator = start_simulator(seed=str(path), startup_timeout=300.0)
    try:
        yield simulator
    finally:
        simulator.stop()


def test_a_thousand_pairs_cost_ceil_n_over_100_requests_per_health_resource(thousand, tmp_path):
    """The same report with health off, then on: on each array, health adds exactly ceil(N/100)
    requests for the snapshots and as many for the running rounds, and nothing else changes."""
    sim = thousand
    assert eventually(lambda: all(s["latest_replicated_snapshot"] for s in sim.dump("k2-b")["objects"][
        "replication/sessions"]), timeout=180), "the first rounds did not all reach k2-b"
    topology = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
        {"name": "s-%04d" % i, "source": "k2-a", "target": "k2-b", "volume_group": "vg-%04d" % i}
        for i in range(COUNT)]}
    counts = {}
    for health in (False, True):
        sim.clear_journal()
        folder = tmp_path / ("health-%s" % health)
        result = run_playbook(sim, PLAYBOOK, inventory=arrays_inventory(sim), workdir=str(folder), timeout=1800,
                              extra_vars={"k2_topology": topology, "drift_report_health": health,
                                          "drift_report_dir": str(folder / "reports")})
        assert result.rc == 0, result
        counts[health] = dict((array, get_paths(sim, array)) for array in ("k2-a", "k2-b"))
        assert all(writes(sim, array) == [] for array in ("k2-a", "k2-b"))
    with open(tmp_path / "health-True" / "reports" / "drift_report.json", encoding="utf-8") as handle:
        found = json.load(handle)
    assert len(found["health"]) == COUNT and found["summary"]["health"]["unknown"] == 0
    expected = math.ceil(COUNT / 100)
    for array in ("k2-a", "k2-b"):
        assert not any(path in counts[False][array] for path in HEALTH_READS), counts[False][array]
        assert counts[True][array] == counts[False][array] + Counter(dict.fromkeys(HEALTH_READS, expected)), array
