# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety rules of the cross-array layer (issue 16), each case of the issue as a real
ansible-playbook run against the two simulator arrays, judged from BOTH arrays' journals: a pair
failed over with its source down is never resumed, nothing a pair names is pruned, a pair is removed
only with both arrays and target half first, duplicate pair names are refused, --limit that leaves
an array out fails before any write, a pair that cannot be applied stops the run before any write
(or, opted in, only that pair), missing halves have their own status and recovery, role input errors
name the pair and role variables convert from -e, and the failing run's summary names exactly the
failed pairs. The scenes are set through the API behind Ansible's back (harness.scene)."""

import json
import os
import re

import pytest
from harness import REPO_ROOT, arrays_inventory, eventually
from harness import run_playbook as run_on_arrays
from harness.scene import Scene

TOPOLOGY = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
DRIFT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
FAILOVER = os.path.join(REPO_ROOT, "playbooks", "failover.yml")
FAILBACK = os.path.join(REPO_ROOT, "playbooks", "failback.yml")
ROLE = "kaminario.k2.replication_topology : "
REPORT = "kaminario.k2.drift_report : "
STOP = ROLE + "Stop before any write when a pair cannot be applied"
FAIL = ROLE + "Fail when a pair was not brought to its declaration"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
ARRAYS = ("k2-a", "k2-b")


def pair(name, volume_group, source="k2-a", target="k2-b", **options):
    found = {"name": name, "source": source, "target": target, "volume_group": volume_group, "rpo": 300}
    found.update(options)
    return found


def writes(sim):
    """Every write either array received: [(array, method, path, body)], in each array's order."""
    return [(array, e["method"], e["path"], e["body"]) for array in ARRAYS for e in sim.journal(array)
            if e["method"] in WRITES]


def requests_to(sim):
    return {array: len(sim.journal(array)) for array in ARRAYS}


def session_path(sim, array, name):
    return "/api/v2/replication/sessions/%d" % sessions(sim, array)[name]["id"]


def sessions(sim, array):
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


def settle(sim):
    """Wait until neither array has a transition or a mirror update still to land."""
    assert eventually(lambda: all(sim.dump(a)["scheduled_events"] == 0 for a in ARRAYS)), "the arrays never settled"


@pytest.fixture
def play(k2sim, tmp_path):
    """Run a playbook on both arrays (hosts of k2_arrays) with k2_topology = `declaration`."""
    runs = []

    def run(playbook, declaration, check=False, extra_args=(), **extra_vars):
        runs.append(1)
        extra_vars["k2_topology"] = declaration
        return run_on_arrays(k2sim, playbook, check=check, extra_vars=extra_vars, inventory=arrays_inventory(k2sim),
                             workdir=str(tmp_path / ("run%d" % len(runs))), extra_args=tuple(extra_args))
    return run


def drift_report(play, tmp_path, declaration, **extra_vars):
    """Run the drift report (check mode); returns (result, the JSON report, the Markdown report)."""
    folder = tmp_path / ("reports%d" % len(os.listdir(tmp_path)))
    result = play(DRIFT, declaration, check=True, drift_report_dir=str(folder), **extra_vars)
    with open(folder / "drift_report.json", encoding="utf-8") as handle:
        found = json.load(handle)
    with open(folder / "drift_report.md", encoding="utf-8") as handle:
        return result, found, handle.read()


def statuses(report):
    return {p["name"]: p["status"] for p in report["pairs"]}


# ---- a pair failed over while its source was down ---------------------------------------------------

FAILED_OVER = {"pairs": [
    pair("ora", "vg_oracle_prod", replication_state="in_sync"),
    pair("sql", "vg_sql_prod"),  # no replication_state declared
    pair("web", "vg_web_prod", replication_state="in_sync"),  # missing: a converge would create it
]}


@pytest.fixture
def failed_over_source_down(k2sim):
    """ora and sql in_sync k2-a -> k2-b, failed over on k2-b while k2-a was down; k2-a back, its
    sessions read suspended with suspend_reason_code link_down (not peer_failed_over); journals
    cleared."""
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.session("k2-a", "sql", "vg_sql_prod", "k2-b", state="in_sync")
        k2sim.down("k2-a")
        api.transition("k2-b", "remote_ora", "failed_over")
        api.transition("k2-b", "remote_sql", "failed_over")
        settle(k2sim)  # the mirror updates towards k2-a were dropped
        k2sim.up("k2-a")
        assert eventually(lambda: all(sessions(k2sim, "k2-a")[n]["suspend_reason_code"] == "link_down"
                                      for n in ("ora", "sql")))
    on_a = sessions(k2sim, "k2-a")
    assert [(on_a[n]["state"], on_a[n]["current_role"]) for n in ("ora", "sql")] == [("suspended", "source")] * 2
    k2sim.clear_journal()
    return k2sim


