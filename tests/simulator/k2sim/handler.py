"""One HTTP request: journal, added latency, injected faults, then the API or the control API.

Responses are written in one piece with a Content-Length, so clients keep connections alive.
"""

import email.utils
import http
import json
import logging
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, unquote, urlsplit

from k2sim import api, control
from k2sim.auth import basic_credentials
from k2sim.errors import ApiError
from k2sim.server import reset_socket

log = logging.getLogger("k2sim.http")
API_PREFIX = "/api/v2"
CONTROL_PREFIX = "/__sim"
FAULT_ANSWERS = {
    "503": (503, "K2 REST service is busy and cannot execute the requested operation"),
    "500": (500, "Internal server error"),
    "502_before": (502, "K2 REST service became unavailable while performing the request"),
    "502_after": (502, "K2 REST service became unavailable while performing the request"),
    "429": (429, "Too many requests: slow down"),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k2sim/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection is closed after this

    def do_GET(self):
        self._dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = do_GET

    def date_time_string(self, timestamp=None):
        """The Date header: the array clock (k2sim.clock), not the host's."""
        if timestamp is None:
            timestamp = self.server.sim.clock.now()
        return email.utils.formatdate(timestamp, usegmt=True)

    def log_message(self, fmt, *args):
        if log.isEnabledFor(logging.DEBUG):  # every request passes here: format only when logged
            log.debug("%s %s", self.address_string(), fmt % args)

    # ---- flow -------------------------------------------------------------------------------
    def _dispatch(self):
        sim, arr = self.server.sim, self.server.array
        if arr is not None and arr.down is not None:
            self._reset()
            return
        received = time.time()
        split = urlsplit(self.path)
        path = unquote(split.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        raw = self._read_body()
        if raw is None:
            return
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            try:
                status, payload = control.handle(sim, self.command, path, pairs, raw)
            except Exception as exc:  # a simulator bug: answer rather than drop the connection
                log.exception("control request %s %s failed", self.command, self.path)
                status, payload = 500, {"error_msg": "internal simulator error: %s" % exc}
            self._send(status, payload)
            return
        if arr is None:
            self._send(404, {"error_msg": "the control listener serves %s/ only" % CONTROL_PREFIX})
            return
        body, body_error = _parse_json(raw)
        entry = {
            "time": received,
            "method": self.command,
            "path": path,
            "query": dict(pairs),
            "body": body if body_error is None else raw.decode("utf-8", "replace"),
            "user": _user_name(self.headers.get("Authorization")),
            "status": None,
            "fault": None,
        }
        if sim.latency_ms:
            time.sleep(sim.latency_ms / 1000.0)
        status, payload, headers = self._answer(sim, arr, path, pairs, body, body_error, entry)
        entry["status"] = status
        entry["duration_ms"] = round((time.time() - received) * 1000, 3)
        arr.journal.record(entry)
        if status is None:
            self._reset()
        else:
            self._send(status, payload, headers)

    def _answer(self, sim, arr, path, pairs, body, body_error, entry):
        is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
        relpath = path[len(API_PREFIX) :] if is_api else path
        fault = arr.faults.take(self.command, "/" + relpath.strip("/")) if is_api else None
        kind = fault.kind if fault else None
        entry["fault"] = kind
        if kind == "delay":
            time.sleep(fault.options["seconds"])
        elif kind == "reset":
            return None, None, None
        elif kind == "busy":
            return 400, {"error_msg": fault.options["code"]}, {}
        elif kind in ("503", "500", "502_before", "429"):
            status, message = FAULT_ANSWERS[kind]
            headers = {"Retry-After": str(fault.options["retry_after"])} if kind == "429" else {}
            return status, {"error_msg": message}, headers
        status, payload, headers = self._api(sim, arr, relpath, pairs, body, body_error, is_api)
        if kind == "502_after":
            status, message = FAULT_ANSWERS[kind]
            return status, {"error_msg": message}, {}
        if kind == "reset_after":
            return None, None, None
        return status, payload, headers

    def _api(self, sim, arr, relpath, pairs, body, body_error, is_api):
        try:
            if not is_api:
                raise ApiError(404, "not found: %s (the API is under %s)" % (relpath, API_PREFIX))
            if body_error is not None:
                raise ApiError(400, "the request body is not valid JSON: %s" % body_error)
            status, payload = api.handle(
                sim, arr, self.command, relpath, pairs, body, self.headers.get("Authorization")
            )
            return status, payload, {}
        except ApiError as exc:
            return exc.status, {"error_msg": exc.message}, exc.headers
        except Exception as exc:  # a simulator bug: answer 500 rather than drop the connection
            log.exception("internal error on %s %s", self.command, self.path)
            return 500, {"error_msg": "internal simulator error: %s" % exc}, {}

    # ---- I/O --------------------------------------------------------------------------------
    def _read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self._send(411, {"error_msg": "chunked request bodies are not supported; send Content-Length"})
            return None
        if not length:
            return b""
        try:
            return self.rfile.read(int(length))
        except (ValueError, OSError):
            self.close_connection = True
            return None

    def _send(self, status, payload, headers=None):
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        lines = [
            "HTTP/1.1 %d %s" % (status, _phrase(status)),
            "Server: %s" % self.server_version,
            "Date: %s" % self.date_time_string(),
        ]
        if status != 204:
            lines.append("Content-Type: application/json")
            lines.append("Content-Length: %d" % len(body))
        for key, value in (headers or {}).items():
            lines.append("%s: %s" % (key, value))
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD" and status != 204:
            data += body
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client went away (e.g. it timed out during a delay)
        self.log_request(status)

    def _reset(self):
        self.close_connection = True
        try:
            self.rfile.close()
        except OSError:
            pass
        reset_socket(self.connection)


def _parse_json(raw):
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except ValueError as exc:
        return None, str(exc)


def _user_name(header):
    credentials = basic_credentials(header)
    return credentials[0] if credentials else None


def _phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status"
