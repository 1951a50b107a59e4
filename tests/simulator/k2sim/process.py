"""Run the simulator as a subprocess: start it, read its JSON line, drive it, stop it.

from k2sim.process import start
with start(transition_delay=0.2) as sim:
    sim.arrays["k2-a"]["url"], sim.ca_path, sim.users["admin"]["password"]
    sim.fault("k2-a", "503", "GET", "/replication/sessions*")
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time

from k2sim.control_client import ControlClient

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class StartError(RuntimeError):
    pass


class SimulatorProcess(ControlClient):
    """A running simulator. ``.arrays`` maps name -> {"name", "system_id", "host", "port", "url"}."""

    def __init__(self, proc, info, log_path, owns_log=False):
        super().__init__(info["control_url"], info["ca_path"])
        self.proc = proc
        self.info_line = info
        self.arrays = info["arrays"]
        self.ca_path = info["ca_path"]
        self.users = info["users"]
        self.control_url = info["control_url"]
        self.pid = info["pid"]
        self.log_path = log_path
        self._owns_log = owns_log

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL if it does not exit in ``timeout`` seconds. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._owns_log and self.proc.returncode == 0 and os.path.exists(self.log_path):
            os.unlink(self.log_path)  # a temporary log of a clean run is not worth keeping
        return self.proc.returncode

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def command(
    arrays=None,
    bind=None,
    ports=None,
    seed=None,
    users=None,
    transition_delay=None,
    latency_ms=None,
    tls_dir=None,
    log_level=None,
    python=None,
    time_scale=None,
    round_bytes=None,
    link_speed=None,
):
    """The argv that starts the simulator with these options (None: the simulator's default)."""
    argv = [python or sys.executable, "-m", "k2sim"]
    if arrays:
        argv += ["--arrays", ",".join(arrays)]
    if bind:
        argv += ["--bind", bind]
    if ports:
        argv += ["--ports", ",".join(str(p) for p in ports)]
    if seed:
        argv += ["--seed", str(seed)]
    for user in users or ():
        argv += ["--user", user]
    if transition_delay is not None:
        argv += ["--transition-delay", str(transition_delay)]
    if latency_ms is not None:
        argv += ["--latency-ms", str(latency_ms)]
    if time_scale is not None:
        argv += ["--time-scale", str(time_scale)]
    if round_bytes is not None:
        argv += ["--round-bytes", str(int(round_bytes))]
    if link_speed is not None:
        argv += ["--link-speed", str(link_speed)]
    if tls_dir:
        argv += ["--tls-dir", str(tls_dir)]
    if log_level:
        argv += ["--log-level", log_level]
    return argv


def start(log_path=None, startup_timeout=30.0, cpu=None, env=None, **options):
    """Start the simulator (options as :func:`command`) and wait for its JSON line.

    stderr goes to ``log_path`` (default: a temporary file, removed by a stop after a clean exit),
    never to a pipe nobody reads.
    ``cpu``: pin the simulator to that CPU (benchmarks).
    """
    owns_log = log_path is None
    if owns_log:
        handle, log_path = tempfile.mkstemp(prefix="k2sim-", suffix=".log")
        os.close(handle)
    run_env = dict(os.environ if env is None else env)
    run_env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, run_env.get("PYTHONPATH")) if p)
    run_env["PYTHONUNBUFFERED"] = "1"
    preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command(**options),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=run_env,
            preexec_fn=preexec,
        )
    try:
        line = _read_line(proc, startup_timeout)
        info = json.loads(line)
    except Exception as exc:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            tail = handle.read()[-4000:]
        if owns_log:
            os.unlink(log_path)  # its tail is in the error
            log_path = "(removed)"
        raise StartError(
            "the simulator did not start (%s); its log %s ends with:\n%s" % (exc, log_path, tail)
        ) from None
    return SimulatorProcess(proc, info, log_path, owns_log)


def _read_line(proc, timeout):
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    data = b""
    try:
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartError("no JSON line within %.0f s" % timeout)
            if selector.select(left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise StartError("it exited with code %s" % proc.wait())
                data += chunk
    finally:
        selector.close()
    return data.decode("utf-8")
