"""Delayed events (transitions landing, mirror updates, snapshots arriving).

Events run under the simulator lock, either from the scheduler's own thread when they fall due or
from ``run_due()`` at the start of every API request, so a GET made after the delay always sees the
change even when the thread is late. With the manual clock on, nothing runs by itself: ``step()``
runs the earliest events on demand, which lets tests order events exactly (e.g. take an array down
between a transition and its mirror).
"""

import heapq
import itertools
import logging
import threading
import time

log = logging.getLogger("k2sim.scheduler")


class Scheduler:
    def __init__(self, lock):
        self._lock = lock
        self._heap = []
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = None
        self.manual = False

    def schedule(self, delay, fn):
        heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn))
        self._wake.set()

    def run_due(self):
        if self.manual:
            return 0
        return self._run(lambda: self._heap[0][0] <= time.monotonic())

    def step(self, count=None):
        """Run the ``count`` earliest events (all, including those they schedule, when None), due or not."""
        ran = []
        return self._run(lambda: count is None or len(ran) < count, ran)

    def _run(self, more, ran=None):
        ran = [] if ran is None else ran
        while self._heap and more():
            fn = heapq.heappop(self._heap)[2]
            try:
                fn()
            except Exception:  # an event bug must not stop the clock
                log.exception("scheduled event failed")
            ran.append(fn)
        return len(ran)

    def pending(self):
        return len(self._heap)

    def clear(self):
        self._heap.clear()

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="k2sim-scheduler", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self):
        while not self._stopped:
            with self._lock:
                self.run_due()
                due = self._heap[0][0] if self._heap else None
            timeout = 1.0 if due is None else max(0.0, due - time.monotonic())
            self._wake.wait(timeout)
            self._wake.clear()
