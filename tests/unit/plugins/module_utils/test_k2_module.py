# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module boundary (argspec, connect, handle_errors), driven through a tiny throwaway module
with the shared helpers other module tests use (run_module + ExpectedCalls)."""

from __future__ import annotations

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils import k2_module
from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
)
from ansible_collections.kaminario.k2.tests.unit.helpers import (
    PASSWORD,
    ExpectedCalls,
    connection_args,
    run_module,
)

VGS = "/volume_groups"


def demo_main():
    """A throwaway module: set a volume group's quota, found by name, id or ref."""
    module = AnsibleModule(
        argument_spec=k2_argument_spec(volume_group=dict(type="str", required=True), quota=dict(type="int")),
        supports_check_mode=True,
    )
    with handle_errors(module):
        api = connect(module)
        ref = api.ref(VGS, module.params["volume_group"], "volume_group")["ref"]
        before = api.get(VGS, ref.rsplit("/", 1)[1])
        quota = module.params["quota"]
        changed = quota is not None and before.get("quota") != quota
        after = dict(before, quota=quota) if changed else before
        if changed and not module.check_mode:
            after = api.update(VGS, before["id"], {"quota": quota})
    result = dict(changed=changed, volume_group=after)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


def expect_lookup(calls, quota=100):
    calls.add("GET", VGS, query={"name": "vg1"}, json={"hits": [{"id": 5, "name": "vg1"}], "total": 1})
    calls.add("GET", VGS + "/5", json={"id": 5, "name": "vg1", "quota": quota})


