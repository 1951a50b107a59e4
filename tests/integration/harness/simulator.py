"""Start the K2 simulator (tests/simulator/k2sim) as a subprocess for tests and benchmarks."""

import os
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SIMULATOR_DIR = os.path.join(REPO_ROOT, "tests", "simulator")
if SIMULATOR_DIR not in sys.path:
    sys.path.insert(0, SIMULATOR_DIR)

from k2sim.process import SimulatorProcess, start  # noqa: E402  (needs the path above)

DEFAULT_DELAY = 0.2


def start_simulator(transition_delay=DEFAULT_DELAY, **options):
    """One simulator process (two arrays k2-a and k2-b by default). The returned
    :class:`k2sim.process.SimulatorProcess` has ``.arrays`` (name -> {"host", "url", "system_id", ...}),
    ``.ca_path``, ``.users`` (name -> {"password", "role"}) and the control methods ``journal``,
    ``clear_journal``, ``fault``, ``down``, ``up``, ``reset``, ``dump``, ``set_delay``; ``stop()`` ends it."""
    return start(transition_delay=transition_delay, **options)


def session_body(name="s1", vg_id=5101, peer_id=1, rpo=300, **extra):
    """A POST /replication/sessions body on the default content: by default from k2-a's volume group
    vg_oracle_prod (5101) towards its first peer array (k2-b)."""
    body = {
        "name": name,
        "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/%d" % peer_id},
        "local_volume_group": {"ref": "/volume_groups/%d" % vg_id},
        "rpo": rpo,
    }
    body.update(extra)
    return body


def eventually(check, timeout=60.0, step=0.05):
    """Poll `check` (a function returning a true value when done) until it succeeds or `timeout`
    seconds pass; returns its last value. The peer array follows a transition after the simulator's
    delay, so tests wait for it this way (a bounded wait, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


__all__ = ["SimulatorProcess", "start_simulator", "session_body", "eventually", "REPO_ROOT", "SIMULATOR_DIR"]
