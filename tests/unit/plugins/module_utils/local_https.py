# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted HTTPS server on 127.0.0.1 for the transport tests that `responses` cannot cover.

`responses` replaces HTTPAdapter.send, so it never runs urllib3's connection pool: lost connections,
read timeouts, refused connections and real TLS verification need a real socket. Each request pops
the next action from the script:
  ("json", status, body_dict[, headers])  answer with JSON
  ("drop",)                               read the request, then close the connection unanswered
  ("stall",)                              read the request and never answer (until the server stops)
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server
        with server.lock:
            server.requests.append((self.command, self.path, body, dict(self.headers), self.client_address[1]))
            action = server.script.pop(0) if server.script else ("json", 500, {"error_msg": "script empty"})
        if action[0] == "drop":
            self.close_connection = True
            return
        if action[0] == "stall":
            server.stop_event.wait(30)
            self.close_connection = True
            return
        status, payload = action[1], action[2]
        headers = action[3] if len(action) > 3 else {}
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


class LocalHTTPS:
    """Context manager: `with LocalHTTPS(tmp_path) as srv:` -> srv.host ("127.0.0.1:PORT"),
    srv.ca_file (the CA that signed its certificate), srv.script (list), srv.requests (list)."""

    def __init__(self, tmp_path):
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = str(tmp_path / "local-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.script = []
        self._server.requests = []
        self._server.lock = threading.Lock()
        self._server.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def host(self):
        return "127.0.0.1:%d" % self._server.server_address[1]

    @property
    def script(self):
        return self._server.script

    @property
    def requests(self):
        return self._server.requests

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def refused_host():
    """A 127.0.0.1 port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return "127.0.0.1:%d" % sock.getsockname()[1]
