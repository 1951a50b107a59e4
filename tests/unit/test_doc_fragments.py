# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session options are documented once: the topology module's fragment is derived from the
session module's, and both match the one argument spec (session_schema.SESSION_OPTIONS)."""

from __future__ import annotations

import importlib.util
import os

import yaml

from ansible_collections.kaminario.k2.plugins.doc_fragments.session import ModuleDocFragment
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    DEFAULTABLE_OPTIONS,
    SESSION_OPTIONS,
    WAIT_OPTIONS,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _renderer():
    spec = importlib.util.spec_from_file_location("render_session_fragment",
                                                  os.path.join(ROOT, "tools", "render_session_fragment.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_topology_fragment_is_derived_from_the_session_options():
    derived = _renderer().render(ModuleDocFragment.DOCUMENTATION)
    assert ModuleDocFragment.TOPOLOGY.lstrip("\n") == derived.lstrip("\n"), (
        "plugins/doc_fragments/session.py is out of date: run python3 tools/render_session_fragment.py")


def _check(documented, spec):
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("choices") == option.get("choices"), name
        assert doc.get("default") == option.get("default"), name
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), name
        assert bool(doc.get("required")) == bool(option.get("required")), name


def test_every_variant_documents_exactly_the_argument_spec():
    _check(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"], SESSION_OPTIONS)
    _check(yaml.safe_load(ModuleDocFragment.WAIT)["options"], WAIT_OPTIONS)
    topology = yaml.safe_load(ModuleDocFragment.TOPOLOGY)["options"]
    _check(topology["sessions"]["suboptions"], SESSION_OPTIONS)
    _check(topology["defaults"]["suboptions"], dict((o, SESSION_OPTIONS[o]) for o in DEFAULTABLE_OPTIONS))
