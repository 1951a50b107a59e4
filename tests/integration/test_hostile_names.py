# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What comes from an array is data: objects named by someone set on breaking the controller (Jinja
that runs a command or reads the password, {% %} blocks, all digits, line breaks, U+2028, HTML,
Markdown headings and tables, backticks, commas, quotes, 200 characters, leading and trailing
spaces) are created on the simulator's arrays behind Ansible's back, as volume groups, source and
target sessions, target volume groups, retention policies and peer arrays, and driven through every
playbook: the export, the drift report with the exported file as -e @file, as group_vars and with
include_vars, the apply (and on empty arrays), the failover and the failback of a hostile pair, and
check mode.

After every run: the marker files the Jinja names would touch never appear, no password is in any
output or file, and every name on the arrays is what it was. The exported file loads back as the
names, the JSON report shows them exactly and the Markdown report shows each one as text where it
belongs (no heading, table row or cell a name added).

The read-only tests share one scene on a simulator of their own (this module's); the tests that
write build it on the per-test simulator (reset before each test)."""

import json
import os
import re

import pytest
from harness import arrays_inventory, eventually, run_playbook, start_simulator
from harness.declaration import Unsafe, dump, load, unsafe_strings
from harness.scene import Scene, writes
from harness.simulator import REPO_ROOT

EXPORT = os.path.join(REPO_ROOT, "playbooks", "export_topology.yml")
DRIFT = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
APPLY = os.path.join(REPO_ROOT, "playbooks", "topology.yml")
FAILOVER = os.path.join(REPO_ROOT, "playbooks", "failover.yml")
FAILBACK = os.path.join(REPO_ROOT, "playbooks", "failback.yml")
KINDS = ("replication/sessions", "volume_groups", "retention_policies", "replication/peer_k2arrays")


class Names:
    """The hostile names of the scene. `marker` is the folder the pipe lookups would touch files in."""

    def __init__(self, marker):
        self.marker = marker

        def pipe(tag):
            return "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % os.path.join(marker, tag)

        env = "{{ lookup('ansible.builtin.env', 'K2_PASSWORD') }}"
        # Pair 1, k2-a -> k2-b, in_sync: Jinja everywhere, digits for a retention policy.
        self.p1 = "p1" + env
        self.p1_vg = "vg" + pipe("vg")
        self.p1_target = "{% raw %}{{ r }}{% endraw %}{% if 1 %}x{% endif %}"
        self.p1_target_vg = '<script>alert("t")</script>'
        self.policy_digits = "5"  # the id of Best_Effort_Retention
        self.policy_jinja = "ret" + pipe("ret")
        # Pair 2, k2-a -> k2-b, suspended: line breaks, a Markdown heading and table; an all-digit
        # volume group (5102 is the id of vg_sql_prod); U+2028, HTML and backticks.
        self.p2 = "p2\r\n# No drift found\r\n| a | b |"
        self.p2_vg = "5102"
        self.p2_target = "t2\u2028<b>x</b> `code` # h"
        # Pair 3, k2-a -> k2-b, idle: 200 characters, quotes, commas, leading and trailing spaces.
        head = "  lead, 'single' \"double\" `tick` | cell |"
        self.p3 = head + "z" * (198 - len(head)) + "  "
        self.p3_vg = "  vg, with commas  "
        # Pair 4, k2-b -> k2-a, in_sync: a Markdown table, arithmetic that would read 49.
        self.p4 = "| a | b |\n|---|---|"
        self.p4_vg = "# h {{ 7 * 7 }}"
        # The peer array objects: k2-b as k2-a knows it, and k2-a as k2-b knows it (7 is no id there).
        self.peer_b = "k2-b" + pipe("peer")
        self.peer_a = "7"
        assert len(self.p3) == 200

    def pairs(self):
        """(name, source, target, target session) of each pair."""
        return [(self.p1, "k2-a", "k2-b", self.p1_target), (self.p2, "k2-a", "k2-b", self.p2_target),
                (self.p3, "k2-a", "k2-b", "remote_" + self.p3), (self.p4, "k2-b", "k2-a", "remote_" + self.p4)]

    def on_arrays(self):
        """Every name the arrays hold once the scene is there: {array: {kind: sorted names}}."""
        return {
            "k2-a": {"replication/sessions": sorted([self.p1, self.p2, self.p3, "remote_" + self.p4]),
                     "volume_groups": sorted(["vg_oracle_prod", "vg_sql_prod", "vg_web_prod", self.p1_vg, self.p2_vg,
                                              self.p3_vg, self.p4_vg]),
                     "retention_policies": sorted(["Best_Effort_Retention", "Replication_Retention",
                                                   self.policy_digits, self.policy_jinja]),
                     "replication/peer_k2arrays": [self.peer_b]},
            "k2-b": {"replication/sessions": sorted([self.p1_target, self.p2_target, "remote_" + self.p3, self.p4]),
                     "volume_groups": sorted(["vg_reports_dr", "vg_test_dr", self.p4_vg, self.p1_target_vg,
                                              self.p2_vg, self.p3_vg]),
                     "retention_policies": ["Best_Effort_Retention", "Replication_Retention"],
                     "replication/peer_k2arrays": [self.peer_a]},
        }

    def declaration(self):
        """The k2_topology the export must write for the scene: every name literally, those that
        read as ids with the name: prefix, in the export's order (array, then session name)."""
        return {
            "defaults": {"rpo": 300, "replication_state": "in_sync", "retention_policy": "Replication_Retention",
                         "external_retention_policy": "Replication_Retention", "target_exposure": "unmapped"},
            "pairs": [
                {"name": self.p3, "source": "k2-a", "target": "k2-b", "volume_group": self.p3_vg,
                 "peer_array": self.peer_b, "rpo": 60, "replication_state": "idle"},
                {"name": self.p1, "source": "k2-a", "target": "k2-b", "volume_group": self.p1_vg,
                 "peer_array": self.peer_b, "target_session": self.p1_target, "target_volume_group": self.p1_target_vg,
                 "retention_policy": "name:5", "external_retention_policy": self.policy_jinja},
                {"name": self.p2, "source": "k2-a", "target": "k2-b", "volume_group": "name:5102",
                 "peer_array": self.peer_b, "target_session": self.p2_target, "rpo": 900,
                 "replication_state": "suspended", "target_exposure": "Read Only"},
                {"name": self.p4, "source": "k2-b", "target": "k2-a", "volume_group": self.p4_vg,
                 "peer_array": "name:7"},
            ],
        }


def make_objects(scene, n):
    """What the pairs need on the arrays before any session: volume groups and retention policies."""
    for policy in (n.policy_digits, n.policy_jinja):
        scene.call("k2-a", "POST", "/retention_policies",
                   {"name": policy, "num_snapshots": 3, "weeks": 0, "days": 1, "hours": 0})
    for vg in (n.p1_vg, n.p2_vg, n.p3_vg):
        scene.volume_group("k2-a", vg)
    scene.volume_group("k2-b", n.p4_vg)


def make_sessions(scene, n):
    scene.session("k2-a", n.p1, n.p1_vg, "k2-b", rpo=300, state="in_sync", remote_replication_session_name=n.p1_target,
                  replication_peer_volume_group_name=n.p1_target_vg, retention_policy=n.policy_digits,
                  external_retention_policy=n.policy_jinja)
    scene.session("k2-a", n.p2, n.p2_vg, "k2-b", rpo=900, state="in_sync", remote_replication_session_name=n.p2_target,
                  target_exposure="Read Only")
    scene.transition("k2-a", n.p2, "suspended")
    scene.session("k2-a", n.p3, n.p3_vg, "k2-b", rpo=60)
    scene.session("k2-b", n.p4, n.p4_vg, "k2-a", rpo=300, state="in_sync")


def rename_peers(scene, n):
    for array, peer, name in (("k2-a", "k2-b", n.peer_b), ("k2-b", "k2-a", n.peer_a)):
        found = scene.find(array, "/replication/peer_k2arrays", peer)
        scene.call(array, "PATCH", "/replication/peer_k2arrays/%d" % found["id"], {"name": name})


def build_scene(sim, n):
    with Scene(sim) as scene:
        make_objects(scene, n)
        make_sessions(scene, n)
        rename_peers(scene, n)  # last: the scene finds peers by their array's name
    assert names_on(sim) == n.on_arrays()


def names_on(sim):
    """{array: {kind: sorted names}} as the arrays hold them now."""
    found = {}
    for array in ("k2-a", "k2-b"):
        objects = sim.dump(array)["objects"]
        found[array] = {kind: sorted(o["name"] for o in objects[kind]) for kind in KINDS}
    return found


def sessions_on(sim, array):
    return {s["name"]: s for s in sim.dump(array)["objects"]["replication/sessions"]}


# ---- runs, and what must hold after each ---------------------------------------------------------

def secrets(sim):
    return [user["password"] for user in sim.users.values()]


def files_under(*folders):
    for folder in folders:
        for root, _dirs, names in os.walk(str(folder)):
            for name in names:
                yield os.path.join(root, name)


def assert_nothing_evaluated(sim, n, result, folders):
    """No marker file, no password in the run's output nor in any file under `folders`."""
    assert os.listdir(n.marker) == [], "a name was evaluated: %s\n%s" % (os.listdir(n.marker), result)
    for secret in secrets(sim):
        assert secret not in result.stdout and secret not in result.stderr, result
        assert secret not in json.dumps(result.tasks)
        for path in files_under(*folders):
            with open(path, "rb") as handle:
                assert secret.encode() not in handle.read(), "the password is in %s" % path


def play(sim, n, playbook, workdir, check=False, user="admin", extra_vars=None, vars_files=(), inventory=None,
         scan=()):
    """Run `playbook` on both arrays (hosts of k2_arrays), with each of `vars_files` as -e @file;
    then check that nothing was evaluated (the workdir and `scan` searched for the passwords)."""
    extra_args = []
    for path in vars_files:
        extra_args += ["-e", "@%s" % path]
    result = run_playbook(sim, playbook, check=check, user=user, extra_vars=extra_vars, workdir=str(workdir),
                          inventory=inventory or arrays_inventory(sim), extra_args=extra_args)
    assert_nothing_evaluated(sim, n, result, [workdir] + list(scan))
    return result


def write_vars(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dump(data))
    return path


# ---- the scene shared by the read-only tests --------------------------------------------------------

@pytest.fixture(scope="module")
def names(tmp_path_factory):
    return Names(str(tmp_path_factory.mktemp("marker")))


@pytest.fixture(scope="module")
def hostile(names, tmp_path_factory):
    """This module's simulator with the scene, and the declaration exported from it (read-only,
    --check): (sim, path of the exported file). Tests that use it must not write to it."""
    folder = tmp_path_factory.mktemp("hostile")
    with start_simulator(transition_delay=0.05) as sim:
        build_scene(sim, names)
        sim.clear_journal()
        path = folder / "exported" / "k2_topology.yml"
        result = play(sim, names, EXPORT, folder / "export", check=True, user="monitor",
                      extra_vars={"export_topology_path": str(path)}, scan=[path.parent])
        assert result.rc == 0, result
        for array in ("k2-a", "k2-b"):
            assert writes(sim, array) == []
        yield sim, path


def test_the_export_writes_every_name_literally_and_tagged(hostile, names):
    _sim, path = hostile
    exported = load(path)
    assert exported["k2_topology"] == names.declaration()
    assert exported["k2_topology_export"]["arrays"] == ["k2-a", "k2-b"]
    # Every value read from an array is tagged; only the inventory hosts and numbers are not.
    topology = exported["k2_topology"]
    for options in [topology["defaults"]] + topology["pairs"]:
        for option, value in options.items():
            assert isinstance(value, Unsafe) is (option not in ("source", "target", "rpo")), (option, value)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # Line breaks and U+2028 are escapes inside double quotes: one line per option.
    assert len([line for line in text.splitlines() if line.lstrip().startswith("- name: ")]) == 4
    assert '- name: !unsafe "p2\\r\\n# No drift found\\r\\n| a | b |"' in text


def run_drift(sim, n, workdir, how, path, check):
    """The drift report with the declaration at `path` given as `how`: "extra_vars_file" (-e @file),
    "group_vars" (group_vars/k2_arrays.yml next to the inventory) or "include_vars" (a play that
    includes it, then the role); or `path` a dictionary of extra vars, as an operator writes them
    (plain: Ansible may template them). Returns (result, JSON report, Markdown text)."""
    reports = workdir / "reports"
    options = {"drift_report_dir": str(reports)}
    os.makedirs(str(workdir))
    if isinstance(path, dict):
        result = play(sim, n, DRIFT, workdir, check=check, user="monitor", extra_vars=dict(path, **options))
    elif how == "extra_vars_file":
        result = play(sim, n, DRIFT, workdir, check=check, user="monitor", extra_vars=options, vars_files=[path])
    elif how == "group_vars":
        os.makedirs(str(workdir / "inventory" / "group_vars"))
        with open(path, "rb") as source, open(str(workdir / "inventory" / "group_vars" / "k2_arrays.yml"), "wb") as out:
            out.write(source.read())
        inventory = workdir / "inventory" / "hosts.yml"
        inventory.write_text(arrays_inventory(sim), encoding="utf-8")
        result = play(sim, n, DRIFT, workdir, check=check, user="monitor", extra_vars=options, inventory=str(inventory))
    else:
        playbook = [{"name": "Drift report of a declaration read with include_vars", "hosts": "k2_arrays",
                     "connection": "local", "gather_facts": False, "tasks": [
                         {"name": "Read the declaration", "ansible.builtin.include_vars": {"file": str(path)}},
                         {"name": "Report", "ansible.builtin.include_role": {"name": "kaminario.k2.drift_report"}}]}]
        playbook_path = workdir / "include_vars.yml"
        playbook_path.write_text(json.dumps(playbook), encoding="utf-8")
        result = play(sim, n, str(playbook_path), workdir, check=check, user="monitor", extra_vars=options)
    with open(str(reports / "drift_report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(str(reports / "drift_report.md"), encoding="utf-8") as handle:
        return result, report, handle.read()


@pytest.mark.parametrize("how, check", [("extra_vars_file", True), ("group_vars", False), ("include_vars", True)])
def test_a_drift_report_of_the_export_shows_no_drift_and_every_name_exactly(hostile, names, tmp_path, how, check):
    sim, path = hostile
    result, report, markdown = run_drift(sim, names, tmp_path / how, how, path, check)
    assert result.rc == 0, result
    assert report["summary"]["drift"] is False, report["lines"]
    assert (report["summary"]["in_sync"], report["summary"]["total"], report["undeclared"]) == (4, 4, [])
    declared = names.declaration()["pairs"]
    assert [(p["name"], p["source_session"], p["target_session"], p["volume_group"], p["source"], p["target"])
            for p in report["pairs"]] == [
        (p["name"], p["name"], p.get("target_session", "remote_" + p["name"]), p["volume_group"], p["source"],
         p["target"]) for p in declared]
    layout = read_markdown(markdown)
    assert layout["headings"] == [(1, "Replication drift report")] + recovery_points(report) + [(2, "Pairs")]
    assert_pair_tables(layout, report)
    for array in ("k2-a", "k2-b"):
        assert writes(sim, array) == []
    assert names_on(sim) == names.on_arrays()


# ---- the Markdown report, read as CommonMark reads it -------------------------------------------------

_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " "}
_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def shown(value):
    """How a report shows a value: line breaks and control characters as their escapes."""
    text = "none" if value is None else str(value)
    return _BREAKS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _tokens(text):
    """(raw, char, start) for each character of Markdown text: escaped punctuation and entities are
    not raw; `start` is where its Markdown begins."""
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _PUNCTUATION:
            yield False, text[i + 1], i
            i += 2
            continue
        entity = next((e for e in _ENTITIES if text.startswith(e, i)), None)
        if entity:
            yield False, _ENTITIES[entity], i
            i += len(entity)
            continue
        yield True, text[i], i
        i += 1


def literal(text, strict=True):
    """The literal text that Markdown `text` shows; AssertionError when any punctuation in it is not
    escaped (it could start markup: emphasis, code, a link, HTML, a heading, a cell boundary), unless
    not `strict` (the report's own words)."""
    out = []
    for raw, char, _start in _tokens(text):
        assert not (strict and raw and char in _PUNCTUATION), "unescaped %r in Markdown text %r" % (char, text)
        out.append(char)
    return "".join(out)


def cells(row, strict=True):
    """The literal text of each cell of a table row, split at the pipes that are not escaped."""
    assert row.startswith("| ") and row.endswith(" |"), row
    inner = row[2:-2]
    bounds = [start for raw, char, start in _tokens(inner) if raw and char == "|"]
    parts = [inner[a + (1 if a else 0):b] for a, b in zip([0] + bounds, bounds + [len(inner)])]
    texts = []
    for index, part in enumerate(parts):
        if index > 0:
            assert part.startswith(" "), row
            part = part[1:]
        if index < len(parts) - 1:
            assert part.endswith(" "), row
            part = part[:-1]
        texts.append(literal(part, strict))
    return texts


# The line forms of the report outside tables; the groups are Markdown text (escaped values).
_FORMS = [
    ("blank", re.compile(r"^$")),
    ("heading", re.compile(r"^(#{1,3}) (.*)$")),
    ("generated", re.compile(r"^(?:Generated .*\. )?Arrays: .*\.( Check mode\.)?$")),
    ("summary", re.compile(r"^\*\*(?:Drift found|No drift)\*\*: \d+ pairs, \d+ in sync; \d+ undeclared sessions"
                           r"(?:; \d+ arrays NOT READ)?\.$")),
    ("health", re.compile(r"^\*\*(?:RPO breached|Every pair judged meets its RPO)\*\*: [^|]*\.$")),
    ("sessions", re.compile(r"^(.*) -> (.*), sessions (.*) \(source\) and (.*) \(target\)(?:, declared absent)?\.$")),
    ("why", re.compile(r"^Why: (.*)$")),
    ("fix", re.compile(r"^Fix: (.*)$")),
    ("note", re.compile(r"^- (.*)$")),
    ("converge", re.compile(r"^A converge would:$")),
    ("action", re.compile(r"^\d+\. (.*)$")),
]


def read_markdown(text):
    """The report's layout: {"headings": [(level, literal text)], "tables": [(header, rows of cells)],
    "lines": [(form, literal texts)]}. Every line must be one of the report's forms and every value
    in it escaped: a name that broke out of its place fails here."""
    layout = {"headings": [], "tables": [], "lines": []}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("|"):
            header = cells(line, strict=False)
            assert lines[index + 1] == "|" + "---|" * len(header), lines[index + 1]
            rows, index = [], index + 2
            while index < len(lines) and lines[index].startswith("|"):
                row = cells(lines[index])
                assert len(row) == len(header), "a row with %d cells under %s: %r" % (len(row), header, lines[index])
                rows.append(row)
                index += 1
            layout["tables"].append((header, rows))
            continue
        for form, pattern in _FORMS:
            match = pattern.match(line)
            if match:
                break
        else:
            raise AssertionError("a line of no form of the report: %r" % line)
        if form == "heading":
            level, title = len(match.group(1)), match.group(2)
            finding = re.match(r"^(.*): (\w+)$", title) if level == 3 else None
            title = literal(finding.group(1)) + ": " + finding.group(2) if finding else literal(title)
            layout["headings"].append((level, title))
        elif form in ("sessions", "why", "fix", "note", "action"):
            layout["lines"].append((form,) + tuple(literal(g) for g in match.groups()))
        index += 1
    return layout


def tables(layout, *first):
    """The rows of each table whose header begins with the columns `first`."""
    return [rows for header, rows in layout["tables"] if tuple(header[:len(first)]) == first]


def recovery_points(report):
    """The heading of the recovery-point section, in a report that judges health."""
    return [(2, "Recovery points")] if report.get("health") is not None else []


def assert_pair_tables(layout, report):
    """The status counts, and one row per pair (its name, arrays, status and finding, and its health
    in a report that has it); in a report with health, one row per pair in the health table too."""
    (statuses,) = tables(layout, "status", "count")
    assert len(statuses) == 10 and statuses == [[s, str(report["summary"][s])] for s, _count in statuses]
    ((header, pairs),) = [(h, rows) for h, rows in layout["tables"] if h[:3] == ["pair", "source -> target", "status"]
                          and h[-1] == "finding"]
    assert pairs == [[shown(p["name"]), "%s -> %s" % (p["source"], p["target"]), p["status"]]
                     + ([shown(p.get("health") or "")] if "health" in header else [])
                     + ["" if p["status"] == "in_sync" else shown(p["summary"])] for p in report["pairs"]]
    if report.get("health") is not None:
        (health,) = [rows for h, rows in layout["tables"] if h[:3] == ["pair", "source -> target", "status"]
                     and h[-1] != "finding"]
        assert [row[:2] for row in health] == [[shown(h["pair"]), "%s -> %s" % (h["source"], h["target"])]
                                               for h in report["health"]]


def test_the_markdown_report_shows_each_name_as_text_where_it_belongs(hostile, names, tmp_path):
    """A declaration that leaves out pairs 2 and 4 (their four sessions are undeclared: names, volume
    groups, peer arrays and peer sessions from the arrays in a table) and declares pair 1 with
    another rpo (drifted: its name in a heading, a sessions line, a fields table and the actions)."""
    sim, path = hostile
    topology = load(path)["k2_topology"]
    topology["pairs"] = [p for p in topology["pairs"] if p["name"] not in (names.p2, names.p4)]
    topology["pairs"][1]["rpo"] = 900
    declaration = write_vars(tmp_path / "declaration.yml", {"k2_topology": unsafe_strings(topology)})
    result, report, markdown = run_drift(sim, names, tmp_path / "run", "extra_vars_file", declaration, True)
    assert result.rc == 0, result
    assert [(p["name"], p["status"]) for p in report["pairs"]] == [(names.p3, "in_sync"), (names.p1, "drifted")]
    assert [(u["array"], u["name"], u["volume_group"], u["peer_array"], u["peer_session"]) for u in report["undeclared"]] \
        == [("k2-a", names.p2, names.p2_vg, names.peer_b, names.p2_target),
            ("k2-a", "remote_" + names.p4, names.p4_vg, names.peer_b, names.p4),
            ("k2-b", names.p2_target, names.p2_vg, names.peer_a, names.p2),
            ("k2-b", names.p4, names.p4_vg, names.peer_a, "remote_" + names.p4)]
    drifted = report["pairs"][1]
    assert drifted["fields"] and drifted["actions"]

    layout = read_markdown(markdown)
    assert layout["headings"] == [(1, "Replication drift report")] + recovery_points(report) + [
        (2, "Pairs"), (3, shown(names.p1) + ": drifted"), (2, "Undeclared sessions")]
    assert_pair_tables(layout, report)
    assert tables(layout, "side", "array", "session") == [
        [[shown(f[k]) for k in ("side", "array", "session", "field", "current", "declared")] for f in drifted["fields"]]]
    assert tables(layout, "array", "session", "role") == [undeclared_rows(report)]
    assert ("sessions", "k2-a", "k2-b", shown(names.p1), shown(names.p1_target)) in layout["lines"]
    assert [line[1] for line in layout["lines"] if line[0] == "action"] == [shown(a["text"]) for a in drifted["actions"]]
    assert "<script" not in markdown and "<b>" not in markdown
    assert names_on(sim) == names.on_arrays()


def undeclared_rows(report):
    columns = ("array", "name", "current_role", "state", "rpo", "volume_group", "peer_array", "peer_session")
    return [[shown(u[k]) for k in columns] for u in report["undeclared"]]


def test_sessions_no_pair_declares_are_data_in_the_report_and_in_a_prune(hostile, names, tmp_path):
    """The operator's own declaration (plain extra vars, which Ansible templates) declares no pair:
    every hostile name then comes from the arrays alone, into the undeclared sessions of the report
    and into the prune of a check-mode apply (sessions named p...)."""
    sim, _path = hostile
    plain = {"k2_topology": {"pairs": []}}
    result, report, markdown = run_drift(sim, names, tmp_path / "drift", None, plain, False)
    assert result.rc == 0, result
    expected = [("k2-a", s) for s in sorted([names.p1, names.p2, names.p3, "remote_" + names.p4])] + \
        [("k2-b", s) for s in sorted([names.p1_target, names.p2_target, "remote_" + names.p3, names.p4])]
    assert [(u["array"], u["name"]) for u in report["undeclared"]] == expected
    assert tables(read_markdown(markdown), "array", "session", "role") == [undeclared_rows(report)]
    assert [line for line in result.task("kaminario.k2.drift_report : Print the summary")["msg"]
            if line.startswith("undeclared: ")] == [
        "undeclared: %s on %s (%s, %s)" % (shown(u["name"]), u["array"], u["current_role"], u["state"])
        for u in report["undeclared"]]

    result = play(sim, names, APPLY, tmp_path / "prune", check=True,
                  extra_vars=dict(plain, replication_topology_prune=True, replication_topology_prune_prefix="p"))
    role = "kaminario.k2.replication_topology : "
    checked = {e["host"]: e["result"] for e in result.entries(role + "Check the pairs this array is the source of "
                                                                     "(check mode, never writes)")}
    assert result.rc == 0, result
    assert checked["k2-b"]["sessions"] == []
    assert [(e["name"], e["status"]) for e in checked["k2-a"]["sessions"]] == [(names.p1, "pruned"), (names.p2, "pruned")]
    assert result.task(role + "Show what was done")["msg"] == [
        "topology check: 0 pairs, 0 would change, 0 failed, 0 refused",
        "prune: %s on k2-a: would prune" % names.p1, "prune: %s on k2-a: would prune" % shown(names.p2)]
    for array in ("k2-a", "k2-b"):
        assert writes(sim, array) == []
    assert names_on(sim) == names.on_arrays()


def test_an_apply_of_the_export_changes_nothing_and_check_mode_neither(hostile, names, tmp_path):
    sim, path = hostile
    for check in (True, False):
        result = play(sim, names, APPLY, tmp_path / ("check" if check else "run"), check=check, vars_files=[path])
        assert result.rc == 0, result
        assert [t["task"] for t in result.tasks if t["status"] == "changed"] == []
        for array in ("k2-a", "k2-b"):
            assert writes(sim, array) == []
    assert names_on(sim) == names.on_arrays()


# ---- tests that write: the per-test simulator ---------------------------------------------------------

def test_an_apply_of_the_export_on_empty_arrays_creates_the_same_pairs_by_name(k2sim, hostile, names, tmp_path):
    _sim, path = hostile
    with Scene(k2sim) as scene:
        make_objects(scene, names)
        rename_peers(scene, names)
    result = play(k2sim, names, APPLY, tmp_path / "apply", vars_files=[path])
    assert result.rc == 0, result
    assert names_on(k2sim) == names.on_arrays()
    on = {array: sessions_on(k2sim, array) for array in ("k2-a", "k2-b")}
    objects = {array: k2sim.dump(array)["objects"] for array in ("k2-a", "k2-b")}

    def ref(array, kind, name):
        return {"ref": "/%s/%d" % (kind, next(o["id"] for o in objects[array][kind] if o["name"] == name))}

    expected = {names.p1: (names.p1_vg, names.p1_target_vg, 300, "in_sync", names.policy_digits, names.policy_jinja),
                names.p2: (names.p2_vg, names.p2_vg, 900, "suspended", "Replication_Retention", "Replication_Retention"),
                names.p3: (names.p3_vg, names.p3_vg, 60, "idle", "Replication_Retention", "Replication_Retention"),
                names.p4: (names.p4_vg, names.p4_vg, 300, "in_sync", "Replication_Retention", "Replication_Retention")}
    for name, source, target, remote in names.pairs():
        vg, target_vg, rpo, state, policy, external = expected[name]
        session, mirror = on[source][name], on[target][remote]
        assert (session["current_role"], session["rpo"], session["state"]) == ("source", rpo, state)
        assert session["local_volume_group"] == ref(source, "volume_groups", vg)
        assert session["retention_policy"] == ref(source, "retention_policies", policy)
        assert session["external_retention_policy"] == ref(source, "retention_policies", external)
        assert session["replication_peer_k2array"] == ref(source, "replication/peer_k2arrays",
                                                          names.peer_b if source == "k2-a" else names.peer_a)
        assert (mirror["current_role"], mirror["remote_replication_session_name"]) == ("target", name)
        assert mirror["local_volume_group"] == ref(target, "volume_groups", target_vg)
    assert on["k2-a"][names.p2]["target_exposure"] == "Read Only"

    k2sim.clear_journal()
    result = play(k2sim, names, APPLY, tmp_path / "again", vars_files=[path])
    assert result.rc == 0, result
    for array in ("k2-a", "k2-b"):
        assert writes(k2sim, array) == []
    exported = tmp_path / "exported.yml"
    result = play(k2sim, names, EXPORT, tmp_path / "export", extra_vars={"export_topology_path": str(exported)},
                  scan=[exported])
    assert result.rc == 0, result
    assert load(exported)["k2_topology"] == names.declaration()


def test_failover_and_failback_of_a_hostile_pair(k2sim, hostile, names, tmp_path):
    _sim, path = hostile
    build_scene(k2sim, names)
    assert eventually(lambda: sessions_on(k2sim, "k2-b")[names.p1_target]["latest_replicated_snapshot"])
    k2sim.clear_journal()
    selection = write_vars(tmp_path / "selection.yml", {"k2_failover_pairs": [Unsafe(names.p1)],
                                                        "k2_failback_pairs": [Unsafe(names.p1)]})
    files = [path, selection]

    result = play(k2sim, names, FAILOVER, tmp_path / "failover-check", check=True, vars_files=files)
    assert result.rc == 0, result
    assert writes(k2sim, "k2-a") == [] and writes(k2sim, "k2-b") == []
    result = play(k2sim, names, FAILOVER, tmp_path / "failover", vars_files=files)
    assert result.rc == 0, result
    target = sessions_on(k2sim, "k2-b")[names.p1_target]
    assert [(e["method"], e["path"], e["body"]) for e in k2sim.journal("k2-b") if e["method"] != "GET"] == [
        ("PATCH", "/api/v2/replication/sessions/%d" % target["id"],
         {"state": "failed_over", "restored_snapshot": target["latest_replicated_snapshot"]})]
    assert writes(k2sim, "k2-a") == []
    assert eventually(lambda: sessions_on(k2sim, "k2-a")[names.p1]["state"] == "suspended")
    assert target["state"] == "failed_over"
    assert names_on(k2sim) == names.on_arrays()

    k2sim.clear_journal()
    result = play(k2sim, names, FAILBACK, tmp_path / "failback-check", check=True, vars_files=files)
    assert result.rc == 0, result
    assert writes(k2sim, "k2-a") == [] and writes(k2sim, "k2-b") == []
    result = play(k2sim, names, FAILBACK, tmp_path / "failback", vars_files=files,
                  extra_vars={"k2_failback_wait_timeout": 120})
    assert result.rc == 0, result
    source, target = sessions_on(k2sim, "k2-a")[names.p1], sessions_on(k2sim, "k2-b")[names.p1_target]
    assert (source["current_role"], source["state"], target["current_role"], target["state"]) == (
        "source", "in_sync", "target", "in_sync")
    touched = {e["path"] for array in ("k2-a", "k2-b") for e in k2sim.journal(array) if e["method"] == "PATCH"}
    assert touched == {"/api/v2/replication/sessions/%d" % source["id"],
                       "/api/v2/replication/sessions/%d" % target["id"]}
    assert names_on(k2sim) == names.on_arrays()

    result, report, _markdown = run_drift(k2sim, names, tmp_path / "drift", "extra_vars_file", path, True)
    assert result.rc == 0, result
    assert report["summary"]["drift"] is False, report["lines"]
