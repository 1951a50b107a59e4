# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers to unit-test kaminario.k2 modules: run the real main() and script the HTTP calls.

    from ansible_collections.kaminario.k2.tests.unit.helpers import (
        ExpectedCalls, connection_args, run_module, warning_messages)
    from ansible_collections.kaminario.k2.plugins.modules import k2_replication_session as module

    def test_creates_session():
        with ExpectedCalls() as calls:
            calls.add("GET", "/replication/sessions", query={"name": "s1"},
                      json={"hits": [], "total": 0})
            calls.add("POST", "/replication/sessions", body={"name": "s1", ...},
                      status=201, json={"id": 7, "name": "s1", ...})
            result, failed = run_module(module, connection_args(name="s1", ...))
        assert not failed and result["changed"]

Every request must be the next expected one (method, URL path, exact query, exact JSON body, Basic
auth, verify=): anything else fails the test at once with both requests described, and leaving the
block with expectations unused fails it too. Retry waits are recorded in `calls.sleeps`, not slept.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import responses
from ansible.module_utils import basic as _ansible_basic
from ansible.module_utils.common import warnings as _ansible_warnings
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core 2.19 and newer
    from ansible.module_utils import _internal as _ansible_internal
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16 to 2.18: the arguments go through basic._ANSIBLE_ARGS
    _ansible_internal = None
    patch_module_args = None

from ansible_collections.kaminario.k2.plugins.module_utils import transport as _transport

HOST = "127.0.0.1"  # tests only ever address localhost (and `responses` answers before any socket)
USERNAME = "admin"
PASSWORD = "s3cr3t-Pa55"
BASE_URL = "https://%s/api/v2" % HOST


def connection_args(**module_args):
    """The module arguments for the test array (host, username, password) plus `module_args`."""
    args = dict(host=HOST, username=USERNAME, password=PASSWORD)
    args.update(module_args)
    return args


def run_module(module, args, check_mode=False, diff_mode=False):
    """Run the real main() of `module` (a module object or the main function itself) with a real
    AnsibleModule and `args`; returns (result, failed).

    The result is what the controller would receive: the JSON the module printed, after Ansible's
    no_log masking, with `invocation`, `warnings` and `deprecations`.
    """
    main = getattr(module, "main", module)
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff_mode:
        args["_ansible_diff"] = True
    out, code = io.StringIO(), None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_module_args(args))
        stack.enter_context(contextlib.redirect_stdout(out))
        # Run as a module does on a target, not as controller code: warnings and deprecations go
        # into the result (the controller would show them at once), starting empty for each run.
        if hasattr(_ansible_internal, "is_controller"):
            stack.enter_context(mock.patch.object(_ansible_internal, "is_controller", False))
        for name in ("_global_warnings", "_global_deprecations"):
            stack.enter_context(_emptied(_ansible_warnings, name))
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        else:
            raise AssertionError("the module returned without calling exit_json or fail_json")
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    if not lines:
        raise AssertionError("the module exited (code %r) without printing a result" % (code,))
    result = json.loads(lines[-1])
    failed = bool(result.get("failed")) or code not in (0, None)
    return result, failed


def _module_args(args):
    """The module arguments for the next AnsibleModule: patch_module_args where ansible-core has it
    (2.19+, which refuses the old way), else basic._ANSIBLE_ARGS as the documented 2.16 way."""
    if patch_module_args is not None:
        return patch_module_args(args)
    return mock.patch.object(_ansible_basic, "_ANSIBLE_ARGS",
                             to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))


def _emptied(module, name):
    """`module.name` (a dict in 2.19+, a list before) empty for the block, restored after it."""
    value = getattr(module, name)
    if isinstance(value, dict):
        return mock.patch.dict(value, clear=True)
    return mock.patch.object(module, name, type(value)())


