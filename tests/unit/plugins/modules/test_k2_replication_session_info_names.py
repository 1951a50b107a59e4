# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_session_info by names (batched, whatever their number and length) and waiting for
sessions to show fields, bounded in seconds; every HTTP request asserted, in order, nothing slept."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils import session_wait
from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session_info as module
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, RecordingTime, connection_args, run_module

SESSIONS = "/replication/sessions"


def s(name, sid=1, **extra):
    found = {"id": sid, "name": name, "state": "in_sync", "current_role": "target", "rpo": 300}
    found.update(extra)
    return found


def page(hits, total=None):
    return {"hits": hits, "limit": 100, "offset": 0, "total": len(hits) if total is None else total}


def q(**params):
    return dict(params, __limit=100, __offset=0)


@pytest.fixture
def clock(monkeypatch):
    fake = RecordingTime()
    monkeypatch.setattr(session_wait, "time", fake)
    return fake


def run(**module_args):
    return run_module(module, connection_args(**module_args))


def test_names_are_read_100_a_request_in_their_order_with_missing_ones_listed():
    names = ["n%03d" % i for i in range(150)]
    asked = list(reversed(names))
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(name__in=",".join(asked[:100]), __fields="id,name,state"),
                  json=page([s(n, i) for i, n in enumerate(names) if n in asked[:100] and i != 50]))
        calls.add("GET", SESSIONS, query=q(name__in=",".join(asked[100:]), __fields="id,name,state"),
                  json=page([s(n, i) for i, n in enumerate(names) if n in asked[100:] and i]))
        result, failed = run(names=asked, fields=["state"])
    assert not failed
    assert [x["name"] for x in result["sessions"]] == [n for n in reversed(names) if n not in ("n000", "n050")]
    assert result["missing"] == ["n050", "n000"] and "unmet" not in result
    assert (result["total"], result["truncated"]) == (148, False)


def test_long_names_make_smaller_batches_so_the_request_line_stays_short():
    names = ["%s-%03d" % ("x" * 190, i) for i in range(40)]
    with ExpectedCalls() as calls:
        for batch in (names[:15], names[15:30], names[30:]):
            calls.add("GET", SESSIONS, query=q(name__in=",".join(batch)), json=page([]))
        result, failed = run(names=names)
    assert not failed and len(result["missing"]) == 40
    assert max(len(url) for _m, url, _b in calls.requests) < 4500


def test_a_name_with_a_comma_is_read_on_its_own():
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query={"name": "a,b"}, json=page([s("a,b")]))
        calls.add("GET", SESSIONS, query=q(name__in="c,d"), json=page([s("c", 2)]))
        result, failed = run(names=["a,b", "c", "d"])
    assert not failed and [x["name"] for x in result["sessions"]] == ["a,b", "c"] and result["missing"] == ["d"]


def test_wait_for_reads_only_what_is_still_waited_for_until_it_shows(clock):
    wanted = [{"name": "a", "equal": {"state": "in_sync", "current_role": "target"}},
              {"name": "b", "differ": {"latest_replicated_snapshot": "/snapshots/4"}},
              {"name": "gone", "absent": True}]
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query=q(name__in="a,b,gone"), json=page([
            s("a", 1, state="suspended"), s("b", 2, latest_replicated_snapshot={"ref": "/snapshots/4"}), s("gone", 3)]))
        calls.add("GET", SESSIONS, query=q(name__in="a,b,gone"), json=page([
            s("a", 1, primary=False, current_role=None), s("b", 2, latest_replicated_snapshot={"ref": "/snapshots/4"})]))
        calls.add("GET", SESSIONS, query={"name": "b"}, json=page([s("b", 2, latest_replicated_snapshot={"ref": "/snapshots/9"})]))
        calls.add("GET", SESSIONS, query={"name": "x"}, json=page([s("x", 9)]))
        result, failed = run(wait_for=wanted, names=["x"], wait_timeout=60)
    assert not failed, result
    assert clock.sleeps == [0.25, 0.5]
    assert [x["name"] for x in result["sessions"]] == ["x", "a", "b"]
    assert result["missing"] == ["gone"] and result["unmet"] == []


def test_wait_for_fails_after_its_timeout_naming_what_each_session_shows(clock):
    with ExpectedCalls() as calls:
        for dummy in range(5):
            calls.add("GET", SESSIONS, query=q(name__in="a,b"), json=page([s("a", 1, state="idle")]))
        result, failed = run(wait_for=[{"name": "a", "equal": {"state": "in_sync", "rpo": "300"}},
                                       {"name": "b", "equal": {"state": "in_sync"}}], wait_timeout=2)
    assert failed
    assert clock.sleeps == [0.25, 0.5, 1.0, 0.25]
    assert result["msg"] == ("after 2 s, 2 session(s) did not show what was waited for: a: state in_sync, rpo 300 "
                             "(it shows state idle, rpo 300); b: state in_sync (it shows nothing: it does not exist)")
    assert [u["name"] for u in result["unmet"]] == ["a", "b"] and result["unmet"][1]["found"] is None


@pytest.mark.parametrize("args, message", [
    ({"wait_for": [{"name": "a"}]}, r"wait_for\[0\] \(a\): give equal, differ or absent: true"),
    ({"wait_for": [{"name": "a", "absent": True, "equal": {"state": "idle"}}]}, "absent waits until the session is gone"),
    ({"names": ["a"], "filters": {"state": "idle"}}, "parameters are mutually exclusive: names|filters"),
    ({"wait_for": [{"name": "a", "absent": True}], "limit": 3}, "parameters are mutually exclusive: wait_for|limit"),
    ({"names": ["a"], "wait_timeout": -1}, "wait_timeout must be 0 or more seconds, got -1"),
])
def test_bad_options_fail_before_any_request(args, message):
    with ExpectedCalls():
        result, failed = run(**args)
    assert failed and pytest.importorskip("re").search(message, result["msg"]), result["msg"]


def test_the_helpers_compare_leniently():
    assert session_wait.same("300", 300) and session_wait.same({"ref": "/x/1"}, "/x/1")
    assert not session_wait.same("300", 301) and session_wait.same(None, None)
    assert session_wait.side_of({"primary": "False"}) == "target" and session_wait.side_of({}) == "source"
    assert session_wait.describe({"name": "a", "absent": True, "equal": {}, "differ": {}}) == "a: gone"
    with pytest.raises(session_wait.WaitError, match=r"wait_for\[1\]: a session name is required"):
        session_wait.check([{"name": "a", "absent": True}, {"equal": {}}])
    with pytest.raises(session_wait.WaitError, match="equal and differ are dictionaries"):
        session_wait.check([{"name": "a", "equal": ["state"]}])
    left = [dict(name="s%d" % i, equal={"state": "x"}, differ={}, absent=False, found=None) for i in range(7)]
    assert session_wait.timeout_message(left, 5).endswith("(and 2 more)")
