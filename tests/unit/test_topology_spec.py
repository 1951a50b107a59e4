# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology data model is defined once: the pair_plan filter's documentation of its input.
Every role that takes `k2_topology` validates exactly that (its meta/argument_specs.yml), and the
model's own checks (plugin_utils/pairs.py) know the same options."""

from __future__ import annotations

import glob
import os
import re

import yaml

from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model():
    with open(os.path.join(ROOT, "plugins", "filter", "pair_plan.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["DOCUMENTATION"]["options"]["_input"]


def as_argument_spec(option):
    """A filter option's documentation as a role argument spec (suboptions -> options), option
    references to the filter's input renamed to the role variable."""
    spec = {}
    for key in ("type", "elements", "required", "choices", "default"):
        if key in option:
            spec[key] = option[key]
    spec["description"] = [re.sub(r"O\(_input\.", "O(k2_topology.", d) for d in
                           (option["description"] if isinstance(option["description"], list) else [option["description"]])]
    if "suboptions" in option:
        spec["options"] = dict((name, as_argument_spec(sub)) for name, sub in option["suboptions"].items())
    return spec


def roles_taking_the_topology():
    found = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
        for entry in spec["argument_specs"].values():
            if "k2_topology" in entry.get("options", {}):
                found[path] = entry["options"]["k2_topology"]
    return found


def test_every_role_validates_the_one_topology_model():
    expected = as_argument_spec(model())
    roles = roles_taking_the_topology()
    assert roles, "no role takes k2_topology"
    for path, spec in roles.items():
        got = dict(spec)
        got.pop("description")  # each role says it in its own words
        want = dict(expected)
        want.pop("description")
        assert got == want, "%s: k2_topology differs from plugins/filter/pair_plan.yml's _input" % path


def test_the_model_checks_know_the_documented_options():
    documented = model()["suboptions"]
    assert sorted(documented["pairs"]["suboptions"]) == sorted(pairs.PAIR_OPTIONS)
    assert sorted(documented["defaults"]["suboptions"]) == sorted(pairs.DEFAULTABLE)
