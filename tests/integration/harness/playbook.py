"""Run the real ``ansible-playbook`` against the simulator and collect every task result.

The collection resolves to this checkout through ANSIBLE_COLLECTIONS_PATH (set up by the repository's
root conftest.py); connection details reach the modules through K2_HOST / K2_USERNAME / K2_PASSWORD /
K2_CA_PATH in the environment, never on the command line. A callback plugin
(harness/callback/k2_harness_results.py) writes each task result as a JSON line.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from harness.simulator import REPO_ROOT

CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback")
CALLBACK_NAME = "k2_harness_results"
RESULTS_ENV = "K2_HARNESS_RESULTS"


@dataclass(repr=False)
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    tasks: list = field(default_factory=list)  # [{"task", "host", "action", "status", "result"}]
    command: list = field(default_factory=list)

    def entries(self, name):
        return [t for t in self.tasks if t["task"] == name]

    def entry(self, name):
        """The last entry of the task called ``name`` (KeyError naming the tasks that ran)."""
        found = self.entries(name)
        if not found:
            raise KeyError("no task %r in this run; tasks: %s" % (name, [t["task"] for t in self.tasks]))
        return found[-1]

    def task(self, name):
        """The result dict of the task called ``name``."""
        return self.entry(name)["result"]

    def status(self, name):
        """ok, changed, failed, skipped or unreachable."""
        return self.entry(name)["status"]

    def __str__(self):
        return "ansible-playbook rc=%d\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.stdout, self.stderr)

    __repr__ = __str__  # so a failed ``assert result.rc == 0, result`` shows the whole run


def collections_path():
    """ANSIBLE_COLLECTIONS_PATH as the root conftest.py sets it (loaded here when pytest did not): a
    folder holding ``ansible_collections/kaminario/k2`` -> this checkout. Put it on ``sys.path`` to
    import ``ansible_collections.kaminario.k2`` outside pytest."""
    if "ANSIBLE_COLLECTIONS_PATH" not in os.environ:
        spec = importlib.util.spec_from_file_location("_k2_root_conftest", os.path.join(REPO_ROOT, "conftest.py"))
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return os.environ["ANSIBLE_COLLECTIONS_PATH"]


def _ansible_playbook():
    for candidate in (
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        os.path.join(REPO_ROOT, ".venv", "bin", "ansible-playbook"),
    ):
        if os.path.exists(candidate):
            return candidate
    found = shutil.which("ansible-playbook")
    if not found:
        raise FileNotFoundError("ansible-playbook not found next to %s nor in .venv" % sys.executable)
    return found


def arrays_inventory(sim, arrays=None, host_vars=None):
    """The text of a YAML inventory with the simulator's arrays as hosts of group k2_arrays (k2_host
    set; credentials and CA come from the K2_* environment the harness sets), run on the
    controller with this Python. ``host_vars`` (array name -> dict) add variables per array."""
    hosts = {}
    for name in arrays or sorted(sim.arrays):
        values = {"k2_host": sim.arrays[name]["host"], "ansible_connection": "local",
                  "ansible_python_interpreter": sys.executable}
        values.update((host_vars or {}).get(name, {}))
        hosts[name] = values
    return json.dumps({"all": {"children": {"k2_arrays": {"hosts": hosts}}}}, indent=2) + "\n"


def run_playbook(
    sim,
    playbook,
    array="k2-a",
    check=False,
    diff=False,
    extra_vars=None,
    user="admin",
    workdir=None,
    timeout=600,
    env=None,
    verbosity=0,
    inventory=None,
    extra_args=(),
):
    """Run ``playbook`` (a file path or the YAML text of a playbook) on localhost against ``array``.

    ``sim`` is the running simulator (``.arrays``, ``.ca_path``, ``.users``). ``extra_vars`` go
    through a JSON file (``-e @file``); ``env`` adds environment variables. ``inventory`` (a file
    path, or the text of an inventory file) replaces the default one: localhost alone. ``extra_args``
    go on the command line (e.g. ``("--limit", "k2-a")``).
    """
    workdir = workdir or tempfile.mkdtemp(prefix="k2-playbook-")
    os.makedirs(workdir, exist_ok=True)
    if isinstance(playbook, os.PathLike) or ("\n" not in playbook and os.path.isfile(playbook)):
        playbook_path = os.path.abspath(os.fspath(playbook))
    else:
        playbook_path = os.path.join(workdir, "playbook.yml")
        with open(playbook_path, "w", encoding="utf-8") as handle:
            handle.write(playbook)
    if inventory is not None and ("\n" not in inventory and os.path.isfile(inventory)):
        inventory = os.path.abspath(inventory)
    else:
        text = inventory if inventory is not None else \
            "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable
        inventory = os.path.join(workdir, "inventory.yml" if inventory is not None else "inventory.ini")
        with open(inventory, "w", encoding="utf-8") as handle:
            handle.write(text)
    results_path = os.path.join(workdir, "task-results.jsonl")
    if os.path.exists(results_path):
        os.unlink(results_path)
    argv = [_ansible_playbook(), "-i", inventory, playbook_path]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if extra_vars:
        vars_path = os.path.join(workdir, "extra-vars.json")
        with open(vars_path, "w", encoding="utf-8") as handle:
            json.dump(extra_vars, handle)
        argv += ["-e", "@" + vars_path]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    argv += list(extra_args)
    account = sim.users[user]
    run_env = dict(os.environ)
    run_env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": collections_path(),
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
            "ANSIBLE_CALLBACKS_ENABLED": CALLBACK_NAME,
            RESULTS_ENV: results_path,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-tmp"),
            "K2_HOST": sim.arrays[array]["host"],
            "K2_USERNAME": user,
            "K2_PASSWORD": account["password"],
            "K2_CA_PATH": sim.ca_path,
        }
    )
    run_env.update(env or {})
    proc = subprocess.run(
        argv,
        cwd=workdir,
        env=run_env,
        stdin=subprocess.DEVNULL,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    tasks = []
    if os.path.exists(results_path):
        with open(results_path, encoding="utf-8") as handle:
            tasks = [json.loads(line) for line in handle if line.strip()]
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, tasks, argv)
