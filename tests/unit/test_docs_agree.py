# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README, the role READMEs and the guides agree with the code on what they name: the statuses of
a pair and of a failover, each role's variables and their defaults, the ansible-core floor, and the
set_stats artifacts the AWX guide lists. (Whether the examples run: tests/integration/test_docs_*.)"""

import glob
import os
import re

import yaml

from ansible_collections.kaminario.k2.plugins.plugin_utils import dr, pair_planner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ("drift_report", "replication_topology")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def load(*parts):
    return yaml.safe_load(read(*parts))


def table_rows(text, header):
    """The rows of the Markdown table whose header line starts with `header`, as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows


def code(cell):
    found = re.fullmatch(r"`([^`]*)`", cell)
    return found.group(1) if found else cell


def test_the_readme_lists_every_status_of_a_pair_and_no_other():
    rows = table_rows(read("README.md"), "| status | meaning |")
    listed = [s for row in rows for s in re.findall(r"`([a-z_]+)`", row[0])]
    assert sorted(listed) == sorted(pair_planner.STATUSES)
    for role in ROLES:
        rows = table_rows(read("roles", role, "README.md"), "| status |")
        assert sorted(set(code(row[0]) for row in rows)) == sorted(pair_planner.STATUSES), role


def test_the_topology_guide_lists_every_status_of_a_pair():
    text = read("docs", "docsite", "rst", "guide_topology.rst")
    section = text[text.index("Check it for drift"):]
    sentence = section[section.index("Every pair gets one status"):section.index("those an apply")]
    assert sorted(re.findall(r"``([a-z_]+)``", sentence)) == sorted(pair_planner.STATUSES)


def test_the_dr_runbook_names_only_failover_statuses_that_exist():
    text = read("docs", "docsite", "rst", "guide_dr.rst")
    section = text[text.index("Fail over\n---"):text.index("Fail back\n---")]
    items = [line.split(":")[0] for line in section.splitlines() if re.match(r"^\s*- ``", line)]
    named = set(re.findall(r"``([a-z_]+)``", " ".join(items))) | set(re.findall(r"shows ``([a-z_]+)``", section))
    assert named and named <= set(dr.FAILOVER_STATUSES), named - set(dr.FAILOVER_STATUSES)
    # Every status a person can meet in the summary is explained (failed: "refused or failed").
    assert set(dr.FAILOVER_STATUSES) - named <= {"failed"}


def test_each_role_readme_lists_its_variables_with_their_defaults():
    for role in ROLES:
        rows = table_rows(read("roles", role, "README.md"), "| variable | default |")
        listed = {code(row[0]): code(row[1]) for row in rows}
        options = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        assert sorted(listed) == sorted(options), role
        defaults = load("roles", role, "defaults", "main.yml")
        for name, shown in listed.items():
            if name in defaults:
                assert shown == str(defaults[name]).lower() if isinstance(defaults[name], bool) \
                    else shown == str(defaults[name]), (role, name, shown, defaults[name])
                assert str(options[name].get("default")).lower() == str(defaults[name]).lower(), (role, name)
            else:
                assert options[name].get("required") or shown in ("required", "(required)", ""), (role, name)


def test_every_guide_and_readme_states_the_ansible_core_floor_of_the_metadata():
    floor = re.fullmatch(r">=(\d+\.\d+)\.0", load("meta", "runtime.yml")["requires_ansible"]).group(1)
    for role in ROLES:
        assert load("roles", role, "meta", "main.yml")["galaxy_info"]["min_ansible_version"] == floor
    for parts in (("README.md",), ("docs", "docsite", "rst", "guide_getting_started.rst"),
                  ("docs", "docsite", "rst", "guide_awx.rst")):
        text = read(*parts)
        assert "ansible-core %s or newer" % floor in text, parts
        assert not re.search(r"ansible-core (?!%s)\d+\.\d+ or newer" % re.escape(floor), text), parts


def published(path):
    """The set_stats data keys of a playbook or a role's task file."""
    keys = set()

    def walk(node):
        if isinstance(node, dict):
            data = (node.get("ansible.builtin.set_stats") or {}).get("data")
            if isinstance(data, dict):
                keys.update(data)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load(path))
    return keys


def test_the_awx_guide_lists_the_artifacts_each_playbook_publishes():
    text = read("docs", "docsite", "rst", "guide_awx.rst")
    table = text[text.index("playbook               artifacts"):]
    table = table[:table.index("\n\n")]
    rows = {}
    current = None
    for line in table.splitlines()[2:]:
        if line.startswith("="):
            continue
        if not line.startswith(" "):
            current = re.match(r"``(\w+)``", line).group(1)
            rows[current] = line
        else:
            rows[current] += line
    files = {"topology": [os.path.join(ROOT, "roles", "replication_topology", "tasks", "main.yml")],
             "drift_report": [os.path.join(ROOT, "roles", "drift_report", "tasks", "main.yml")],
             "export_topology": [os.path.join(ROOT, "playbooks", "export_topology.yml")],
             "failover": [os.path.join(ROOT, "playbooks", "failover.yml")],
             "failback": [os.path.join(ROOT, "playbooks", "failback.yml")]}
    assert sorted(rows) == sorted(files) == sorted(os.path.basename(p)[:-4]
                                                   for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
    for playbook, paths in files.items():
        keys = set().union(*(published(p) for p in paths))
        named = set(re.findall(r"``(\w+)``:", rows[playbook]))
        assert keys and named == keys, (playbook, named, keys)
