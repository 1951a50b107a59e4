"""Run a playbook the way AWX runs a job: through the ``ansible_runner`` library, in a private data
dir, with the environment rendered from the "Kaminario K2" credential type's injectors.

    from harness.awx import run_job, k2_arrays_inventory
    job = run_job("playbooks/drift_report.yml", k2_arrays_inventory(sim),
                  credential_inputs={"username": "monitor", "password": ..., "ca_cert": pem},
                  check=True, extra_vars={"fail_on_drift": True})
    job.rc, job.status, job.host_stats("k2-a"), job.artifacts, job.leaks(password)

What AWX does and this harness does too:
- the project (by default the playbook's folder) is copied into ``<private_data_dir>/project`` and the
  playbook runs from there; the inventory is ``<private_data_dir>/inventory/hosts``; job extra vars
  are ``env/extravars``; a Check job adds ``--check``;
- credential injectors are rendered like AWX's ``inject_credential``: Jinja in an immutable sandbox
  over the inputs, where a string input that is empty or absent is left out (undefined), a boolean
  input that is absent is False, the ``file`` template is written to a 0600 file in
  ``<private_data_dir>/env`` whose path is ``tower.filename``, ``env`` templates become environment
  variables and ``extra_vars`` templates a YAML file passed as ``-e @file``;
- a Vault credential answers ansible-playbook's ``--ask-vault-pass`` prompt (runner ``passwords``).
What differs: no container. The EE's Python and installed collection are this venv's Python
(ANSIBLE_PYTHON_INTERPRETER) and this checkout (ANSIBLE_COLLECTIONS_PATH), so injected file paths are
host paths instead of ``/runner/...``. K2_* variables of the calling process are removed for the
run, as an EE would not have them. Secrets are handed to ansible-runner in memory
(``suppress_env_files``), so ``leaks()`` can search the whole private data dir; ansible-runner itself
still records the job environment in ``env_record`` (see there).

``unprivileged=True`` runs the job as an EE runs it, as a user who cannot write the image's files:
ansible-runner runs in a process of its own, and when this process is root, one whose capability
bounding set lacks CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER (so neither it nor anything it
starts may write a file without the write permission, nor change a mode: ``chmod -R a-w`` then makes a
folder read-only to it, and ``os.access`` says so). ``collections_path`` replaces this checkout with an
installed copy, and ``python_interpreter=None`` leaves ANSIBLE_PYTHON_INTERPRETER out, so that the
inventory has to name the interpreter, as the AWX guide says.
"""

import contextlib
import ctypes
import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness.playbook import collections_path as checkout_collections_path
from harness.simulator import REPO_ROOT

CREDENTIAL_TYPE = os.path.join(REPO_ROOT, "extras", "awx", "credential_type_kaminario_k2.yml")
IDENT = "1"  # AWX names the artifacts folder after the job id
VAULT_PROMPT = r"Vault password:\s*?$"
HIDDEN = "*" * 10
RESULT_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"}


