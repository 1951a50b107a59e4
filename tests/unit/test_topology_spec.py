# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology data model is documented once: the topology_plan filter's documentation of its
input, and the model's checks (plugin_utils/pairs.py) know exactly those options. The roles take
k2_topology as a dictionary and leave its checks to the planner (messages that name the pair, never
a dump of the argument spec), and every role variable they read has its spec."""

from __future__ import annotations

import glob
import os

import yaml

from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model():
    with open(os.path.join(ROOT, "plugins", "filter", "topology_plan.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["DOCUMENTATION"]["options"]["_input"]


def role_specs():
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        with open(path, encoding="utf-8") as handle:
            found[path.split(os.sep)[-3]] = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    return found


def test_the_model_checks_know_the_documented_options():
    documented = model()["suboptions"]
    assert sorted(documented["pairs"]["suboptions"]) == sorted(pairs.PAIR_OPTIONS)
    assert sorted(documented["defaults"]["suboptions"]) == sorted(pairs.DEFAULTABLE)


def test_the_roles_take_the_declaration_as_a_dictionary_checked_by_the_planner():
    specs = role_specs()
    assert sorted(specs) == ["drift_report", "replication_topology"]
    for role, options in specs.items():
        spec = options["k2_topology"]
        assert spec["type"] == "dict" and "options" not in spec and "required" not in spec, role
        assert "P(kaminario.k2.topology_plan#filter)" in " ".join(spec["description"]), role


def test_every_role_default_has_its_spec():
    for role, options in role_specs().items():
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
            defaults = yaml.safe_load(handle)
        assert sorted(set(defaults) - set(options)) == [], role
