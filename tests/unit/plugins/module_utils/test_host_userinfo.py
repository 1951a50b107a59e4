# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host value with credentials in it (`user:secret@array`, `user@array`, `https://user:pw@array`)
is refused before any request, with a message that does not repeat it, and the secret appears
nowhere in what a module returns (its message, its details, its copy of the module arguments)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils import k2_module
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2OptionError
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport, has_userinfo, parse_host
from ansible_collections.kaminario.k2.plugins.modules import (
    k2_replication_session,
    k2_replication_session_info,
    k2_replication_topology,
)
from ansible_collections.kaminario.k2.tests.unit.helpers import ExpectedCalls, connection_args, run_module

SECRET = "Xq9-h0st-Secr3t-5521"
REFUSAL = ("host: must be a name or address with an optional port; credentials in host are not accepted: "
           "use username and password")
WITH_CREDENTIALS = [
    "admin:%s@127.0.0.1" % SECRET,
    "admin:%s@127.0.0.1:8443" % SECRET,
    "%s@127.0.0.1" % SECRET,
    "https://admin:%s@127.0.0.1" % SECRET,
    "https://admin:%s@127.0.0.1:8443/api/v2" % SECRET,
    "admin:%s@[::1]:443" % SECRET,
    " admin:%s@127.0.0.1 " % SECRET,
    "admin:p@ss%s@127.0.0.1" % SECRET,  # an @ inside the password too
]


@pytest.mark.parametrize("value", WITH_CREDENTIALS)
def test_refused_without_repeating_the_value(value):
    assert has_userinfo(value)
    with pytest.raises(K2OptionError) as info:
        parse_host(value)
    assert str(info.value) == REFUSAL
    assert info.value.details() == {"option": "host"}
    assert SECRET not in str(info.value) and "admin" not in str(info.value)


def test_a_user_alone_is_refused_the_same_way():
    with pytest.raises(K2OptionError) as info:
        parse_host("admin@k2.example.com")
    assert str(info.value) == REFUSAL


@pytest.mark.parametrize("value", ["127.0.0.1", "k2.example.com:8443", "[::1]:443", "::1", None, 443, ""])
def test_other_values_carry_no_credentials(value):
    assert not has_userinfo(value)


def test_the_transport_refuses_it_before_any_request():
    with ExpectedCalls() as calls:
        with pytest.raises(K2OptionError) as info:
            K2Transport("admin:%s@127.0.0.1" % SECRET, "admin", "pw")
    assert str(info.value) == REFUSAL
    assert calls.requests == []


MODULE_RUNS = [
    (k2_replication_session_info, dict(name="s1")),
    # Refused by the module's own checks before it connects: the value is masked there too.
    (k2_replication_session_info, dict(filters={"colour": "red"})),
    (k2_replication_session, dict(name="s1", rpo=300)),
    (k2_replication_session, dict(name="s1", wait_timeout=-1)),
    (k2_replication_topology, dict(sessions=[{"name": "s1"}])),
    (k2_replication_topology, dict(sessions=[{"name": "s1"}], wait_timeout=-1)),
]


@pytest.mark.parametrize("value", WITH_CREDENTIALS[:4])
@pytest.mark.parametrize("module, args", MODULE_RUNS)
def test_the_secret_is_nowhere_in_the_module_result(module, args, value):
    with ExpectedCalls() as calls:
        result, failed = run_module(module, connection_args(host=value, **args))
    assert failed and calls.requests == []
    text = json.dumps(result)
    assert SECRET not in text, text
    assert value.strip() not in text
    # The copy of the module arguments shows the host masked (Ansible's placeholder), the rest as given;
    # ansible-core 2.21 no longer returns that copy (`invocation`) at all.
    if tuple(int(n) for n in ANSIBLE_VERSION.split(".")[:2]) < (2, 21):
        assert result["invocation"]["module_args"]["host"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert result["invocation"]["module_args"]["username"] == "admin"
    else:
        assert "invocation" not in result
    if "option" in result:  # the transport's refusal, not a module check that came first
        assert (result["msg"], result["option"]) == (REFUSAL, "host")


def test_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("K2_HOST", "admin:%s@127.0.0.1" % SECRET)
    with ExpectedCalls() as calls:
        result, failed = run_module(k2_replication_session_info, {"username": "admin", "password": "pw"})
    assert failed and calls.requests == []
    assert result["msg"] == REFUSAL
    assert SECRET not in json.dumps(result)


def bare_main():
    """A module that connects without handle_errors around it: connect() masks the value itself."""
    module = AnsibleModule(argument_spec=k2_module.k2_argument_spec(), supports_check_mode=True)
    k2_module.connect(module)
    module.exit_json(changed=False)


def test_connect_masks_it_before_its_own_failure(monkeypatch):
    monkeypatch.setattr(k2_module, "HAS_REQUESTS", False)
    monkeypatch.setattr(k2_module, "REQUESTS_IMPORT_ERROR", "Traceback: No module named 'requests'")
    with ExpectedCalls() as calls:
        result, failed = run_module(bare_main, connection_args(host="admin:%s@127.0.0.1" % SECRET))
    assert failed and "Failed to import the required Python library (requests)" in result["msg"]
    assert SECRET not in json.dumps(result) and calls.requests == []


def test_connect_refuses_it_without_handle_errors_around_it():
    with ExpectedCalls() as calls:
        result, failed = run_module(bare_main, connection_args(host="admin:%s@127.0.0.1" % SECRET))
    assert failed and result["msg"] == REFUSAL
    assert SECRET not in json.dumps(result) and calls.requests == []
