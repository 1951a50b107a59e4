# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source kaminario.k2.replication_events under the real ansible-rulebook, against the
simulator: a session suspended through the array's API makes the rule's playbook run once, with the
event's session name; the array taken down makes one array_unreachable event; the array back up
makes array_reachable, whose rule shuts ansible-rulebook down cleanly. ansible-rulebook needs a Java
runtime >= 17: without one, that test is skipped with one line saying so.

The example rulebooks (extensions/eda/rulebooks) and the source's EXAMPLES are checked against
ansible-rulebook's own rulebook schema and condition parser, which need no Java."""

import glob
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
import yaml
from harness import REPO_ROOT, collections_path, eventually
from harness.scene import Scene

BIN = os.path.dirname(sys.executable)
SOURCE_FILE = os.path.join(REPO_ROOT, "extensions", "eda", "plugins", "event_source", "replication_events.py")
RULEBOOKS = sorted(glob.glob(os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks", "*.yml")))
FQCN = "kaminario.k2.replication_events"
# The source's poll interval in this test, and the deadlines derived from it: ansible-rulebook's
# start (a JVM), a poll, the transport's retries of a refused connection (0.5 + 1 s) and an
# ansible-playbook run, all on a busy 2-core machine.
INTERVAL = 1.0
DEADLINE = 120 + 30 * INTERVAL
JAVA_MISSING = ("no Java runtime >= 17 for ansible-rulebook (JAVA_HOME unset or unusable, no java on PATH); "
                ".ci/run installs Debian's openjdk-17-jre-headless")

MARKER_PLAYBOOK = """\
- name: Write a marker for the event
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One file per event run, named after its kind, session and uuid
      ansible.builtin.copy:
        content: "{{ ansible_eda.event.k2_replication | to_json }}"
        dest: "{{ marker_dir }}/{{ ansible_eda.event.k2_replication.kind }}-{{
          ansible_eda.event.k2_replication.session | default('array', true) }}-{{ ansible_eda.event.meta.uuid }}.json"
        mode: "0600"
"""


def rulebook(playbook, marker_dir):
    return [{
        "name": "K2 replication events against the simulator",
        "hosts": "all",
        "sources": [{"name": "k2-a", FQCN: {
            "interval": INTERVAL, "event_kinds": ["state_changed", "array_unreachable", "array_reachable"]}}],
        "rules": [
            {"name": "A session was suspended",
             "condition": 'event.k2_replication.kind == "state_changed" and event.k2_replication.after == "suspended"',
             "action": {"run_playbook": {"name": playbook, "extra_vars": {"marker_dir": marker_dir}}}},
            {"name": "The array does not answer",
             "condition": 'event.k2_replication.kind == "array_unreachable"',
             "action": {"run_playbook": {"name": playbook, "extra_vars": {"marker_dir": marker_dir}}}},
            {"name": "The array answers again: stop",
             "condition": 'event.k2_replication.kind == "array_reachable"',
             "actions": [{"run_playbook": {"name": playbook, "extra_vars": {"marker_dir": marker_dir}}},
                         {"shutdown": {"delay": 0, "message": "the array answers again"}}]},
        ],
    }]


def java_home():
    """A JAVA_HOME with a Java runtime >= 17: $JAVA_HOME, else the one `java` on the PATH belongs to."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(os.environ["JAVA_HOME"])
    found = shutil.which("java")
    if found:
        candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(found))))
    for home in candidates:
        java = os.path.join(home, "bin", "java")
        if not os.access(java, os.X_OK):
            continue
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
        match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
        if proc.returncode == 0 and match and int(match.group(1)) >= 17:
            return home
    return None


def ansible_rulebook():
    path = os.path.join(BIN, "ansible-rulebook")
    assert os.path.exists(path), "ansible-rulebook is not installed next to %s (requirements-dev.txt pins it)" \
        % sys.executable
    return path


def markers(folder, prefix):
    return sorted(glob.glob(os.path.join(folder, prefix + "-*.json")))


def test_a_suspended_session_runs_the_rule_once_an_array_down_is_one_event_and_the_run_stops_cleanly(k2sim, tmp_path):
    home = java_home()
    if home is None:
        pytest.skip(JAVA_MISSING)
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    playbook = tmp_path / "marker.yml"
    playbook.write_text(MARKER_PLAYBOOK, encoding="utf-8")
    rules = tmp_path / "rulebook.yml"
    rules.write_text(yaml.safe_dump(rulebook(str(playbook), str(marker_dir)), sort_keys=False), encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}), encoding="utf-8")
    with Scene(k2sim) as scene:
        scene.session("k2-a", "app", "vg_oracle_prod", peer="k2-b", rpo=300, state="in_sync")
        scene.session("k2-a", "other", "vg_sql_prod", peer="k2-b", rpo=300, state="in_sync")
    env = dict(os.environ)
    env.update({
        # The connection as an EDA credential injects it: the environment, never the rulebook.
        "K2_HOST": k2sim.arrays["k2-a"]["host"], "K2_USERNAME": "admin",
        "K2_PASSWORD": k2sim.users["admin"]["password"], "K2_CA_PATH": k2sim.ca_path,
        "JAVA_HOME": home, "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": collections_path(), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1", "HOME": env.get("HOME", str(tmp_path)),
    })
    env.pop("PYTHONPATH", None)
    log_path = tmp_path / "ansible-rulebook.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([ansible_rulebook(), "-i", str(inventory), "--rulebook", str(rules), "-v"],
                                cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def output():
            return log_path.read_text(encoding="utf-8", errors="replace")

        # The source has read the array once (its start line is logged) before the suspension, so the
        # suspension is a change it sees, not part of what was there.
        assert eventually(lambda: "polling %s" % k2sim.arrays["k2-a"]["host"] in output() or proc.poll() is not None,
                          timeout=DEADLINE), output()
        assert proc.poll() is None, output()
        assert eventually(lambda: any(e["path"] == "/api/v2/replication/sessions" for e in k2sim.journal("k2-a")),
                          timeout=DEADLINE), output()
        with Scene(k2sim) as scene:
            scene.transition("k2-a", "app", "suspended")
        assert eventually(lambda: markers(marker_dir, "state_changed-app"), timeout=DEADLINE), output()
        event = json.loads(open(markers(marker_dir, "state_changed-app")[0], encoding="utf-8").read())
        assert (event["session"], event["before"], event["after"], event["array"]) == \
            ("app", "in_sync", "suspended", k2sim.arrays["k2-a"]["host"])
        assert event["clock"] == "array"

        k2sim.down("k2-a")
        assert eventually(lambda: markers(marker_dir, "array_unreachable-array"), timeout=DEADLINE), output()
        event = json.loads(open(markers(marker_dir, "array_unreachable-array")[0], encoding="utf-8").read())
        assert event["details"]["error_type"] == "K2ConnectionError" and event["clock"] == "controller"
        # More polls fail while it is down (each retried twice: urllib3 logs each retry): still one event.
        assert eventually(lambda: output().count("Retrying") >= 3 * 2, timeout=DEADLINE), output()
        k2sim.up("k2-a")
        try:
            rc = proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail("ansible-rulebook did not stop after array_reachable:\n" + output())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = output()
    assert rc == 0, text
    assert text.count("cannot be read") == 1, text  # logged once per outage too
    back = [json.loads(open(path, encoding="utf-8").read()) for path in markers(marker_dir, "array_reachable-array")]
    assert len(back) == 1 and back[0]["details"]["failed_polls"] >= 3, text
    assert len(markers(marker_dir, "state_changed-app")) == 1, text
    assert markers(marker_dir, "state_changed-other") == [], text
    assert len(markers(marker_dir, "array_unreachable-array")) == 1, text
    assert "kaminario.k2.replication_events: stopping" in text, text  # cancelled, cleaned up
    assert "Traceback" not in text and "Source error" not in text, text
    assert k2sim.users["admin"]["password"] not in text


# ---- the rulebooks, without Java: ansible-rulebook's schema and condition parser -------------------

def rulebook_schema():
    import ansible_rulebook  # pylint: disable=import-outside-toplevel

    path = os.path.join(os.path.dirname(ansible_rulebook.__file__), "schema", "ruleset_schema.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def check_rulebook(data, schema):
    import jsonschema  # pylint: disable=import-outside-toplevel
    from ansible_rulebook.condition_parser import parse_condition  # pylint: disable=import-outside-toplevel

    jsonschema.validate(data, schema)
    for ruleset in data:
        for rule in ruleset["rules"]:
            assert parse_condition(rule["condition"]), rule["name"]


def source_args(ruleset):
    return [item[FQCN] for item in ruleset["sources"] if FQCN in item]


def test_the_example_rulebooks_are_valid_and_use_the_source_as_documented():
    from ansible_collections.kaminario.k2.plugins.plugin_utils import replication_events as ev  # noqa: E402

    schema = rulebook_schema()
    assert [os.path.basename(p) for p in RULEBOOKS] == [
        "drift_report_on_change.yml", "failover_on_unreachable.yml", "health_report_on_late.yml"]
    for path in RULEBOOKS:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        check_rulebook(data, schema)
        for ruleset in data:
            assert source_args(ruleset), path
            for args in source_args(ruleset):
                ev.source_options(dict(args, host="k2.example.com", username="u", password="p"))
            kinds = set(sum((args.get("event_kinds", list(ev.EVENT_KINDS)) for args in source_args(ruleset)), []))
            if any(args.get("emit_initial") for args in source_args(ruleset)):
                kinds.add(ev.SESSION_PRESENT)
            for rule in ruleset["rules"]:
                named = set(re.findall(r'"([a-z_]+)"', rule["condition"])) & \
                    (set(ev.EVENT_KINDS) | {ev.SESSION_PRESENT})
                assert named and named <= kinds, (path, rule["name"], named, kinds)


def test_the_failover_example_never_fails_over_without_approval_or_the_explicit_variable():
    with open(os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks", "failover_on_unreachable.yml"),
              encoding="utf-8") as handle:
        rules = [rule for ruleset in yaml.safe_load(handle) for rule in ruleset["rules"]]
    failing_over = [rule for rule in rules if "run_playbook" in rule["action"]
                    and rule["action"]["run_playbook"]["name"] == "kaminario.k2.failover"]
    approving = [rule for rule in rules if "run_workflow_template" in rule["action"]]
    assert len(failing_over) == 1 and len(approving) == 1
    assert 'vars.k2_failover_mode == "automatic"' in failing_over[0]["condition"]
    assert 'vars.k2_failover_mode == "approval"' in approving[0]["condition"]
    for rule in rules:
        if rule not in failing_over + approving:
            assert set(rule["action"]) == {"debug"}, rule["name"]


def test_the_sources_examples_are_valid_rulebooks():
    spec = importlib.util.spec_from_file_location("k2_replication_events_source", SOURCE_FILE)
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    check_rulebook(yaml.safe_load(source.EXAMPLES), rulebook_schema())
