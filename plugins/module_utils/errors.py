# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed exceptions of the K2 client.

No Ansible import here: the module boundary (k2_module.handle_errors) is the one place that turns a
K2Error into fail_json. `str(e)` is the user-facing message and never holds a credential;
`e.details()` holds the extra result keys (status, method, path, ...) that are known.
"""

from __future__ import annotations

# Reason phrases for the statuses the K2 API documents; anything else prints the bare number.
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _request_label(method, path):
    return "%s %s" % (method, path) if method else path


def _gave_up(attempts):
    return "; gave up after %d attempts" % attempts if attempts and attempts > 1 else ""


class K2Error(Exception):
    """Base of every error the collection raises; `str(e)` is the message shown to the user."""

    def details(self):
        """Extra keys for fail_json (only the ones that are known)."""
        return {}


class K2OptionError(K2Error):
    """A connection option is unusable (e.g. host given as a URL); raised before any request."""

    def __init__(self, option, message):
        self.option = option
        super().__init__("%s: %s" % (option, message))

    def details(self):
        return {"option": self.option}


class K2ProtocolError(K2Error):
    """The server answered with something that is not the K2 API's JSON (e.g. an HTML page)."""

    def __init__(self, method, path, status, problem):
        self.method, self.path, self.status = method, path, status
        super().__init__("%s: unexpected answer from the K2 API (HTTP %s): %s"
                         % (_request_label(method, path), status, problem))

    def details(self):
        return {"method": self.method, "path": self.path, "status": self.status}


class K2HTTPError(K2Error):
    """The server answered with an error status; subclasses below per status."""

    def __init__(self, method, path, status, error_msg=None, attempts=1):
        self.method = method
        self.path = path
        self.status = status
        self.error_msg = error_msg
        self.attempts = attempts
        reason = _REASONS.get(status)
        text = "%s failed: HTTP %s%s" % (_request_label(method, path), status, " " + reason if reason else "")
        if error_msg:
            text += ": %s" % error_msg
        super().__init__(text + _gave_up(attempts))

    def details(self):
        found = {"method": self.method, "path": self.path, "status": self.status, "attempts": self.attempts}
        if self.error_msg:
            found["error_msg"] = self.error_msg
        return found


class K2BadRequest(K2HTTPError):
    """400: the array refused the request (its error_msg says why)."""


class K2Unauthorized(K2HTTPError):
    """401: missing or wrong credentials."""


class K2Forbidden(K2HTTPError):
    """403: the user's role may not do this."""


class K2NotFound(K2HTTPError):
    """404: unknown object or path."""


class K2MethodNotAllowed(K2HTTPError):
    """405: the resource does not support this method."""


class K2Conflict(K2HTTPError):
    """409: conflicting concurrent change."""


class K2TooManyRequests(K2HTTPError):
    """429: rate limited, still after the retries."""


class K2ServerError(K2HTTPError):
    """5xx (except a write that got 502/504, which is K2OutcomeUnknown)."""


_BY_STATUS = {
    400: K2BadRequest,
    401: K2Unauthorized,
    403: K2Forbidden,
    404: K2NotFound,
    405: K2MethodNotAllowed,
    409: K2Conflict,
    429: K2TooManyRequests,
}


def http_error(method, path, status, error_msg=None, attempts=1):
    """The typed K2HTTPError for `status` (K2ServerError for any 5xx, K2HTTPError for the rest)."""
    cls = _BY_STATUS.get(status) or (K2ServerError if 500 <= status <= 599 else K2HTTPError)
    return cls(method, path, status, error_msg=error_msg, attempts=attempts)


class K2TransportError(K2Error):
    """No HTTP answer: base of the TLS, connection and timeout errors."""

    what = "request failed"

    def __init__(self, method, path, host, reason, attempts=1):
        self.method = method
        self.path = path
        self.host = host
        self.reason = reason
        self.attempts = attempts
        super().__init__("%s to %s: %s: %s%s"
                         % (_request_label(method, path), host, self.what, reason, _gave_up(attempts)))

    def details(self):
        return {"method": self.method, "path": self.path, "attempts": self.attempts}


class K2TLSError(K2TransportError):
    """The TLS handshake failed (e.g. certificate not trusted): never retried."""

    what = "TLS failure (see validate_certs and ca_path)"


class K2ConnectionError(K2TransportError):
    """No connection to the array, or a GET lost its connection."""

    what = "connection failed"


class K2Timeout(K2TransportError):
    """No connection or no answer within `timeout` seconds (for a write: only before sending)."""

    what = "timed out"


class K2OutcomeUnknown(K2Error):
    """A write got 502/504, or lost its connection or timed out after it may have been sent.

    The array may or may not have carried it out: the caller must re-read the object before
    repeating anything.
    """

    def __init__(self, method, path, reason, status=None, in_flight=False):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        # True when no answer came within the timeout: the array may still be carrying it out.
        self.in_flight = in_flight
        super().__init__("%s: outcome unknown (%s); the array may or may not have carried it out, "
                         "re-read the object before repeating the request"
                         % (_request_label(method, path), reason))

    def details(self):
        found = {"method": self.method, "path": self.path}
        if self.status is not None:
            found["status"] = self.status
        return found


class K2ReferenceError(K2Error):
    """A value given for a reference option is unusable: no object has that name, or it is a ref to
    another resource type or not a reference at all."""

    def __init__(self, option, value, message):
        self.option = option
        self.value = value
        super().__init__("%s: %s" % (option, message))

    def details(self):
        return {"option": self.option}


class K2WaitTimeout(K2Error):
    """A wait for an object to reach a state ran out of time."""
