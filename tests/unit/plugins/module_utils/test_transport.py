# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Transport against `responses`: exact requests, error mapping, retries (waits recorded, not slept)."""

from __future__ import annotations

import pytest
import requests
import responses

from ansible_collections.kaminario.k2.plugins.module_utils import errors
from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.transport import (
    BUSY_CODES,
    K2Transport,
    parse_host,
    parse_http_date,
)
from ansible_collections.kaminario.k2.tests.unit.helpers import (
    BASE_URL,
    HOST,
    PASSWORD,
    USERNAME,
    ExpectedCalls,
    basic_auth,
)

PATH = "/replication/sessions"


def transport(**kwargs):
    return K2Transport(HOST, USERNAME, PASSWORD, **kwargs)


def assert_no_secret(exc):
    assert PASSWORD not in str(exc)
    assert PASSWORD not in repr(exc.details())


# --- the requests themselves ------------------------------------------------------------------------

def test_get_sends_auth_verify_timeout_and_accept(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + "/replication/sessions/3", json={"id": 3, "name": "s3"})
        assert transport(timeout=7).request("GET", "/replication/sessions/3") == {"id": 3, "name": "s3"}
        call = rsps.calls[0]
    assert call.request.method == "GET"
    assert call.request.url == BASE_URL + "/replication/sessions/3"
    assert call.request.headers["Authorization"] == basic_auth()
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.body is None
    assert "Content-Type" not in call.request.headers
    assert call.request.req_kwargs["verify"] is True
    assert call.request.req_kwargs["timeout"] == 7


def test_post_sends_json_body_and_returns_created_object():
    body = {"name": "s1", "rpo": 300, "local_volume_group": {"ref": "/volume_groups/5"}}
    with responses.RequestsMock() as rsps:
        rsps.post(BASE_URL + PATH, status=201, json=dict(body, id=9))
        assert transport().request("POST", PATH, body=body) == dict(body, id=9)
        request = rsps.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert responses.matchers.json_params_matcher(body, strict_match=True)(request)[0]


def test_query_patch_and_delete_exact_requests():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, query={"name": "s1", "__fields": "id,name"}, json={"hits": [], "total": 0})
        calls.add("PATCH", PATH + "/4", body={"state": "in_sync"}, json={"id": 4, "state": "idle"})
        calls.add("DELETE", PATH + "/4", status=204)
        t = transport()
        assert t.request("GET", PATH, params={"name": "s1", "__fields": "id,name"}) == {"hits": [], "total": 0}
        assert t.request("patch", "replication/sessions/4", body={"state": "in_sync"})["id"] == 4
        assert t.request("DELETE", PATH + "/4") is None
    assert calls.sleeps == []


def test_base_url_with_port_and_ipv6():
    assert transport().base_url == "https://127.0.0.1/api/v2"
    assert K2Transport("localhost:8443", "u", "p").base_url == "https://localhost:8443/api/v2"
    assert K2Transport("[::1]:8443", "u", "p").base_url == "https://[::1]:8443/api/v2"


@pytest.mark.parametrize("value, netloc", [
    ("k2.example.com", "k2.example.com"),
    (" k2.example.com:8443 ", "k2.example.com:8443"),
    ("192.0.2.10", "192.0.2.10"),
    ("[2001:db8::10]", "[2001:db8::10]"),
    ("[2001:db8::10]:443", "[2001:db8::10]:443"),
    ("2001:db8::10", "[2001:db8::10]"),
])
def test_parse_host_accepts(value, netloc):
    assert parse_host(value) == netloc


@pytest.mark.parametrize("value", [
    "https://k2.example.com", "k2.example.com/api/v2", "user@k2", "k2:0", "k2:65536", "k2:port", "[k2]:443",
    "", None, "k2 example", "k2?x=1",
])
def test_parse_host_rejects_with_option_name(value):
    with pytest.raises(errors.K2OptionError) as info:
        parse_host(value)
    assert str(info.value).startswith("host: ")
    assert info.value.details() == {"option": "host"}


@pytest.mark.parametrize("kwargs, option", [
    (dict(timeout=0), "timeout"),
    (dict(timeout="30"), "timeout"),
    (dict(ca_path="/nonexistent/ca.pem"), "ca_path"),
])
def test_unusable_options(kwargs, option):
    with pytest.raises(errors.K2OptionError) as info:
        transport(**kwargs)
    assert str(info.value).startswith(option + ": ")


def test_missing_ca_path_is_ignored_without_validation():
    assert transport(validate_certs=False, ca_path="/nonexistent/ca.pem").verify is False