def load_credential_type(path=CREDENTIAL_TYPE):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass(repr=False)
class AwxJobResult:
    rc: int
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    stats: dict  # {"ok": {host: n}, "changed": ..., "failures", "dark", "skipped", "rescued", "ignored", "processed"}
    artifacts: dict  # the set_stats data (AWX shows it as the job's artifacts)
    stdout: str
    events: list = field(default_factory=list)  # job events, in order, as read from job_events/
    private_data_dir: str = ""
    artifact_dir: str = ""
    injected_env: dict = field(default_factory=dict)  # from the credential; secret values masked

    def host_stats(self, host):
        """{"ok": n, "changed": n, "failures": n, "dark": n, "skipped": n, "rescued": n, "ignored": n}"""
        return {key: (self.stats.get(key) or {}).get(host, 0)
                for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")}

    def task_results(self, task):
        """The runner_on_* events of the task called ``task``: [(host, event name, result dict)]."""
        return [(e["event_data"].get("host"), e["event"], e["event_data"].get("res") or {})
                for e in self.events
                if e.get("event") in RESULT_EVENTS and e["event_data"].get("task") == task]

    @property
    def env_record(self):
        """Where ansible-runner records the job's environment (``artifacts/<ident>/command``, mode
        0600), relative to the private data dir: secrets injected as environment variables are in it,
        in AWX's private data dir too (which AWX deletes after the job)."""
        return os.path.relpath(os.path.join(self.artifact_dir, "command"), self.private_data_dir)

    def leaks(self, secret):
        """Where ``secret`` appears: "stdout", "event <counter>" or a path relative to the private
        data dir (every file there, artifacts included). Empty when it appears nowhere."""
        found = ["stdout"] if secret in self.stdout else []
        found += ["event %s" % e.get("counter") for e in self.events if secret in json.dumps(e)]
        for path in sorted(glob.glob(os.path.join(self.private_data_dir, "**"), recursive=True)):
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    if secret.encode() in handle.read():
                        found.append(os.path.relpath(path, self.private_data_dir))
        return found

    def __str__(self):
        return "AWX job rc=%s status=%s\n--- stdout ---\n%s" % (self.rc, self.status, self.stdout)

    __repr__ = __str__


def render_credential(credential_type, inputs, private_data_dir):
    """AWX's rendering of a custom credential's injectors -> (env dict, extra ansible-playbook args)."""
    sandbox = ImmutableSandboxedEnvironment()
    fields = credential_type["inputs"].get("fields", [])
    missing = [name for name in credential_type["inputs"].get("required", []) if not inputs.get(name)]
    if missing:
        raise ValueError("credential inputs missing: %s" % ", ".join(missing))
    unknown = set(inputs) - {f["id"] for f in fields}
    if unknown:
        raise ValueError("not inputs of %s: %s" % (credential_type["name"], ", ".join(sorted(unknown))))
    namespace = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or value:  # empty strings stay undefined
            namespace[name] = value
    for spec in fields:
        if spec.get("type") == "boolean" and spec["id"] not in inputs:
            namespace[spec["id"]] = False
    injectors = credential_type.get("injectors") or {}
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    tower = {}
    files = {}
    for label, template in (injectors.get("file") or {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            files[label.split(".", 1)[1]] = path
        else:
            tower["filename"] = path
    if files:
        tower["filename"] = files
    namespace["tower"] = tower
    env = {name: sandbox.from_string(template).render(**namespace)
           for name, template in (injectors.get("env") or {}).items()}

    def extra(node):
        if isinstance(node, dict):
            return {extra(k): extra(v) for k, v in node.items()}
        if isinstance(node, list):
            return [extra(v) for v in node]
        return sandbox.from_string(node).render(**namespace)

    args = []
    extra_vars = extra(injectors.get("extra_vars") or {})
    if extra_vars:
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yaml.safe_dump(extra_vars, out)
        os.chmod(path, stat.S_IRUSR)
        args += ["-e", "@" + path]
    return env, args


def k2_arrays_inventory(sim, arrays=None, host_vars=None):
    """An inventory of simulator arrays as AWX stores one after a sync (``ansible-inventory --list``
    form): group ``k2_arrays``, host vars ``k2_host`` = the array's address and
    ``ansible_python_interpreter`` = the Python that runs ansible-playbook (as the AWX guide says:
    never what interpreter discovery finds first on the PATH), plus ``host_vars`` (array -> dict;
    values may be ``{"__ansible_vault": ciphertext}``)."""
    arrays = list(arrays or sim.arrays)
    hostvars = {}
    for name in arrays:
        hostvars[name] = {"k2_host": sim.arrays[name]["host"], "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
        hostvars[name].update((host_vars or {}).get(name, {}))
    return {"_meta": {"hostvars": hostvars}, "all": {"children": ["ungrouped", "k2_arrays"]},
            "k2_arrays": {"hosts": arrays}}


def _write_inventory(inventory, folder):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "hosts")
    if isinstance(inventory, dict):
        # AWX hands a job its stored inventory through a script; `__ansible_vault` values then stay
        # encrypted until a task uses them with the job's Vault credential.
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("#!%s\nimport json, sys\nDATA = %r\n" % (sys.executable, json.dumps(inventory)))
            handle.write("print(DATA if '--list' in sys.argv else '{}')\n")
        os.chmod(path, 0o700)
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(inventory)
    return path


@contextlib.contextmanager
def _job_process_environment(bin_dir):
    """ansible-runner starts ansible-playbook with a copy of os.environ (and finds it on that PATH):
    for the run, no K2_* variable of this process, and the venv's bin first, as in an EE."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("K2_")}
    saved["PATH"] = os.environ.get("PATH", "")
    os.environ["PATH"] = bin_dir + os.pathsep + saved["PATH"]
    try:
        yield
    finally:
        os.environ.update(saved)


# linux/capability.h and linux/prctl.h
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24
RUNNER_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner_child.py")


def _without_file_override():
    """A preexec_fn for a root process: drop the capabilities that let root write any file from the
    bounding set, so the program exec'd (and all it starts) runs without them."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def drop():
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, %d)" % cap)

    return drop


def _run_unprivileged(kwargs, bin_dir, pdd):
    """ansible_runner.run(**kwargs) in a process of its own (without root's file override when this
    process is root) -> (rc, status, artifact_dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("K2_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    result_path = os.path.join(pdd, "runner-child.json")
    proc = subprocess.run([sys.executable, RUNNER_CHILD, result_path], input=json.dumps(kwargs), text=True,
                          env=env, capture_output=True, check=False, timeout=kwargs.get("timeout", 600) + 60,
                          preexec_fn=_without_file_override() if os.geteuid() == 0 else None)
    if proc.returncode != 0 or not os.path.exists(result_path):
        raise RuntimeError("ansible-runner's process ended with rc=%d:\n%s\n%s"
                           % (proc.returncode, proc.stdout, proc.stderr))
    with open(result_path, encoding="utf-8") as handle:
        found = json.load(handle)
    return found["rc"], found["status"], found["artifact_dir"]


def _read_events(artifact_dir):
    events = []
    for path in glob.glob(os.path.join(artifact_dir, "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda e: e.get("counter", 0))


def _read(path, default=""):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def run_job(playbook, inventory, credential_inputs=None, check=False, extra_vars=None, diff=False,
            limit=None, vault_password=None, project_dir=None, credential_type=None, envvars=None,
            workdir=None, verbosity=0, timeout=600, unprivileged=False, collections_path=None,
            python_interpreter=sys.executable):
    """Run ``playbook`` (a path; relative paths are from the repository root) as an AWX job.

    ``inventory``: INI/YAML text, or a dict in ``ansible-inventory --list`` form (see
    ``k2_arrays_inventory``). ``credential_inputs``: the inputs of a "Kaminario K2" credential
    (username, password, ca_cert, skip_tls_verify), or None for no K2 credential. ``check``: a Check
    job. ``extra_vars``: the job's extra vars (template, survey). ``vault_password``: a Vault
    credential. ``project_dir``: the project to copy (default: the playbook's folder; REPO_ROOT works,
    without .git, .venv and build).
    ``credential_type``: another type definition (default: extras/awx). ``envvars``: more job
    environment. ``workdir``: the private data dir, which must not hold a project yet (default: a new
    temporary folder, left in place for inspection). ``unprivileged``, ``collections_path`` (default:
    this checkout) and ``python_interpreter`` (None: not set for the job): see the module's docstring.
    Returns an :class:`AwxJobResult`.
    """
    playbook = os.path.abspath(os.path.join(REPO_ROOT, playbook))
    project_dir = os.path.abspath(project_dir or os.path.dirname(playbook))
    pdd = workdir or tempfile.mkdtemp(prefix="k2-awx-job-")
    if os.path.exists(os.path.join(pdd, "project")):
        raise ValueError("private data dir %s is not fresh" % pdd)
    os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
    shutil.copytree(project_dir, os.path.join(pdd, "project"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.retry", ".git", ".venv", "build"))
    inventory_path = _write_inventory(inventory, os.path.join(pdd, "inventory"))

    cmdline = []
    injected = {}
    shown = {}
    if credential_inputs is not None:
        ctype = credential_type or load_credential_type()
        injected, args = render_credential(ctype, credential_inputs, pdd)
        cmdline += args
        secrets = {credential_inputs.get(f["id"]) for f in ctype["inputs"]["fields"] if f.get("secret")}
        shown = {k: HIDDEN if v and v in secrets else v for k, v in injected.items()}
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")
    passwords = {}
    if vault_password is not None:
        cmdline.append("--ask-vault-pass")
        passwords[VAULT_PROMPT] = vault_password
    if verbosity:
        cmdline.append("-" + "v" * verbosity)
    if extra_vars:
        with open(os.path.join(pdd, "env", "extravars"), "w", encoding="utf-8") as handle:
            json.dump(extra_vars, handle)

    bin_dir = os.path.dirname(sys.executable)
    env = {
        "ANSIBLE_COLLECTIONS_PATH": collections_path or checkout_collections_path(),
        "ANSIBLE_LOCAL_TEMP": os.path.join(pdd, "tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
    }
    if python_interpreter is not None:
        env["ANSIBLE_PYTHON_INTERPRETER"] = python_interpreter
    env.update(envvars or {})
    env.update(injected)
    kwargs = dict(
        private_data_dir=pdd,
        ident=IDENT,
        playbook=os.path.relpath(playbook, project_dir),
        inventory=inventory_path,
        cmdline=" ".join(cmdline) or None,
        envvars=env,
        passwords=passwords or None,
        limit=limit,
        suppress_env_files=True,
        quiet=True,
        timeout=timeout,
    )
    if unprivileged:
        rc, status, artifact_dir = _run_unprivileged(kwargs, bin_dir, pdd)
    else:
        with _job_process_environment(bin_dir):
            runner = ansible_runner.run(**kwargs)
        rc, status, artifact_dir = runner.rc, runner.status, runner.config.artifact_dir
    events = _read_events(artifact_dir)
    stats_events = [e for e in events if e.get("event") == "playbook_on_stats"]
    stats_data = stats_events[-1]["event_data"] if stats_events else {}
    stats = {key: stats_data.get(key) or {}
             for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored", "processed")}
    return AwxJobResult(
        rc=rc,
        status=status,
        stats=stats,
        artifacts=stats_data.get("artifact_data") or {},
        stdout=_read(os.path.join(artifact_dir, "stdout")),
        events=events,
        private_data_dir=pdd,
        artifact_dir=artifact_dir,
        injected_env=shown,
    )
