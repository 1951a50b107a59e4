"""Injected faults: the next N API requests matching a method and a path pattern misbehave.

Kinds: ``503``; ``busy`` (400 whose error_msg is an MC_ERR_* code, option ``code``); ``429``
(option ``retry_after`` seconds, sent as Retry-After); ``502_before`` (502, nothing applied);
``502_after`` (the request is carried out, then 502); ``reset`` (connection reset, nothing applied);
``reset_after`` (carried out, then reset); ``delay`` (option ``seconds``: wait, then answer
normally; a client with a shorter timeout gives up first); ``500``.
The pattern is a shell-style glob matched against the path below /api/v2 (``/replication/sessions*``);
method ``*`` matches any method.
"""

import fnmatch
import itertools
import threading

BUSY_CODES = ("MC_ERR_BUSY", "MC_ERR_BUSY_SPECIFIC", "MC_ERR_INPROGRESS", "MC_ERR_START_TIMEOUT")
KINDS = {
    "503": {},
    "500": {},
    "502_before": {},
    "502_after": {},
    "reset": {},
    "reset_after": {},
    "busy": {"code": "MC_ERR_BUSY"},
    "429": {"retry_after": 1},
    "delay": {"seconds": 5.0},
}
API_PREFIX = "/api/v2"


class Fault:
    def __init__(self, fault_id, kind, method, path, count, options):
        self.id, self.kind, self.method, self.path = fault_id, kind, method, path
        self.remaining, self.options = count, options

    def matches(self, method, relpath):
        return self.method in ("*", method) and fnmatch.fnmatchcase(relpath, self.path)

    def as_dict(self):
        return dict(
            self.options, id=self.id, kind=self.kind, method=self.method, path=self.path, remaining=self.remaining
        )


def _validate(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    spec = dict(spec)
    kind = str(spec.pop("kind", ""))
    if kind not in KINDS:
        raise ValueError("kind must be one of %s, got %r" % (", ".join(sorted(KINDS)), kind))
    method = str(spec.pop("method", "*")).upper()
    path = str(spec.pop("path", "*"))
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :] or "/"
    count = spec.pop("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    options = dict(KINDS[kind])
    unknown = sorted(set(spec) - set(options))
    if unknown:
        raise ValueError("unknown option(s) for fault %s: %s" % (kind, ", ".join(unknown)))
    options.update(spec)
    if kind == "busy" and options["code"] not in BUSY_CODES:
        raise ValueError("code must be one of %s" % ", ".join(BUSY_CODES))
    if kind == "429" and not (isinstance(options["retry_after"], int) and options["retry_after"] >= 0):
        raise ValueError("retry_after must be a non-negative integer")
    if kind == "delay" and not (isinstance(options["seconds"], (int, float)) and options["seconds"] > 0):
        raise ValueError("seconds must be a positive number")
    return kind, method, path, count, options


class FaultTable:
    def __init__(self):
        self._faults = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec):
        kind, method, path, count, options = _validate(spec)
        with self._lock:
            fault = Fault(next(self._ids), kind, method, path, count, options)
            self._faults.append(fault)
            return fault.as_dict()

    def take(self, method, relpath):
        """The first fault matching this request, its count spent by one; None when none match."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, relpath):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def list(self):
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def clear(self):
        with self._lock:
            self._faults.clear()
