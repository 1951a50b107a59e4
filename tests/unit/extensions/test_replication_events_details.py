# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The details of the event source that the scenario tests beside it do not pin: the health options
reach the judgement, a poll reads health only when asked, a long-running source forgets what it
knew of removed sessions, a change read without health carries no health change, the wait between
polls is never negative, and what the activation's log says of an outage and of a stop."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import requests

from ansible_collections.kaminario.k2.plugins.plugin_utils import replication_events as ev
from ansible_collections.kaminario.k2.plugins.plugin_utils.replication_events import Poll, Tracker
from ansible_collections.kaminario.k2.tests.unit.extensions.test_replication_events_source import (
    ARGS,
    LISTED,
    NOW,
    NO_HEALTH,
    SESSIONS,
    date,
    listing,
    run_polls,
    session,
)
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, ExpectedCalls

SNAP_FIELDS = "id,creation_time,generation_number"
ROUND_FIELDS = "id,session,round_start,round_end,generation_number"


def health_reads(calls, at, created):
    """The two requests health adds to a poll of session 1 (latest replicated snapshot 41)."""
    calls.add("GET", "/snapshots", query={"id__in": "41", "__fields": SNAP_FIELDS, "__limit": 100, "__offset": 0},
              json={"hits": [{"id": 41, "creation_time": created, "generation_number": 7}], "total": 1},
              headers=date(at))
    calls.add("GET", "/replication/rpo_history",
              query={"round_end": 0, "session.ref__in": "/replication/sessions/1", "__fields": ROUND_FIELDS,
                     "__limit": 100, "__offset": 0}, json={"hits": [], "total": 0}, headers=date(at))


def test_the_health_options_are_what_judges_a_recovery_point():
    options = ev.source_options(dict(ARGS, health_tolerance=2, health_critical_factor=3, health_stall_factor=4))
    assert ev.health_factors(options) == {"tolerance": 2.0, "critical_factor": 3.0, "stall_factor": 4.0}
    in_sync = session(1, latest_replicated_snapshot={"ref": "/snapshots/41"})
    with ExpectedCalls() as calls:
        for at in (NOW, NOW + 300):  # 400 s old at the second poll: late at the default 1.25, ok at 2
            listing(calls, [in_sync], at)
            health_reads(calls, at, NOW - 100 if at == NOW + 300 else NOW - 10)
        events, _sleeps = run_polls(dict(ARGS, event_kinds=["health_changed"], health_tolerance=2), polls=2)
    assert events == []
    with ExpectedCalls() as calls:
        listing(calls, [in_sync], NOW)
        health_reads(calls, NOW, NOW - 100)
        api = ev.connect(ev.source_options(ARGS))
        found = ev.read_poll(api, health=True, factors={"tolerance": 1.1, "critical_factor": 1.2, "stall_factor": 3})
    assert found.healths[0]["status"] == "ok" and found.healths[0]["age"] == 100
    with ExpectedCalls() as calls:
        listing(calls, [in_sync], NOW)
        health_reads(calls, NOW, NOW - 340)
        found = ev.read_poll(api, health=True, factors={"tolerance": 1.1, "critical_factor": 1.2, "stall_factor": 3})
    assert found.healths[0]["status"] == "late", found.healths[0]  # 340 s: over 1.1 x 300, not over 1.25 x 300


def test_a_poll_reads_health_only_when_asked():
    with ExpectedCalls() as calls:
        listing(calls, [session(1, latest_replicated_snapshot={"ref": "/snapshots/41"})], NOW)
        found = ev.read_poll(ev.connect(ev.source_options(ARGS)))
    assert (found.healths, found.now, found.clock) == (None, NOW, "array")


def test_an_interval_under_a_second_is_accepted_and_zero_is_not():
    assert ev.source_options(dict(ARGS, interval=0.5))["interval"] == 0.5
    with pytest.raises(ev.K2OptionError) as caught:
        ev.source_options(dict(ARGS, interval=0))
    assert caught.value.option == "interval"


def test_a_poll_slower_than_the_interval_is_followed_at_once_never_by_a_negative_wait():
    class SlowCalls(ExpectedCalls):
        def _answer(self, request):
            time.sleep(0.05)  # the poll takes at least 50 ms; the interval is 1 ms
            return super()._answer(request)

    with SlowCalls() as calls:
        listing(calls, [session(1)], NOW)
        listing(calls, [session(1)], NOW + 1)
        _events, sleeps = run_polls(dict(ARGS, interval=0.001, event_kinds=NO_HEALTH), polls=2)
    assert sleeps == [0.0, 0.0]


