# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/failback.yml through real ansible-playbook runs against the simulator, after a failover
with the source array down (playbooks/failover.yml) on the example topology: it ends in the original
direction, in_sync on both sides; it resumes after a stop or a failure at any step; it leaves the
pairs it was not given alone; and a pair already back is a no-op."""

import pytest
from harness.dr import FAILBACK, FAILOVER, converge_example, run_dr, sessions_on, snapshot_all, writes_to

SESSIONS = "/api/v2/replication/sessions/"
FAST = {"k2_failback_wait_timeout": 60}  # seconds per wait; the waits poll on their own


@pytest.fixture
def failed_over(k2sim, tmp_path):
    """The example topology converged, snapshots replicated, both k2-a -> k2-b pairs failed over on
    k2-b while k2-a was down; k2-a back up; journals cleared."""
    converge_example(k2sim, str(tmp_path / "converge"))
    snapshot_all(k2sim)
    k2sim.down("k2-a")
    result = run_dr(k2sim, FAILOVER, str(tmp_path / "failover"), {"k2_failover_source": "k2-a"})
    assert result.rc == 0, result
    k2sim.up("k2-a")
    k2sim.clear_journal()
    return k2sim


def failback(sim, tmp_path, run="failback", check=False, **extra_vars):
    return run_dr(sim, FAILBACK, str(tmp_path / run), dict(FAST, **extra_vars), check=check)


def published(result):
    return result.task("Publish the summary")["ansible_stats"]["data"]["k2_failback"]


def sides(sim, pair):
    """((role, state) of the source side on k2-a, (role, state) of the target side on k2-b)."""
    a, b = sessions_on(sim, "k2-a")[pair], sessions_on(sim, "k2-b")["remote_" + pair]
    return (a["current_role"], a["state"]), (b["current_role"], b["state"])


def writes_by_session(sim, array):
    """[(session name or path, method, body)] of the writes to `array`, in order."""
    names = {SESSIONS + str(s["id"]): n for n, s in sessions_on(sim, array).items()}
    return [(names.get(path, path), method, body) for method, path, body in writes_to(sim, array)]


ORIGINAL = (("source", "in_sync"), ("target", "in_sync"))


def test_failback_ends_in_the_original_direction_in_sync_and_a_rerun_is_a_noop(failed_over, tmp_path):
    sim = failed_over
    result = failback(sim, tmp_path, k2_failback_source="k2-a")
    assert result.rc == 0, result
    assert sides(sim, "oracle_prod") == sides(sim, "sql_prod") == ORIGINAL
    # The sequence, per pair: reverse on k2-b, a replication snapshot there, fail over k2-a restoring
    # the snapshot that came from k2-b, reverse on k2-a.
    on_b = writes_by_session(sim, "k2-b")
    assert [(n, m, b) for n, m, b in on_b if m == "PATCH"] == [
        ("remote_oracle_prod", "PATCH", {"state": "in_sync"}), ("remote_sql_prod", "PATCH", {"state": "in_sync"})]
    snapshots = [b for n, m, b in on_b if m == "POST"]
    ids = {n: s["id"] for n, s in sessions_on(sim, "k2-b").items()}
    assert snapshots == [{"replication_session": {"ref": "/replication/sessions/%d" % ids[n]}}
                         for n in ("remote_oracle_prod", "remote_sql_prod")]
    on_a = writes_by_session(sim, "k2-a")
    assert [(n, b["state"]) for n, _m, b in on_a] == [
        ("oracle_prod", "failed_over"), ("sql_prod", "failed_over"), ("oracle_prod", "in_sync"), ("sql_prod", "in_sync")]
    snaps_a = {s["id"]: s for s in sim.dump("k2-a")["objects"]["snapshots"]}
    for name, _m, body in on_a[:2]:
        restored = int(body["restored_snapshot"]["ref"].rsplit("/", 1)[1])
        assert snaps_a[restored]["is_originating_from_peer"] is True  # replicated from k2-b ...
        assert snaps_a[restored]["replication_session"]["ref"] == "/replication/sessions/%d" % \
            sessions_on(sim, "k2-a")[name]["id"]
        assert snaps_a[restored]["creation_time"] >= sim.journal("k2-b")[0]["time"] - 1  # ... by this failback
    # The other direction (k2-b -> k2-a) was not touched.
    assert not [w for w in on_a + on_b if w[0] in ("reports_dr", "reports_dr_copy")]
    summary = published(result)
    assert summary["completed"] == 2 and summary["phases"] == {"done": 2} and summary["unfinished"] == []
    assert [(p["pair"], p["started"], p["phase"]) for p in summary["pairs"]] == [
        ("oracle_prod", "failed_over", "done"), ("sql_prod", "failed_over", "done")]
    assert "oracle_prod (k2-a -> k2-b): done (was failed_over)" in result.stdout

    sim.clear_journal()
    result = failback(sim, tmp_path, "again", k2_failback_source="k2-a")
    assert result.rc == 0, result
    assert writes_to(sim, "k2-a") == [] and writes_to(sim, "k2-b") == []
    assert published(result)["completed"] == 0 and published(result)["phases"] == {"done": 2}


def test_stopped_after_the_first_reverse_a_rerun_completes(failed_over, tmp_path):
    sim = failed_over
    result = failback(sim, tmp_path, k2_failback_pairs=["oracle_prod", "sql_prod"], k2_failback_stop_after="reverse")
    assert result.rc == 0, result
    reversed_sides = (("target", "in_sync"), ("source", "in_sync"))
    assert sides(sim, "oracle_prod") == sides(sim, "sql_prod") == reversed_sides
    assert writes_to(sim, "k2-a") == []
    summary = published(result)
    assert summary["stopped_after"] == "reverse" and summary["phases"] == {"reversed": 2}
    assert summary["unfinished"] == ["oracle_prod", "sql_prod"]

    sim.clear_journal()
    result = failback(sim, tmp_path, "rest", k2_failback_pairs="oracle_prod,sql_prod")
    assert result.rc == 0, result
    assert sides(sim, "oracle_prod") == sides(sim, "sql_prod") == ORIGINAL
    # Continued from where it stopped: no second reverse on k2-b.
    assert [m for _n, m, _b in writes_by_session(sim, "k2-b")] == ["POST", "POST"]
    assert [(p["started"], p["phase"]) for p in published(result)["pairs"]] == [("reversed", "done")] * 2


def test_a_step_that_fails_stops_the_run_and_a_rerun_completes(failed_over, tmp_path):
    sim = failed_over
    # The first failover on k2-a fails (500): one pair is failed back over, the other is not.
    sim.fault("k2-a", "500", "PATCH", "/replication/sessions*", count=1)
    result = failback(sim, tmp_path, k2_failback_source="k2-a")
    assert result.rc != 0, result
    assert result.status("On this array, do step failover") == "failed"
    phases = sorted([sides(sim, "oracle_prod")[0], sides(sim, "sql_prod")[0]])
    assert phases == [("target", "failed_over"), ("target", "in_sync")]
    assert not [t for t in result.tasks if t["task"] == "On this array, do step restore"]

    sim.clear_journal()
    result = failback(sim, tmp_path, "rerun", k2_failback_source="k2-a")
    assert result.rc == 0, result
    assert sides(sim, "oracle_prod") == sides(sim, "sql_prod") == ORIGINAL
    assert sorted(p["started"] for p in published(result)["pairs"]) == ["failed_back", "reversed"]
    # Each pair got only the steps it still needed: one failover on k2-a, two reverses.
    assert sorted(b["state"] for _n, _m, b in writes_by_session(sim, "k2-a")) == ["failed_over", "in_sync", "in_sync"]


def test_pairs_not_selected_are_left_alone(failed_over, tmp_path):
    sim = failed_over
    result = failback(sim, tmp_path, k2_failback_pairs=["oracle_prod"])
    assert result.rc == 0, result
    assert sides(sim, "oracle_prod") == ORIGINAL
    assert sides(sim, "sql_prod") == (("source", "suspended"), ("target", "failed_over"))
    touched = {n for n, _m, _b in writes_by_session(sim, "k2-a") + writes_by_session(sim, "k2-b")}
    ids = {"/replication/sessions/%d" % sessions_on(sim, "k2-b")["remote_oracle_prod"]["id"]}
    assert touched == {"oracle_prod", "remote_oracle_prod", "/api/v2/snapshots"}, touched
    posted = [b["replication_session"]["ref"] for n, m, b in writes_by_session(sim, "k2-b") if m == "POST"]
    assert set(posted) == ids
    assert [p["pair"] for p in published(result)["pairs"]] == ["oracle_prod"]


def test_a_pair_in_its_original_direction_is_a_noop(k2sim, tmp_path):
    converge_example(k2sim, str(tmp_path / "converge"))
    k2sim.clear_journal()
    result = failback(k2sim, tmp_path, k2_failback_source="k2-b")
    assert result.rc == 0, result
    assert writes_to(k2sim, "k2-a") == [] and writes_to(k2sim, "k2-b") == []
    summary = published(result)
    assert summary["phases"] == {"done": 1} and summary["completed"] == 0
    assert [(p["pair"], p["source"], p["target"]) for p in summary["pairs"]] == [("reports_dr", "k2-b", "k2-a")]


def test_check_mode_shows_the_phase_and_next_step_and_writes_nothing(failed_over, tmp_path):
    sim = failed_over
    result = failback(sim, tmp_path, check=True, k2_failback_source="k2-a")
    assert result.rc == 0, result
    assert writes_to(sim, "k2-a") == [] and writes_to(sim, "k2-b") == []
    summary = published(result)
    assert summary["phases"] == {"failed_over": 2}
    assert summary["pairs"][0]["next"].startswith("reverse on the target array")


def test_with_the_source_down_nothing_is_written_to_the_dr_array(failed_over, tmp_path):
    sim = failed_over
    sim.down("k2-a")
    result = failback(sim, tmp_path, k2_failback_source="k2-a")
    assert result.rc != 0, result
    assert writes_to(sim, "k2-b") == []
    assert result.status("Read the sessions of the selected pairs") == "failed"
