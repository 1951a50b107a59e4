"""Delayed events on the array clock (transitions landing, mirror updates, replication rounds
starting and ending).

Every event is due at a simulated time (k2sim.clock). A transition delay is given in real seconds
and turned into simulated seconds at the current time scale when it is scheduled. Events run
under the simulator lock, in due order, either from the scheduler's own thread when they fall due
or from ``run_due()`` at the start of every API request, so a GET made after the delay always sees
the change even when the thread is late. While an event runs, ``now()`` is its due time, so a
late event still stamps what it does with the time it was due.

With the manual clock on, the array clock is frozen and nothing runs by itself: ``step()`` runs the
earliest events on demand, moving the clock to each one's due time, which lets tests order events
exactly (e.g. take an array down between a transition and its mirror). ``step(None)`` runs every
event, including those they schedule, until no transition, mirror or round in flight is left:
the next periodic round start of each replicating session stays scheduled.
"""

import heapq
import itertools
import logging
import threading

log = logging.getLogger("k2sim.scheduler")

EVENT = "event"  # a transition landing or a mirror update
ROUND_START = "round_start"  # the next periodic replication round of a session
ROUND_END = "round_end"  # a replication round in flight reaching the peer


class Entry:
    __slots__ = ("due", "seq", "fn", "kind", "alive")

    def __init__(self, due, seq, fn, kind):
        self.due, self.seq, self.fn, self.kind, self.alive = due, seq, fn, kind, True

    def __lt__(self, other):
        return (self.due, self.seq) < (other.due, other.seq)


class Scheduler:
    def __init__(self, lock, clock):
        self._lock = lock
        self.clock = clock
        self._heap = []
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = None
        self._running_at = None
        self._counts = {EVENT: 0, ROUND_START: 0, ROUND_END: 0}  # alive entries per kind
        self.manual = False

    # ---- scheduling -------------------------------------------------------------------------
    def schedule(self, delay, fn):
        """A transition or mirror event ``delay`` REAL seconds from now."""
        return self.schedule_at(self.now() + max(0.0, delay) * self.clock.scale, fn, EVENT)

    def schedule_at(self, when, fn, kind):
        """An event at simulated time ``when``; returns its entry (for cancel)."""
        entry = Entry(when, next(self._seq), fn, kind)
        heapq.heappush(self._heap, entry)
        self._counts[kind] += 1
        if self._heap[0] is entry:  # the thread may be waiting for a later one
            self._wake.set()
        return entry

    def cancel(self, entry):
        if entry is not None and entry.alive:
            entry.alive = False
            self._counts[entry.kind] -= 1

    def now(self):
        """The simulated time: the due time of the event running, else the array clock."""
        return self._running_at if self._running_at is not None else self.clock.now()

    # ---- running ----------------------------------------------------------------------------
    def set_manual(self, on):
        """The manual clock: what is due runs first, then the array clock stops (until it is off)."""
        if on and not self.manual:
            self.run_due()
            self.clock.freeze()
        elif not on and self.manual:
            self.clock.thaw()
        self.manual = on
        self._wake.set()

    def run_due(self):
        if self.manual:
            return 0
        limit = self.clock.now()
        return self._run(lambda ran: self._heap[0].due <= limit)

    def step(self, count=None):
        """Run the ``count`` earliest events, due or not (None: see the module docstring)."""
        if count is None:
            return self._run(lambda ran: self._counts[EVENT] + self._counts[ROUND_END] > 0)
        return self._run(lambda ran: ran < count)

    def step_until(self, when):
        """Run every event due up to ``when`` in order, then move the frozen clock to ``when``."""
        ran = self._run(lambda ran: self._heap[0].due <= when)
        self.clock.move_to(when)
        return ran

    def _run(self, more):
        ran = 0
        while True:
            while self._heap and not self._heap[0].alive:
                heapq.heappop(self._heap)
            if not self._heap or not more(ran):
                return ran
            entry = heapq.heappop(self._heap)
            entry.alive = False
            self._counts[entry.kind] -= 1
            self.clock.move_to(entry.due)
            self._running_at = entry.due
            try:
                entry.fn()
            except Exception:  # an event bug must not stop the clock
                log.exception("scheduled event failed")
            finally:
                self._running_at = None
            ran += 1

    def pending(self):
        """Transition and mirror events still to run (replication rounds are not counted)."""
        return self._counts[EVENT]

    def counts(self):
        return dict(self._counts)

    def clear(self):
        self._heap.clear()
        self._counts = dict.fromkeys(self._counts, 0)

    # ---- the thread -------------------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="k2sim-scheduler", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def wake(self):
        self._wake.set()

    def _loop(self):
        while not self._stopped:
            self._wake.clear()  # before looking: a schedule() from now on wakes the wait below
            with self._lock:
                self.run_due()
                while self._heap and not self._heap[0].alive:
                    heapq.heappop(self._heap)
                due = self._heap[0].due if self._heap and not self.manual else None
                timeout = 1.0 if due is None else self.clock.real_seconds(due - self.clock.now())
            self._wake.wait(min(1.0, max(0.0, timeout)))
