# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The typed errors as other code builds and reads them: defaults, attributes, details(), and the
status ranges http_error maps."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils import errors


@pytest.mark.parametrize("status, cls", [
    (499, errors.K2HTTPError), (500, errors.K2ServerError), (501, errors.K2ServerError),
    (599, errors.K2ServerError), (600, errors.K2HTTPError), (302, errors.K2HTTPError),
])
def test_http_error_maps_the_5xx_range_to_server_errors(status, cls):
    exc = errors.http_error("GET", "/x", status)
    assert exc.__class__ is cls
    assert (exc.status, exc.error_msg, exc.attempts) == (status, None, 1)
    assert str(exc) == "GET /x failed: HTTP %d" % status + {500: " Internal Server Error"}.get(status, "")


def test_an_http_error_built_without_attempts_is_one_attempt():
    exc = errors.K2NotFound("GET", "/volume_groups/9", 404)
    assert str(exc) == "GET /volume_groups/9 failed: HTTP 404 Not Found"
    assert exc.details() == {"method": "GET", "path": "/volume_groups/9", "status": 404, "attempts": 1}


def test_an_http_error_without_a_method_names_the_path_only():
    assert str(errors.K2Conflict(None, "/x", 409, "busy", attempts=2)) == (
        "/x failed: HTTP 409 Conflict: busy; gave up after 2 attempts")


@pytest.mark.parametrize("cls, what", [
    (errors.K2TLSError, "TLS failure (see validate_certs and ca_path)"),
    (errors.K2ConnectionError, "connection failed"),
    (errors.K2Timeout, "timed out"),
])
def test_transport_errors_attributes_and_details(cls, what):
    exc = cls("PATCH", "/replication/sessions/4", "127.0.0.1:8443", "Connection refused")
    assert isinstance(exc, errors.K2TransportError)
    assert str(exc) == "PATCH /replication/sessions/4 to 127.0.0.1:8443: %s: Connection refused" % what
    assert (exc.method, exc.path, exc.host, exc.reason, exc.attempts) == (
        "PATCH", "/replication/sessions/4", "127.0.0.1:8443", "Connection refused", 1)
    assert exc.details() == {"method": "PATCH", "path": "/replication/sessions/4", "attempts": 1}
    assert cls("GET", "/x", "h", "r", attempts=3).details()["attempts"] == 3


def test_outcome_unknown_attributes_and_details():
    exc = errors.K2OutcomeUnknown("DELETE", "/replication/sessions/4", "connection lost: reset")
    assert (exc.method, exc.path, exc.reason, exc.status) == (
        "DELETE", "/replication/sessions/4", "connection lost: reset", None)
    assert exc.details() == {"method": "DELETE", "path": "/replication/sessions/4"}
    assert errors.K2OutcomeUnknown("POST", "/x", "HTTP 504", status=504).details() == {
        "method": "POST", "path": "/x", "status": 504}


def test_protocol_error_details():
    exc = errors.K2ProtocolError("GET", "/x", 200, "the body is not JSON")
    assert str(exc) == "GET /x: unexpected answer from the K2 API (HTTP 200): the body is not JSON"
    assert exc.details() == {"method": "GET", "path": "/x", "status": 200}


def test_option_and_reference_errors_name_their_option():
    option = errors.K2OptionError("timeout", "expected a positive number of seconds, got 0")
    assert (str(option), option.option, option.details()) == (
        "timeout: expected a positive number of seconds, got 0", "timeout", {"option": "timeout"})
    ref = errors.K2ReferenceError("local_volume_group", "vg9", "no volume_groups object is named 'vg9'")
    assert (str(ref), ref.option, ref.value, ref.details()) == (
        "local_volume_group: no volume_groups object is named 'vg9'", "local_volume_group", "vg9",
        {"option": "local_volume_group"})
    assert errors.K2WaitTimeout("late").details() == {}