def warning_messages(result):
    """The texts of a result's warnings (ansible-core 2.19 returns each as a WarningSummary dict,
    2.16 as a string)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def basic_auth(username=USERNAME, password=PASSWORD):
    """The Authorization header value the client must send."""
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()


class RecordingTime:
    """Stands in for a module_utils file's `time`: sleeps are recorded (and advance the clock), not slept."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def _effective_verify(verify):
    """requests replaces verify=True (only True) by the environment's CA bundle, as it should."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def _query(url):
    return {key: values[0] if len(values) == 1 else values
            for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def _body(request):
    if request.body in (None, b"", ""):
        return None
    raw = request.body.decode() if isinstance(request.body, bytes) else request.body
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class ExpectedCalls:
    """The HTTP calls a test expects, in order, each with the answer to give (through `responses`).

    `auth` is (username, password) or None to skip the check; `verify` is the verify= value every
    request must carry (True, False or a CA path; True also accepts the REQUESTS_CA_BUNDLE that
    requests puts in its place).
    """

    def __init__(self, base_url=BASE_URL, auth=(USERNAME, PASSWORD), verify=True):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.verify = verify
        self.expected = []
        self.requests = []  # (method, url, body) of every request received
        self._next = 0
        self._time = RecordingTime()
        self._mock = None
        self._patch = None

    @property
    def sleeps(self):
        """Seconds the transport chose to wait between attempts, in order."""
        return self._time.sleeps

    def add(self, method, path, query=None, body=None, status=200, json=None, headers=None, error=None):
        """Expect `method` on `path` (relative to base_url) with exactly `query` (dict, values
        compared as strings) and exactly the JSON `body` (None: no body); answer `status` with `json`
        (default {} unless 204) and `headers`, or raise `error` (e.g. requests.ConnectionError())."""
        query = {key: [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)
                 for key, value in (query or {}).items()}
        self.expected.append(dict(method=method.upper(), path=path, query=query, body=body, status=status,
                                  json=json, headers=headers or {}, error=error))
        return self

    def __enter__(self):
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._mock.__enter__()
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            self._mock.add_callback(method, re.compile(r".*"), callback=self._answer)
        self._patch = mock.patch.object(_transport, "time", self._time)
        self._patch.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._patch.stop()
        self._mock.__exit__(exc_type, exc, tb)
        if exc_type is None:
            self.assert_all_called()

    def assert_all_called(self):
        missing = self.expected[self._next:]
        if missing:
            raise AssertionError("%d expected call(s) not made; the next one: %s"
                                 % (len(missing), self._describe(missing[0])))

    def _describe(self, exp):
        return "%s %s%s query=%r body=%r" % (exp["method"], self.base_url, exp["path"], exp["query"], exp["body"])

    def _answer(self, request):
        got = dict(method=request.method, url=request.url, query=_query(request.url), body=_body(request))
        self.requests.append((request.method, request.url, got["body"]))
        if self._next >= len(self.expected):
            raise AssertionError("unexpected call %s %s body=%r: no more calls expected"
                                 % (request.method, request.url, got["body"]))
        exp = self.expected[self._next]
        self._next += 1
        problems = []
        if got["method"] != exp["method"]:
            problems.append("method %s" % got["method"])
        if urlsplit(request.url)._replace(query="").geturl() != self.base_url + exp["path"]:
            problems.append("URL %s" % request.url)
        if got["query"] != exp["query"]:
            problems.append("query %r" % got["query"])
        if got["body"] != exp["body"]:
            problems.append("body %r" % got["body"])
        if self.auth is not None and request.headers.get("Authorization") != basic_auth(*self.auth):
            problems.append("Authorization header %r" % request.headers.get("Authorization"))
        verify, expected = getattr(request, "req_kwargs", {}).get("verify"), _effective_verify(self.verify)
        if verify != expected:
            problems.append("verify=%r (expected %r)" % (verify, expected))
        if problems:
            raise AssertionError("call %d: expected %s; got %s"
                                 % (self._next, self._describe(exp), ", ".join(problems)))
        if exp["error"] is not None:
            raise exp["error"]
        payload = exp["json"]
        if payload is None and exp["status"] != 204:
            payload = {}
        headers = dict(exp["headers"])
        if payload is not None:
            headers.setdefault("Content-Type", "application/json")
        return exp["status"], headers, json.dumps(payload) if payload is not None else ""
