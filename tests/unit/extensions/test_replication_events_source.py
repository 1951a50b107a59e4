# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source kaminario.k2.replication_events run for real on an asyncio queue, with every HTTP
request scripted and asserted in order (tests/unit/helpers.py ExpectedCalls): each event kind once,
no event for no change across polls, the array's errors as events while the source keeps polling,
cancellation (the HTTP session closed, CancelledError re-raised), the event loop free while a poll
waits for the array, and the source file loaded as ansible-rulebook loads it (runpy)."""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import json
import os
import subprocess
import sys
import threading

import pytest
import requests
import yaml

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import k2_argument_spec
from ansible_collections.kaminario.k2.plugins.plugin_utils import replication_events as ev
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, PASSWORD, USERNAME, ExpectedCalls

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SOURCE_FILE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "replication_events.py")
NOW = 1_800_000_000
CONTROLLER_NOW = 1_800_000_007.5
SESSIONS = "/replication/sessions"
LISTED = ",".join(ev.LISTED_FIELDS)
ARGS = dict(host=HOST, username=USERNAME, password=PASSWORD, interval=30)
NO_HEALTH = [k for k in ev.EVENT_KINDS if k != "health_changed"]


def date(epoch):
    return {"Date": email.utils.formatdate(epoch, usegmt=True)}


def session(sid, state="in_sync", role="source", code="none", **extra):
    data = {"id": sid, "name": "s%d" % sid, "state": state, "current_role": role, "suspend_reason_code": code,
            "rpo": 300, "remote_replication_session_name": "remote_s%d" % sid, "primary": role == "source",
            "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
            "local_volume_group": {"ref": "/volume_groups/%d" % (100 + sid)},
            "latest_replicated_snapshot": None, "current_snapshot": None, "current_snapshot_progress": 100,
            "estimated_remaining_time": None}
    data.update(extra)
    return data


def listing(calls, sessions, at, total=None):
    """The one request of a poll's listing (up to 100 sessions), answered at `at` by the array's clock."""
    calls.add("GET", SESSIONS, query={"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0},
              json={"hits": sessions, "total": len(sessions) if total is None else total}, headers=date(at))


def load_source():
    spec = importlib.util.spec_from_file_location("k2_replication_events_source", SOURCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_polls(args, polls, queue=None):
    """Run the source's loop (plugin_utils run) until it has done `polls` polls: the sleep after the
    last one cancels it, as ansible-rulebook's shutdown does. Returns (events, sleeps)."""
    queue = queue if queue is not None else asyncio.Queue()
    sleeps = []

    async def sleep(delay):
        sleeps.append(delay)
        if len(sleeps) >= polls:
            raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(ev.run(queue, dict(args), sleep=sleep, clock=lambda: CONTROLLER_NOW))
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events, sleeps


def kinds(events):
    return [(e["k2_replication"]["kind"], e["k2_replication"]["session"]) for e in events]


