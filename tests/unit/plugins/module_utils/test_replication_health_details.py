# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery-point health at the edges the status tests beside it do not reach: empty strings as the
API may send them, a clock exactly at or just around the recovery point and the round start, the
default progress interval exactly, a round whose end is null, fractions of a second, statuses
counted that are not the session's own, and the reads of read_health (ids in numeric order, items
without an id or a session left out)."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils import replication_health as rh
from ansible_collections.kaminario.k2.plugins.module_utils import session_health
from ansible_collections.kaminario.k2.tests.unit.plugins.module_utils.test_replication_health import (
    NOW,
    in_flight,
    running,
    session,
    snap,
)


def test_an_empty_reason_code_is_no_reason_code():
    result = rh.assess(session(state="suspended", suspend_reason_code=""), snap(10), None, NOW)
    assert result["reason"] == "Not replicating: the session is suspended (no reason code given)."


def test_an_empty_current_snapshot_is_no_transfer_and_keeps_no_observation():
    result = rh.assess(session(current_snapshot="", current_snapshot_progress=40), snap(10), None, NOW)
    assert (result["transfer"]["in_progress"], result["transfer"]["snapshot"]) == (False, None)
    assert rh.observation(session(current_snapshot="", current_snapshot_progress=40), NOW) is None


def test_a_round_that_starts_now_or_by_a_clock_behind_it_is_zero_seconds_old():
    assert rh.assess(in_flight(), snap(10), running(0), NOW)["transfer"]["round_age"] == 0
    assert rh.assess(in_flight(), snap(10), running(-5), NOW)["transfer"]["round_age"] == 0
    assert rh.assess(in_flight(), snap(10), running(0.25), NOW)["transfer"]["round_age"] == 0.25


def test_a_round_whose_end_is_null_is_still_running():
    result = rh.assess(in_flight(), snap(10), running(30, round_end=None), NOW)
    assert (result["transfer"]["round_start"], result["transfer"]["round_age"]) == (NOW - 30, 30)


def test_a_transfer_unmoved_for_exactly_the_default_interval_is_stalled():
    previous = {"time": NOW - rh.PROGRESS_INTERVAL, "current_snapshot_progress": 40}
    assert rh.PROGRESS_INTERVAL == 60
    assert rh.assess(in_flight(progress=40), snap(100), running(60), NOW, previous=previous)["status"] == "stalled"


def test_an_earlier_observation_with_an_empty_snapshot_name_still_counts():
    previous = {"time": NOW - 90, "current_snapshot_progress": 40, "current_snapshot": ""}
    assert rh.assess(in_flight(progress=40), snap(100), running(90), NOW, previous=previous)["status"] == "stalled"


def test_an_rpo_of_one_second_is_judged():
    result = rh.assess(session(rpo=1), snap(1), None, NOW)
    assert (result["status"], result["rpo"], result["thresholds"]["late_after"]) == ("ok", 1, 1.25)


def test_only_a_recovery_point_ahead_of_the_clock_is_taken_as_zero_and_noted():
    for age, shown, notes in ((0, 0, []), (0.5, 0.5, []), (-0.5, 0, ["the array's clock is 0.5 s behind the recovery "
                                                                     "point: age taken as 0"])):
        result = rh.assess(session(), snap(age), None, NOW)
        assert (result["age"], result["notes"]) == (shown, notes), age


def test_fractions_of_a_second_are_shown_to_the_millisecond():
    result = rh.assess(session(), snap(100.123456), None, NOW)
    assert result["age"] == 100.123
    assert result["reason"] == "OK: the recovery point is 100.123 s old, within 1.25 x rpo (375 s)."


def test_a_status_that_is_not_a_session_s_own_is_counted_from_one():
    counts = rh.count_by_status([{"status": "unknown"}, {"status": "ok"}, {"status": "unknown"}])
    assert counts == {"ok": 1, "late": 0, "critical": 0, "stalled": 0, "not_replicating": 0, "unknown": 2}


def test_a_projection_for_health_keeps_every_field_assess_reads_and_the_name_the_verdict_is_told_by():
    assert set(session_health.HEALTH_SESSION_FIELDS) == {
        "id", "name", "state", "current_role", "primary", "rpo", "suspend_reason_code", "latest_replicated_snapshot",
        "current_snapshot", "current_snapshot_progress", "estimated_remaining_time"}


class Api:
    """Answers read_health's reads from {path: items}; records (path, params)."""

    def __init__(self, answers, last_date=NOW):
        self.answers, self.last_date, self.reads = answers, last_date, []

    def iterate(self, path, params=None):
        self.reads.append((path, dict(params or {})))
        return iter(self.answers.get(path, []))


def test_snapshot_ids_are_asked_in_numeric_order():
    sessions = [session(id=1, latest_replicated_snapshot={"ref": "/snapshots/10"}),
                session(id=2, latest_replicated_snapshot={"ref": "/snapshots/9"})]
    ((path, params),) = session_health.snapshot_lookups(sessions)
    assert (path, params["id__in"]) == ("/snapshots", "9,10")


def test_items_without_an_id_or_a_session_are_left_out_and_the_others_still_count():
    api = Api({"/snapshots": [{"creation_time": NOW - 5}, snap(100)],
               "/replication/rpo_history": [{"round_start": NOW - 999}, running(30), running(20)]})
    (health,) = session_health.read_health(api, [in_flight()])
    assert (health["age"], health["transfer"]["round_start"]) == (100, NOW - 20)  # the latest started round
    assert [path for path, _params in api.reads] == ["/snapshots", "/replication/rpo_history"]
