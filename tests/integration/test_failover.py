# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/failover.yml through real ansible-playbook runs against the simulator, on the example
topology (examples/simulator/topology.yml) converged first: only the DR arrays of the selected pairs
are asked anything, the source may be down, a re-run is a no-op, and the summary says what happened."""

import json
import os
import subprocess
import sys

import pytest
from harness.dr import (
    EXAMPLE_INVENTORY,
    FAILOVER,
    converge_example,
    example_topology,
    pairs_of,
    run_dr,
    sessions_on,
    snapshot_all,
    writes_to,
)
from harness.simulator import eventually

SESSIONS = "/api/v2/replication/sessions/"


@pytest.fixture
def example(k2sim, tmp_path):
    """The example topology converged and a replication snapshot of every pair replicated; journals cleared."""
    converge_example(k2sim, str(tmp_path / "converge"))
    snapshot_all(k2sim)
    k2sim.clear_journal()
    return k2sim


def failover(sim, tmp_path, run="failover", **extra_vars):
    return run_dr(sim, FAILOVER, str(tmp_path / run), extra_vars)


def published(result):
    return result.task("Publish the summary")["ansible_stats"]["data"]["k2_failover"]


def by_pair(summary):
    return {p["pair"]: p for p in summary["pairs"]}


def test_named_pairs_fail_over_with_the_source_down_and_a_rerun_is_a_noop(example, tmp_path):
    example.down("k2-a")
    # Read once the source is down: no replication round can reach k2-b any more.
    before = sessions_on(example, "k2-b")
    result = failover(example, tmp_path, k2_failover_pairs=["oracle_prod"])
    assert result.rc == 0, result
    after = sessions_on(example, "k2-b")
    remote = after["remote_oracle_prod"]
    assert (remote["state"], remote["current_role"]) == ("failed_over", "target")
    latest = before["remote_oracle_prod"]["latest_replicated_snapshot"]
    assert latest and remote["restored_snapshot"] == latest
    # One write, to the selected pair's target side; the other pair and the other direction untouched.
    assert writes_to(example, "k2-b") == [
        ("PATCH", SESSIONS + str(remote["id"]), {"state": "failed_over", "restored_snapshot": latest})]
    assert after["remote_sql_prod"]["state"] == "in_sync" and after["reports_dr"]["state"] == "in_sync"
    # Only the DR array ran the failover play.
    assert {t["host"] for t in result.tasks if t["action"].startswith("kaminario.")} == {"k2-b"}
    summary = published(result)
    assert (summary["failed_over"], summary["already_failed_over"], summary["failed"]) == (1, 0, 0)
    # The snapshot restored, by name (the read resolves names).
    name = next(s["name"] for s in example.dump("k2-b")["objects"]["snapshots"]
                if "/snapshots/%d" % s["id"] == latest["ref"])
    assert by_pair(summary)["oracle_prod"] == {
        "pair": "oracle_prod", "source": "k2-a", "array": "k2-b", "session": "remote_oracle_prod",
        "status": "failed_over", "state": "failed_over", "restored_snapshot": name, "msg": ""}
    assert "oracle_prod: remote_oracle_prod on k2-b failed_over" in result.stdout

    example.clear_journal()
    result = failover(example, tmp_path, "again", k2_failover_pairs="oracle_prod")  # a survey's text answer
    assert result.rc == 0, result
    assert writes_to(example, "k2-b") == []
    assert by_pair(published(result))["oracle_prod"]["status"] == "already_failed_over"


def test_every_pair_from_a_source_fails_over_and_nothing_is_sent_to_the_source(example, tmp_path):
    # The source is up here, so that a request to it would show in its journal: there is none.
    result = failover(example, tmp_path, k2_failover_source="k2-a")
    assert result.rc == 0, result
    assert example.journal("k2-a") == []
    on_b = sessions_on(example, "k2-b")
    assert on_b["remote_oracle_prod"]["state"] == on_b["remote_sql_prod"]["state"] == "failed_over"
    patched = sorted(p for m, p, _b in writes_to(example, "k2-b"))
    assert patched == sorted(SESSIONS + str(on_b[n]["id"]) for n in ("remote_oracle_prod", "remote_sql_prod"))
    summary = published(result)
    assert summary["failed_over"] == 2 and sorted(by_pair(summary)) == ["oracle_prod", "sql_prod"]


def test_the_other_direction_fails_over_on_k2_a_without_a_restored_snapshot(example, tmp_path):
    example.down("k2-b")
    result = failover(example, tmp_path, k2_failover_source="k2-b", k2_failover_restored_snapshot="none")
    assert result.rc == 0, result
    copy = sessions_on(example, "k2-a")["reports_dr_copy"]
    assert copy["state"] == "failed_over" and copy["restored_snapshot"] is None
    assert writes_to(example, "k2-a") == [("PATCH", SESSIONS + str(copy["id"]), {"state": "failed_over"})]
    assert by_pair(published(result))["reports_dr"]["array"] == "k2-a"


def test_check_mode_writes_nothing_and_says_what_would_fail_over(example, tmp_path):
    result = run_dr(example, FAILOVER, str(tmp_path / "check"), {"k2_failover_source": "k2-a"}, check=True)
    assert result.rc == 0, result
    assert writes_to(example, "k2-b") == [] and example.journal("k2-a") == []
    summary = published(result)
    assert summary["would_fail_over"] == 2 and summary["failed_over"] == 0


@pytest.mark.parametrize("extra_vars, message", [
    ({}, "give exactly one of k2_failover_pairs (a list of pair names) and k2_failover_source (an array name)"),
    ({"k2_failover_pairs": ["oracle_prod"], "k2_failover_source": "k2-a"}, "not both"),
    ({"k2_failover_pairs": ["oracle"]}, "k2_failover_pairs: unknown pair(s) oracle; the topology declares "
                                        "oracle_prod, reports_dr, sql_prod"),
    ({"k2_failover_source": "k2-c"}, "k2_failover_source: 'k2-c' is not an array of the inventory"),
])
def test_a_bad_selection_fails_before_any_request(k2sim, tmp_path, extra_vars, message):
    result = failover(k2sim, tmp_path, **extra_vars)
    assert result.rc != 0 and message in result.stdout, result
    assert k2sim.journal("k2-a") == [] and k2sim.journal("k2-b") == []


def test_right_after_the_topology_is_applied_the_first_replicated_snapshot_can_be_restored(k2sim, tmp_path):
    # No snapshot taken by hand: the simulator replicates each pair as it enters in_sync.
    converge_example(k2sim, str(tmp_path / "converge"))
    assert eventually(lambda: all(sessions_on(k2sim, "k2-b")[n]["latest_replicated_snapshot"]
                                  for n in ("remote_oracle_prod", "remote_sql_prod")))
    before = sessions_on(k2sim, "k2-b")
    k2sim.down("k2-a")
    result = failover(k2sim, tmp_path, k2_failover_source="k2-a")
    assert result.rc == 0, result
    after = sessions_on(k2sim, "k2-b")
    snapshots = {s["id"]: s for s in k2sim.dump("k2-b")["objects"]["snapshots"]}
    for name in ("remote_oracle_prod", "remote_sql_prod"):
        latest = before[name]["latest_replicated_snapshot"]
        assert after[name]["state"] == "failed_over" and after[name]["restored_snapshot"] == latest
        restored = snapshots[int(latest["ref"].rsplit("/", 1)[1])]
        assert (restored["triggered_by"], restored["is_originating_from_peer"]) == ("Replication", True)


def test_a_pair_that_cannot_fail_over_is_reported_and_fails_the_play(k2sim, tmp_path):
    # No replication snapshot yet: restored_snapshot=latest has nothing to restore. The replication
    # link is cut before the pairs start, so their first rounds never reach k2-b. Refused before any
    # write, saying what to do.
    k2sim.cut_link("k2-a", "k2-b")
    converge_example(k2sim, str(tmp_path / "converge"))
    k2sim.clear_journal()
    k2sim.down("k2-a")
    result = failover(k2sim, tmp_path, k2_failover_source="k2-a")
    assert result.rc != 0, result
    assert writes_to(k2sim, "k2-b") == []
    summary = published(result)
    assert (summary["refused"], summary["failed"], summary["failed_over"]) == (2, 0, 0)
    assert summary["failed_pairs"] == ["oracle_prod", "sql_prod"]
    record = by_pair(summary)["oracle_prod"]
    assert record["status"] == "refused"
    assert record["msg"].startswith("no snapshot has replicated to k2-b yet (the first replication round has not "
                                    "completed), so there is no latest one to restore: wait for it and run again, "
                                    "or fail over with k2_failover_restored_snapshot=none"), record
    assert result.status("Fail when a selected pair did not fail over") == "failed"
    assert "2 pair(s) not failed over: oracle_prod: remote_oracle_prod on k2-b refused" in \
        result.task("Fail when a selected pair did not fail over")["msg"]


def test_the_example_inventory_and_topology_describe_both_directions(k2sim, tmp_path):
    listed = json.loads(subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", EXAMPLE_INVENTORY, "--list"],
        check=True, capture_output=True, text=True).stdout)
    assert listed["k2_arrays"]["hosts"] == ["k2-a", "k2-b"]
    assert {h: v["k2_host"] for h, v in listed["_meta"]["hostvars"].items()} == {
        "k2-a": "127.0.0.1:18443", "k2-b": "127.0.0.1:18444"}
    converge_example(k2sim, str(tmp_path / "converge"))
    for pair, (source, name, target, remote) in pairs_of(example_topology()).items():
        a, b = sessions_on(k2sim, source)[name], sessions_on(k2sim, target)[remote]
        assert (a["current_role"], a["state"], b["current_role"], b["state"]) == \
            ("source", "in_sync", "target", "in_sync"), pair
    assert sorted(p[0] + ">" + p[2] for p in pairs_of(example_topology()).values()) == \
        ["k2-a>k2-b", "k2-a>k2-b", "k2-b>k2-a"]
