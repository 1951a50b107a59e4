# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential type shipped in extras/awx/: the YAML (UI) and JSON (API) forms agree, AWX would
accept it (its credential-type validation rules, restated here), and it injects exactly the
environment variables the modules' connection options fall back to."""

import json
import os
import re

import jinja2
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.basic import env_fallback
from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import k2_argument_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(ROOT, "extras", "awx")
# Connection options deliberately not in the credential: the address is per array, an inventory
# host var (k2_host), while one credential of a type is attached to a whole job.
LEFT_TO_INVENTORY = {"host"}
# What AWX accepts in a custom type (awx/main/fields.py CredentialTypeInputField / InjectorField).
FIELD_KEYS = {"id", "type", "label", "help_text", "multiline", "secret", "ask_at_runtime", "default",
              "format", "choices"}
NAME_RE = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
                 "INVENTORY_UPDATE_ID", "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN",
                 "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG",
                 "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}


def load():
    with open(os.path.join(AWX, "credential_type_kaminario_k2.yml"), encoding="utf-8") as handle:
        as_yaml = yaml.safe_load(handle)
    with open(os.path.join(AWX, "credential_type_kaminario_k2.json"), encoding="utf-8") as handle:
        as_json = json.load(handle)
    return as_yaml, as_json


def env_fallbacks():
    """option -> [env names], read from the modules' connection argspec."""
    found = {}
    for option, spec in k2_argument_spec().items():
        strategy, *args = spec.get("fallback") or (None,)
        if strategy is env_fallback:
            found[option] = list(args[0])
    return found


def template_variables(template):
    return meta.find_undeclared_variables(jinja2.Environment().parse(template))


def all_templates(injectors):
    for kind in ("file", "env", "extra_vars"):
        for key, template in (injectors.get(kind) or {}).items():
            yield kind, key, template


def test_yaml_and_json_are_the_same_credential_type():
    as_yaml, as_json = load()
    assert as_yaml == as_json
    assert set(as_json) == {"name", "description", "kind", "inputs", "injectors"}
    assert as_json["kind"] in ("cloud", "net")  # the kinds AWX allows for a custom type


def test_injected_env_is_exactly_the_modules_env_fallbacks():
    _yaml_form, ctype = load()
    fallbacks = env_fallbacks()
    assert LEFT_TO_INVENTORY <= set(fallbacks), "an option left to the inventory lost its env fallback"
    wanted = {name for option, names in fallbacks.items() if option not in LEFT_TO_INVENTORY for name in names}
    assert set(ctype["injectors"]["env"]) == wanted


def test_each_variable_comes_from_the_right_input():
    _yaml_form, ctype = load()
    env = ctype["injectors"]["env"]
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    uses = {name: template_variables(template) for name, template in env.items()}
    assert uses["K2_USERNAME"] == {"username"}
    assert uses["K2_PASSWORD"] == {"password"} and fields["password"].get("secret") is True
    # The CA travels as a file (AWX's file injector), its path in K2_CA_PATH.
    assert ctype["injectors"]["file"] == {"template": "{{ ca_cert }}"}
    assert uses["K2_CA_PATH"] == {"tower", "ca_cert"} and fields["ca_cert"].get("multiline") is True
    assert uses["K2_VALIDATE_CERTS"] == {"skip_tls_verify"} and fields["skip_tls_verify"]["type"] == "boolean"
    assert set(ctype["inputs"]["required"]) == {"username", "password"}


def test_secret_inputs_never_reach_extra_vars_or_files():
    _yaml_form, ctype = load()
    secrets = {f["id"] for f in ctype["inputs"]["fields"] if f.get("secret")}
    assert secrets, "the password must be a secret input"
    for kind, key, template in all_templates(ctype["injectors"]):
        if kind != "env":
            assert not template_variables(template) & secrets, (kind, key)


def render(template, **namespace):
    return ImmutableSandboxedEnvironment().from_string(template).render(**namespace)


def test_verification_stays_on_unless_skipped():
    _yaml_form, ctype = load()
    template = ctype["injectors"]["env"]["K2_VALIDATE_CERTS"]
    # AWX passes a boolean input that the credential does not store as False.
    assert render(template, skip_tls_verify=False) == "true"
    assert render(template, skip_tls_verify=True) == "false"
    ca = ctype["injectors"]["env"]["K2_CA_PATH"]
    tower = {"filename": "/runner/env/tmpca"}
    # AWX leaves empty string inputs out of the namespace.
    assert render(ca, tower=tower) == ""
    assert render(ca, tower=tower, ca_cert="-----BEGIN CERTIFICATE-----") == "/runner/env/tmpca"


def test_awx_would_accept_the_inputs():
    _yaml_form, ctype = load()
    ids = []
    for field in ctype["inputs"]["fields"]:
        assert set(field) <= FIELD_KEYS and {"id", "label"} <= set(field), field
        assert NAME_RE.match(field["id"]) and field["id"] != "tower", field
        kind = field.get("type", "string")
        assert kind in ("string", "boolean"), field
        if "default" in field:
            assert isinstance(field["default"], {"string": str, "boolean": bool}[kind]), field
        if kind != "string":
            assert not {"choices", "multiline", "format", "secret"} & set(field), field
        ids.append(field["id"])
    assert len(ids) == len(set(ids))
    assert set(ctype["inputs"]["required"]) <= set(ids)


def test_awx_would_accept_the_injectors():
    _yaml_form, ctype = load()
    injectors = ctype["injectors"]
    assert set(injectors) <= {"file", "env", "extra_vars"}
    assert all(re.match(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$", key) for key in injectors.get("file", {}))
    for name, value in injectors["env"].items():
        assert NAME_RE.match(name) and not name.startswith("ANSIBLE_") and name not in ENV_BLOCKLIST, name
        assert value.isascii(), name
    # AWX renders every template with each input set to a placeholder and fails on undefined names.
    namespace = {f["id"]: "EXAMPLE" for f in ctype["inputs"]["fields"]}
    namespace["tower"] = {"filename": "EXAMPLE_FILENAME"}
    strict = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    for kind, key, template in all_templates(injectors):
        strict.from_string(template).render(**namespace)


def guide_yaml_block(guide, block_id):
    """The YAML code block of a guide marked ``.. doc-test: <block_id>`` (the docs' marker: see
    tests/integration/harness/docs.py), parsed."""
    with open(os.path.join(ROOT, "docs", "docsite", "rst", guide), encoding="utf-8") as handle:
        text = handle.read()
    found = re.findall(r"^\.\. doc-test: %s\n\n\.\. code-block:: yaml\n\n((?:[ ]{2}.*\n|\n)+)" % re.escape(block_id),
                       text, re.M)
    assert len(found) == 1, (guide, block_id)
    return yaml.safe_load("\n".join(line[2:] for line in found[0].splitlines()))


def test_the_guide_shows_the_shipped_credential_type():
    _yaml_form, ctype = load()
    assert guide_yaml_block("guide_awx.rst", "awx-credential-inputs") == ctype["inputs"]
    assert guide_yaml_block("guide_awx.rst", "awx-credential-injectors") == ctype["injectors"]