def test_a_pair_failed_over_with_its_source_down_is_reported_failed_over_and_never_resumed(
        failed_over_source_down, play, tmp_path):
    sim = failed_over_source_down
    # The drift report: failed over (declared in_sync, or with no replication_state), the failback as
    # the fix; never "drifted" with a resume to suggest.
    result, report, _text = drift_report(play, tmp_path, FAILED_OVER)
    assert result.rc == 0, result
    assert statuses(report) == {"ora": "failed_over", "sql": "failed_over", "web": "missing"}
    for name in ("ora", "sql"):
        found = next(p for p in report["pairs"] if p["name"] == name)
        assert "%s on k2-a reads source suspended (link_down)" % name in found["reason"]
        assert "failback" in found["fix"] and found["actions"] == []
    lines = result.task(REPORT + "Print the summary")["msg"]
    assert [line.split(":")[0] for line in lines[1:3]] == ["failed_over", "failed_over"]

    # topology.yml --check refuses before any write, naming each failed-over pair and the failback.
    result = play(TOPOLOGY, FAILED_OVER, check=True)
    assert result.rc != 0, result
    message = result.task(STOP)["msg"]
    assert message.startswith("2 of 3 pairs cannot be applied: ora (k2-a -> k2-b): failed_over: failed over to k2-b")
    assert "sql (k2-a -> k2-b): failed_over: failed over to k2-b" in message
    assert message.count("fix: run playbooks/failback.yml for this pair") == 2
    assert "Nothing was changed on any array" in message

    # A real apply refuses the same way, before any write: no PATCH in_sync to the old source, and
    # the pair that could be created (web) is not created either.
    result = play(TOPOLOGY, FAILED_OVER)
    assert result.rc != 0, result
    assert result.task(STOP)["msg"] == message
    assert writes(sim) == []
    assert not [t for t in result.tasks if t["task"].startswith(ROLE + "Converge the source halves")]
    assert [(sessions(sim, "k2-a")[n]["state"], sessions(sim, "k2-b")["remote_" + n]["state"])
            for n in ("ora", "sql")] == [("suspended", "failed_over")] * 2


# ---- prune during a failback ---------------------------------------------------------------------


def test_prune_during_a_failback_stopped_after_its_reverse_never_deletes_what_a_pair_names(k2sim, play, tmp_path):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod", replication_state="in_sync")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.transition("k2-b", "remote_ora", "failed_over")
        # An undeclared source session on k2-b whose name has the prefix: the one thing to prune.
        api.volume_group("k2-b", "vg_junk")
        api.session("k2-b", "remote_junk", "vg_junk", "k2-a")
    result = play(FAILBACK, declaration, k2_failback_pairs="ora", k2_failback_stop_after="reverse")
    assert result.rc == 0, result
    # The DR half now reads current_role source on k2-b, in_sync; its name has the prefix.
    remote = sessions(k2sim, "k2-b")["remote_ora"]
    assert (remote["current_role"], remote["state"]) == ("source", "in_sync")
    junk = session_path(k2sim, "k2-b", "remote_junk")
    k2sim.clear_journal()

    # Refused (the pair is mid-failback): nothing is written, nothing pruned.
    prune = {"replication_topology_prune": True, "replication_topology_prune_prefix": "remote_"}
    result = play(TOPOLOGY, declaration, **prune)
    assert result.rc != 0, result
    assert "ora (k2-a -> k2-b): reversed" in result.task(STOP)["msg"]
    assert writes(k2sim) == []

    # Opted in to apply the rest: the prune runs, and removes only the undeclared session.
    result = play(TOPOLOGY, declaration, replication_topology_allow_partial=True, **prune)
    assert result.rc != 0, result
    assert [(a, m, p) for a, m, p, _b in writes(k2sim)] == [("k2-b", "DELETE", junk)]
    assert "remote_ora" in sessions(k2sim, "k2-b") and "ora" in sessions(k2sim, "k2-a")
    lines = result.task(ROLE + "Show what was done")["msg"]
    assert "prune: remote_junk on k2-b: pruned" in lines
    assert not [line for line in lines if "remote_ora" in line and line.startswith("prune")]
    assert "refused: ora (k2-a -> k2-b): reversed" in result.task(FAIL)["msg"]


