# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session_info with health=true, run as the real module: every HTTP request
asserted in order (the batched snapshot and round reads), the array's clock from the Date header."""

from __future__ import annotations

import email.utils

import pytest

from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, connection_args, run_module

SESSIONS = "/replication/sessions"
SNAPSHOTS = "/snapshots"
HISTORY = "/replication/rpo_history"
NOW = 1_800_000_000
SNAP_FIELDS = "id,creation_time,generation_number"
ROUND_FIELDS = "id,session,round_start,round_end,generation_number"
HEALTH_FIELDS = ("id,name,state,current_role,primary,rpo,suspend_reason_code,latest_replicated_snapshot,"
                 "current_snapshot,current_snapshot_progress,estimated_remaining_time")


def date(epoch=NOW):
    return {"Date": email.utils.formatdate(epoch, usegmt=True)}


def page(hits, total=None, offset=0, limit=100):
    return {"hits": hits, "limit": limit, "offset": offset, "total": len(hits) if total is None else total}


def q(offset=0, limit=100, **params):
    return dict(params, __limit=limit, __offset=offset)


def session(sid, state="in_sync", rpo=300, snap=None, current=None, progress=100, **over):
    data = {
        "id": sid, "name": "s%d" % sid, "state": state, "current_role": "source", "primary": True, "rpo": rpo,
        "suspend_reason_code": "none", "latest_replicated_snapshot": {"ref": "/snapshots/%d" % snap} if snap else None,
        "current_snapshot": current, "current_snapshot_progress": progress, "estimated_remaining_time": None,
        "local_volume_group": {"ref": "/volume_groups/%d" % (100 + sid)},
    }
    data.update(over)
    return data


def snapshot(sid, age, generation=1):
    return {"id": sid, "creation_time": NOW - age, "generation_number": generation}


def running(rid, sid, started_ago):
    return {"id": rid, "session": {"ref": "/replication/sessions/%d" % sid}, "round_start": NOW - started_ago,
            "round_end": 0, "generation_number": 9}


def refs(*ids):
    return ",".join("/replication/sessions/%d" % i for i in ids)


def run(**module_args):
    return run_module(module, connection_args(**module_args))


def test_each_session_gets_its_health_from_three_batched_reads():
    listed = [
        session(1, snap=40),                                             # 100 s old: ok
        session(2, snap=41, current="vg2:snap_50", progress=30),         # 400 s old, round running: late
        session(3, snap=None, current="vg3:snap_60", progress=10),       # initial sync: critical
        session(4, state="suspended", snap=42, suspend_reason_code="link_down"),
        session(5, snap=43),                                             # 700 s old, no round: stalled
    ]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(listed), headers=date(NOW - 2))
        calls.add("GET", SNAPSHOTS, query=q(id__in="40,41,42,43", __fields=SNAP_FIELDS), json=page(
            [snapshot(40, 100), snapshot(41, 400), snapshot(42, 50), snapshot(43, 700)]), headers=date(NOW - 1))
        calls.add("GET", HISTORY, query=q(round_end=0, **{"session.ref__in": refs(1, 2, 3, 5), "__fields": ROUND_FIELDS}),
                  json=page([running(7, 2, 20), running(8, 3, 50)]), headers=date(NOW))
        result, failed = run(health=True)
    assert not failed, result
    statuses = [(s["name"], s["health"]["status"]) for s in result["sessions"]]
    assert statuses == [("s1", "ok"), ("s2", "late"), ("s3", "critical"), ("s4", "not_replicating"), ("s5", "stalled")]
    assert result["health_summary"] == {"ok": 1, "late": 1, "critical": 1, "stalled": 1, "not_replicating": 1}
    first = result["sessions"][0]["health"]
    assert (first["now"], first["recovery_point"], first["age"], first["ratio"]) == (NOW, NOW - 100, 100, 0.3333)
    second = result["sessions"][1]["health"]
    assert second["transfer"] == {"in_progress": True, "snapshot": "vg2:snap_50", "progress": 30,
                                  "estimated_remaining_time": None, "round_start": NOW - 20, "round_age": 20}
    assert result["sessions"][3]["health"]["reason"] == (
        "Not replicating: the session is suspended (suspend_reason_code link_down).")
    assert result["sessions"][0]["local_volume_group"] == {"ref": "/volume_groups/101"}  # the rest as listed


def test_three_hundred_sessions_cost_three_requests_per_resource():
    listed = [session(i, snap=1000 + i) for i in range(1, 301)]
    with ExpectedCalls() as calls:
        for offset in (0, 100, 200):
            calls.add("GET", SESSIONS, query=q(offset), json=page(listed[offset:offset + 100], 300, offset))
        for start in (1, 101, 201):
            ids = ",".join(str(1000 + i) for i in range(start, start + 100))
            calls.add("GET", SNAPSHOTS, query=q(id__in=ids, __fields=SNAP_FIELDS),
                      json=page([snapshot(1000 + i, 10) for i in range(start, start + 100)]))
        for start in (1, 101, 201):
            wanted = {"session.ref__in": refs(*range(start, start + 100)), "__fields": ROUND_FIELDS}
            calls.add("GET", HISTORY, query=q(round_end=0, **wanted), json=page([]), headers=date())
        result, failed = run(health=True)
    assert not failed, result
    assert result["health_summary"]["ok"] == 300 and len(calls.requests) == 9


