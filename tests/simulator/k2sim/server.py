"""HTTPS listeners: one per array plus one for the control API. Threaded, HTTP/1.1 keep-alive.

The TLS handshake runs in the connection's own thread (not in accept()), so a slow or broken client
never holds up the others. Open connections are tracked so that taking an array down can close them.
"""

import logging
import socket
import ssl
import struct
import threading
from http.server import ThreadingHTTPServer

log = logging.getLogger("k2sim.server")


def reset_socket(sock):
    """Close with SO_LINGER 0: the peer sees a TCP RST (connection reset), not a clean close."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler_class, ssl_context, sim, array=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler_class)
        self.ssl_context = ssl_context
        self.sim = sim
        self.array = array  # None for the control listener
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="k2sim-listen-%s" % (self.array.name if self.array else "control"),
            daemon=True,
        )
        self._thread.start()

    def stop(self):
        """Stop accepting (new connections are refused) and close every open connection."""
        self.shutdown()
        self.server_close()
        self.close_connections()
        self._thread.join(5)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def process_request(self, request, client_address):
        if self.array is not None and self.array.down == "reset":
            reset_socket(request)
            return
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        with self._connections_lock:
            self._connections.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(conn)
            conn.close()

    def handle_error(self, request, client_address):
        log.debug("connection from %s ended with an error", client_address, exc_info=True)
