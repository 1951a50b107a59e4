"""The array clock: the simulated time every timestamp of the API shows (snapshot creation_time,
rpo_history round_start/round_end, volume creation_time) and the HTTP Date header of every answer.

Simulated time = the wall-clock time when the simulator started (or was reset) + real seconds
elapsed x time_scale. Changing the scale keeps the clock continuous (it re-anchors at the current
simulated time). While the manual clock is on, the clock is frozen: it moves only when
``advance`` runs an event, to that event's due time (see k2sim.scheduler), never backwards.
"""

import threading
import time


def check_scale(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError("time_scale must be a positive number")
    return float(value)


class ArrayClock:
    def __init__(self, time_scale=1.0, real=time.monotonic, wall=time.time):
        self._real = real
        self._wall = wall
        self._lock = threading.Lock()  # the Date header reads it outside the simulator lock
        self._scale = check_scale(time_scale)
        self._base_sim = 0.0
        self._base_real = 0.0
        self._frozen = None
        self.restart()

    def restart(self, time_scale=None):
        """From the wall-clock time now (reset), at ``time_scale`` (None: unchanged); not frozen."""
        with self._lock:
            if time_scale is not None:
                self._scale = check_scale(time_scale)
            self._base_sim = self._wall()
            self._base_real = self._real()
            self._frozen = None

    @property
    def scale(self):
        return self._scale

    @property
    def frozen(self):
        return self._frozen is not None

    def now(self):
        """Simulated epoch seconds (a float)."""
        with self._lock:
            return self._now()

    def _now(self):
        if self._frozen is not None:
            return self._frozen
        return self._base_sim + (self._real() - self._base_real) * self._scale

    def set_scale(self, time_scale):
        scale = check_scale(time_scale)
        with self._lock:
            if self._frozen is None:
                self._base_sim, self._base_real = self._now(), self._real()
            self._scale = scale

    def freeze(self):
        with self._lock:
            if self._frozen is None:
                self._frozen = self._now()

    def thaw(self):
        with self._lock:
            if self._frozen is not None:
                self._base_sim, self._base_real = self._frozen, self._real()
                self._frozen = None

    def move_to(self, when):
        """A frozen clock jumps forward to ``when`` (never back); a running one is not moved."""
        with self._lock:
            if self._frozen is not None and when > self._frozen:
                self._frozen = when

    def real_seconds(self, simulated):
        """How many real seconds ``simulated`` seconds take at the current scale."""
        return simulated / self._scale
