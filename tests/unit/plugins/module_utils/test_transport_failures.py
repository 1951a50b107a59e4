# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Transport failures, each to its typed error and exact message; the defaults, the back-off cap,
busy codes and close(). Real sockets only to 127.0.0.1; a name lookup is answered by a stub."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import requests
import responses
import trustme
from urllib3 import exceptions as urllib3_exceptions

from ansible_collections.kaminario.k2.plugins.module_utils import errors
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import BASE_URL, HOST, PASSWORD, USERNAME, ExpectedCalls

PATH = "/replication/sessions"


def transport(**kwargs):
    return K2Transport(HOST, USERNAME, PASSWORD, **kwargs)


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with the same raw bytes: over TLS
    (`tls=True`, a trustme certificate) or in clear. Counts connections and sees each one close."""

    def __init__(self, tmp_path, answer, tls=True):
        self.answer = answer
        self.connections = 0
        self.closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = "127.0.0.1:%d" % self._listener.getsockname()[1]
        self._context = None
        self.ca_file = None
        if tls:
            ca = trustme.CA()
            self.ca_file = str(tmp_path / "raw-ca.pem")
            ca.cert_pem.write_to_path(self.ca_file)
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(self._context)
        self._listener.settimeout(0.05)  # so that the accept loop sees the stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(10)
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            if self._context is None:  # in clear: answer the TLS client hello at once
                conn.sendall(self.answer)
                return
            conn = self._context.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _sep, body = data.partition(b"\r\n\r\n")
            length = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            while length and len(body) < length[0]:  # read the whole request before answering
                body += conn.recv(65536)
            conn.sendall(self.answer)
            if b"Connection: keep-alive" in self.answer:
                while conn.recv(65536):  # until the client closes its end
                    pass
                self.closed.set()
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


def make(server, sleeps=None, **kwargs):
    return K2Transport(server.host, USERNAME, PASSWORD, ca_path=server.ca_file,
                       sleep=(sleeps if sleeps is not None else []).append, **kwargs)


# --- no connection --------------------------------------------------------------------------------------------


@pytest.fixture
def full_backlog():
    """A 127.0.0.1 port whose accept queue is full: Linux drops the next SYN, so connecting hangs
    until the client's connect timeout (nothing is ever accepted)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _i in range(2):  # backlog 0 still queues one connection; the second fills what is left
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    for sock in fillers + [listener]:
        sock.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_connect_timeout_is_retried_then_a_timeout_for_every_method(full_backlog, method):
    sleeps = []
    t = K2Transport(full_backlog, USERNAME, PASSWORD, timeout=0.2, retries=1, sleep=sleeps.append)
    with pytest.raises(errors.K2Timeout) as info:
        t.request(method, "/volume_groups", body={"name": "vg1"} if method == "POST" else None)
    # Nothing was sent: a write too is a plain timeout (not an unknown outcome), and retried.
    assert str(info.value) == ("%s /volume_groups to %s: timed out: no connection within 0.2 s; gave up after "
                               "2 attempts" % (method, full_backlog))
    assert info.value.attempts == 2
    assert sleeps == [0.5]


def test_connect_timeout_from_the_adapter_names_the_timeout():
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, error=requests.exceptions.ConnectTimeout("connect timed out"))
        with pytest.raises(errors.K2Timeout) as info:
            transport(timeout=9).request("POST", PATH, body={"name": "s"})
    assert str(info.value) == "POST /replication/sessions to 127.0.0.1: timed out: no connection within 9 s"


def test_a_name_that_does_not_resolve(monkeypatch):
    looked_up = []

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sleeps = []
    t = K2Transport("k2-array.invalid", USERNAME, PASSWORD, retries=2, sleep=sleeps.append)
    with pytest.raises(errors.K2ConnectionError) as info:
        t.request("GET", "/system/state")
    assert str(info.value) == ("GET /system/state to k2-array.invalid: connection failed: cannot resolve the host "
                               "name (Name or service not known); gave up after 3 attempts")
    assert looked_up == ["k2-array.invalid"] * 3
    assert sleeps == [0.5, 1.0]


# --- TLS ------------------------------------------------------------------------------------------------------