# --- verify= on every request, whatever REQUESTS_CA_BUNDLE says --------------------------------------------

@pytest.mark.parametrize("validate_certs, ca_path, expected", [
    (True, None, True),  # requests then uses the environment's bundle: the default trust store
    (False, None, False),
    (True, "CA", "CA"),
    (False, "CA", False),
])
def test_verify_passed_while_requests_ca_bundle_is_set(tmp_path, monkeypatch, validate_certs, ca_path, expected):
    bundle = tmp_path / "env-bundle.pem"
    bundle.write_text("not used\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("CA\n")
    ca_path = str(ca_file) if ca_path else None
    expected = str(ca_file) if expected == "CA" else expected
    with ExpectedCalls(verify=expected) as calls:  # checks verify= as the adapter received it
        calls.add("GET", PATH, json={"hits": [], "total": 0})
        calls.add("POST", PATH, body={"name": "x"}, status=201, json={"id": 1})
        t = transport(validate_certs=validate_certs, ca_path=ca_path)
        t.request("GET", PATH)
        t.request("POST", PATH, body={"name": "x"})


def test_session_verify_alone_would_be_overridden(tmp_path, monkeypatch):
    """Why verify= is passed per request: the environment beats Session.verify (so the test above can fail)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "env-bundle.pem"))
    session = requests.Session()
    session.verify = False
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, json={})
        session.get(BASE_URL + PATH)
        assert rsps.calls[0].request.req_kwargs["verify"] == str(tmp_path / "env-bundle.pem")


# --- each error status to its typed error --------------------------------------------------------------------

@pytest.mark.parametrize("method, status, cls, reason", [
    ("POST", 400, errors.K2BadRequest, "Bad Request"),
    ("GET", 401, errors.K2Unauthorized, "Unauthorized"),
    ("PATCH", 403, errors.K2Forbidden, "Forbidden"),
    ("GET", 404, errors.K2NotFound, "Not Found"),
    ("DELETE", 405, errors.K2MethodNotAllowed, "Method Not Allowed"),
    ("PATCH", 409, errors.K2Conflict, "Conflict"),
    ("GET", 429, errors.K2TooManyRequests, "Too Many Requests"),
    ("POST", 500, errors.K2ServerError, "Internal Server Error"),
    ("GET", 502, errors.K2ServerError, "Bad Gateway"),
    ("DELETE", 503, errors.K2ServerError, "Service Unavailable"),
    ("GET", 504, errors.K2ServerError, "Gateway Timeout"),
    ("GET", 418, errors.K2HTTPError, None),
])
def test_status_maps_to_typed_error(method, status, cls, reason):
    body = {"name": "x"} if method in ("POST", "PATCH") else None
    with ExpectedCalls() as calls:
        calls.add(method, PATH + "/8", body=body, status=status,
                  json={"error_msg": "it went wrong", "error_code": 17})
        with pytest.raises(cls) as info:
            transport(retries=0).request(method, PATH + "/8", body=body)
    exc = info.value
    assert exc.__class__ is cls
    expected = "%s %s/8 failed: HTTP %d%s: it went wrong" % (method, PATH, status, " " + reason if reason else "")
    assert str(exc) == expected
    assert (exc.method, exc.path, exc.status, exc.error_msg) == (method, PATH + "/8", status, "it went wrong")
    assert exc.details() == {"method": method, "path": PATH + "/8", "status": status,
                             "error_msg": "it went wrong", "attempts": 1}
    assert_no_secret(exc)


def test_non_json_error_body_is_quoted_briefly():
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, status=500, body="<html>\n  <b>Internal</b>   error " + "x" * 500,
                 content_type="text/html")
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=0).request("GET", PATH)
    assert info.value.error_msg.startswith("<html> <b>Internal</b> error xxx")
    assert len(info.value.error_msg) == 200


def test_redirect_is_not_followed():
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, status=301, headers={"Location": "https://127.0.0.2/elsewhere"})
        with pytest.raises(errors.K2HTTPError) as info:
            transport().request("GET", PATH)
        assert len(rsps.calls) == 1
    assert info.value.status == 301


def test_success_without_json_is_a_protocol_error():
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, status=200, body="<html>login</html>", content_type="text/html")
        with pytest.raises(errors.K2ProtocolError) as info:
            transport().request("GET", PATH)
    assert "GET /replication/sessions" in str(info.value) and "text/html" in str(info.value)


# --- retries --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_503_then_success_for_every_method(method):
    body = {"rpo": 600} if method in ("POST", "PATCH") else None
    with ExpectedCalls() as calls:
        calls.add(method, PATH + "/1", body=body, status=503, json={"error_msg": "busy"})
        calls.add(method, PATH + "/1", body=body, status=503, json={"error_msg": "busy"})
        calls.add(method, PATH + "/1", body=body, status=200, json={"id": 1})
        assert transport().request(method, PATH + "/1", body=body) == {"id": 1}
    assert calls.sleeps == [0.5, 1.0]


def test_503_gives_up_after_the_count():
    with ExpectedCalls() as calls:
        for dummy in range(6):
            calls.add("GET", PATH, status=503, json={"error_msg": "array is busy"})
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=5).request("GET", PATH)
    assert str(info.value) == ("GET /replication/sessions failed: HTTP 503 Service Unavailable: array is busy; "
                               "gave up after 6 attempts")
    assert info.value.attempts == 6
    assert calls.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_retries_stop_at_the_time_bound():
    with ExpectedCalls() as calls:
        for dummy in range(4):
            calls.add("POST", PATH, body={"name": "a"}, status=503)
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=10, retry_max_time=5).request("POST", PATH, body={"name": "a"})
    # 0.5 + 1 + 2 = 3.5 s spent; the next 4 s wait would pass the 5 s bound.
    assert calls.sleeps == [0.5, 1.0, 2.0]
    assert "gave up after 4 attempts" in str(info.value)


def test_429_honours_retry_after():
    with ExpectedCalls() as calls:
        calls.add("PATCH", PATH + "/2", body={"rpo": 600}, status=429, headers={"Retry-After": "3"},
                  json={"error_msg": "too fast"})
        calls.add("PATCH", PATH + "/2", body={"rpo": 600}, json={"id": 2, "rpo": 600})
        assert transport().request("PATCH", PATH + "/2", body={"rpo": 600})["rpo"] == 600
    assert calls.sleeps == [3.0]


@pytest.mark.parametrize("retry_after, waited", [
    ("3600", 10.0),  # capped
    ("0", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past
    ("soon", 0.5),  # unparsable: the backoff
])
def test_retry_after_values(retry_after, waited):
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=503, headers={"Retry-After": retry_after})
        calls.add("GET", PATH, json={"hits": []})
        transport().request("GET", PATH)
    assert calls.sleeps == [waited]


def test_429_gives_up_with_typed_error():
    with ExpectedCalls() as calls:
        for dummy in range(3):
            calls.add("GET", PATH, status=429, headers={"Retry-After": "1"}, json={"error_msg": "too fast"})
        with pytest.raises(errors.K2TooManyRequests) as info:
            transport(retries=2).request("GET", PATH)
    assert calls.sleeps == [1.0, 1.0]
    assert str(info.value).endswith("HTTP 429 Too Many Requests: too fast; gave up after 3 attempts")


@pytest.mark.parametrize("error_msg", list(BUSY_CODES) + ["Operation failed: MC_ERR_BUSY (try later)"])
def test_busy_400_is_retried(error_msg):
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, status=400, json={"error_msg": error_msg})
        calls.add("POST", PATH, body={"name": "s"}, status=201, json={"id": 3})
        assert transport().request("POST", PATH, body={"name": "s"}) == {"id": 3}
    assert calls.sleeps == [0.5]


def test_busy_400_gives_up_as_bad_request():
    with ExpectedCalls() as calls:
        for dummy in range(3):
            calls.add("PATCH", PATH + "/1", body={"state": "idle"}, status=400, json={"error_msg": "MC_ERR_INPROGRESS"})
        with pytest.raises(errors.K2BadRequest) as info:
            transport(retries=2).request("PATCH", PATH + "/1", body={"state": "idle"})
    assert str(info.value) == ("PATCH /replication/sessions/1 failed: HTTP 400 Bad Request: MC_ERR_INPROGRESS; "
                               "gave up after 3 attempts")


def test_other_400_is_not_retried():
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"rpo": 61}, status=400,
                  json={"error_msg": "rpo must be either 60 (1 min) or a multiple of 300 (5 min)"})
        with pytest.raises(errors.K2BadRequest) as info:
            transport().request("POST", PATH, body={"rpo": 61})
    assert calls.sleeps == []
    assert info.value.attempts == 1 and "gave up" not in str(info.value)


def test_busy_and_status_retries_share_one_budget():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=503)
        calls.add("GET", PATH, status=400, json={"error_msg": "MC_ERR_BUSY"})
        calls.add("GET", PATH, status=503)
        calls.add("GET", PATH, status=400, json={"error_msg": "MC_ERR_BUSY"})
        with pytest.raises(errors.K2BadRequest) as info:
            transport(retries=3).request("GET", PATH)
    assert calls.sleeps == [0.5, 1.0, 2.0]
    assert info.value.attempts == 4


def test_retries_zero_means_one_attempt():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=503)
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=0).request("GET", PATH)
    assert calls.sleeps == [] and info.value.attempts == 1


def test_get_502_is_retried_then_succeeds():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH + "/5", status=502)
        calls.add("GET", PATH + "/5", status=504)
        calls.add("GET", PATH + "/5", json={"id": 5})
        assert transport().request("GET", PATH + "/5") == {"id": 5}
    assert calls.sleeps == [0.5, 1.0]


def test_get_502_exhausted_is_a_server_error():
    with ExpectedCalls() as calls:
        for dummy in range(3):
            calls.add("GET", PATH + "/5", status=502, json={"error_msg": "REST service went away"})
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=2).request("GET", PATH + "/5")
    assert "HTTP 502 Bad Gateway: REST service went away; gave up after 3 attempts" in str(info.value)


@pytest.mark.parametrize("method, status", [("POST", 502), ("PATCH", 502), ("DELETE", 502), ("POST", 504)])
def test_write_502_is_not_repeated_and_outcome_unknown(method, status):
    body = {"name": "s"} if method != "DELETE" else None
    path = PATH if method == "POST" else PATH + "/6"
    with ExpectedCalls() as calls:  # exactly one call: a second would fail the test
        calls.add(method, path, body=body, status=status, json={"error_msg": "REST service went away"})
        with pytest.raises(errors.K2OutcomeUnknown) as info:
            transport().request(method, path, body=body)
    assert calls.sleeps == []
    assert str(info.value) == ("%s %s: outcome unknown (HTTP %d: REST service went away); the array may or may "
                               "not have carried it out, re-read the object before repeating the request"
                               % (method, path, status))
    assert info.value.details() == {"method": method, "path": path, "status": status}


def test_connection_error_from_adapter_is_typed_and_names_the_request():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.ConnectionError("boom"))
        with pytest.raises(errors.K2ConnectionError) as info:
            transport().request("GET", PATH)
    assert str(info.value).startswith("GET /replication/sessions to 127.0.0.1: connection failed")
    assert_no_secret(info.value)


def test_read_timeout_on_write_is_outcome_unknown():
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, error=requests.exceptions.ReadTimeout("slow"))
        with pytest.raises(errors.K2OutcomeUnknown) as info:
            transport(timeout=12).request("POST", PATH, body={"name": "s"})
    assert "no answer within 12 s" in str(info.value)


def test_read_timeout_on_get_is_a_timeout():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.ReadTimeout("slow"))
        with pytest.raises(errors.K2Timeout) as info:
            transport(timeout=12).request("GET", PATH)
    assert str(info.value) == "GET /replication/sessions to 127.0.0.1: timed out: no answer within 12 s"


def test_close_and_context_manager():
    with transport() as t:
        session = t._session
    assert session.adapters  # closing keeps requests' adapters mapping; nothing more to check


# --- the array's clock ----------------------------------------------------------------------------

def test_the_date_of_the_last_answer_is_kept_for_the_array_clock():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, json={"hits": [], "total": 0}, headers={"Date": "Tue, 01 Dec 2026 10:00:00 GMT"})
        calls.add("GET", PATH)  # no Date: the last one known stays
        calls.add("GET", PATH, status=404, json={"error_msg": "gone"}, headers={"Date": "Tue, 01 Dec 2026 10:00:07 GMT"})
        t = transport()
        api = K2Api(t)
        assert t.last_date is None and api.last_date is None
        t.request("GET", PATH)
        assert t.last_date == api.last_date == 1796119200.0
        t.request("GET", PATH)
        assert t.last_date == 1796119200.0
        with pytest.raises(errors.K2NotFound):
            t.request("GET", PATH)
        assert api.last_date == 1796119207.0  # an error answer tells the time too


@pytest.mark.parametrize("value, expected", [
    ("Tue, 01 Dec 2026 10:00:00 GMT", 1796119200.0),
    ("Tue, 01 Dec 2026 12:00:00 +0200", 1796119200.0),
    ("Tue, 01 Dec 2026 10:00:00 -0000", 1796119200.0),   # no zone: UTC
    ("Tue, 01 Dec 2026 10:00:00", 1796119200.0),
    ("", None), (None, None), ("yesterday", None), ("Tue, 01 Foo 2026 10:00:00 GMT", None), (17, None),
])
def test_parse_http_date(value, expected):
    assert parse_http_date(value) == expected


def test_an_api_over_a_transport_without_a_clock():
    assert K2Api(object()).last_date is None
