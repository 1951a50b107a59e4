# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDA controller credential type shipped in extras/eda/: it injects exactly the environment
variables the event source's connection options fall back to (the modules' K2_* names), each from
the right input, the secret only into the environment, verification on unless skipped, the CA as a
file whose path is empty when no CA was given; and the EDA guide shows it as shipped."""

import os
import re

import jinja2
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.basic import env_fallback
from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import k2_argument_spec
from ansible_collections.kaminario.k2.plugins.plugin_utils.replication_events import SOURCE_OPTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME_RE = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


def load():
    with open(os.path.join(ROOT, "extras", "eda", "credential_type_kaminario_k2_eda.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def variables(template):
    return meta.find_undeclared_variables(jinja2.Environment().parse(template))


def render(template, **namespace):
    return ImmutableSandboxedEnvironment().from_string(template).render(**namespace)


def test_it_injects_exactly_the_env_fallbacks_of_the_sources_options():
    ctype = load()
    wanted = set()
    for _option, spec in k2_argument_spec(**SOURCE_OPTIONS).items():
        strategy, *args = spec.get("fallback") or (None,)
        if strategy is env_fallback:
            wanted.update(args[0])
    assert wanted == {"K2_HOST", "K2_USERNAME", "K2_PASSWORD", "K2_VALIDATE_CERTS", "K2_CA_PATH"}
    assert set(ctype["injectors"]["env"]) == wanted
    assert set(ctype["injectors"]) == {"env", "file"}  # no extra_vars: nothing lands in the rulebook's variables


def test_each_variable_comes_from_the_right_input_and_the_secret_only_from_the_environment():
    ctype = load()
    env = ctype["injectors"]["env"]
    fields = dict((f["id"], f) for f in ctype["inputs"]["fields"])
    uses = dict((name, variables(template)) for name, template in env.items())
    assert uses["K2_HOST"] == {"host"} and uses["K2_USERNAME"] == {"username"}
    assert uses["K2_PASSWORD"] == {"password"} and fields["password"].get("secret") is True
    assert [f for f in fields.values() if f.get("secret")] == [fields["password"]]
    assert ctype["injectors"]["file"] == {"template.ca_cert": "{{ ca_cert }}"}
    assert uses["K2_CA_PATH"] == {"eda"} and fields["ca_cert"].get("multiline") is True
    assert uses["K2_VALIDATE_CERTS"] == {"skip_tls_verify"} and fields["skip_tls_verify"]["type"] == "boolean"
    assert fields["skip_tls_verify"]["default"] is False
    assert set(ctype["inputs"]["required"]) == {"host", "username", "password"}
    for field in ctype["inputs"]["fields"]:
        assert NAME_RE.match(field["id"]) and {"id", "label"} <= set(field), field
    for name in env:
        assert not name.startswith(("EDA_", "ANSIBLE_")), name


def test_verification_stays_on_unless_skipped_and_no_ca_means_an_empty_path():
    env = load()["injectors"]["env"]
    assert render(env["K2_VALIDATE_CERTS"], skip_tls_verify=False) == "true"
    assert render(env["K2_VALIDATE_CERTS"], skip_tls_verify=True) == "false"
    # ansible-rulebook names each file it wrote eda.filename.<key>; an empty input writes none.
    assert render(env["K2_CA_PATH"], eda={"filename": {"ca_cert": "/tmp/tmpca"}}) == "/tmp/tmpca"
    assert render(env["K2_CA_PATH"], eda={"filename": {}}) == ""
    strict = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    assert strict.from_string(env["K2_CA_PATH"]).render(eda={"filename": {}}) == ""


def test_the_eda_guide_shows_the_shipped_credential_type():
    ctype = load()
    with open(os.path.join(ROOT, "docs", "docsite", "rst", "guide_eda.rst"), encoding="utf-8") as handle:
        text = handle.read()
    blocks = {}
    # The blocks marked ".. doc-test: <id>" (the docs' marker: see tests/integration/harness/docs.py).
    for block_id, body in re.findall(r"^\.\. doc-test: (\S+)\n\n\.\. code-block:: yaml\n\n((?:[ ]{2}.*\n|\n)+)",
                                     text, re.M):
        blocks[block_id] = yaml.safe_load("\n".join(line[2:] for line in body.splitlines()))
    assert blocks["eda-credential-inputs"] == ctype["inputs"]
    assert blocks["eda-credential-injectors"] == ctype["injectors"]