def test_changes_and_reports():
    with ExpectedCalls() as calls:
        expect_lookup(calls)
        calls.add("PATCH", VGS + "/5", body={"quota": 200}, json={"id": 5, "name": "vg1", "quota": 200})
        result, failed = run_module(demo_main, connection_args(volume_group="vg1", quota=200))
    assert not failed
    assert result["changed"] is True
    assert result["volume_group"] == {"id": 5, "name": "vg1", "quota": 200}
    if "invocation" in result:  # ansible-core up to 2.19 echoes the arguments, masked
        assert result["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert PASSWORD not in str(result)
    assert "diff" not in result


def test_check_mode_and_diff_send_no_write():
    with ExpectedCalls() as calls:
        expect_lookup(calls)
        result, failed = run_module(demo_main, connection_args(volume_group="vg1", quota=200),
                                    check_mode=True, diff_mode=True)
    assert not failed and result["changed"] is True
    assert result["diff"] == {"before": {"id": 5, "name": "vg1", "quota": 100},
                              "after": {"id": 5, "name": "vg1", "quota": 200}}


def test_unchanged_by_id_needs_no_lookup():
    with ExpectedCalls() as calls:
        calls.add("GET", VGS + "/5", json={"id": 5, "name": "vg1", "quota": 200})
        result, failed = run_module(demo_main, connection_args(volume_group="5", quota=200))
    assert not failed and result["changed"] is False


def test_http_error_becomes_fail_json_with_details():
    with ExpectedCalls() as calls:
        expect_lookup(calls)
        calls.add("PATCH", VGS + "/5", body={"quota": 1}, status=400, json={"error_msg": "quota too small"})
        result, failed = run_module(demo_main, connection_args(volume_group="vg1", quota=1))
    assert failed
    assert result["msg"] == "PATCH /volume_groups/5 failed: HTTP 400 Bad Request: quota too small"
    assert (result["status"], result["method"], result["path"], result["error_msg"]) == (
        400, "PATCH", "/volume_groups/5", "quota too small")


def test_outcome_unknown_becomes_fail_json():
    with ExpectedCalls() as calls:
        expect_lookup(calls)
        calls.add("PATCH", VGS + "/5", body={"quota": 300}, status=502)
        result, failed = run_module(demo_main, connection_args(volume_group="vg1", quota=300))
    assert failed and result["status"] == 502
    assert "outcome unknown" in result["msg"] and "re-read the object" in result["msg"]


def test_unknown_name_fails_naming_the_option():
    with ExpectedCalls() as calls:
        calls.add("GET", VGS, query={"name": "nope"}, json={"hits": [], "total": 0})
        result, failed = run_module(demo_main, connection_args(volume_group="nope"))
    assert failed
    assert result["msg"] == "volume_group: no volume_groups object is named 'nope'"
    assert result["option"] == "volume_group"


def test_bad_credentials_never_echo_the_password():
    with ExpectedCalls() as calls:
        calls.add("GET", VGS + "/5", status=401, json={"error_msg": "Authentication required"})
        result, failed = run_module(demo_main, connection_args(volume_group="5"))
    assert failed and result["status"] == 401
    assert PASSWORD not in str(result)


def test_connection_options_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("K2_HOST", "127.0.0.1:8443")
    monkeypatch.setenv("K2_USERNAME", "envuser")
    monkeypatch.setenv("K2_PASSWORD", "env-pass-word")
    monkeypatch.setenv("K2_VALIDATE_CERTS", "false")
    with ExpectedCalls(base_url="https://127.0.0.1:8443/api/v2", auth=("envuser", "env-pass-word"),
                       verify=False) as calls:
        calls.add("GET", VGS + "/5", json={"id": 5, "quota": 1})
        result, failed = run_module(demo_main, {"volume_group": "5"})
    assert not failed
    assert "env-pass-word" not in str(result)


def test_ca_path_from_the_environment(monkeypatch, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("CA\n")
    monkeypatch.setenv("K2_CA_PATH", str(ca_file))
    with ExpectedCalls(verify=str(ca_file)) as calls:
        calls.add("GET", VGS + "/5", json={"id": 5, "quota": 1})
        result, failed = run_module(demo_main, connection_args(volume_group="5"))
    assert not failed


def test_options_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("K2_HOST", "127.0.0.2")
    monkeypatch.setenv("K2_VALIDATE_CERTS", "false")
    with ExpectedCalls() as calls:
        calls.add("GET", VGS + "/5", json={"id": 5, "quota": 1})
        result, failed = run_module(demo_main, connection_args(volume_group="5", validate_certs=True))
    assert not failed


def test_missing_connection_option(monkeypatch):
    for name in ("K2_HOST", "K2_USERNAME", "K2_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with ExpectedCalls():
        result, failed = run_module(demo_main, {"volume_group": "5", "username": "u", "password": "p"})
    assert failed and "missing required arguments: host" in result["msg"]


@pytest.mark.parametrize("args, message", [
    (dict(host="https://127.0.0.1"), "host: expected a host name, name:port or [IPv6]:port, not a URL or path"),
    (dict(timeout=0), "timeout: expected a positive number of seconds, got 0"),
    (dict(ca_path="/nonexistent/ca.pem"), "ca_path: no such file or directory: /nonexistent/ca.pem"),
])
def test_unusable_connection_option_fails_before_any_request(args, message):
    with ExpectedCalls():
        result, failed = run_module(demo_main, connection_args(volume_group="5", **args))
    assert failed and result["msg"].startswith(message)
    assert result["option"] == message.split(":", 1)[0]


def test_missing_requests_library(monkeypatch):
    monkeypatch.setattr(k2_module, "HAS_REQUESTS", False)
    monkeypatch.setattr(k2_module, "REQUESTS_IMPORT_ERROR", "Traceback: No module named 'requests'")
    with ExpectedCalls():
        result, failed = run_module(demo_main, connection_args(volume_group="5"))
    assert failed and "Failed to import the required Python library (requests)" in result["msg"]


# The options of the doc fragment kaminario.k2.connection, in its order.
CONNECTION_OPTIONS = ("host", "username", "password", "validate_certs", "ca_path", "timeout")


def test_argument_spec():
    spec = k2_argument_spec(name=dict(type="str"))
    assert tuple(spec)[:len(CONNECTION_OPTIONS)] == CONNECTION_OPTIONS and "name" in spec
    assert spec["password"]["no_log"] is True
    assert spec["validate_certs"]["default"] is True and spec["timeout"]["default"] == 30
    assert spec["ca_path"]["type"] == "path"
    with pytest.raises(ValueError, match="clash with the connection options: timeout"):
        k2_argument_spec(timeout=dict(type="int"))


def test_connect_passes_transport_options():
    class FakeModule:
        params = dict(host="127.0.0.1", username="u", password="p", validate_certs=True, ca_path=None, timeout=9)

    api = connect(FakeModule(), retries=1, retry_max_time=3)
    assert (api.transport.retries, api.transport.retry_max_time, api.transport.timeout) == (1, 3, 9)


def test_handle_errors_passes_other_exceptions_through():
    class FakeModule:
        params = dict(host="127.0.0.1")

        def fail_json(self, **kwargs):
            raise AssertionError("not expected")

    with pytest.raises(KeyError):
        with handle_errors(FakeModule()):
            raise KeyError("a bug stays a traceback")
