"""Integration-test harness: the K2 simulator process and real ``ansible-playbook`` runs.

``tests/integration/conftest.py`` wraps these in pytest fixtures; benchmarks and scripts can use
them directly (``sys.path`` must hold ``tests/integration``).
"""

from harness.playbook import PlaybookResult, run_playbook
from harness.simulator import REPO_ROOT, start_simulator

__all__ = ["PlaybookResult", "REPO_ROOT", "run_playbook", "start_simulator"]
