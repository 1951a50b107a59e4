"""Per-array record of every API request received, so tests can assert what a client sent."""

import collections
import itertools
import threading


class Journal:
    def __init__(self, maxlen=100000):
        self._entries = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, entry):
        with self._lock:
            entry["seq"] = next(self._seq)
            self._entries.append(entry)

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries.clear()
