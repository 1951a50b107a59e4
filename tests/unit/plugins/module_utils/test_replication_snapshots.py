# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of replication_snapshots: the checks before any request, which snapshot is adopted,
the entries and the report (the I/O is tested through the module, every request asserted)."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2BadRequest, K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.replication_snapshots import (
    SnapshotFailed,
    SnapshotJob,
    SnapshotRefused,
    check_names,
    entry,
    newest,
    on_peer,
    refusal,
    report,
)


def job(name, session=None, snapshot=None, error=None, refused=False):
    found = SnapshotJob(name, session)
    found.snapshot, found.error, found.refused = snapshot, error, refused
    return found


def test_names_are_kept_in_order():
    assert check_names(["b", "a"]) == ["b", "a"]
    assert check_names([]) == []


def test_every_bad_name_is_reported_at_once():
    with pytest.raises(SnapshotRefused) as info:
        check_names(["a", "", "a", None, "b", "b"])
    assert str(info.value) == ("sessions[1]: a session name must not be empty; sessions[2]: 'a' is listed more than "
                               "once; sessions[3]: a session name must not be empty; sessions[5]: 'b' is listed more "
                               "than once")


@pytest.mark.parametrize("session, message", [
    (None, "replication session 's' does not exist on this array"),
    ({"state": "in_sync", "current_role": "target"},
     "replication session 's' is the target side of its pair: a replication snapshot is taken on the array of the "
     "source side"),
    ({"state": "in_sync", "primary": "False"}, "replication session 's' is the target side of its pair"),
    ({"state": "failed_over", "current_role": "target"}, "replication session 's' is the target side of its pair"),
    ({"state": "idle", "current_role": "source"},
     "replication session 's' is idle, not in_sync: only a session in sync takes a replication snapshot"),
    ({"state": "suspended", "current_role": "source", "suspend_reason_code": "peer_failed_over"},
     "replication session 's' is suspended, not in_sync"),
])
def test_refusals(session, message):
    assert refusal("s", session).startswith(message)


@pytest.mark.parametrize("session", [{"state": "in_sync", "current_role": "source"},
                                     {"state": "in_sync", "primary": True}, {"state": "in_sync"}])
def test_an_in_sync_source_may_take_one(session):
    assert refusal("s", session) is None


@pytest.mark.parametrize("snapshot, expected", [
    ({"is_exist_on_peer": True}, True), ({"is_exist_on_peer": "True"}, True), ({"is_exist_on_peer": " true"}, True),
    ({"is_exist_on_peer": False}, False), ({"is_exist_on_peer": "False"}, False), ({"is_exist_on_peer": 1}, False),
    ({}, False), (None, False),
])
def test_on_peer(snapshot, expected):
    assert on_peer(snapshot) is expected


def test_newest_by_generation_then_id_numbers_as_text_too():
    assert newest([]) is None
    assert newest([{"id": 1, "generation_number": 2}, {"id": 9, "generation_number": "10"},
                   {"id": 5, "generation_number": 3}])["id"] == 9
    assert newest([{"id": "7", "generation_number": 4}, {"id": 12, "generation_number": 4}])["id"] == 12
    # A snapshot without a generation still counts, below any that has one (0 included).
    assert newest([{"id": 30}, {"id": 2, "generation_number": 0}])["id"] == 2
    assert newest([{"id": 30, "generation_number": "n/a"}, {"id": 2, "generation_number": -5}])["id"] == 2
    assert newest([{"id": 30}])["id"] == 30
    assert newest([{"id": "x", "generation_number": 1}, {"id": 0, "generation_number": 1}])["id"] == 0


def test_an_entry_without_a_snapshot_and_with_one():
    assert entry(job("s1")) == dict(session="s1", session_id=None, snapshot={}, name=None, id=None,
                                    generation_number=None, exists_on_peer=False)
    snapshot = {"id": 5, "name": "vg:snap_5", "generation_number": "3", "is_exist_on_peer": "True"}
    assert entry(job("s1", {"id": 2}, snapshot, K2Error("late"))) == dict(
        session="s1", session_id=2, snapshot=snapshot, name="vg:snap_5", id=5, generation_number=3,
        exists_on_peer=True, msg="late")


def test_report_of_a_clean_run_a_check_run_and_an_empty_one():
    done = job("s1", {"id": 1}, {"id": 5, "is_exist_on_peer": True})
    assert report([done], check_mode=False) == (dict(changed=True, snapshots=[entry(done)]), None)
    planned = job("s1", {"id": 1})
    assert report([planned], check_mode=True) == (dict(changed=True, snapshots=[entry(planned)]), None)
    assert report([], check_mode=True) == (dict(changed=False, snapshots=[]), None)


def test_report_of_failures():
    error = SnapshotFailed(K2BadRequest("POST", "/snapshots", 400, "no"), "no replication snapshot was taken")
    assert str(error) == "POST /snapshots failed: HTTP 400 Bad Request: no; no replication snapshot was taken"
    assert error.details()["status"] == 400
    jobs = [job("s1", {"id": 1}, {"id": 5}), job("s2", {"id": 2}, error=error)]
    result, message = report(jobs, check_mode=False)
    assert result["changed"] is True
    assert message == "1 of 2 replication snapshots failed: " + str(error)
    nothing = [job("s2", {"id": 2}, error=error)]
    assert report(nothing, check_mode=False)[0]["changed"] is False


def test_report_of_refusals_changes_nothing_even_in_check_mode():
    jobs = [job("s1", {"id": 1}), job("s2", None, error=SnapshotRefused("gone"), refused=True)]
    result, message = report(jobs, check_mode=True)
    assert result["changed"] is False
    assert message == "1 of 2 replication sessions cannot take a replication snapshot, nothing was done: gone"


def test_five_failures_are_all_named_and_six_name_five():
    five = [job("s%d" % i, error=SnapshotRefused("bad %d" % i), refused=True) for i in range(5)]
    assert report(five, check_mode=False)[1].endswith("nothing was done: bad 0; bad 1; bad 2; bad 3; bad 4")
    six = five + [job("s5", error=SnapshotRefused("bad 5"), refused=True)]
    assert report(six, check_mode=False)[1].endswith("bad 3; bad 4 (and 1 more)")
