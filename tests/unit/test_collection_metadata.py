# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's metadata agrees with its modules: every module is in the action group that
meta/runtime.yml defines, and says so in its documentation (so module_defaults users can trust it)."""

import glob
import importlib
import os

import yaml

from ansible_collections.kaminario.k2.plugins.doc_fragments.connection import ModuleDocFragment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROUP = "kaminario.k2.k2"


def module_names():
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                  if not p.endswith("__init__.py"))


def documented_attributes(name):
    module = importlib.import_module("ansible_collections.kaminario.k2.plugins.modules." + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    attributes = dict(doc.get("attributes") or {})
    if "kaminario.k2.connection.action_group" in doc.get("extends_documentation_fragment", []):
        attributes.update(yaml.safe_load(ModuleDocFragment.ACTION_GROUP)["attributes"])
    return doc, attributes


def test_the_action_group_lists_every_module():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    assert module_names(), "no module found"
    assert sorted(runtime["action_groups"]["k2"]) == module_names()


def test_every_module_documents_its_group_check_and_diff_mode():
    for name in module_names():
        doc, attributes = documented_attributes(name)
        assert "kaminario.k2.connection" in doc["extends_documentation_fragment"], name
        assert attributes["action_group"]["membership"] == [GROUP], name
        assert attributes["check_mode"]["support"] == "full", name
        assert attributes["diff_mode"]["support"] in ("full", "N/A"), name