def test_a_tls_failure_other_than_verification_is_a_tls_error_and_not_retried(tmp_path):
    """A server that answers in clear text: the handshake fails on the record, not the certificate."""
    sleeps = []
    with RawServer(tmp_path, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", tls=False) as server:
        with pytest.raises(errors.K2TLSError) as info:
            K2Transport(server.host, USERNAME, PASSWORD, sleep=sleeps.append).request("POST", PATH, body={"n": 1})
        assert server.connections == 1
    message = str(info.value)
    prefix = "POST /replication/sessions to %s: TLS failure (see validate_certs and ca_path): " % server.host
    assert message.startswith(prefix)
    assert "certificate verify failed" not in message
    assert message[len(prefix):] in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")
    assert sleeps == []


def test_tls_error_from_the_adapter_without_a_reason():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.SSLError("handshake went wrong"))
        with pytest.raises(errors.K2TLSError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == ("GET /replication/sessions to 127.0.0.1: TLS failure (see validate_certs and "
                               "ca_path): TLS handshake failed")


# --- connection lost mid-response -----------------------------------------------------------------------------

TRUNCATED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
             b"Connection: close\r\n\r\n{\"id\": 7, ")


def test_a_get_that_loses_its_connection_mid_response(tmp_path):
    with RawServer(tmp_path, TRUNCATED) as server:
        with pytest.raises(errors.K2ConnectionError) as info:
            make(server).request("GET", PATH + "/7")
    assert str(info.value) == ("GET /replication/sessions/7 to %s: connection failed: connection lost: "
                               "IncompleteRead(10 bytes read, 90 more expected)" % server.host)


def test_a_write_that_loses_its_connection_mid_response_is_outcome_unknown(tmp_path):
    sleeps = []
    with RawServer(tmp_path, TRUNCATED) as server:
        with pytest.raises(errors.K2OutcomeUnknown) as info:
            make(server, sleeps).request("PATCH", PATH + "/7", body={"rpo": 600})
        assert server.connections == 1
    assert str(info.value) == (
        "PATCH /replication/sessions/7: outcome unknown (connection lost: IncompleteRead(10 bytes read, 90 more "
        "expected)); the array may or may not have carried it out, re-read the object before repeating the request")
    assert sleeps == []


# --- invalid URL or header ------------------------------------------------------------------------------------


def test_an_invalid_url_is_a_connection_error():
    # What requests raises when urllib3 cannot parse the URL it was given.
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.InvalidURL("Failed to parse: https://127.0.0.1/api/v2"))
        with pytest.raises(errors.K2ConnectionError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == ("GET /replication/sessions to 127.0.0.1: connection failed: Failed to parse: "
                               "https://127.0.0.1/api/v2")
    assert info.value.attempts == 1


def test_an_invalid_header_is_a_connection_error():
    with ExpectedCalls() as calls:
        calls.add("PATCH", PATH + "/1", body={"rpo": 60},
                  error=requests.exceptions.InvalidHeader("Invalid leading whitespace in header value"))
        with pytest.raises(errors.K2ConnectionError) as info:
            transport().request("PATCH", PATH + "/1", body={"rpo": 60})
    assert str(info.value) == ("PATCH /replication/sessions/1 to 127.0.0.1: connection failed: Invalid leading "
                               "whitespace in header value")
    assert PASSWORD not in str(info.value)


# --- retries --------------------------------------------------------------------------------------------------


def test_mc_err_start_timeout_is_retried_like_the_other_busy_codes():
    with ExpectedCalls() as calls:
        calls.add("PATCH", PATH + "/1", body={"state": "in_sync"}, status=400, json={"error_msg": "MC_ERR_START_TIMEOUT"})
        calls.add("PATCH", PATH + "/1", body={"state": "in_sync"}, status=400,
                  json={"error_msg": "failed: MC_ERR_START_TIMEOUT"})
        calls.add("PATCH", PATH + "/1", body={"state": "in_sync"}, json={"id": 1, "state": "idle"})
        assert transport().request("PATCH", PATH + "/1", body={"state": "in_sync"}) == {"id": 1, "state": "idle"}
    assert calls.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("error_msg", ["MC_ERR_BUSY", "MC_ERR_BUSY_SPECIFIC", "MC_ERR_INPROGRESS"])
def test_the_other_busy_codes_literally(error_msg):
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, status=400, json={"error_msg": error_msg})
        calls.add("POST", PATH, body={"name": "s"}, status=201, json={"id": 3})
        assert transport().request("POST", PATH, body={"name": "s"}) == {"id": 3}
    assert calls.sleeps == [0.5]


def test_a_400_without_error_msg_is_not_retried():
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, status=400, json={})
        with pytest.raises(errors.K2BadRequest) as info:
            transport().request("POST", PATH, body={"name": "s"})
    assert str(info.value) == "POST /replication/sessions failed: HTTP 400 Bad Request"
    assert calls.sleeps == []


def test_the_back_off_stops_growing_at_8_seconds():
    with ExpectedCalls() as calls:
        for _attempt in range(8):
            calls.add("GET", PATH, status=503)
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=7).request("GET", PATH)
    assert calls.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert info.value.attempts == 8