# ---- removing a pair ---------------------------------------------------------------------------


def test_a_pair_is_not_removed_with_its_target_array_down_nor_while_its_dr_half_is_failed_over(k2sim, play):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod", state="absent")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        k2sim.clear_journal()
        k2sim.down("k2-b")
        result = play(TOPOLOGY, declaration)
        assert result.rc != 0, result
        message = result.task(STOP)["msg"]
        assert message.startswith("1 of 1 pairs cannot be applied: ora (k2-a -> k2-b): blocked: array k2-b not read")
        assert writes(k2sim) == []  # k2-a was read, never written; k2-b was down
        k2sim.up("k2-b")
        assert sessions(k2sim, "k2-a")["ora"]["state"] == "in_sync"

        api.transition("k2-b", "remote_ora", "failed_over")
        k2sim.clear_journal()
        result = play(TOPOLOGY, declaration)
        assert result.rc != 0, result
        message = result.task(STOP)["msg"]
        assert "ora (k2-a -> k2-b): blocked: declared absent, but failed over to k2-b" in message
        assert "a pair failed over or reversed is never removed by a converge" in message
        assert "fail it back first (playbooks/failback.yml)" in message
        assert writes(k2sim) == []
    assert (sessions(k2sim, "k2-a")["ora"]["state"], sessions(k2sim, "k2-b")["remote_ora"]["state"]) == (
        "suspended", "failed_over")


def test_a_removal_whose_target_delete_fails_keeps_the_source_half_and_a_rerun_finishes_it(k2sim, play):
    declaration = {"pairs": [pair("sql", "vg_sql_prod", state="absent")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "sql", "vg_sql_prod", "k2-b", state="in_sync")
    source, target = session_path(k2sim, "k2-a", "sql"), session_path(k2sim, "k2-b", "remote_sql")
    k2sim.clear_journal()
    k2sim.fault("k2-b", "500", "DELETE", "/replication/sessions/*")
    result = play(TOPOLOGY, declaration)
    assert result.rc != 0, result
    message = result.task(FAIL)["msg"]
    assert message.startswith("1 pair(s) not as declared: failed: sql (k2-a -> k2-b): on k2-b, remove targets: "), message
    # Stopped on the source, the target's delete refused: both halves are still there (idle), and
    # the source half was never deleted.
    assert writes(k2sim) == [
        ("k2-a", "PATCH", source, {"state": "suspended"}), ("k2-a", "PATCH", source, {"state": "idle"}),
        ("k2-b", "DELETE", target, None)]
    assert (sessions(k2sim, "k2-a")["sql"]["state"], sessions(k2sim, "k2-b")["remote_sql"]["state"]) == (
        "idle", "idle")

    k2sim.clear_journal()
    result = play(TOPOLOGY, declaration)
    assert result.rc == 0, result
    journal = sorted((e["time"], e["seq"], array, e["method"], e["path"]) for array in ARRAYS
                     for e in k2sim.journal(array) if e["method"] in WRITES)
    assert [(array, method, path) for _t, _s, array, method, path in journal] == [
        ("k2-b", "DELETE", target), ("k2-a", "DELETE", source)]
    assert "sql" not in sessions(k2sim, "k2-a") and "remote_sql" not in sessions(k2sim, "k2-b")


# ---- pair names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("second", ["ora", "ORA"], ids=["same name", "differing in case"])
def test_two_pairs_with_one_name_are_refused_before_any_request(k2sim, play, second):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod"),
                             pair(second, "vg_reports_dr", source="k2-b", target="k2-a", target_session="ora-copy")]}
    expected = "k2_topology.pairs[1] (%s): the pair name %r is declared already by k2_topology.pairs[0] (ora)" % (
        second, second)
    for playbook, extra in ((TOPOLOGY, {}), (FAILOVER, {"k2_failover_pairs": "ora"})):
        result = play(playbook, declaration, **extra)
        assert result.rc != 0, result
        assert expected in result.stdout, result
        assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}


# ---- failback ------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["k2_failback_snapshot=false", "k2_failback_restored_snapshot=latest"])
def test_failback_refuses_the_options_that_could_restore_data_from_before_the_failover(k2sim, play, option):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod")]}
    result = play(FAILBACK, declaration, extra_args=("-e", option), k2_failback_pairs="ora")
    assert result.rc != 0, result
    assert "k2_failback_snapshot and k2_failback_restored_snapshot are no longer taken" in result.stdout, result
    assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}


