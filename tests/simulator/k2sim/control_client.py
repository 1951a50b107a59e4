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

    def advance(self, events=None, seconds=None):
        """Run the next ``events`` scheduled events in due order (transitions, mirrors, replication
        rounds starting and ending; None: all but the next periodic rounds) -> {"ran", "pending"}.
        ``seconds`` instead: move the (manual) array clock forward that far, running what falls due."""
        if seconds is not None:
            return self.call("POST", "/advance", {"seconds": seconds})
        return self.call("POST", "/advance", {"events": events})

    # ---- the array clock and replication rounds ---------------------------------------------
    def clock(self):
        """{"now": the array clock (epoch seconds), "time_scale", "frozen"}."""
        return self.call("GET", "/clock")

    def set_time_scale(self, scale):
        """Simulated seconds per real second (the array clock, rounds and rpo run this much faster)."""
        return self.configure(time_scale=scale)

    def set_round_bytes(self, count):
        """The bytes each replication round transfers (from the next round on)."""
        return self.configure(round_bytes=count)

    def links(self):
        """Every array pair's link: {"arrays", "speed", "slowdown", "cut", "effective_speed"}."""
        return self.call("GET", "/links")["links"]

    def link(self, a, b):
        return self.call("GET", "/links/%s/%s" % (quote(a, safe=""), quote(b, safe="")))

    def set_link(self, a, b, **changes):
        """Change the link between arrays ``a`` and ``b``: speed (bytes per simulated second, None for
        the global link_speed), slowdown (a factor), cut (bool)."""
        return self.call("PATCH", "/links/%s/%s" % (quote(a, safe=""), quote(b, safe="")), changes)

    def set_link_speed(self, speed, a=None, b=None):
        """Bytes per simulated second: of every link (no arrays given) or of the link a-b."""
        if a is None and b is None:
            return self.configure(link_speed=speed)
        return self.set_link(a, b, speed=speed)

    def slow_link(self, factor, a=None, b=None):
        """Divide the speed of every link (no arrays given) or of the link a-b by ``factor`` (1: normal)."""
        if a is None and b is None:
            return self.configure(link_slowdown=factor)
        return self.set_link(a, b, slowdown=factor)

    def cut_link(self, a, b):
        """Rounds between a and b cannot progress or complete; sessions stay in_sync."""
        return self.set_link(a, b, cut=True)

    def restore_link(self, a, b):
        return self.set_link(a, b, cut=False)

    def stall(self, array, session):
        """The transfers of ``session`` (id or name) on ``array`` stop: no round of it completes."""
        return self.call("POST", self._array(array, "sessions/%s/stall" % quote(str(session), safe="")), {})

    def unstall(self, array, session):
        return self.call("POST", self._array(array, "sessions/%s/unstall" % quote(str(session), safe="")), {})
