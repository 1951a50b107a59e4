# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K2Transport over real sockets to 127.0.0.1: TLS verification, keep-alive, and the urllib3 retries
that `responses` cannot reach (refused connections, dropped connections, read timeouts)."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils import errors
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import basic_auth
from ansible_collections.kaminario.k2.tests.unit.plugins.module_utils.local_https import (
    LocalHTTPS,
    refused_host,
)


@pytest.fixture
def server(tmp_path, monkeypatch):
    # As on the CI machines: an environment CA bundle that does not hold the server's CA, no proxy.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with LocalHTTPS(tmp_path) as srv:
        yield srv


def make(srv, sleeps, **kwargs):
    kwargs.setdefault("ca_path", srv.ca_file)
    return K2Transport(srv.host, "admin", "pw", sleep=sleeps.append, **kwargs)


def test_ca_path_verifies_and_one_connection_is_kept_alive(server):
    sleeps = []
    server.script[:] = [("json", 200, {"hits": [], "total": 0}), ("json", 201, {"id": 4})]
    t = make(server, sleeps)
    assert t.request("GET", "/volume_groups", params={"name": "vg1"}) == {"hits": [], "total": 0}
    assert t.request("POST", "/volume_groups", body={"name": "vg1"}) == {"id": 4}
    (m1, p1, b1, h1, c1), (m2, p2, b2, h2, c2) = server.requests
    assert (m1, p1, b1) == ("GET", "/api/v2/volume_groups?name=vg1", b"")
    assert (m2, p2, b2) == ("POST", "/api/v2/volume_groups", b'{"name": "vg1"}')
    assert h1["Authorization"] == h2["Authorization"] == basic_auth("admin", "pw")
    assert h2["Content-Type"] == "application/json"
    assert c1 == c2  # same client port: the session kept the connection alive
    assert sleeps == []


def test_validate_certs_false_is_honoured_despite_requests_ca_bundle(server):
    server.script[:] = [("json", 200, {"id": 1})]
    assert make(server, [], validate_certs=False, ca_path=None).request("GET", "/system/state/1") == {"id": 1}


def test_untrusted_certificate_is_a_tls_error_and_not_retried(server):
    sleeps = []
    with pytest.raises(errors.K2TLSError) as info:
        make(server, sleeps, ca_path=None).request("GET", "/system/state/1")
    assert str(info.value).startswith("GET /system/state/1 to %s: TLS failure (see validate_certs and ca_path): "
                                      "certificate verify failed" % server.host)
    assert server.requests == [] and sleeps == []


def test_refused_connection_is_retried_for_a_write_then_given_up():
    sleeps = []
    host = refused_host()
    with pytest.raises(errors.K2ConnectionError) as info:
        K2Transport(host, "admin", "pw", retries=2, sleep=sleeps.append).request("POST", "/volume_groups", body={})
    assert str(info.value) == ("POST /volume_groups to %s: connection failed: Connection refused; "
                               "gave up after 3 attempts" % host)
    assert sleeps == [0.5, 1.0]


def test_dropped_get_is_retried(server):
    sleeps = []
    server.script[:] = [("drop",), ("drop",), ("json", 200, {"id": 2})]
    assert make(server, sleeps).request("GET", "/volume_groups/2") == {"id": 2}
    assert [r[0] for r in server.requests] == ["GET", "GET", "GET"]
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_dropped_write_is_outcome_unknown_and_sent_once(server, method):
    sleeps = []
    server.script[:] = [("drop",), ("json", 200, {"id": 2})]
    body = None if method == "DELETE" else {"rpo": 600}
    with pytest.raises(errors.K2OutcomeUnknown) as info:
        make(server, sleeps).request(method, "/replication/sessions/2", body=body)
    assert str(info.value).startswith("%s /replication/sessions/2: outcome unknown (connection lost: " % method)
    assert [r[0] for r in server.requests] == [method]
    assert sleeps == []


def test_stalled_write_is_outcome_unknown(server):
    server.script[:] = [("stall",)]
    with pytest.raises(errors.K2OutcomeUnknown) as info:
        make(server, [], timeout=0.3).request("POST", "/replication/sessions", body={"name": "s"})
    assert "(no answer within 0.3 s)" in str(info.value)
    assert len(server.requests) == 1


def test_stalled_get_is_retried_then_times_out(server):
    sleeps = []
    server.script[:] = [("stall",), ("stall",)]
    with pytest.raises(errors.K2Timeout) as info:
        make(server, sleeps, timeout=0.3, retries=1).request("GET", "/replication/sessions")
    assert str(info.value) == ("GET /replication/sessions to %s: timed out: no answer within 0.3 s; "
                               "gave up after 2 attempts" % server.host)
    assert len(server.requests) == 2 and sleeps == [0.5]


def test_503_with_retry_after_through_urllib3(server):
    sleeps = []
    server.script[:] = [("json", 503, {"error_msg": "busy"}, {"Retry-After": "2"}), ("json", 200, {"id": 1})]
    assert make(server, sleeps).request("PATCH", "/replication/sessions/1", body={"state": "in_sync"}) == {"id": 1}
    assert sleeps == [2.0]
    assert [r[0] for r in server.requests] == ["PATCH", "PATCH"]


def test_502_through_urllib3_get_retried_post_not(server):
    sleeps = []
    server.script[:] = [("json", 502, {"error_msg": "gone"}), ("json", 200, {"id": 1}),
                        ("json", 502, {"error_msg": "gone"}), ("json", 201, {"id": 2})]
    t = make(server, sleeps)
    assert t.request("GET", "/replication/sessions/1") == {"id": 1}
    with pytest.raises(errors.K2OutcomeUnknown) as info:
        t.request("POST", "/replication/sessions", body={"name": "s"})
    assert info.value.status == 502
    assert [r[0] for r in server.requests] == ["GET", "GET", "POST"]
    assert sleeps == [0.5]