def test_a_failback_stopped_after_sync_syncs_again_and_restores_only_a_snapshot_taken_after_the_reverse(
        k2sim, play):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod", replication_state="in_sync")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        k2sim.down("k2-a")
        api.transition("k2-b", "remote_ora", "failed_over")
        settle(k2sim)
        k2sim.up("k2-a")
    source, target = session_path(k2sim, "k2-a", "ora"), session_path(k2sim, "k2-b", "remote_ora")
    k2sim.clear_journal()
    result = play(FAILBACK, declaration, k2_failback_pairs="ora", k2_failback_stop_after="sync")
    assert result.rc == 0, result
    first = {array: k2sim.journal(array) for array in ARRAYS}
    assert [(m, p, b) for m, p, b in ((e["method"], e["path"], e["body"]) for e in first["k2-b"]) if m in WRITES] == [
        ("PATCH", target, {"state": "in_sync"}),
        ("POST", "/api/v2/snapshots", {"replication_session": {"ref": target.replace("/api/v2", "")}})]
    assert [e for e in first["k2-a"] if e["method"] in WRITES] == []
    reversed_at = next(e["time"] for e in first["k2-b"] if e["method"] == "PATCH")

    k2sim.clear_journal()
    result = play(FAILBACK, declaration, k2_failback_pairs="ora")
    assert result.rc == 0, result
    journal = sorted((e["time"], e["seq"], array, e["method"], e["path"], e["body"]) for array in ARRAYS
                     for e in k2sim.journal(array) if e["method"] in WRITES)
    steps = [(array, method, path, body) for _t, _s, array, method, path, body in journal]
    # The snapshot of the first run is not trusted: a new one, then the failover on k2-a, then back.
    assert [(a, m, p) for a, m, p, _b in steps] == [
        ("k2-b", "POST", "/api/v2/snapshots"), ("k2-a", "PATCH", source), ("k2-a", "PATCH", source)]
    assert steps[1][3]["state"] == "failed_over" and steps[2][3] == {"state": "in_sync"}
    synced_at = journal[0][0]
    restored = int(steps[1][3]["restored_snapshot"]["ref"].rsplit("/", 1)[1])
    snapshot = {s["id"]: s for s in k2sim.dump("k2-a")["objects"]["snapshots"]}[restored]
    # What k2-a restores came from k2-b (replicated), and from the snapshot this run took after the
    # reverse, on the session of the pair.
    assert snapshot["is_originating_from_peer"] is True
    assert snapshot["replication_session"]["ref"] == source.replace("/api/v2", "")
    assert snapshot["creation_time"] >= int(synced_at) >= int(reversed_at)
    a, b = sessions(k2sim, "k2-a")["ora"], sessions(k2sim, "k2-b")["remote_ora"]
    assert (a["current_role"], a["state"], b["current_role"], b["state"]) == ("source", "in_sync", "target", "in_sync")


# ---- --limit -------------------------------------------------------------------------------------


def test_a_limit_that_leaves_out_an_array_a_playbook_needs_fails_before_any_write(k2sim, play):
    declaration = {"pairs": [pair("ora", "vg_oracle_prod", replication_state="in_sync"),
                             pair("web", "vg_web_prod", replication_state="in_sync")]}
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.transition("k2-b", "remote_ora", "failed_over")
    k2sim.clear_journal()
    # Fail over every pair of k2-a, limited to k2-a: its DR array is left out.
    result = play(FAILOVER, declaration, extra_args=("--limit", "k2-a"), k2_failover_source="k2-a")
    assert result.rc != 0, result
    assert ("k2-b not in this run (--limit or a job slice left it out), but the selected pairs need it: "
            "k2-b for ora, web; nothing was changed") in result.stdout, result
    assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}
    # Fail back ora with one array limited out, either one.
    for limited, missing in (("k2-b", "k2-a"), ("k2-a", "k2-b")):
        result = play(FAILBACK, declaration, extra_args=("--limit", limited), k2_failback_pairs="ora")
        assert result.rc != 0, result
        assert "%s not in this run (--limit or a job slice left it out)" % missing in result.stdout, result
        assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}
    # Apply the topology limited to k2-b: web would be created on k2-a, which is not in the run.
    result = play(TOPOLOGY, declaration, extra_args=("--limit", "k2-b"))
    assert result.rc != 0, result
    message = result.task(STOP)["msg"]
    assert "web (k2-a -> k2-b): blocked: array k2-a not read: not in this run (the play was limited" in message
    assert writes(k2sim) == []