def test_a_wait_that_ends_exactly_at_the_time_bound_is_taken():
    with ExpectedCalls() as calls:
        for _attempt in range(3):
            calls.add("GET", PATH, status=503)
        calls.add("GET", PATH, json={"hits": []})
        assert transport(retries=10, retry_max_time=3.5).request("GET", PATH) == {"hits": []}
    assert calls.sleeps == [0.5, 1.0, 2.0]  # 3.5 s: on the bound, not past it


# --- defaults and required options ---------------------------------------------------------------------------


def test_defaults_timeout_30_s_5_retries():
    with ExpectedCalls() as calls:
        t = transport()
        assert (t.timeout, t.retries, t.retry_max_time) == (30, 5, 120)
        for _attempt in range(6):
            calls.add("GET", PATH, status=503)
        with pytest.raises(errors.K2ServerError) as info:
            t.request("GET", PATH)
    assert info.value.attempts == 6
    assert calls.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_default_timeout_is_sent_with_every_request():
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, json={"hits": []})
        rsps.post(BASE_URL + PATH, status=201, json={"id": 1})
        t = transport()
        t.request("GET", PATH)
        t.request("POST", PATH, body={"name": "s"})
        assert [call.request.req_kwargs["timeout"] for call in rsps.calls] == [30, 30]


def test_default_time_bound_is_120_seconds():
    with ExpectedCalls() as calls:
        for _attempt in range(19):
            calls.add("GET", PATH, status=503)
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=100).request("GET", PATH)
    # 0.5 + 1 + 2 + 4 + 8 = 15.5 s, then 8 s waits: 13 fit in 120 s (119.5 s), a 14th would not.
    assert calls.sleeps == [0.5, 1.0, 2.0, 4.0] + [8.0] * 14
    assert info.value.attempts == 19


@pytest.mark.parametrize("username", ["", None])
def test_a_user_name_is_required(username):
    with pytest.raises(errors.K2OptionError) as info:
        K2Transport(HOST, username, PASSWORD)
    assert str(info.value) == "username: a user name is required"
    assert info.value.details() == {"option": "username"}


def test_a_password_is_required():
    with pytest.raises(errors.K2OptionError) as info:
        K2Transport(HOST, USERNAME, None)
    assert str(info.value) == "password: a password is required"
    assert info.value.details() == {"option": "password"}


# --- close ------------------------------------------------------------------------------------------------------

KEEP_ALIVE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n"
              b"Connection: keep-alive\r\n\r\n{\"id\": 1}")


def test_close_really_closes_the_kept_alive_connection(tmp_path):
    with RawServer(tmp_path, KEEP_ALIVE) as server:
        t = make(server)
        assert t.request("GET", PATH + "/1") == {"id": 1}
        assert not server.closed.wait(0.2)  # kept alive for the next request
        t.close()
        assert server.closed.wait(5)


def test_the_context_manager_closes_its_session():
    closed = []

    class Session(requests.Session):
        def close(self):
            closed.append(True)
            super().close()

    with K2Transport(HOST, USERNAME, PASSWORD, session=Session()) as t:
        assert closed == []
    assert closed == [True]


# --- what every request carries, and answers at the edges ------------------------------------------------


def test_every_request_says_who_it_is_and_what_it_accepts():
    with responses.RequestsMock() as rsps:
        rsps.get(BASE_URL + PATH, json={"hits": []})
        transport().request("GET", PATH)
        headers = rsps.calls[0].request.headers
    assert (headers["User-Agent"], headers["Accept"]) == ("kaminario.k2-ansible", "application/json")


def test_a_connection_error_without_any_detail_names_its_type():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.ConnectionError())
        with pytest.raises(errors.K2ConnectionError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == "GET /replication/sessions to 127.0.0.1: connection failed: connection lost: ConnectionError"
    assert info.value.attempts == 1


def test_a_certificate_error_without_its_verify_message_falls_back_to_its_text():
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=requests.exceptions.SSLError(cause))
        with pytest.raises(errors.K2TLSError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == ("GET /replication/sessions to 127.0.0.1: TLS failure (see validate_certs and ca_path): "
                               "certificate verify failed")


@pytest.mark.parametrize("payload, error_msg", [
    (["busy", "later"], "['busy', 'later']"),  # JSON that is not an object: its text
    ("x" * 300, "x" * 200),  # cut at 200 characters
    ({}, None),
    ({"error_msg": ""}, "{'error_msg': ''}"),
])
def test_error_bodies_that_are_not_an_error_msg(payload, error_msg):
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=500, json=payload)
        with pytest.raises(errors.K2ServerError) as info:
            transport(retries=0).request("GET", PATH)
    assert info.value.error_msg == error_msg
    assert str(info.value) == "GET /replication/sessions failed: HTTP 500 Internal Server Error" + (
        ": " + error_msg if error_msg else "")