def test_the_tracker_forgets_the_health_and_progress_of_a_removed_session():
    moving = dict(current_snapshot="vg:snap_9", current_snapshot_progress=40)
    ok = {"status": "ok", "reason": "OK", "age": 10, "rpo": 300, "ratio": 0.03, "recovery_point": NOW - 10}
    tracker = Tracker(HOST)
    tracker.succeeded(Poll([session(1, **moving), session(2, **moving)], [ok, ok], NOW, "array"))
    assert sorted(tracker.healths) == sorted(tracker.observations) == ["1", "2"]
    tracker.succeeded(Poll([session(1, **moving)], [ok], NOW + 30, "array"))
    assert list(tracker.healths) == list(tracker.observations) == ["1"]


def test_sessions_that_appear_together_are_each_an_event_and_a_change_after_them_is_too():
    tracker = Tracker(HOST)
    tracker.succeeded(Poll([session(1), session(4)], None, NOW, "array"))
    events = tracker.succeeded(Poll([session(1), session(2), session(3), session(4, "suspended")], None, NOW + 30,
                                    "array"))
    assert [(e["k2_replication"]["kind"], e["k2_replication"]["session"]) for e in events] == [
        ("session_appeared", "s2"), ("session_appeared", "s3"), ("state_changed", "s4")]


def test_listed_items_without_an_id_are_left_out():
    with ExpectedCalls() as calls:
        listing(calls, [{"name": "no-id", "state": "in_sync"}, session(1), {"id": None, "name": "null-id"}], NOW)
        found = ev.read_poll(ev.connect(ev.source_options(ARGS)))
    assert [s["name"] for s in found.sessions] == ["s1"]


def test_a_change_read_in_a_poll_without_health_carries_no_health_change():
    ok = {"status": "ok", "reason": "OK", "age": 10, "rpo": 300, "ratio": 0.03, "recovery_point": NOW - 10}
    tracker = Tracker(HOST)
    tracker.succeeded(Poll([session(1)], [ok], NOW, "array"))
    (event,) = tracker.succeeded(Poll([session(1, "suspended", code="user_request")], None, NOW + 30, "array"))
    assert event["k2_replication"]["changes"] == {"state": {"before": "in_sync", "after": "suspended"},
                                                  "suspend_reason_code": {"before": "none", "after": "user_request"}}
    assert event["k2_replication"]["details"]["health"]["status"] == "ok"  # the last one judged, as details


def test_the_log_tells_an_outage_once_its_end_and_the_stop(caplog):
    down = {"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0}
    with ExpectedCalls() as calls:
        listing(calls, [session(1)], NOW)
        for _poll in range(3):  # three polls that fail (a refused connection is not retried)
            calls.add("GET", SESSIONS, query=down, error=requests.exceptions.ConnectionError("refused"))
        listing(calls, [session(1)], NOW + 90)
        with caplog.at_level(logging.INFO, logger=ev.logger.name):
            run_polls(dict(ARGS, event_kinds=NO_HEALTH), polls=5)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == ev.logger.name]
    assert [level for level, _text in lines] == ["INFO", "WARNING", "INFO", "INFO"], lines
    assert lines[0][1] == "kaminario.k2.replication_events: polling %s every 30 s for %s" % (HOST, ", ".join(NO_HEALTH))
    assert lines[1][1].startswith("kaminario.k2.replication_events: %s cannot be read: " % HOST)
    assert lines[2][1] == "kaminario.k2.replication_events: %s answers again" % HOST
    assert lines[3][1] == "kaminario.k2.replication_events: stopping (%s)" % HOST


def test_the_log_of_a_health_that_cannot_be_judged(caplog):
    no_rpo = session(1, rpo=None, latest_replicated_snapshot={"ref": "/snapshots/41"})
    with ExpectedCalls() as calls:
        listing(calls, [no_rpo], NOW)
        health_reads(calls, NOW, NOW - 100)
        with caplog.at_level(logging.WARNING, logger=ev.logger.name):
            found = ev.read_poll(ev.connect(ev.source_options(ARGS)), health=True)
    assert found.healths is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["recovery-point health not judged this poll"]


def test_every_event_reaches_the_queue_in_order_as_room_is_made():
    async def scenario():
        queue = asyncio.Queue(maxsize=1)
        received = []

        async def consume():
            while len(received) < 4:
                received.append((await queue.get())["k2_replication"]["session"])

        consumer = asyncio.create_task(consume())

        async def stop(_delay):
            raise asyncio.CancelledError()

        with pytest.raises(asyncio.CancelledError):
            await ev.run(queue, dict(ARGS, emit_initial=True, event_kinds=NO_HEALTH), sleep=stop)
        await asyncio.wait_for(consumer, 30)
        return received

    with ExpectedCalls() as calls:
        listing(calls, [session(1), session(2), session(3), session(4)], NOW)
        assert asyncio.run(scenario()) == ["s1", "s2", "s3", "s4"]


def test_a_poll_retries_as_documented_twice_within_30_seconds():
    # The source's documentation: "Each request is retried at most twice, for at most 30 seconds".
    api = ev.connect(ev.source_options(ARGS))
    assert (api.transport.retries, api.transport.retry_max_time) == (2, 30)