# ---- a pair the arrays cannot take ---------------------------------------------------------------

UNKNOWN_GROUP = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
    {"name": "web", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod"},
    {"name": "bad", "source": "k2-a", "target": "k2-b", "volume_group": "vg_nope"},
    {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_reports_dr"},
]}


def test_a_pair_naming_a_volume_group_that_does_not_exist_stops_the_run_before_any_write(k2sim, play):
    result = play(TOPOLOGY, UNKNOWN_GROUP)
    assert result.rc != 0, result
    message = result.task(STOP)["msg"]
    assert message.startswith("1 of 3 pairs cannot be applied: bad (k2-a -> k2-b): blocked: a converge would be "
                              "refused: local_volume_group: no volume_groups object is named 'vg_nope'"), message
    assert writes(k2sim) == []
    # Nothing was applied, so nothing was waited for.
    assert not [t for t in result.tasks if t["task"].startswith(ROLE + "Wait until")]


def test_allow_partial_applies_the_other_pairs_and_still_fails_naming_the_refused_one(k2sim, play):
    result = play(TOPOLOGY, UNKNOWN_GROUP, replication_topology_allow_partial=True)
    assert result.rc != 0, result
    on_a, on_b = sessions(k2sim, "k2-a"), sessions(k2sim, "k2-b")
    assert (on_a["web"]["state"], on_b["remote_web"]["state"]) == ("in_sync", "in_sync")
    assert (on_b["rep"]["state"], on_a["remote_rep"]["state"]) == ("in_sync", "in_sync")
    assert "bad" not in on_a and "remote_bad" not in on_b
    created = [(a, b["name"]) for a, m, _p, b in writes(k2sim) if m == "POST"]
    assert created == [("k2-a", "web"), ("k2-b", "rep")]
    lines = result.task(ROLE + "Show what was done")["msg"]
    assert lines[0] == "topology: 3 pairs, 2 changed, 0 failed, 1 refused (applying the others was allowed)"
    assert result.task(FAIL)["msg"].startswith("1 pair(s) not as declared: refused: bad (k2-a -> k2-b): blocked")
    stats = result.task(ROLE + "Publish the summary")["ansible_stats"]["data"]["replication_topology"]
    assert stats["failed_pairs"] == ["bad"]
    # The waits covered only what this run changed: after the first write, no read named remote_bad.
    first_write = min(e["time"] for a in ARRAYS for e in k2sim.journal(a) if e["method"] in WRITES)
    later = [e for a in ARRAYS for e in k2sim.journal(a) if e["time"] >= first_write and e["method"] == "GET"]
    assert later and not [e for e in later if "bad" in json.dumps(e["query"])]


# ---- a missing half ------------------------------------------------------------------------------

MISSING_HALVES = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
    {"name": "mm", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
    {"name": "sm", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod"},
]}


def test_a_missing_half_is_its_own_status_refused_with_the_recovery_which_works(k2sim, play, tmp_path):
    with Scene(k2sim) as api:
        for name, array, half in (("mm", "k2-b", "remote_mm"), ("sm", "k2-a", "sm")):
            api.session("k2-a", name, "vg_oracle_prod" if name == "mm" else "vg_sql_prod", "k2-b", state="in_sync")
            api.transition("k2-a", name, "suspended")
            api.transition("k2-a", name, "idle")
            api.delete(array, half)  # the target half (mm) or the source half (sm) deleted by hand
    k2sim.clear_journal()
    result, report, text = drift_report(play, tmp_path, MISSING_HALVES)
    assert result.rc == 0, result
    assert statuses(report) == {"mm": "mirror_missing", "sm": "source_missing"}
    lines = result.task(REPORT + "Print the summary")["msg"]
    assert lines[1].startswith("mirror_missing: mm (k2-a -> k2-b): the target half remote_mm on k2-b is gone")
    assert lines[2].startswith("source_missing: sm (k2-a -> k2-b): the source half sm on k2-a is gone")
    assert "| mm | k2\\-a \\-&gt; k2\\-b | mirror\\_missing |" in text
    assert "| sm | k2\\-a \\-&gt; k2\\-b | source\\_missing |" in text
    stats = result.task(REPORT + "Publish the summary")["ansible_stats"]["data"]["drift_report_summary"]
    assert (stats["mirror_missing"], stats["source_missing"], stats["drift"]) == (1, 1, True)

    # A converge refuses both before any write, saying how to recover.
    result = play(TOPOLOGY, MISSING_HALVES)
    assert result.rc != 0, result
    message = result.task(STOP)["msg"]
    assert "mm (k2-a -> k2-b): mirror_missing: " in message and "sm (k2-a -> k2-b): source_missing: " in message
    assert ("fix: declare the pair state: absent and apply (it stops and deletes mm on k2-a), then declare it present "
            "again to re-create both halves") in message
    assert "fix: delete remote_sm on k2-b" in message and "or declare the pair state: absent and apply" in message
    assert writes(k2sim) == []

    # The recovery the message names: declared absent, each remaining half is deleted.
    left = (session_path(k2sim, "k2-a", "mm"), session_path(k2sim, "k2-b", "remote_sm"))
    absent = {"pairs": [dict(p, state="absent") for p in MISSING_HALVES["pairs"]]}
    result = play(TOPOLOGY, absent)
    assert result.rc == 0, result
    assert sorted((a, m, p) for a, m, p, _b in writes(k2sim)) == [
        ("k2-a", "DELETE", left[0]), ("k2-b", "DELETE", left[1])]
    assert sessions(k2sim, "k2-a") == {} and sessions(k2sim, "k2-b") == {}


