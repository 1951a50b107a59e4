# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every module requires: Ansible itself refuses a task without them (before
the module's code or any request), naming the option."""

from __future__ import annotations

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import connect, k2_argument_spec
from ansible_collections.kaminario.k2.tests.unit.helpers import HOST, PASSWORD, USERNAME, ExpectedCalls, run_module


def tiny_main():
    module = AnsibleModule(argument_spec=k2_argument_spec())
    connect(module)
    module.exit_json(changed=False)


@pytest.mark.parametrize("missing", ["host", "username", "password"])
def test_each_connection_option_is_required(monkeypatch, missing):
    for name in ("K2_HOST", "K2_USERNAME", "K2_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    args = dict(host=HOST, username=USERNAME, password=PASSWORD)
    del args[missing]
    with ExpectedCalls():
        result, failed = run_module(tiny_main, args)
    assert failed
    assert result["msg"] == "missing required arguments: %s" % missing


def test_all_three_given_need_no_request():
    with ExpectedCalls():
        result, failed = run_module(tiny_main, dict(host=HOST, username=USERNAME, password=PASSWORD))
    assert not failed, result
