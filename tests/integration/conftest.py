"""Integration tests: one K2 simulator for the whole run, real ansible-playbook runs against it.

Fixtures:
- ``k2sim`` (session): the running simulator (k2sim.process.SimulatorProcess): ``.arrays`` (name ->
  {"host", "url", "system_id", ...}), ``.ca_path``, ``.users``, and ``journal(array, clear=False)``,
  ``clear_journal(array=None)``, ``fault(array, kind, method, path_pattern, count=1, **opts)``,
  ``down(array, mode="refuse")``, ``up(array)``, ``reset()``, ``dump(array)``, ``set_delay(seconds)``.
  Started with a 0.2 s transition delay; always stopped at the end of the run.
- ``k2sim_reset`` (autouse): resets the simulator (seed, journals, faults, arrays up, delay) before
  every test that uses ``k2sim`` (directly or through ``run_playbook``).
- ``run_playbook(playbook, array="k2-a", check=False, diff=False, extra_vars=None, user="admin")``
  -> harness.PlaybookResult (``.rc``, ``.stdout``, ``.tasks``, ``.task(name)``, ``.status(name)``).
Every test in this folder is marked ``integration``; one marked ``fixed_ports`` also gets the xdist
group ``fixed_ports`` (with ``--dist loadgroup`` those run one after another on one worker).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from harness import run_playbook as _run_playbook  # noqa: E402
from harness.fixtures import simulator_fixtures  # noqa: E402


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("fixed_ports"):
            item.add_marker(pytest.mark.xdist_group("fixed_ports"))


k2sim_fixture, k2sim_reset_fixture = simulator_fixtures("k2sim")

# With pytest-xdist the fault matrix of stress/ fills in the workers, and the controller does not load
# stress/conftest.py: each worker hands its cells over at the end, and they are printed from here.
_WORKER_MATRICES = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    dumped = getattr(node, "workeroutput", {}).get("k2_fault_matrix")
    if dumped:
        _WORKER_MATRICES.append(dumped)


def pytest_terminal_summary(terminalreporter):
    if _WORKER_MATRICES:
        from stress import conftest as stress  # noqa: E402  (only needed under xdist)

        matrix = stress.Matrix()
        for dumped in _WORKER_MATRICES:
            matrix.merge(dumped)
        stress.report(terminalreporter, matrix)


@pytest.fixture
def run_playbook(k2sim, tmp_path):
    def run(playbook, array="k2-a", check=False, diff=False, extra_vars=None, user="admin", **kwargs):
        return _run_playbook(
            k2sim,
            playbook,
            array=array,
            check=check,
            diff=diff,
            extra_vars=extra_vars,
            user=user,
            workdir=str(tmp_path / "playbook"),
            **kwargs
        )

    return run
