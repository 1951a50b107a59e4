# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery-point health: every status at its boundaries, the inputs as the API spells them, and
properties (monotone in age, ordering consistent with the ratio)."""

from __future__ import annotations

import os
import tempfile

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2OptionError
from ansible_collections.kaminario.k2.plugins.module_utils.replication_health import (
    SEVERITY,
    STATUSES,
    HealthError,
    assess,
    check_thresholds,
    count_by_status,
    number,
    observation,
    worst_first,
)

NOW = 1_800_000_000
RPO = 300


def session(**over):
    data = {
        "id": 7, "name": "s1", "state": "in_sync", "current_role": "source", "primary": True, "rpo": RPO,
        "suspend_reason_code": "none", "latest_replicated_snapshot": {"ref": "/snapshots/40"},
        "current_snapshot": None, "current_snapshot_progress": 100, "estimated_remaining_time": None,
    }
    data.update(over)
    return data


def snap(age, **over):
    data = {"id": 40, "creation_time": NOW - age, "generation_number": 9}
    data.update(over)
    return data


def running(started_ago, **over):
    data = {"id": 3, "session": {"ref": "/replication/sessions/7"}, "round_start": NOW - started_ago,
            "round_end": 0, "generation_number": 10}
    data.update(over)
    return data


def in_flight(progress=40, name="vg:snap_41", remaining=20):
    return session(current_snapshot=name, current_snapshot_progress=progress, estimated_remaining_time=remaining)


# ---- the statuses at their boundaries -----------------------------------------------------------
@pytest.mark.parametrize("age, status", [
    (0, "ok"), (374, "ok"), (375, "ok"),            # exactly 1.25 x rpo is not over it
    (376, "late"), (600, "late"),                    # exactly 2 x rpo is not over it either
    (601, "critical"), (10_000, "critical"),
])
def test_age_against_the_rpo_with_a_round_running(age, status):
    # A round that started 10 s ago is running: never stalled, whatever the age.
    result = assess(in_flight(), snap(age), running(10), NOW)
    assert (result["status"], result["age"], result["ratio"]) == (status, age, round(age / RPO, 4))
    assert result["recovery_point"] == NOW - age and result["now"] == NOW and result["rpo"] == RPO


@pytest.mark.parametrize("age, status", [(375, "ok"), (376, "late"), (600, "late"), (601, "stalled")])
def test_no_round_running_for_over_stall_factor_times_rpo_is_stalled(age, status):
    result = assess(session(), snap(age), None, NOW)
    assert result["status"] == status
    if status == "stalled":
        assert result["reason"] == ("Stalled: no round completed for 2 x rpo (600 s) while in sync; the recovery "
                                    "point is 601 s old.")


def test_reasons_and_thresholds_of_ok_late_and_critical():
    ok = assess(session(), snap(100), None, NOW)
    assert ok["reason"] == "OK: the recovery point is 100 s old, within 1.25 x rpo (375 s)."
    assert ok["thresholds"] == {"tolerance": 1.25, "critical_factor": 2.0, "stall_factor": 2.0,
                                "late_after": 375, "critical_after": 600, "stalled_after": 600}
    assert ok["notes"] == [] and ok["generation_number"] == 9
    late = assess(session(), snap(400), running(5), NOW)
    assert late["reason"] == "Late: the recovery point is 400 s old, over 1.25 x rpo (375 s)."
    critical = assess(session(), snap(700), running(5), NOW)
    assert critical["reason"] == "Critical: the recovery point is 700 s old, over 2 x rpo (600 s)."


def test_other_factors_move_the_boundaries():
    kwargs = dict(tolerance=1.5, critical_factor=3, stall_factor=4)
    assert assess(session(), snap(450), None, NOW, **kwargs)["status"] == "ok"
    assert assess(session(), snap(451), None, NOW, **kwargs)["status"] == "late"
    assert assess(session(), snap(901), None, NOW, **kwargs)["status"] == "critical"
    assert assess(session(), snap(1200), None, NOW, **kwargs)["status"] == "critical"
    assert assess(session(), snap(1201), None, NOW, **kwargs)["status"] == "stalled"
    assert assess(session(), snap(100), None, NOW, **kwargs)["thresholds"]["late_after"] == 450


# ---- the clock ----------------------------------------------------------------------------------
def test_a_recovery_point_in_the_future_is_age_zero_and_said_so():
    result = assess(session(), snap(-30), None, NOW)
    assert (result["status"], result["age"], result["ratio"]) == ("ok", 0, 0.0)
    assert result["notes"] == ["the array's clock is 30 s behind the recovery point: age taken as 0"]
    assert result["reason"] == ("OK: the recovery point is 0 s old, within 1.25 x rpo (375 s); the array's clock "
                                "is 30 s behind the recovery point: age taken as 0.")


def test_now_is_required():
    with pytest.raises(HealthError, match="array's clock"):
        assess(session(), snap(10), None, None)


# ---- transfers and rounds -----------------------------------------------------------------------
def test_a_round_in_progress_is_described():
    result = assess(in_flight(progress=40, remaining=20), snap(100), running(30), NOW)
    assert result["status"] == "ok"
    assert result["transfer"] == {"in_progress": True, "snapshot": "vg:snap_41", "progress": 40,
                                  "estimated_remaining_time": 20, "round_start": NOW - 30, "round_age": 30}


def test_no_transfer():
    result = assess(session(), snap(100), None, NOW)
    assert result["transfer"] == {"in_progress": False, "snapshot": None, "progress": 100,
                                  "estimated_remaining_time": None, "round_start": None, "round_age": None}


def test_a_finished_round_is_not_running():
    result = assess(session(), snap(601), running(700, round_end=NOW - 601), NOW)
    assert result["status"] == "stalled" and result["transfer"]["round_start"] is None


@pytest.mark.parametrize("started_ago, status", [(600, "ok"), (601, "stalled")])
def test_a_round_running_for_over_stall_factor_times_rpo_is_stalled(started_ago, status):
    result = assess(in_flight(), snap(100), running(started_ago), NOW)
    assert result["status"] == status
    if status == "stalled":
        assert result["reason"] == "Stalled: the running round started 601 s ago, over 2 x rpo (600 s)."


def test_no_snapshot_yet_is_critical_while_the_initial_sync_runs():
    initial = in_flight(progress=10) | {"latest_replicated_snapshot": None}
    result = assess(initial, None, running(60), NOW, previous=None)
    assert (result["status"], result["age"], result["ratio"], result["recovery_point"]) == ("critical", None, None, None)
    assert result["reason"] == ("Critical: no recovery point yet: nothing has reached the target (initial sync "
                                "still running).")
    no_ref = assess(session(latest_replicated_snapshot=None), None, None, NOW)
    assert no_ref["status"] == "critical" and no_ref["notes"] == []


def test_no_snapshot_yet_and_a_stalled_initial_sync_is_stalled():
    initial = in_flight(progress=10, remaining=None) | {"latest_replicated_snapshot": None}
    result = assess(initial, None, running(601), NOW)
    assert result["status"] == "stalled"


def test_a_latest_snapshot_that_cannot_be_read_is_critical_with_a_note():
    result = assess(session(), None, None, NOW)
    assert result["status"] == "critical" and result["recovery_point"] is None
    assert result["reason"] == "Critical: the recovery point is unknown (/snapshots/40 could not be read)."
    assert result["notes"] == ["the latest replicated snapshot /snapshots/40 could not be read"]


# ---- progress against an earlier observation ------------------------------------------------------
def test_progress_that_has_not_moved_since_an_old_enough_observation_is_stalled():
    previous = {"time": NOW - 90, "current_snapshot_progress": 40, "current_snapshot": "vg:snap_41"}
    result = assess(in_flight(progress=40), snap(100), running(90), NOW, previous=previous)
    assert result["status"] == "stalled"
    assert result["reason"] == "Stalled: the transfer of vg:snap_41 has stayed at 40% for 90 s."


@pytest.mark.parametrize("previous", [
    {"time": NOW - 59, "current_snapshot_progress": 40},                                # too recent
    {"time": NOW - 90, "current_snapshot_progress": 30},                                # it moved
    {"time": NOW - 90, "current_snapshot_progress": 40, "current_snapshot": "vg:snap_40"},  # another snapshot
    {"time": None, "current_snapshot_progress": 40},                                    # no time
    {"time": NOW - 90},                                                                 # no progress
    {},
])
def test_progress_is_not_stalled_when_it_moved_or_cannot_be_told(previous):
    assert assess(in_flight(progress=40), snap(100), running(90), NOW, previous=previous)["status"] == "ok"


def test_without_a_transfer_an_unchanged_progress_is_no_stall():
    previous = {"time": NOW - 900, "current_snapshot_progress": 100}
    assert assess(session(), snap(100), None, NOW, previous=previous)["status"] == "ok"


def test_the_progress_interval_is_a_parameter():
    previous = {"time": NOW - 10, "current_snapshot_progress": "40"}
    assert assess(in_flight(progress=40), snap(1), running(10), NOW, previous, progress_interval=10)["status"] == "stalled"


# ---- not replicating ----------------------------------------------------------------------------
@pytest.mark.parametrize("over, reason", [
    ({"state": "failed_over", "current_role": "target", "primary": False},
     "Not replicating: the session is failed_over."),
    ({"state": "suspended", "suspend_reason_code": "link_down"},
     "Not replicating: the session is suspended (suspend_reason_code link_down)."),
    ({"state": "suspended", "suspend_reason_code": "user_request"},
     "Not replicating: the session is suspended (suspend_reason_code user_request)."),
    ({"state": "suspended", "suspend_reason_code": "none"},
     "Not replicating: the session is suspended (no reason code given)."),
    ({"state": "suspended", "suspend_reason_code": None}, "Not replicating: the session is suspended (no reason code given)."),
    ({"state": "idle"}, "Not replicating: the session is idle."),
    ({"state": None}, "Not replicating: the session shows no state."),
])
def test_a_session_not_in_sync_is_not_replicating_whatever_its_age(over, reason):
    for age in (0, 100, 10_000):
        result = assess(session(**over), snap(age), None, NOW)
        assert (result["status"], result["reason"], result["age"]) == ("not_replicating", reason, age)


def test_a_suspended_session_without_a_snapshot():
    result = assess(session(state="suspended", latest_replicated_snapshot=None), None, None, NOW)
    assert result["status"] == "not_replicating" and result["age"] is None


# ---- the API's spellings ------------------------------------------------------------------------
def test_numbers_as_strings():
    result = assess(
        in_flight(progress="40", remaining="20") | {"rpo": "300"},
        {"id": "40", "creation_time": str(NOW - 400) + ".5", "generation_number": "9"},
        {"round_start": str(NOW - 30), "round_end": "0"},
        str(NOW),
        previous={"time": str(NOW - 61), "current_snapshot_progress": "39"},
    )
    assert (result["status"], result["age"], result["rpo"], result["generation_number"]) == ("late", 399.5, 300, 9)
    assert result["transfer"]["progress"] == 40 and result["transfer"]["round_age"] == 30


@pytest.mark.parametrize("value, parsed", [
    (300, 300), ("300", 300), (" 300 ", 300), ("1.5", 1.5), (1.5, 1.5), ("1e3", 1000.0), (None, None),
    (True, None), ("x", None), ("", None), (float("nan"), None), ("inf", None), ({"a": 1}, None),
])
def test_number(value, parsed):
    assert number(value) == parsed and type(number(value)) is type(parsed)


@pytest.mark.parametrize("rpo", [None, 0, -60, "never", True])
def test_an_unusable_rpo_is_an_error_naming_the_session(rpo):
    with pytest.raises(HealthError, match="session 's1' has no usable rpo"):
        assess(session(rpo=rpo), snap(10), None, NOW)


# ---- thresholds ---------------------------------------------------------------------------------
def test_thresholds_are_checked():
    assert check_thresholds("1.1", 2, "3") == {"tolerance": 1.1, "critical_factor": 2.0, "stall_factor": 3.0}
    assert check_thresholds(2, 2, 1)["tolerance"] == 2.0  # equal is allowed


@pytest.mark.parametrize("kwargs, option, message", [
    ({"tolerance": 0}, "health_tolerance", "expected a positive number, got 0"),
    ({"tolerance": -1}, "health_tolerance", "positive"),
    ({"critical_factor": "x"}, "health_critical_factor", "positive"),
    ({"stall_factor": True}, "health_stall_factor", "positive"),
    ({"stall_factor": None}, "health_stall_factor", "positive"),
    ({"tolerance": 2.5}, "health_tolerance", "must not be over health_critical_factor (2.5 > 2)"),
    ({"tolerance": 1.5, "critical_factor": 1.25}, "health_tolerance", "(1.5 > 1.25)"),
])
def test_bad_thresholds_name_the_option(kwargs, option, message):
    with pytest.raises(K2OptionError) as error:
        check_thresholds(prefix="health_", **kwargs)
    assert error.value.option == option and str(error.value).startswith(option + ": ") and message in str(error.value)


def test_assess_checks_its_thresholds():
    with pytest.raises(K2OptionError, match="^tolerance: "):
        assess(session(), snap(1), None, NOW, tolerance=3)


# ---- ordering and counts ------------------------------------------------------------------------
def test_worst_first_and_counts():
    results = [
        ("ok-small", assess(session(), snap(10), None, NOW)),
        ("late", assess(session(), snap(400), running(1), NOW)),
        ("idle", assess(session(state="idle"), snap(5), None, NOW)),
        ("ok-big", assess(session(), snap(300), None, NOW)),
        ("critical-no-rp", assess(in_flight() | {"latest_replicated_snapshot": None}, None, running(1), NOW)),
        ("critical", assess(session(), snap(900), running(1), NOW)),
        ("stalled", assess(session(), snap(700), None, NOW)),
    ]
    ordered = [name for name, _health in worst_first(results, get=lambda item: item[1])]
    assert ordered == ["idle", "stalled", "critical-no-rp", "critical", "late", "ok-big", "ok-small"]
    assert count_by_status(results, get=lambda item: item[1]) == {
        "ok": 2, "late": 1, "critical": 2, "stalled": 1, "not_replicating": 1}
    assert count_by_status([]) == dict((s, 0) for s in STATUSES)
    assert worst_first([]) == []
    healths = [h for _n, h in results]
    assert worst_first(healths)[0]["status"] == "not_replicating"


# ---- properties ---------------------------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
# Hypothesis keeps a cache folder; not in the checkout (make sanity copies the tree).
hypothesis.configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "kaminario-k2-hypothesis"))
RPOS = st.sampled_from([60, 300, 600, 900, 3600, 86400])
# No example database in the tree, and no deadline: the machine may be busy.
PROPERTY = hypothesis.settings(database=None, deadline=None, max_examples=300)


@st.composite
def factors(draw):
    tolerance = draw(st.floats(min_value=0.01, max_value=10, allow_nan=False))
    critical = draw(st.floats(min_value=tolerance, max_value=20, allow_nan=False))
    stall = draw(st.floats(min_value=0.01, max_value=20, allow_nan=False))
    return {"tolerance": tolerance, "critical_factor": critical, "stall_factor": stall}


@PROPERTY
@hypothesis.given(rpo=RPOS, ages=st.tuples(st.integers(-1000, 10**7), st.integers(-1000, 10**7)),
                  kwargs=factors(), round_started=st.one_of(st.none(), st.integers(0, 10**7)))
def test_status_is_monotone_in_age_for_an_in_sync_session(rpo, ages, kwargs, round_started):
    younger, older = sorted(ages)
    # The same session and round (no progress observation); only the recovery point differs.
    live = running(round_started) if round_started is not None else None
    first = assess(session(rpo=rpo), snap(younger), live, NOW, **kwargs)
    second = assess(session(rpo=rpo), snap(older), live, NOW, **kwargs)
    assert SEVERITY[first["status"]] <= SEVERITY[second["status"]], (first, second)
    assert first["ratio"] <= second["ratio"]


@PROPERTY
@hypothesis.given(st.lists(st.tuples(st.sampled_from(["in_sync", "in_sync", "in_sync", "suspended"]),
                                     st.one_of(st.none(), st.integers(-100, 10**6)), RPOS,
                                     st.one_of(st.none(), st.integers(0, 10**6))), max_size=30))
def test_the_order_is_by_severity_then_ratio(specs):
    results = []
    for state, age, rpo, round_started in specs:
        results.append(assess(session(state=state, rpo=rpo), snap(age) if age is not None else None,
                              running(round_started) if round_started is not None else None, NOW))
    ordered = worst_first(results)
    assert sorted(map(id, ordered)) == sorted(map(id, results))
    for before, after in zip(ordered, ordered[1:]):
        assert SEVERITY[before["status"]] >= SEVERITY[after["status"]]
        if before["status"] == after["status"] and after["ratio"] is not None:
            assert before["ratio"] is None or before["ratio"] >= after["ratio"]
    assert sum(count_by_status(results).values()) == len(results)


# ---- observations across polls (the progress check of a caller that reads again and again) -------
def test_the_observation_kept_is_the_first_sight_of_the_progress_shown_now():
    first = observation(in_flight(progress=40), NOW)
    assert first == {"time": NOW, "current_snapshot": "vg:snap_41", "current_snapshot_progress": 40}
    assert observation(in_flight(progress="40"), NOW + 30, first) is first
    # Polled every 30 s, a transfer stuck at 40% is stalled once 60 s have passed since it was first seen there.
    kept = observation(in_flight(progress=40), NOW + 30, first)
    assert assess(in_flight(progress=40), snap(100), running(90), NOW + 30, previous=kept)["status"] == "ok"
    assert assess(in_flight(progress=40), snap(100), running(90), NOW + 61, previous=kept)["status"] == "stalled"
    moved = observation(in_flight(progress=41), NOW + 60, first)
    assert moved == {"time": NOW + 60, "current_snapshot": "vg:snap_41", "current_snapshot_progress": 41}
    assert observation(in_flight(progress=41, name="vg:snap_42"), NOW + 90, moved)["time"] == NOW + 90


@pytest.mark.parametrize("current", [
    session(),                                             # no transfer
    in_flight(progress=None),                              # no progress shown
    dict(in_flight(), state="suspended"),                  # not in sync
])
def test_no_observation_without_a_transfer_in_flight(current):
    assert observation(current, NOW) is None


def test_no_observation_without_the_arrays_clock():
    assert observation(in_flight(), None) is None