@pytest.mark.parametrize("status", [200, 201, 299])
def test_any_2xx_is_success(status):
    with ExpectedCalls() as calls:
        calls.add("POST", PATH, body={"name": "s"}, status=status, json={"id": 1})
        assert transport().request("POST", PATH, body={"name": "s"}) == {"id": 1}


def test_300_is_not_success():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=300, json={"error_msg": "choose"})
        with pytest.raises(errors.K2HTTPError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == "GET /replication/sessions failed: HTTP 300: choose"


def test_a_200_without_a_body_is_none():
    with responses.RequestsMock() as rsps:
        rsps.patch(BASE_URL + PATH + "/1", status=200, body=b"")
        assert transport().request("PATCH", PATH + "/1", body={"rpo": 60}) is None


def test_an_error_after_a_retry_that_worked_did_not_give_up():
    with ExpectedCalls() as calls:
        calls.add("GET", PATH + "/9", status=503)
        calls.add("GET", PATH + "/9", status=404, json={"error_msg": "no such session"})
        with pytest.raises(errors.K2NotFound) as info:
            transport().request("GET", PATH + "/9")
    assert str(info.value) == "GET /replication/sessions/9 failed: HTTP 404 Not Found: no such session"
    assert info.value.attempts == 1
    assert calls.sleeps == [0.5]


def test_validate_certs_false_warns_about_nothing(tmp_path, recwarn):
    import warnings

    from ansible_collections.kaminario.k2.tests.unit.plugins.module_utils.local_https import LocalHTTPS

    warnings.simplefilter("always")
    with LocalHTTPS(tmp_path) as server:
        server.script[:] = [("json", 200, {"id": 1})]
        t = K2Transport(server.host, USERNAME, PASSWORD, validate_certs=False)
        assert t.request("GET", "/system/state/1") == {"id": 1}
    assert [str(w.message) for w in recwarn if "Unverified HTTPS request" in str(w.message)] == []
    # ...while an unverified request outside the transport does warn (so the check above can fail).
    with LocalHTTPS(tmp_path) as server:
        server.script[:] = [("json", 200, {"id": 1})]
        requests.get("https://%s/api/v2/system/state/1" % server.host, verify=False, timeout=5)
    assert [w for w in recwarn if "Unverified HTTPS request" in str(w.message)]


def test_the_module_imports_without_requests_and_says_so(monkeypatch):
    """The sanity tests import module_utils without requests: the import must work, and tell."""
    import importlib.util
    import sys

    from ansible_collections.kaminario.k2.plugins.module_utils import transport as real

    for name in ("requests", "requests.adapters", "urllib3", "urllib3.exceptions", "urllib3.util.retry"):
        monkeypatch.setitem(sys.modules, name, None)  # `import requests` now raises ImportError
    spec = importlib.util.spec_from_file_location("k2_transport_without_requests", real.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.HAS_REQUESTS is False
    assert "ImportError" in copy.REQUESTS_IMPORT_ERROR or "ModuleNotFoundError" in copy.REQUESTS_IMPORT_ERROR
    assert real.HAS_REQUESTS is True and real.REQUESTS_IMPORT_ERROR is None


@pytest.mark.parametrize("retry_after", [
    "Wed, 21 Oct 99999 07:28:00 GMT",  # the date parser raises ValueError (year out of range)
    "Wed, 21 Oct 999999999999 07:28:00 GMT",  # ...and OverflowError for a year past what C can hold
])
def test_a_retry_after_date_out_of_range_falls_back_to_the_backoff(retry_after):
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, status=503, headers={"Retry-After": retry_after})
        calls.add("GET", PATH, json={"hits": []})
        assert transport().request("GET", PATH) == {"hits": []}
    assert calls.sleeps == [0.5]


@pytest.mark.parametrize("error, reason", [
    # urllib3's own SSLError, not a requests one: the chain says it is TLS (no ssl reason in it).
    (requests.exceptions.ConnectionError(urllib3_exceptions.SSLError("bad record mac")), "TLS handshake failed"),
    # An ssl.SSLError while reading the body, after the handshake.
    (requests.exceptions.ChunkedEncodingError(ssl.SSLError(1, "bad record mac")), "bad record mac"),
], ids=["urllib3 SSLError", "ssl.SSLError mid-body"])
def test_a_tls_error_anywhere_in_the_chain_is_a_tls_error(error, reason):
    with ExpectedCalls() as calls:
        calls.add("GET", PATH, error=error)
        with pytest.raises(errors.K2TLSError) as info:
            transport().request("GET", PATH)
    assert str(info.value) == ("GET /replication/sessions to 127.0.0.1: TLS failure (see validate_certs and "
                               "ca_path): " + reason)
