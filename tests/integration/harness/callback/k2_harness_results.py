# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-harness callback: every task result as one JSON line in the file named by K2_HARNESS_RESULTS."""

from __future__ import annotations

DOCUMENTATION = """
name: k2_harness_results
type: aggregate
short_description: Write each task result as a JSON line (kaminario.k2 integration tests)
description:
  - Appends C({"task", "host", "action", "status", "result"}) per task result to the file named by
    the E(K2_HARNESS_RESULTS) environment variable. Status is ok, changed, failed, skipped or unreachable.
requirements:
  - enabled through ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "k2_harness_results"
    CALLBACK_NEEDS_ENABLED = True

    @staticmethod
    def _part(result, name):
        """TaskResult.result / .task / .host in ansible-core 2.19+; ._result / ._task / ._host before."""
        found = getattr(result, name, None)
        return found if found is not None else getattr(result, "_" + name)

    def _result(self, result):
        return self._part(result, "result")

    def _write(self, result, status):
        path = os.environ.get("K2_HARNESS_RESULTS")
        if not path:
            return
        entry = {
            "task": self._part(result, "task").get_name(),
            "host": self._part(result, "host").get_name(),
            "action": self._part(result, "task").action,
            "status": status,
            "result": dict(self._result(result)),
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "changed" if self._result(result).get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")
