# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP to the K2 REST API on requests: Basic auth, TLS verification, timeouts, bounded retries.

Retry policy (one budget of `retries` extra attempts and `retry_max_time` seconds per request):
- 503 and 429, any method: the array refused the work, so repeating it is safe. Retry-After is
  honoured, capped at RETRY_AFTER_MAX.
- 400 whose error_msg is an MC_ERR_* busy code, any method: refused too (needs the body, so it is
  retried by the loop in K2Transport.request rather than by urllib3).
- Connection failures before anything was sent, any method.
- Lost connections, read timeouts, 502 and 504: GET only. A write that meets one of these may have
  been carried out: K2OutcomeUnknown tells the caller to re-read instead of repeating it.
- TLS failures: never (retrying cannot fix a certificate).
"""

from __future__ import annotations

import datetime
import email.utils
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
import traceback
import warnings

from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2ConnectionError,
    K2OptionError,
    K2OutcomeUnknown,
    K2ProtocolError,
    K2Timeout,
    K2TLSError,
    http_error,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import (
        ConnectTimeoutError,
        InsecureRequestWarning,
        InvalidHeader,
        MaxRetryError,
        NewConnectionError,
        ReadTimeoutError,
        ResponseError,
        SSLError,
    )
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    Retry = object  # keeps the class below importable; K2Transport() is never reached without requests
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

API_PREFIX = "/api/v2"
USER_AGENT = "kaminario.k2-ansible"

# Methods that only read: safe to repeat after a lost connection, a read timeout, 502 or 504.
SAFE_METHODS = frozenset(["GET"])
REFUSED_STATUSES = frozenset([429, 503])  # retried for every method
GATEWAY_STATUSES = frozenset([502, 504])  # retried for GET; for a write the outcome is unknown

# The array answers 400 with one of these error_msg values when it is busy: retry later.
BUSY_CODES = ("MC_ERR_BUSY", "MC_ERR_BUSY_SPECIFIC", "MC_ERR_INPROGRESS", "MC_ERR_START_TIMEOUT")

# Backoff between attempts: BACKOFF_BASE * 2**n seconds, at most BACKOFF_MAX (0.5, 1, 2, 4, 8 ...).
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 10.0  # a server may ask for more; we wait at most this long per attempt

_HOST_PORT = re.compile(r"^(?P<name>[^:\[\]]+)(?::(?P<port>[0-9]+))?$")
_BRACKETED = re.compile(r"^\[(?P<name>[^\]]+)\](?::(?P<port>[0-9]+))?$")


# The refusal of a host that carries credentials: it never repeats the value, which holds a secret.
USERINFO_REFUSED = ("must be a name or address with an optional port; credentials in host are not accepted: "
                    "use username and password")


def has_userinfo(host):
    """Whether a host value carries credentials (`user:secret@array`, `user@array`, also inside a
    URL such as `https://user:pw@array`). No host name or address holds an `@`."""
    return isinstance(host, str) and "@" in host


def parse_host(host):
    """`name`, `name:port`, `[v6]`, `[v6]:port` or a bare IPv6 address -> the URL's netloc.

    A scheme, path, user or query is rejected with a K2OptionError naming the option. A value with
    credentials in it is refused first, with a message that does not repeat it.
    """
    if has_userinfo(host):
        raise K2OptionError("host", USERINFO_REFUSED)
    value = (host or "").strip() if isinstance(host, str) else host
    if not value or not isinstance(value, str):
        raise K2OptionError("host", "a host name or address is required")
    if "://" in value or "/" in value or "?" in value or "#" in value or " " in value:
        raise K2OptionError("host", "expected a host name, name:port or [IPv6]:port, not a URL or path: %r"
                            % value)
    match = _BRACKETED.match(value)
    if match:
        name, port = match.group("name"), match.group("port")
        _check_ipv6(name, value)
        netloc_name = "[%s]" % name
    elif value.startswith("["):  # "[::1]:", "[::1]8443": a bracket that is not [IPv6] or [IPv6]:port
        raise K2OptionError("host", "expected a host name, name:port or [IPv6]:port: %r" % value)
    elif value.count(":") > 1:  # a bare IPv6 address cannot carry a port
        _check_ipv6(value, value)
        name, port, netloc_name = value, None, "[%s]" % value
    else:
        match = _HOST_PORT.match(value)
        if not match:
            raise K2OptionError("host", "expected a host name, name:port or [IPv6]:port: %r" % value)
        name, port = match.group("name"), match.group("port")
        # requests would refuse ".k2" or "*.k2" only when sending, and "k2..example" fails as a name
        # lookup: an empty label or a wildcard is never a host.
        if "*" in name or "" in name[:-1 if name.endswith(".") else None].split("."):
            raise K2OptionError("host", "not a host name (an empty label or a wildcard): %r" % value)
        netloc_name = name
    if port is not None and not 1 <= int(port) <= 65535:
        raise K2OptionError("host", "port out of range 1-65535: %r" % value)
    return netloc_name + (":%d" % int(port) if port is not None else "")


def _check_ipv6(name, value):
    try:
        ipaddress.IPv6Address(name.split("%", 1)[0])
    except ValueError:
        raise K2OptionError("host", "not an IPv6 address: %r" % value) from None


def is_busy(error_msg):
    """True when a 400's error_msg is (or contains) one of the array's busy codes."""
    return bool(error_msg) and any(code in error_msg for code in BUSY_CODES)


class RetryBudget:
    """The attempts and time one request may spend on retries, shared by urllib3 and the busy loop."""

    def __init__(self, retries, max_time, clock, sleep):
        self.retries = retries
        self.deadline = clock() + max_time
        self.used = 0
        self.gave_up = False
        self._clock = clock
        self._sleep = sleep

    @property
    def attempts(self):
        return self.used + 1

    def backoff(self):
        return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** self.used)

    def admit(self, delay=None):
        """Spend one retry: sleep `delay` (default: the backoff) and return True; or, when the count
        is spent or the wait would pass the deadline, mark the request as given up and return False."""
        if delay is None:
            delay = self.backoff()
        if self.used >= self.retries or self._clock() + delay > self.deadline:
            self.gave_up = True
            return False
        self.used += 1
        self._sleep(delay)
        return True


class K2Retry(Retry):
    """urllib3 Retry with the K2 policy (module docstring), counting against a RetryBudget.

    The budget, not urllib3's counters, decides when to stop: it is shared with the busy-code loop
    and also bounds the total time. increment() sleeps itself (sleep() does nothing) so the deadline
    check sees the real delay, and so the `responses` mock, which only calls is_retry() and
    increment(), runs the same code as a real connection pool.
    """

    def __init__(self, *args, budget=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.budget = budget

    def new(self, **kw):
        kw.setdefault("budget", self.budget)
        return super().new(**kw)

    def is_retry(self, method, status_code, has_retry_after=False):
        if status_code in REFUSED_STATUSES:
            return True
        return status_code in GATEWAY_STATUSES and method.upper() in SAFE_METHODS

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, SSLError):
            raise error
        # Raises the error itself for a read error on a write (allowed_methods is SAFE_METHODS).
        new_retry = super().increment(method=method, url=url, response=response, error=error,
                                      _pool=_pool, _stacktrace=_stacktrace)
        if self.budget is None or not self.budget.admit(self._delay(response)):
            status = getattr(response, "status", None)
            reason = error or ResponseError("too many %s error responses" % status)
            raise MaxRetryError(_pool, url, reason)
        return new_retry

    def sleep(self, response=None):
        """Already slept in increment()."""

    def _delay(self, response):
        value = response.headers.get("Retry-After") if response is not None else None
        if value is not None and response.status in REFUSED_STATUSES:
            try:
                return min(RETRY_AFTER_MAX, max(0.0, float(self.parse_retry_after(value))))
            # Unparsable, or a date whose year is out of range (ValueError, or OverflowError past
            # what the C library holds): fall back to the backoff.
            except (InvalidHeader, ValueError, OverflowError):
                pass
        return None


def _exception_chain(exc):
    """`exc` and every exception it wraps (requests -> urllib3 -> socket/ssl), outermost first."""
    found, todo = [], [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        todo.extend([current.__cause__, current.__context__])
    return found


def _first(chain, types):
    return next((exc for exc in chain if isinstance(exc, types)), None)


def _os_reason(chain, default):
    """The most specific human text in the chain, e.g. 'Connection refused'."""
    tls = _first(chain, ssl.SSLCertVerificationError)
    if tls is not None and getattr(tls, "verify_message", None):
        return "certificate verify failed: %s" % tls.verify_message
    tls = _first(chain, ssl.SSLError)
    if tls is not None:
        return getattr(tls, "reason", None) or str(tls)
    for exc in chain:
        if isinstance(exc, socket.gaierror):
            return "cannot resolve the host name (%s)" % exc.strerror
        if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, socket.timeout):
            return exc.strerror
        if isinstance(exc, http.client.HTTPException) and str(exc):
            return str(exc)
    return default


def parse_http_date(value):
    """An HTTP Date header ("Tue, 01 Dec 2026 10:00:00 GMT") -> epoch seconds; None when absent or
    unreadable. A date without a zone counts as UTC, as HTTP dates are."""
    if not value or not isinstance(value, str):
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _error_msg(response):
    """The server's error_msg (or the short text of a non-JSON error body)."""
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:200] or None
    if isinstance(data, dict) and data.get("error_msg"):
        return str(data["error_msg"])
    return str(data)[:200] if data else None


