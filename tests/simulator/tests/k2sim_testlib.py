"""Helpers shared by the simulator tests: an HTTPS client per array and user, bounded waits, and
session set-ups."""

import time

import requests

from harness import session_body  # conftest.py puts tests/integration on sys.path

DELAY = 0.05  # the suite's transition delay; tests that watch a pending transition raise it
SESSIONS = "/replication/sessions"


class Api:
    """A requests session on one array as one user; paths are below /api/v2."""

    def __init__(self, sim, array, user="admin", password=None):
        self.sim, self.array = sim, array
        self.base = sim.arrays[array]["url"]
        self.session = requests.Session()
        self.session.auth = (user, sim.users[user]["password"] if password is None else password)

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, verify=self.sim.ca_path, **kwargs)

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path, body, **kwargs):
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path, body, **kwargs):
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def ok(self, method, path, body=None, status=None, **kwargs):
        """Request and assert success; returns the parsed body (None for 204)."""
        if body is not None:
            kwargs["json"] = body
        response = self.request(method, path, **kwargs)
        expected = status or {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}[method]
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def one(self, path, **params):
        hits = self.ok("GET", path, params=params)["hits"]
        assert len(hits) == 1, hits
        return hits[0]

    def close(self):
        self.session.close()


def wait_for(predicate, timeout=5.0, interval=0.01, what="condition"):
    """Poll until ``predicate()`` is truthy (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def create_pair(a, b, name="s1", **extra):
    """Create a session on k2-a (source); returns (source object, target object on k2-b)."""
    src = a.ok("POST", SESSIONS, session_body(name, **extra))
    tgt = b.ok("GET", "%s/%d" % (SESSIONS, src["remote_replication_session_id"]))
    return src, tgt


def state_of(client, sid):
    return client.ok("GET", "%s/%d" % (SESSIONS, sid))["state"]


def wait_state(client, sid, state, timeout=5.0):
    return wait_for(lambda: state_of(client, sid) == state, timeout, what="session %d -> %s" % (sid, state))


def transition(client, sid, state):
    """PATCH a state and wait until it has landed; returns the landed object."""
    client.ok("PATCH", "%s/%d" % (SESSIONS, sid), {"state": state})
    wait_state(client, sid, state)
    return client.ok("GET", "%s/%d" % (SESSIONS, sid))


def settle(a, b, src_id, tgt_id, src_state, tgt_state):
    """Wait until both sides show the given states (the mirror has followed)."""
    wait_state(a, src_id, src_state)
    wait_state(b, tgt_id, tgt_state)