# ---- role input ----------------------------------------------------------------------------------


def test_role_input_errors_name_the_pair_and_role_variables_convert_from_the_command_line(k2sim, play):
    typo = {"pairs": [pair("ora", "vg_oracle_prod"), {"name": "sql", "source": "k2-a", "target": "k2-b",
                                                      "volume_gruop": "vg_sql_prod", "rpo": 300}]}
    result = play(TOPOLOGY, typo)
    assert result.rc != 0, result
    assert "k2_topology.pairs[1] (sql): unknown option(s) volume_gruop; valid options: " in result.stdout, result
    assert "argument_spec" not in result.stdout and "argument_errors" not in result.stdout
    assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}

    result = play(TOPOLOGY, {"pairs": [pair("ora", "vg_oracle_prod")]},
                  extra_args=("-e", "replication_topology_prune=true"))
    assert result.rc != 0, result
    assert "replication_topology_prune needs replication_topology_prune_prefix" in result.stdout, result
    assert re.findall(r"(?<!replication_topology_)prune_prefix", result.stdout) == []  # no module option
    assert requests_to(k2sim) == {"k2-a": 0, "k2-b": 0}

    # Strings from -e key=value are converted as the role's argument spec says.
    result = play(TOPOLOGY, {"pairs": [pair("ora", "vg_oracle_prod", replication_state="in_sync")]},
                  extra_args=("-e", "replication_topology_mirror_timeout=30", "-e", "replication_topology_prune=false",
                              "-e", "replication_topology_allow_partial=no"))
    assert result.rc == 0, result
    assert (sessions(k2sim, "k2-a")["ora"]["state"], sessions(k2sim, "k2-b")["remote_ora"]["state"]) == (
        "in_sync", "in_sync")
    options = result.task(ROLE + "Check the options (strings from -e converted)")["ansible_facts"][
        "replication_topology_options"]
    assert (options["follow_timeout"], options["prune"], options["allow_partial"]) == (30, False, False)
    # A wait that succeeded printed no error on its way.
    assert "[ERROR]" not in result.stdout + result.stderr and "Unknown error" not in result.stdout


def test_the_failing_run_lists_exactly_the_pairs_that_failed(k2sim, play):
    declaration = {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
        {"name": "p1", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
        {"name": "p2", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod"},
        {"name": "p3", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod"}]}
    k2sim.fault("k2-a", "500", "POST", "/replication/sessions")  # the first create: p1
    result = play(TOPOLOGY, declaration)
    assert result.rc != 0, result
    lines = result.task(ROLE + "Show what was done")["msg"]
    assert lines[0] == "topology: 3 pairs, 2 changed, 1 failed, 0 refused"
    assert [line.split(" (")[0] for line in lines[1:]] == ["failed: p1", "changed: p2", "changed: p3"]
    message = result.task(FAIL)["msg"]
    assert message.startswith("1 pair(s) not as declared: failed: p1 (k2-a -> k2-b): on k2-a, converge: ")
    assert "HTTP 500" in message and "p2" not in message and "p3" not in message
    stats = result.task(ROLE + "Publish the summary")["ansible_stats"]["data"]["replication_topology"]
    assert (stats["done"], stats["failed"], stats["failed_pairs"]) == (2, 1, ["p1"])
    # p1's target half was never waited for: its create failed.
    assert "remote_p1" not in sessions(k2sim, "k2-b")
