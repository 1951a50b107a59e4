# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` as a new user runs it: every step ok, exit 0, and no simulator left behind."""

import os
import socket
import subprocess
import sys

import pytest
from harness import REPO_ROOT

# The demo binds 18443 and 18444 (as examples/simulator/inventory.yml says): one worker, and only the
# newest pass, so the two passes never race for the ports.
pytestmark = [pytest.mark.newest, pytest.mark.fixed_ports]

STEPS = ("Start the simulator", "Apply the topology", "Apply it again", "Change an rpo behind Ansible's back",
         "Drift report", "Converge again", "Replication snapshot", "Fail oracle_prod over with k2-a down",
         "Fail it back")


def _simulators_on_demo_ports():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if b"k2sim" in argv and any(b"18443" in a for a in argv):
            found.append(int(pid))
    return found


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_demo_runs_every_step_and_leaves_nothing_behind():
    proc = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "tools", "demo.py")], cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for step in STEPS:
        line = next((line for line in lines if step in line), None)
        assert line is not None and " ok" in line, (step, proc.stdout)
    assert any("Apply it again" in line and "ok, 0 changed" in line for line in lines), proc.stdout
    # The drift the demo made, by name, in the report's summary lines.
    assert "    drifted: sql_prod (k2-a -> k2-b): rpo 1800 (declared 900)" in proc.stdout, proc.stdout
    assert lines[-1] == "Simulator stopped."
    assert _simulators_on_demo_ports() == [] and not _port_open(18443) and not _port_open(18444)
    assert "admin-k2sim" not in proc.stdout + proc.stderr
