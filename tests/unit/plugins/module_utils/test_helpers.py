# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared test helpers fail when they should: module tests rely on them to catch wrong requests."""

from __future__ import annotations

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import (
    HOST,
    PASSWORD,
    USERNAME,
    ExpectedCalls,
    connection_args,
    run_module,
    warning_messages,
)

PATH = "/replication/sessions"


def transport(**kwargs):
    return K2Transport(HOST, USERNAME, PASSWORD, **kwargs)


def test_expected_calls_pass_and_record():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, query={"name": "a", "__limit": 100}, json={"hits": []})
        calls.add("POST", PATH, body={"name": "a"}, status=201, json={"id": 1})
        t = transport()
        assert t.request("GET", PATH, params={"__limit": 100, "name": "a"}) == {"hits": []}
        assert t.request("POST", PATH, body={"name": "a"}) == {"id": 1}
    assert [(r[0], r[2]) for r in calls.requests] == [("GET", None), ("POST", {"name": "a"})]


@pytest.mark.parametrize("method, params, body, problem", [
    ("POST", None, {"name": "a"}, "got method POST"),
    ("GET", {"name": "b"}, None, "got query {'name': 'b'}"),
    ("GET", {"name": "a", "x": "1"}, None, "got query {'name': 'a', 'x': '1'}"),
    ("GET", {"name": "a"}, {"name": "a"}, "got body {'name': 'a'}"),
])
def test_a_different_request_fails_at_once(method, params, body, problem):
    with pytest.raises(AssertionError) as info:
        with ExpectedCalls() as calls:
            calls.add("GET", PATH, query={"name": "a"})
            transport().request(method, PATH, params=params, body=body)
    assert "call 1: expected GET https://127.0.0.1/api/v2/replication/sessions" in str(info.value)
    assert problem in str(info.value)


def test_wrong_path_fails():
    with pytest.raises(AssertionError, match="got URL https://127.0.0.1/api/v2/replication/sessions/1"):
        with ExpectedCalls() as calls:
            calls.add("GET", PATH + "/2")
            transport().request("GET", PATH + "/1")


def test_unexpected_extra_call_fails():
    with pytest.raises(AssertionError, match="unexpected call DELETE .*/replication/sessions/1 .*no more calls"):
        with ExpectedCalls() as calls:
            calls.add("GET", PATH + "/1", json={"id": 1})
            t = transport()
            t.request("GET", PATH + "/1")
            t.request("DELETE", PATH + "/1")


def test_missing_call_fails():
    with pytest.raises(AssertionError, match="1 expected call.s. not made; the next one: PATCH"):
        with ExpectedCalls() as calls:
            calls.add("GET", PATH + "/1", json={"id": 1})
            calls.add("PATCH", PATH + "/1", body={"state": "idle"})
            transport().request("GET", PATH + "/1")


def test_wrong_auth_or_verify_fails(monkeypatch):
    with pytest.raises(AssertionError, match="Authorization header"):
        with ExpectedCalls(auth=("admin", "other")) as calls:
            calls.add("GET", PATH)
            transport().request("GET", PATH)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(AssertionError, match=r"verify=True \(expected False\)"):
        with ExpectedCalls(verify=False) as calls:
            calls.add("GET", PATH)
            transport().request("GET", PATH)


def test_retry_waits_are_recorded_not_slept():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=503, headers={"Retry-After": "7"})
        calls.add("GET", PATH, json={})
        transport().request("GET", PATH)
    assert calls.sleeps == [7.0]


def test_run_module_returns_exit_and_fail_results():
    def ok_main():
        module = AnsibleModule(argument_spec=dict(x=dict(type="int")), supports_check_mode=True)
        module.exit_json(changed=False, x=module.params["x"], check_mode=module.check_mode, diff=module._diff)

    def failing_main():
        module = AnsibleModule(argument_spec=dict(x=dict(type="int")))
        module.fail_json(msg="x is wrong", x=module.params["x"])

    result, failed = run_module(ok_main, {"x": 3})
    # ansible-core up to 2.19 adds `invocation`; 2.21 no longer does.
    assert result.pop("invocation", {"module_args": {"x": 3}}) == {"module_args": {"x": 3}}
    assert (result, failed) == ({"changed": False, "x": 3, "check_mode": False, "diff": False}, False)
    result, failed = run_module(ok_main, {"x": 3}, check_mode=True, diff_mode=True)
    assert (result["check_mode"], result["diff"], failed) == (True, True, False)
    result, failed = run_module(failing_main, {"x": 4})
    assert failed and result["msg"] == "x is wrong" and result["x"] == 4


def test_run_module_rejects_a_module_that_does_not_exit():
    def silent_main():
        AnsibleModule(argument_spec={})

    with pytest.raises(AssertionError, match="without calling exit_json or fail_json"):
        run_module(silent_main, {})


def test_run_module_accepts_a_module_object():
    class FakeModuleFile:
        @staticmethod
        def main():
            module = AnsibleModule(argument_spec=dict(host=dict(type="str"), username=dict(type="str"),
                                                      password=dict(type="str", no_log=True)))
            module.exit_json(changed=True, seen=module.params["host"])

    result, failed = run_module(FakeModuleFile, connection_args())
    assert result["seen"] == HOST and result["changed"] and not failed


def test_run_module_starts_without_earlier_warnings():
    def warning_main():
        module = AnsibleModule(argument_spec=dict(warn=dict(type="bool")))
        if module.params["warn"]:
            module.warn("careful")
        module.exit_json(changed=False)

    assert warning_messages(run_module(warning_main, {"warn": True})[0]) == ["careful"]
    assert "warnings" not in run_module(warning_main, {"warn": False})[0]
