"""The simulator: its arrays (objects, journal, faults, listener, up/down), users, settings, the
scheduler of delayed events, and the lock that serialises every change."""

import logging
import os
import threading

from k2sim import seed, transitions
from k2sim.auth import DEFAULT_USERS
from k2sim.handler import Handler
from k2sim.journal import Journal
from k2sim.faults import FaultTable
from k2sim.registry import RESOURCES
from k2sim.resource import RenderContext
from k2sim.scheduler import Scheduler
from k2sim.server import Listener
from k2sim.store import Store

log = logging.getLogger("k2sim")
DOWN_MODES = ("refuse", "reset")


class SimArray:
    def __init__(self, name, system_id, bind, port):
        self.name = name
        self.system_id = system_id
        self.bind = bind
        self.port = port
        self.store = Store(RESOURCES)
        self.journal = Journal()
        self.faults = FaultTable()
        self.down = None  # None (up), "refuse" (listener closed) or "reset" (connections reset)
        self.listener = None

    @property
    def host(self):
        return "[%s]:%d" % (self.bind, self.port) if ":" in self.bind else "%s:%d" % (self.bind, self.port)

    @property
    def url(self):
        return "https://%s/api/v2" % self.host

    def listen(self, sim):
        self.listener = Listener((self.bind, self.port), Handler, sim.tls.server_context(), sim, self)
        self.port = self.listener.server_address[1]
        self.listener.start()

    def close(self):
        if self.listener is not None:
            self.listener.stop()
            self.listener = None


class Simulator:
    def __init__(
        self,
        names=("k2-a", "k2-b"),
        bind="127.0.0.1",
        ports=None,
        users=DEFAULT_USERS,
        transition_delay=0.5,
        latency_ms=0,
        content=None,
        tls=None,
        control_port=0,
    ):
        if len(set(names)) != len(names) or not names:
            raise ValueError("array names must be unique and at least one")
        ports = list(ports or [])
        if len(ports) not in (0, len(names)):
            raise ValueError("give one port per array (%d), got %d" % (len(names), len(ports)))
        self.lock = threading.RLock()
        self.scheduler = Scheduler(self.lock)
        self.arrays = {
            name: SimArray(name, "d%d" % (501 + i), bind, ports[i] if ports else 0) for i, name in enumerate(names)
        }
        self.users = {u.name: u for u in users}
        self.initial_settings = {
            "transition_delay": float(transition_delay),
            "latency_ms": float(latency_ms),
            "manual_clock": False,
        }
        self.transition_delay = float(transition_delay)
        self.latency_ms = float(latency_ms)
        self.content = content
        self.tls = tls
        self.bind = bind
        self.control_port = control_port
        self.control = None

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self):
        for arr in self.arrays.values():
            arr.listen(self)
        self.control = Listener((self.bind, self.control_port), Handler, self.tls.server_context(), self)
        self.control_port = self.control.server_address[1]
        self.control.start()
        with self.lock:
            seed.apply(self, self.content)
        self.scheduler.start()

    def stop(self):
        self.scheduler.stop()
        for arr in self.arrays.values():
            arr.close()
        if self.control is not None:
            self.control.stop()

    def reset(self):
        """Back to the seed: objects, journals and faults cleared, arrays up, settings as started."""
        with self.lock:
            self.scheduler.clear()
            for arr in self.arrays.values():
                if arr.down is not None:
                    self.set_down(arr.name, None)
                arr.faults.clear()
                arr.journal.clear()
            self.configure(**self.initial_settings)
            seed.apply(self, self.content)

    # ---- events -----------------------------------------------------------------------------
    def schedule(self, fn):
        self.scheduler.schedule(self.transition_delay, fn)

    def run_due(self):
        self.scheduler.run_due()

    # ---- arrays -----------------------------------------------------------------------------
    def array_by_host(self, host):
        for arr in self.arrays.values():
            if host in (arr.host, arr.name):
                return arr
        return None

    def set_down(self, name, mode="refuse"):
        """Take an array off the network (``refuse`` or ``reset``), or back on it (mode None)."""
        if mode is not None and mode not in DOWN_MODES:
            raise ValueError("mode must be one of %s" % ", ".join(DOWN_MODES))
        arr = self.arrays[name]
        with self.lock:
            self.run_due()  # what fell due while it was still up happens as if it was up
            was = arr.down
            if mode == "refuse" and was != "refuse":
                arr.down = mode
                arr.close()
            elif mode != "refuse" and was == "refuse":
                arr.listen(self)
            arr.down = mode
            if mode == "reset" and arr.listener is not None:
                arr.listener.close_connections()
            if mode is None and was is not None:
                transitions.array_came_up(arr)
        log.info("array %s is %s", name, "up" if mode is None else "down (%s)" % mode)

    def set_up(self, name):
        self.set_down(name, None)

    # ---- settings and views -----------------------------------------------------------------
    def config(self):
        return {
            "transition_delay": self.transition_delay,
            "latency_ms": self.latency_ms,
            "manual_clock": self.scheduler.manual,
        }

    def configure(self, transition_delay=None, latency_ms=None, manual_clock=None):
        for key, value in (("transition_delay", transition_delay), ("latency_ms", latency_ms)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError("%s must be a non-negative number" % key)
        if manual_clock is not None and not isinstance(manual_clock, bool):
            raise ValueError("manual_clock must be true or false")
        with self.lock:
            if transition_delay is not None:
                self.transition_delay = float(transition_delay)
            if latency_ms is not None:
                self.latency_ms = float(latency_ms)
            if manual_clock is not None:
                self.scheduler.manual = manual_clock
        return self.config()

    def advance(self, events=None):
        """Run the next ``events`` scheduled events now (all when None), whatever their due time."""
        if events is not None and (isinstance(events, bool) or not isinstance(events, int) or events < 1):
            raise ValueError("events must be a positive integer or null (all)")
        with self.lock:
            ran = self.scheduler.step(events)
            return {"ran": ran, "pending": self.scheduler.pending()}

    def info(self):
        return {
            "arrays": {
                name: {"name": name, "system_id": arr.system_id, "host": arr.host, "port": arr.port, "url": arr.url}
                for name, arr in self.arrays.items()
            },
            "ca_path": self.tls.ca_path,
            "users": {u.name: {"password": u.password, "role": u.role} for u in self.users.values()},
            "control_url": "https://%s:%d/__sim"
            % ("[%s]" % self.bind if ":" in self.bind else self.bind, self.control_port),
            "pid": os.getpid(),
            "settings": self.config(),
        }

    def dump(self, name):
        """Every object of one array as GET renders it, plus the simulator's own bookkeeping."""
        arr = self.arrays[name]
        with self.lock:
            self.run_due()
            ctx = RenderContext(self, arr)
            objects = {
                path: [res.render(ctx, r) for r in arr.store.tables[path].values()] for path, res in RESOURCES.items()
            }
            internal = {
                s["id"]: {"pending_state": s["_pending"], "link_missed": s["_link_missed"]}
                for s in arr.store.tables["replication/sessions"].values()
            }
            return {
                "name": name,
                "system_id": arr.system_id,
                "url": arr.url,
                "down": arr.down,
                "objects": objects,
                "sessions_internal": internal,
                "scheduled_events": self.scheduler.pending(),
            }
