"""The simulator: its arrays (objects, journal, faults, listener, up/down), users, settings, the
array clock, the scheduler of delayed events, the replication rounds, and the lock that serialises
every change."""

import logging
import os
import socket
import threading

from k2sim import seed, transitions
from k2sim.auth import DEFAULT_USERS
from k2sim.clock import ArrayClock, check_scale
from k2sim.handler import Handler
from k2sim.journal import Journal
from k2sim.faults import FaultTable
from k2sim.registry import RESOURCES
from k2sim.resource import RenderContext
from k2sim.rounds import DEFAULT_LINK_SPEED, DEFAULT_ROUND_BYTES, Replication
from k2sim.scheduler import Scheduler
from k2sim.schema import SESSIONS
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
        self.held_port = None  # the bound, not listening, socket that keeps the port of an array taken down

    @property
    def host(self):
        return "[%s]:%d" % (self.bind, self.port) if ":" in self.bind else "%s:%d" % (self.bind, self.port)

    @property
    def url(self):
        return "https://%s/api/v2" % self.host

    def listen(self, sim):
        self.release_port()
        self.listener = Listener((self.bind, self.port), Handler, sim.tls.server_context(), sim, self)
        self.port = self.listener.server_address[1]
        self.listener.start()

    def close(self, hold_port=False):
        """Stop listening. With `hold_port` (an array taken down), the port stays bound but not
        listening: connections are refused as by a closed port, and no other process on the machine
        (a test run or a demo beside this one) can take it before the array comes back on it."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
            if hold_port:
                held = socket.socket(socket.AF_INET6 if ":" in self.bind else socket.AF_INET, socket.SOCK_STREAM)
                held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    held.bind((self.bind, self.port))
                except OSError:  # taken in the instant between; listen() will say so
                    held.close()
                else:
                    self.held_port = held
        if not hold_port:
            self.release_port()

    def release_port(self):
        if self.held_port is not None:
            self.held_port.close()
            self.held_port = None


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
        time_scale=1.0,
        round_bytes=DEFAULT_ROUND_BYTES,
        link_speed=DEFAULT_LINK_SPEED,
    ):
        if len(set(names)) != len(names) or not names:
            raise ValueError("array names must be unique and at least one")
        ports = list(ports or [])
        if len(ports) not in (0, len(names)):
            raise ValueError("give one port per array (%d), got %d" % (len(names), len(ports)))
        self.lock = threading.RLock()
        self.clock = ArrayClock(time_scale)
        self.scheduler = Scheduler(self.lock, self.clock)
        self.replication = Replication(self, round_bytes, link_speed)
        self.arrays = {
            name: SimArray(name, "d%d" % (501 + i), bind, ports[i] if ports else 0) for i, name in enumerate(names)
        }
        self.users = {u.name: u for u in users}
        self.initial_settings = dict(
            {
                "transition_delay": float(transition_delay),
                "latency_ms": float(latency_ms),
                "manual_clock": False,
                "time_scale": self.clock.scale,
            },
            **self.replication.settings()
        )
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
            self.scheduler.set_manual(False)
            for arr in self.arrays.values():
                if arr.down is not None:
                    self.set_down(arr.name, None)
                arr.faults.clear()
                arr.journal.clear()
            self.scheduler.clear()
            self.replication.reset()
            self.configure(**self.initial_settings)
            self.clock.restart()  # from the wall-clock time again
            seed.apply(self, self.content)

    # ---- events -----------------------------------------------------------------------------
    def schedule(self, fn):
        self.scheduler.schedule(self.transition_delay, fn)

    def run_due(self):
        self.scheduler.run_due()

    def now(self):
        """The array clock (the due time of the event running, if one is)."""
        return self.scheduler.now()

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
                arr.close(hold_port=True)
            elif mode != "refuse" and was == "refuse":
                arr.listen(self)
            arr.down = mode
            if mode == "reset" and arr.listener is not None:
                arr.listener.close_connections()
            if mode is None and was is not None:
                transitions.array_came_up(self, arr)
            self.replication.rerate_all()  # transfers to and from a down array stop
        log.info("array %s is %s", name, "up" if mode is None else "down (%s)" % mode)

    def set_up(self, name):
        self.set_down(name, None)

    # ---- settings and views -----------------------------------------------------------------
    def config(self):
        return dict(
            {
                "transition_delay": self.transition_delay,
                "latency_ms": self.latency_ms,
                "manual_clock": self.scheduler.manual,
                "time_scale": self.clock.scale,
            },
            **self.replication.settings()
        )

    def configure(
        self,
        transition_delay=None,
        latency_ms=None,
        manual_clock=None,
        time_scale=None,
        round_bytes=None,
        link_speed=None,
        link_slowdown=None,
    ):
        for key, value in (("transition_delay", transition_delay), ("latency_ms", latency_ms)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError("%s must be a non-negative number" % key)
        if manual_clock is not None and not isinstance(manual_clock, bool):
            raise ValueError("manual_clock must be true or false")
        if time_scale is not None:
            check_scale(time_scale)
        self.replication.check(round_bytes, link_speed, link_slowdown)
        with self.lock:
            self.run_due()  # what fell due happens under the settings it fell due under
            if transition_delay is not None:
                self.transition_delay = float(transition_delay)
            if latency_ms is not None:
                self.latency_ms = float(latency_ms)
            if time_scale is not None:
                self.clock.set_scale(time_scale)
            self.replication.configure(round_bytes, link_speed, link_slowdown)
            if manual_clock is not None:
                self.scheduler.set_manual(manual_clock)
            self.scheduler.wake()
        return self.config()

    def clock_info(self):
        with self.lock:
            self.run_due()
            return {"now": self.now(), "time_scale": self.clock.scale, "frozen": self.clock.frozen}

    # ---- replication links and transfers ------------------------------------------------------
    def links(self):
        names = list(self.arrays)
        with self.lock:
            return [self.replication.link(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]

    def link(self, a, b):
        with self.lock:
            return self.replication.link(a, b)

    def set_link(self, a, b, **changes):
        for name in (a, b):
            if name not in self.arrays:
                raise KeyError(name)
        with self.lock:
            self.run_due()
            return self.replication.set_link(a, b, **changes)

    def stall(self, name, session, stalled=True):
        """Stall (or let go on) the transfers of ``session`` (an id or a name) on array ``name``."""
        arr = self.arrays[name]
        with self.lock:
            self.run_due()
            s = None
            if isinstance(session, int) or str(session).isdigit():
                s = arr.store.get(SESSIONS, int(session))
            if s is None:
                s = arr.store.by_name(SESSIONS, str(session))
            if s is None:
                raise KeyError(session)
            self.replication.stall(arr, s, stalled)
            return {"array": name, "session": s["id"], "name": s["name"], "stalled": s["_stalled"]}

    def advance(self, events=None, seconds=None):
        """Run the next ``events`` scheduled events now, in due order, whatever their due time
        (transitions, mirrors, and replication rounds starting and ending); a frozen (manual)
        array clock moves to each event's due time. None: every event until no transition,
        mirror or round in flight is left (see k2sim.scheduler).
        ``seconds`` (manual clock only, instead of ``events``): move the frozen clock forward by
        that many simulated seconds, running every event due on the way, in order."""
        if events is not None and (isinstance(events, bool) or not isinstance(events, int) or events < 1):
            raise ValueError("events must be a positive integer or null (all)")
        if seconds is not None:
            if events is not None:
                raise ValueError("give events or seconds, not both")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
                raise ValueError("seconds must be a positive number")
        with self.lock:
            if seconds is not None:
                if not self.scheduler.manual:
                    raise ValueError("seconds moves the manual clock: turn manual_clock on first")
                ran = self.scheduler.step_until(self.clock.now() + seconds)
            else:
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
            sessions = arr.store.tables[SESSIONS].values()
            internal = {s["id"]: {"pending_state": s["_pending"], "link_missed": s["_link_missed"]} for s in sessions}
            rounds = {s["id"]: self.replication.describe(s) for s in sessions}
            return {
                "name": name,
                "system_id": arr.system_id,
                "url": arr.url,
                "down": arr.down,
                "objects": objects,
                "sessions_internal": internal,
                "replication": rounds,
                "scheduled_events": self.scheduler.pending(),
                "scheduled": self.scheduler.counts(),
                "clock": self.now(),
            }