def test_shared_snapshots_and_sessions_not_in_sync_cost_nothing_more():
    listed = [session(1, state="idle", snap=5), session(2, state="failed_over", snap=5, current_role="target")]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(listed))
        calls.add("GET", SNAPSHOTS, query=q(id__in="5", __fields=SNAP_FIELDS), json=page([snapshot(5, 30)]),
                  headers=date())
        result, failed = run(health=True)
    assert not failed, result
    assert [s["health"]["status"] for s in result["sessions"]] == ["not_replicating"] * 2
    assert result["sessions"][1]["health"]["age"] == 30


def test_without_snapshots_or_rounds_to_read_the_listing_gives_the_clock():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page([session(1, state="idle")]), headers=date(NOW + 5))
        result, failed = run(health=True)
    assert not failed, result
    assert result["sessions"][0]["health"]["now"] == NOW + 5


def test_no_session_no_read_and_every_status_counted():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(state="in_sync"), json=page([]))
        result, failed = run(health=True, filters={"state": "in_sync"})
    assert not failed, result
    assert result["sessions"] == [] and result["health_summary"] == {
        "ok": 0, "late": 0, "critical": 0, "stalled": 0, "not_replicating": 0}


def test_the_array_clock_is_required():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page([session(1, state="idle")]))
        result, failed = run(health=True)
    assert failed and result["msg"] == "health needs the array's clock, and the array's answers carried no Date header"


def test_several_running_records_the_latest_started_counts_and_strangers_are_ignored():
    listed = [session(1, snap=40)]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(listed))
        calls.add("GET", SNAPSHOTS, query=q(id__in="40", __fields=SNAP_FIELDS), json=page([snapshot(40, 10)]))
        calls.add("GET", HISTORY, query=q(round_end=0, **{"session.ref__in": refs(1), "__fields": ROUND_FIELDS}),
                  json=page([running(1, 1, 900), running(2, 1, 30), running(3, 99, 5), {"id": 4, "session": None}]),
                  headers=date())
        result, failed = run(health=True)
    assert not failed, result
    assert result["sessions"][0]["health"]["transfer"]["round_start"] == NOW - 30
    assert result["sessions"][0]["health"]["status"] == "ok"


def test_fields_are_read_for_health_but_only_those_asked_for_come_back():
    listed = [session(1, snap=40)]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(__fields="name,local_volume_group," + HEALTH_FIELDS.replace(",name", "")),
                  json=page(listed))
        calls.add("GET", SNAPSHOTS, query=q(id__in="40", __fields=SNAP_FIELDS), json=page([snapshot(40, 10)]))
        calls.add("GET", HISTORY, query=q(round_end=0, **{"session.ref__in": refs(1), "__fields": ROUND_FIELDS}),
                  json=page([]), headers=date())
        # Names only for the reference the user asked for (not latest_replicated_snapshot).
        calls.add("GET", "/volume_groups", query=q(id__in="101", __fields="id,name"),
                  json=page([{"id": 101, "name": "vg1"}]))
        result, failed = run(health=True, fields=["name", "local_volume_group"], resolve_names=True)
    assert not failed, result
    (only,) = result["sessions"]
    assert set(only) == {"name", "local_volume_group", "local_volume_group_name", "health"}
    assert only["health"]["status"] == "ok" and only["local_volume_group_name"] == "vg1"


def test_factors_change_the_verdict():
    listed = [session(1, snap=40)]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(), json=page(listed))
        calls.add("GET", SNAPSHOTS, query=q(id__in="40", __fields=SNAP_FIELDS), json=page([snapshot(40, 200)]))
        calls.add("GET", HISTORY, query=q(round_end=0, **{"session.ref__in": refs(1), "__fields": ROUND_FIELDS}),
                  json=page([]), headers=date())
        result, failed = run(health=True, health_tolerance=0.5, health_critical_factor=0.6, health_stall_factor=5)
    assert not failed, result
    health = result["sessions"][0]["health"]
    assert health["status"] == "critical"
    assert health["thresholds"] == {"tolerance": 0.5, "critical_factor": 0.6, "stall_factor": 5.0,
                                    "late_after": 150, "critical_after": 180, "stalled_after": 1500}


@pytest.mark.parametrize("options, message", [
    ({"health_tolerance": 0}, "health_tolerance: expected a positive number, got 0.0"),
    ({"health_critical_factor": -2}, "health_critical_factor: expected a positive number, got -2.0"),
    ({"health_stall_factor": 0}, "health_stall_factor: expected a positive number, got 0.0"),
    ({"health_tolerance": 3}, "health_tolerance: must not be over health_critical_factor (3 > 2)"),
])
def test_bad_factors_fail_before_any_request(options, message):
    with ExpectedCalls():
        result, failed = run(health=True, **options)
    assert failed and result["msg"] == message
    assert result["option"] == ("health_tolerance" if "tolerance (" in message else list(options)[0])


def test_without_health_nothing_more_is_read_or_returned():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(__fields="name"), json=page([{"name": "s1"}]), headers=date())
        result, failed = run(fields=["name"])
    assert not failed and result["sessions"] == [{"name": "s1"}] and "health_summary" not in result