class K2Transport:
    """One requests.Session to one array; `request()` returns the parsed JSON or None (204).

    `last_date`: the Date header of the last answer received (any status), as epoch seconds: the
    array's clock, for callers that must judge times the array stamped (None until an answer with a
    readable Date arrives; an answer without one leaves it as it was).
    """

    def __init__(self, host, username, password, validate_certs=True, ca_path=None, timeout=30,
                 retries=5, retry_max_time=120, session=None, sleep=None, clock=None):
        self.host = parse_host(host)
        self.base_url = "https://%s%s" % (self.host, API_PREFIX)
        if not username:
            raise K2OptionError("username", "a user name is required")
        if password is None:
            raise K2OptionError("password", "a password is required")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise K2OptionError("timeout", "expected a positive number of seconds, got %r" % (timeout,))
        if validate_certs and ca_path and not os.path.exists(ca_path):
            raise K2OptionError("ca_path", "no such file or directory: %s" % ca_path)
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override Session.verify.
        self.verify = (ca_path or True) if validate_certs else False
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.retry_max_time = retry_max_time
        # Looked up here, not bound at import, so tests can replace this module's `time`.
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock = clock if clock is not None else time.monotonic
        self._retry = K2Retry(total=None, connect=None, read=None, status=None,
                              allowed_methods=SAFE_METHODS, raise_on_status=False)
        self._adapter = HTTPAdapter(max_retries=self._retry)
        self._session = session if session is not None else requests.Session()
        self._session.mount("https://", self._adapter)
        self._session.auth = (username, password)
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        self.last_date = None

    def request(self, method, path, params=None, body=None):
        """Send one API request (with the retries above); `path` is relative to /api/v2."""
        method = method.upper()
        path = "/" + path.lstrip("/")
        budget = RetryBudget(self.retries, self.retry_max_time, self._clock, self._sleep)
        while True:
            response = self._send(method, path, params, body, budget)
            date = parse_http_date(response.headers.get("Date"))
            if date is not None:
                self.last_date = date
            if 200 <= response.status_code < 300:
                return self._parse(method, path, response)
            error_msg = _error_msg(response)
            if response.status_code == 400 and is_busy(error_msg) and budget.admit():
                continue
            attempts = budget.attempts if budget.gave_up else 1
            if method not in SAFE_METHODS and response.status_code in GATEWAY_STATUSES:
                raise K2OutcomeUnknown(method, path, "HTTP %d%s" % (
                    response.status_code, ": %s" % error_msg if error_msg else ""), status=response.status_code)
            raise http_error(method, path, response.status_code, error_msg, attempts)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _send(self, method, path, params, body, budget):
        # The adapter reads max_retries at send time: give this request its own budget.
        self._adapter.max_retries = self._retry.new(budget=budget)
        kwargs = dict(params=params, timeout=self.timeout, verify=self.verify, allow_redirects=False)
        if body is not None:
            kwargs["json"] = body
        try:
            with warnings.catch_warnings():
                if self.verify is False:  # the user chose it; one warning per request is noise
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                return self._session.request(method, self.base_url + path, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(method, path, exc, budget) from exc

    def _transport_error(self, method, path, exc, budget):
        chain = _exception_chain(exc)
        attempts = budget.attempts if budget.gave_up else 1
        if isinstance(exc, requests.exceptions.SSLError) or _first(chain, (SSLError, ssl.SSLError)):
            return K2TLSError(method, path, self.host, _os_reason(chain, "TLS handshake failed"))
        # Failed before anything was sent: the outcome is known (nothing happened) for every method.
        if _first(chain, NewConnectionError):  # a ConnectTimeoutError subclass: test it first
            return K2ConnectionError(method, path, self.host, _os_reason(chain, "cannot connect"), attempts)
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _first(chain, ConnectTimeoutError):
            return K2Timeout(method, path, self.host, "no connection within %s s" % self.timeout, attempts)
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader)):
            return K2ConnectionError(method, path, self.host, str(exc), attempts)
        timed_out = isinstance(exc, requests.exceptions.Timeout) or _first(chain, ReadTimeoutError)
        reason = ("no answer within %s s" % self.timeout if timed_out
                  else "connection lost: %s" % _os_reason(chain, type(exc).__name__))
        if method not in SAFE_METHODS:
            return K2OutcomeUnknown(method, path, reason, in_flight=bool(timed_out))
        if timed_out:
            return K2Timeout(method, path, self.host, reason, attempts)
        return K2ConnectionError(method, path, self.host, reason, attempts)

    @staticmethod
    def _parse(method, path, response):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise K2ProtocolError(method, path, response.status_code, "the body is not JSON (content-type %s)"
                                  % response.headers.get("content-type", "unknown")) from None
