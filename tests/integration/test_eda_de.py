# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decision environment definition (extras/de/) through the real ansible-builder, as
test_awx_ee.py does for the execution environment: `create` writes the build context, then the galaxy
stage and the dependency introspection that the Containerfile runs are replayed on it, and the event
source of the collection installed from the tarball is loaded as ansible-rulebook loads it.
`ansible-builder build` needs a container runtime, which this machine does not have."""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from harness import REPO_ROOT
from test_awx_ee import dev_pin, load_yaml, run, tool

DE_FILE = os.path.join(REPO_ROOT, "extras", "de", "decision-environment.yml")
EDA_FILES = (
    "meta/extensions.yml",
    "extensions/eda/plugins/event_source/replication_events.py",
    "extensions/eda/rulebooks/drift_report_on_change.yml",
    "extensions/eda/rulebooks/health_report_on_late.yml",
    "extensions/eda/rulebooks/failover_on_unreachable.yml",
    "plugins/plugin_utils/replication_events.py",
    "extras/eda/credential_type_kaminario_k2_eda.yml",
)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), REPO_ROOT])
    path = out / ("kaminario-k2-%s.tar.gz" % load_yaml("galaxy.yml")["version"])
    assert path.exists(), sorted(os.listdir(out))
    return path


@pytest.fixture(scope="module")
def context(tmp_path_factory, tarball):
    """`ansible-builder create` on a copy of extras/de/ next to build/dist/, as in a checkout."""
    tree = tmp_path_factory.mktemp("checkout")
    os.makedirs(tree / "extras" / "de")
    shutil.copy(DE_FILE, tree / "extras" / "de")
    os.makedirs(tree / "build" / "dist")
    shutil.copy(tarball, tree / "build" / "dist")
    ctx = tree / "context"
    run([tool("ansible-builder"), "create", "-f", str(tree / "extras" / "de" / "decision-environment.yml"),
         "-c", str(ctx), "--output-filename", "Containerfile"])
    return ctx


@pytest.fixture(scope="module")
def installed(context, tmp_path_factory):
    """The galaxy stage replayed: the collection installed from the context's _build, as in the image."""
    collections = tmp_path_factory.mktemp("installed")
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    env["ANSIBLE_GALAXY_DISABLE_GPG_VERIFY"] = "1"
    run([tool("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
         "--collections-path", str(collections)], cwd=context / "_build", env=env)
    return collections


def test_the_tarball_ships_the_eda_content_and_not_the_de_definition(tarball):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        extensions = yaml.safe_load(tar.extractfile("meta/extensions.yml"))
    for name in EDA_FILES:
        assert name in names, name
    assert extensions == {"extensions": [{"args": {"ext_dir": "eda/plugins/event_source"}}]}
    assert not [n for n in names if n.startswith("extras/de")]


def test_the_definition_names_the_tarball_of_this_version():
    definition = load_yaml("extras", "de", "decision-environment.yml")
    name = "kaminario-k2-%s.tar.gz" % load_yaml("galaxy.yml")["version"]
    assert definition["dependencies"]["galaxy"]["collections"] == [{"name": "collections/" + name, "type": "file"}]
    assert definition["additional_build_files"] == [{"src": "../../build/dist/" + name, "dest": "collections"}]


def test_create_pins_ansible_core_runner_and_rulebook_to_the_tested_versions(context):
    text = (context / "Containerfile").read_text(encoding="utf-8")
    definition = load_yaml("extras", "de", "decision-environment.yml")
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in text
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', text, re.M)
    assert refs and sorted(refs.group(1).split()) == sorted([dev_pin("ansible-core"), dev_pin("ansible-runner")])
    assert (context / "_build" / "requirements.txt").read_text(encoding="utf-8").split() == [dev_pin("ansible-rulebook")]


def test_the_java_runtime_is_a_runtime_dependency_of_the_image(context, installed, tmp_path):
    """The builder stage's introspection: the collection's requirements and the definition's own,
    merged; java is a runtime package (the final stage installs it), not a compile-only one."""
    pip, bindep = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    build = context / "_build"
    run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(installed),
         "--user-pip", str(build / "requirements.txt"), "--user-bindep", str(build / "bindep.txt"),
         "--write-pip", str(pip), "--write-bindep", str(bindep)])
    wanted = [line.split("#")[0].strip() for line in pip.read_text().splitlines() if line.strip()]
    assert sorted(wanted) == sorted(["requests>=2.28", dev_pin("ansible-rulebook")])
    packages = [line.split("#")[0].strip() for line in bindep.read_text().splitlines() if line.strip()]
    assert "java-17-openjdk-headless [platform:rpm]" in packages
    assert [p for p in packages if p.startswith("java") and "compile" in p] == []


def test_the_installed_source_loads_as_ansible_rulebook_loads_it(installed, tmp_path):
    """ansible-rulebook finds the source through `ansible-galaxy collection list` and runs it with
    runpy.run_path: from the copy installed out of the tarball, with nothing else on sys.path."""
    path = installed / "ansible_collections" / "kaminario" / "k2" / "extensions" / "eda" / "plugins" / \
        "event_source" / "replication_events.py"
    code = ("import asyncio, runpy, sys; found = runpy.run_path(sys.argv[1]); "
            "assert asyncio.iscoroutinefunction(found['main']); "
            "from ansible_collections.kaminario.k2.plugins.plugin_utils import replication_events; "
            "print(replication_events.__file__)")
    env = {k: v for k, v in os.environ.items() if k not in ("ANSIBLE_COLLECTIONS_PATH", "PYTHONPATH")}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(installed))