def test_each_event_kind_once_and_no_event_for_no_change(mocker):
    closed = mocker.spy(requests.Session, "close")
    with ExpectedCalls() as calls:
        listing(calls, [session(1), session(2)], NOW)  # 1: what is there, no event
        listing(calls, [session(1), session(3)], NOW + 30)  # 2: s3 appeared, s2 removed (looked up first)
        calls.add("GET", SESSIONS, query={"id__in": "2", "__fields": LISTED, "__limit": 100, "__offset": 0},
                  json={"hits": [], "total": 0}, headers=date(NOW + 30))
        listing(calls, [session(1, "suspended", code="user_request"), session(3)], NOW + 60)  # 3: suspended
        listing(calls, [session(1, "suspended", code="user_request"), session(3)], NOW + 90)  # 4: nothing new
        calls.add("GET", SESSIONS, query={"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0},
                  error=requests.exceptions.ConnectionError("refused"))  # 5: unreachable
        for _attempt in range(3):  # 6: still down (503, retried twice): no second event
            calls.add("GET", SESSIONS, query={"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0},
                      status=503, json={"error_msg": "busy"})
        listing(calls, [session(1, "suspended", code="user_request"), session(3, role="target")], NOW + 180)  # 7
        listing(calls, [session(1, "suspended", code="peer_failed_over"), session(3, role="target")], NOW + 210)  # 8
        listing(calls, [session(1, "suspended", code="peer_failed_over"), session(3, role="target")], NOW + 240)  # 9
        events, sleeps = run_polls(dict(ARGS, event_kinds=NO_HEALTH), polls=9)
    assert kinds(events) == [
        ("session_appeared", "s3"), ("session_removed", "s2"),
        ("state_changed", "s1"),
        ("array_unreachable", None),
        ("array_reachable", None), ("current_role_changed", "s3"),
        ("suspend_reason_code_changed", "s1"),
    ]
    unreachable = events[3]["k2_replication"]
    assert unreachable["details"]["error_type"] == "K2ConnectionError"
    assert (unreachable["clock"], unreachable["epoch"]) == ("controller", CONTROLLER_NOW)
    reachable = events[4]["k2_replication"]
    assert reachable["details"]["failed_polls"] == 2 and reachable["details"]["error_type"] == "K2ConnectionError"
    assert (reachable["clock"], reachable["epoch"]) == ("array", NOW + 180)
    suspended = events[2]["k2_replication"]
    assert (suspended["array"], suspended["session_id"], suspended["before"], suspended["after"]) == \
        (HOST, 1, "in_sync", "suspended")
    assert suspended["changes"]["suspend_reason_code"] == {"before": "none", "after": "user_request"}
    assert (suspended["timestamp"], suspended["clock"]) == ("2027-01-15T08:01:00Z", "array")
    # A poll's retries: two, with the transport's backoff; then the next poll comes at its time.
    assert calls.sleeps == [0.5, 1.0]
    assert len(sleeps) == 9 and all(0 < delay <= 30 for delay in sleeps)
    assert closed.call_count == 1
    assert PASSWORD not in json.dumps(events)


def test_health_changes_are_read_in_batches_and_judged_against_the_arrays_clock():
    snap_fields = "id,creation_time,generation_number"
    round_fields = "id,session,round_start,round_end,generation_number"
    in_sync = session(1, latest_replicated_snapshot={"ref": "/snapshots/41"})

    def health_reads(calls, at, created):
        calls.add("GET", "/snapshots", query={"id__in": "41", "__fields": snap_fields, "__limit": 100,
                                              "__offset": 0},
                  json={"hits": [{"id": 41, "creation_time": created, "generation_number": 7}], "total": 1},
                  headers=date(at))
        calls.add("GET", "/replication/rpo_history",
                  query={"round_end": 0, "session.ref__in": "/replication/sessions/1", "__fields": round_fields,
                         "__limit": 100, "__offset": 0}, json={"hits": [], "total": 0}, headers=date(at))

    with ExpectedCalls() as calls:
        listing(calls, [in_sync], NOW)
        health_reads(calls, NOW, NOW - 100)  # ok: 100 s old, rpo 300
        listing(calls, [in_sync], NOW + 300)
        health_reads(calls, NOW + 300, NOW - 100)  # 400 s old: late (over 1.25 x 300)
        listing(calls, [in_sync], NOW + 330)
        health_reads(calls, NOW + 330, NOW - 100)  # still late: nothing
        events, _sleeps = run_polls(dict(ARGS, event_kinds=["health_changed"]), polls=3)
    assert kinds(events) == [("health_changed", "s1")]
    event = events[0]["k2_replication"]
    assert (event["before"], event["after"], event["epoch"], event["clock"]) == ("ok", "late", NOW + 300, "array")
    assert event["details"]["health"] == {
        "status": "late", "reason": "Late: the recovery point is 400 s old, over 1.25 x rpo (375 s).", "age": 400,
        "rpo": 300, "ratio": round(400 / 300, 4), "recovery_point": NOW - 100}


def test_a_transfer_whose_progress_stays_put_across_polls_turns_stalled():
    snap_fields = "id,creation_time,generation_number"
    round_fields = "id,session,round_start,round_end,generation_number"
    moving = session(1, latest_replicated_snapshot={"ref": "/snapshots/41"}, current_snapshot="vg:snap_42",
                     current_snapshot_progress=40)
    with ExpectedCalls() as calls:
        for at in (NOW, NOW + 30, NOW + 61):
            listing(calls, [moving], at)
            calls.add("GET", "/snapshots", query={"id__in": "41", "__fields": snap_fields, "__limit": 100,
                                                  "__offset": 0},
                      json={"hits": [{"id": 41, "creation_time": NOW - 60}], "total": 1}, headers=date(at))
            calls.add("GET", "/replication/rpo_history",
                      query={"round_end": 0, "session.ref__in": "/replication/sessions/1", "__fields": round_fields,
                             "__limit": 100, "__offset": 0},
                      json={"hits": [{"id": 9, "session": {"ref": "/replication/sessions/1"}, "round_start": NOW - 50,
                                      "round_end": 0}], "total": 1}, headers=date(at))
        events, _sleeps = run_polls(dict(ARGS, event_kinds=["health_changed"]), polls=3)
    assert kinds(events) == [("health_changed", "s1")]
    event = events[0]["k2_replication"]
    assert (event["before"], event["after"]) == ("ok", "stalled")
    assert event["details"]["health"]["reason"] == "Stalled: the transfer of vg:snap_42 has stayed at 40% for 61 s."


def test_refused_credentials_are_an_event_and_the_source_keeps_polling():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query={"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0},
                  status=401, json={"error_msg": "Authentication failed"}, headers=date(NOW))
        calls.add("GET", SESSIONS, query={"__fields": LISTED, "__sort": "id", "__limit": 100, "__offset": 0},
                  status=401, json={"error_msg": "Authentication failed"}, headers=date(NOW + 30))
        listing(calls, [session(1)], NOW + 60)
        events, _sleeps = run_polls(dict(ARGS, emit_initial=True, event_kinds=NO_HEALTH), polls=3)
    assert kinds(events) == [("array_unreachable", None), ("array_reachable", None), ("session_present", "s1")]
    details = events[0]["k2_replication"]["details"]
    assert details["error_type"] == "K2Unauthorized" and "HTTP 401" in details["error"]
    assert PASSWORD not in json.dumps(events)


def test_a_long_listing_is_read_by_pages_of_100_and_a_missing_session_is_looked_up_before_it_is_removed():
    first = [session(i) for i in range(1, 151)]
    query = {"__fields": LISTED, "__sort": "id", "__limit": 100}
    with ExpectedCalls() as calls:
        for offset, hits in ((0, first[:100]), (100, first[100:])):
            calls.add("GET", SESSIONS, query=dict(query, __offset=offset), json={"hits": hits, "total": 150},
                      headers=date(NOW))
        # Poll 2: s100 is deleted between the two pages, so page 2 starts at s102 and s101 is not listed.
        calls.add("GET", SESSIONS, query=dict(query, __offset=0), json={"hits": first[:100], "total": 150},
                  headers=date(NOW + 30))
        calls.add("GET", SESSIONS, query=dict(query, __offset=100), json={"hits": first[101:], "total": 149},
                  headers=date(NOW + 30))
        calls.add("GET", SESSIONS, query={"id__in": "101", "__fields": LISTED, "__limit": 100, "__offset": 0},
                  json={"hits": [first[100]], "total": 1}, headers=date(NOW + 30))
        # Poll 3: s100 is missing, and so it is: removed.
        remaining = first[:99] + first[100:]
        for offset, hits in ((0, remaining[:100]), (100, remaining[100:])):
            calls.add("GET", SESSIONS, query=dict(query, __offset=offset), json={"hits": hits, "total": 149},
                      headers=date(NOW + 60))
        calls.add("GET", SESSIONS, query={"id__in": "100", "__fields": LISTED, "__limit": 100, "__offset": 0},
                  json={"hits": [], "total": 0}, headers=date(NOW + 60))
        events, _sleeps = run_polls(dict(ARGS, event_kinds=NO_HEALTH), polls=3)
    assert kinds(events) == [("session_removed", "s100")]


def test_the_queue_is_awaited_when_full():
    """ansible-rulebook's queue holds one event: the source waits for room instead of dropping one."""
    received = []

    async def scenario():
        queue = asyncio.Queue(maxsize=1)
        polls = []

        async def sleep(_delay):
            polls.append(1)
            raise asyncio.CancelledError()

        async def consume():
            while len(received) < 3:
                received.append(await queue.get())
                await asyncio.sleep(0)

        consumer = asyncio.create_task(consume())
        with pytest.raises(asyncio.CancelledError):
            await ev.run(queue, dict(ARGS, emit_initial=True, event_kinds=NO_HEALTH), sleep=sleep)
        await asyncio.wait_for(consumer, 10)

    with ExpectedCalls() as calls:
        listing(calls, [session(1), session(2), session(3)], NOW)
        asyncio.run(scenario())
    assert [e["k2_replication"]["session"] for e in received] == ["s1", "s2", "s3"]


def test_the_event_loop_runs_while_a_poll_waits_for_the_array():
    """The blocking request runs in a worker thread: here the array's answer is held until a
    coroutine on the event loop releases it, which it could never do if the request blocked the loop."""
    released = threading.Event()
    seen = {}

    class HeldCalls(ExpectedCalls):
        def _answer(self, request):
            seen["released in time"] = released.wait(30)
            return super()._answer(request)

    async def scenario():
        task = asyncio.create_task(ev.run(asyncio.Queue(), dict(ARGS, event_kinds=NO_HEALTH),
                                          sleep=cancel_after_first_poll))
        await asyncio.sleep(0.05)
        released.set()  # runs only if the loop is free while the poll waits
        with pytest.raises(asyncio.CancelledError):
            await task

    async def cancel_after_first_poll(_delay):
        raise asyncio.CancelledError()

    with HeldCalls() as calls:
        listing(calls, [session(1)], NOW)
        asyncio.run(scenario())
    assert seen == {"released in time": True}


def test_cancelled_while_a_poll_waits_closes_the_session_and_re_raises(mocker):
    closed = mocker.spy(requests.Session, "close")
    entered, release = threading.Event(), threading.Event()

    class HeldCalls(ExpectedCalls):
        def _answer(self, request):
            entered.set()
            release.wait(30)
            return super()._answer(request)

    async def scenario():
        task = asyncio.create_task(ev.run(asyncio.Queue(), dict(ARGS, event_kinds=NO_HEALTH)))
        while not entered.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert closed.call_count == 1
        release.set()

    with HeldCalls() as calls:
        listing(calls, [session(1)], NOW)
        asyncio.run(scenario())


def test_bad_options_stop_the_source_before_any_request():
    with ExpectedCalls():
        with pytest.raises(ev.EventSourceError) as caught:
            asyncio.run(ev.run(asyncio.Queue(), dict(ARGS, interval="often")))
    assert "interval" in str(caught.value)
    with ExpectedCalls():
        with pytest.raises(ev.K2OptionError) as caught:
            asyncio.run(ev.run(asyncio.Queue(), dict(ARGS, host="https://k2.example.com/api")))
    assert caught.value.option == "host"


# ---- the source file ---------------------------------------------------------------------------------

def test_main_of_the_source_file_polls_and_is_cancelled_cleanly(mocker):
    closed = mocker.spy(requests.Session, "close")
    source = load_source()

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.create_task(source.main(queue, dict(ARGS, emit_initial=True, interval=3600)))
        event = await asyncio.wait_for(queue.get(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return event

    with ExpectedCalls() as calls:
        listing(calls, [session(1)], NOW)
        calls.add("GET", "/replication/rpo_history",
                  query={"round_end": 0, "session.ref__in": "/replication/sessions/1",
                         "__fields": "id,session,round_start,round_end,generation_number", "__limit": 100,
                         "__offset": 0}, json={"hits": [], "total": 0}, headers=date(NOW))
        event = asyncio.run(scenario())
    assert event["k2_replication"]["kind"] == "session_present"
    assert event["k2_replication"]["details"]["health"]["status"] == "critical"  # no recovery point yet
    assert closed.call_count == 1


def test_ansible_rulebook_can_load_the_source_from_an_installed_collection(tmp_path):
    """ansible-rulebook runs a source with runpy.run_path, in its own process: the source finds the
    collection it belongs to by its own path (no ANSIBLE_COLLECTIONS_PATH, no PYTHONPATH)."""
    tree = tmp_path / "collections"
    (tree / "ansible_collections" / "kaminario").mkdir(parents=True)
    os.symlink(ROOT, tree / "ansible_collections" / "kaminario" / "k2")
    path = tree / "ansible_collections" / "kaminario" / "k2" / "extensions" / "eda" / "plugins" / "event_source" / \
        "replication_events.py"
    code = ("import asyncio, runpy, sys; found = runpy.run_path(sys.argv[1]); "
            "assert asyncio.iscoroutinefunction(found['main']); "
            "import ansible_collections.kaminario.k2.plugins.plugin_utils.replication_events as ev; "
            "print(ev.__file__)")
    env = dict((k, v) for k, v in os.environ.items() if k not in ("ANSIBLE_COLLECTIONS_PATH", "PYTHONPATH"))
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(tree))


def test_the_documentation_states_every_option_as_the_code_defines_it():
    source = load_source()
    doc = yaml.safe_load(source.DOCUMENTATION)
    spec = k2_argument_spec(**ev.SOURCE_OPTIONS)
    assert sorted(doc["options"]) == sorted(spec)
    for name, option in spec.items():
        documented = doc["options"][name]
        assert documented["type"] == option["type"], name
        assert documented.get("default") == option.get("default"), name
        assert documented.get("required", False) == option.get("required", False), name
        assert documented.get("choices") == option.get("choices"), name
        fallback = option.get("fallback")
        if fallback:
            assert "E(%s)" % fallback[1][0] in " ".join(documented["description"]), name
    assert doc["version_added"] == "1.1.0"
    for kind in ev.EVENT_KINDS + (ev.SESSION_PRESENT,):
        assert "V(%s)" % kind in " ".join(doc["description"]), kind


def test_the_examples_are_rulebooks_that_use_the_source_by_its_fqcn():
    source = load_source()
    rulebooks = yaml.safe_load(source.EXAMPLES)
    assert rulebooks
    documented = set(yaml.safe_load(source.DOCUMENTATION)["options"])
    for ruleset in rulebooks:
        assert ruleset["rules"], ruleset["name"]
        for item in ruleset["sources"]:
            args = item["kaminario.k2.replication_events"]
            assert set(args) <= documented
            ev.source_options(dict(args, username=USERNAME, password=PASSWORD))
