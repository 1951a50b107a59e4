"""pytest fixtures around one simulator process, for every suite that drives the simulator.

In a conftest.py: ``k2sim_fixture, k2sim_reset_fixture = simulator_fixtures("k2sim")`` (pytest finds
them by the module attributes; the fixtures are called ``k2sim`` and ``k2sim_reset``).
"""

import pytest

from harness.simulator import start_simulator


def simulator_fixtures(name, **options):
    """Two fixtures: ``name`` (session scope), one simulator started with ``options`` and always
    stopped at the end of the run; and ``name + "_reset"`` (autouse), which resets that simulator
    (seed, journals, faults, arrays up, settings) before every test that uses it."""

    @pytest.fixture(scope="session", name=name)
    def simulator():
        with start_simulator(**options) as sim:
            yield sim

    @pytest.fixture(autouse=True, name=name + "_reset")
    def reset(request):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()

    return simulator, reset
