"""The simulator's own tests: one simulator process for the run (started through the integration
harness, so start/stop logic exists once), reset before each test, clients over real HTTPS."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "integration")
for folder in (HERE, os.path.dirname(HERE), INTEGRATION_DIR):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from harness.fixtures import simulator_fixtures  # noqa: E402
from k2sim_testlib import DELAY, Api  # noqa: E402

# "sim" (session) and "sim_reset" (autouse: reset before each test that uses "sim").
sim_fixture, sim_reset_fixture = simulator_fixtures("sim", transition_delay=DELAY)


@pytest.fixture
def api(sim):
    """api(array="k2-a", user="admin", password=None) -> Api; closed after the test."""
    made = []

    def make(array="k2-a", user="admin", password=None):
        made.append(Api(sim, array, user, password))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def a(api):
    return api("k2-a")


@pytest.fixture
def b(api):
    return api("k2-b")
