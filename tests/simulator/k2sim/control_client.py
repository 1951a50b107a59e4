"""A small client of the control API (stdlib only), used by the test harnesses and benchmarks."""

import http.client
import json
import ssl
from urllib.parse import quote, urlsplit


class ControlError(RuntimeError):
    pass


class ControlClient:
    def __init__(self, control_url, ca_path, timeout=30):
        parts = urlsplit(control_url)
        self._host, self._port, self._prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self._context = ssl.create_default_context(cafile=ca_path)
        self._timeout = timeout

    def call(self, method, path, body=None):
        conn = http.client.HTTPSConnection(self._host, self._port, context=self._context, timeout=self._timeout)
        try:
            data = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, self._prefix + path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        payload = json.loads(raw) if raw else None
        if response.status >= 400:
            raise ControlError("%s %s: %d %s" % (method, path, response.status, (payload or {}).get("error_msg")))
        return payload

    def _array(self, array, what):
        return "/arrays/%s/%s" % (quote(array, safe=""), what)

    # ---- the control API --------------------------------------------------------------------
    def info(self):
        return self.call("GET", "/info")

    def journal(self, array, clear=False):
        """Every API request ``array`` received since the last clear (oldest first)."""
        entries = self.call("GET", self._array(array, "journal"))["entries"]
        if clear:
            self.clear_journal(array)
        return entries

    def clear_journal(self, array=None):
        self.call("DELETE", "/journal" if array is None else self._array(array, "journal"))

    def fault(self, array, kind, method="*", path_pattern="*", count=1, **opts):
        """Make the next ``count`` requests to ``array`` matching ``method`` and the glob
        ``path_pattern`` (below /api/v2) fail as ``kind``; see k2sim.faults for kinds and options."""
        spec = dict(opts, kind=kind, method=method, path=path_pattern, count=count)
        return self.call("POST", self._array(array, "faults"), spec)

    def faults(self, array):
        return self.call("GET", self._array(array, "faults"))["faults"]

    def clear_faults(self, array):
        self.call("DELETE", self._array(array, "faults"))

    def down(self, array, mode="refuse"):
        return self.call("POST", self._array(array, "down"), {"mode": mode})

    def up(self, array):
        return self.call("POST", self._array(array, "up"), {})

    def reset(self):
        return self.call("POST", "/reset", {})

    def dump(self, array=None):
        return self.call("GET", "/dump" if array is None else self._array(array, "dump"))

    def config(self):
        return self.call("GET", "/config")

    def configure(self, **settings):
        return self.call("PATCH", "/config", settings)

    def set_delay(self, seconds):
        return self.configure(transition_delay=seconds)

    def set_latency(self, ms):
        return self.configure(latency_ms=ms)

    def manual_clock(self, on=True):
        """With the manual clock on, transitions and mirrors wait for :meth:`advance`."""
        return self.configure(manual_clock=on)

    def advance(self, events=None):
        """Run the next ``events`` scheduled events (all when None) -> {"ran", "pending"}."""
        return self.call("POST", "/advance", {"events": events})
