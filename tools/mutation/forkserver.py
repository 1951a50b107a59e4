# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run pytest for cosmic-ray in a fork of a process that has already imported the test tools.

Importing pytest, its plugins, ansible-core, requests and responses takes most of a short unit-test
run; paid once per mutant it made mutation testing several times slower. `serve` imports them once
and forks a child per request; the child runs pytest.main(), so each run starts from the same clean
state. Nothing under ansible_collections.kaminario is imported before the fork: the child imports
the mutated file fresh. `run` is the test command cosmic-ray calls: it sends its arguments to the
server and exits with the child's exit code.

    python forkserver.py serve SOCKET TIMEOUT
    python forkserver.py run SOCKET TREE MUTATED_FILE -- PYTEST_ARGS...
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time


def _send(sock, message):
    sock.sendall((json.dumps(message) + "\n").encode())


def _receive(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def _child(request):
    """In the forked child: run pytest as `python -m pytest ARGS` in `cwd` would, exit with its code."""
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # Only the mutated file's bytecode could be stale (same size, same second): drop it and let the
    # rest be cached, so the test modules are not compiled again for every mutant.
    mutated = request["mutated"]
    cache = os.path.join(os.path.dirname(mutated), "__pycache__")
    stem = os.path.splitext(os.path.basename(mutated))[0] + "."
    for name in os.listdir(cache) if os.path.isdir(cache) else ():
        if name.startswith(stem):
            os.unlink(os.path.join(cache, name))
    sys.dont_write_bytecode = False
    sys.path.insert(0, request["cwd"])
    import pytest

    try:
        code = int(pytest.main(request["args"]))
    except BaseException:  # noqa: B036 - whatever a mutant raises, the child must end here
        code = 3
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # nothing ran, so nothing killed the mutant
        code = 0
    os._exit(code)


def serve(path, timeout):
    # What every unit test run imports anyway; not the collection's own code.
    import _pytest.config  # noqa: F401
    import ansible.module_utils.basic  # noqa: F401
    import ansible.module_utils.testing  # noqa: F401
    import pytest  # noqa: F401
    import pytest_ansible  # noqa: F401
    import requests  # noqa: F401
    import responses  # noqa: F401
    import trustme  # noqa: F401

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        conn, _addr = server.accept()
        with conn:
            request = _receive(conn)
            if request is None:
                continue
            pid = os.fork()
            if pid == 0:
                server.close()
                conn.close()
                _child(request)
            code, timed_out = _wait(pid, conn, time.monotonic() + timeout)
            try:
                _send(conn, {"code": code, "timeout": timed_out})
            except OSError:
                pass


def _wait(pid, conn, deadline):
    """(the child's exit code, whether it ran out of time); kill it at the deadline or when the client
    went away (cosmic-ray's own timeout kills the client, not this server's child)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return (os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1), False
        readable, _w, _x = select.select([conn], [], [], 0.02)
        if readable and not conn.recv(1, socket.MSG_PEEK) or time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 1, True


def run(path, tree, mutated, args):
    env = {k: v for k, v in os.environ.items() if k.startswith(("ANSIBLE_", "REQUESTS_", "CURL_", "SSL_"))}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        _send(sock, {"cwd": tree, "args": args, "mutated": os.path.join(tree, mutated), "env": env})
        answer = _receive(sock)
    if answer is not None and answer.get("timeout"):
        print("timeout")  # what cosmic-ray records for its own timeout too: run.py tries these again
    return 1 if answer is None else answer["code"]


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1] == "run" and sys.argv[5] == "--":
        sys.exit(run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[6:]))
    else:
        sys.exit(__doc__)
