"""Integration-test harness: the K2 simulator process and real ``ansible-playbook`` runs.

``tests/integration/conftest.py`` wraps these in pytest fixtures (``harness.fixtures``); benchmarks
and scripts can use them directly (``sys.path`` must hold ``tests/integration``).
"""

from harness.playbook import PlaybookResult, arrays_inventory, collections_path, run_playbook
from harness.simulator import REPO_ROOT, eventually, session_body, start_simulator

__all__ = ["PlaybookResult", "arrays_inventory", "REPO_ROOT", "collections_path", "run_playbook", "session_body", "start_simulator", "eventually"]
