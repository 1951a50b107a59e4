"""Run one ``ansible_runner.run`` in a process of its own (harness/awx.py, ``run_job(unprivileged=True)``).

    python runner_child.py RESULT_FILE  < kwargs as JSON

Writes ``{"rc", "status", "artifact_dir"}`` to RESULT_FILE. The parent chooses the process's
environment and privileges (see ``awx.run_job``); everything else is ansible-runner's."""

import json
import sys

import ansible_runner


def main(result_path):
    kwargs = json.load(sys.stdin)
    runner = ansible_runner.run(**kwargs)
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump({"rc": runner.rc, "status": runner.status, "artifact_dir": runner.config.artifact_dir}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
