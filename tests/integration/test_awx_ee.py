# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition (extras/ee/) through the real ansible-builder: `create` writes
the build context, then the galaxy stage and the dependency introspection the Containerfile runs are
replayed here on that context. `ansible-builder build` itself needs a container runtime (podman or
docker), which this machine does not have, so the image is never built here.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from harness import REPO_ROOT

EE_FILE = os.path.join(REPO_ROOT, "extras", "ee", "execution-environment.yml")
BIN = os.path.dirname(sys.executable)


def tool(name):
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else shutil.which(name)


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, **kwargs)
    assert proc.returncode == 0, "%s\nrc=%d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def load_yaml(*parts):
    with open(os.path.join(REPO_ROOT, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def dev_pin(package):
    """The requirements-dev.txt pin of `package` that applies to Python < 3.12 (the EE's Python)."""
    with open(os.path.join(REPO_ROOT, "requirements-dev.txt"), encoding="utf-8") as handle:
        for line in handle:
            spec, _sep, marker = line.strip().partition(";")
            if spec.startswith(package + "==") and ("3.12" not in marker or "<" in marker):
                return spec.strip()
    raise AssertionError("no pin for %s in requirements-dev.txt" % package)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The collection built from this checkout, as `ansible-galaxy collection build` names it."""
    out = tmp_path_factory.mktemp("dist")
    run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), REPO_ROOT])
    version = load_yaml("galaxy.yml")["version"]
    path = out / ("kaminario-k2-%s.tar.gz" % version)
    assert path.exists(), sorted(os.listdir(out))
    return path


@pytest.fixture(scope="module")
def context(tmp_path_factory, tarball):
    """`ansible-builder create` on a copy of extras/ee/ next to build/dist/, as in a checkout after
    `ansible-galaxy collection build --output-path build/dist .` (nothing is written into the repo)."""
    tree = tmp_path_factory.mktemp("checkout")
    os.makedirs(tree / "extras" / "ee")
    shutil.copy(EE_FILE, tree / "extras" / "ee")
    os.makedirs(tree / "build" / "dist")
    shutil.copy(tarball, tree / "build" / "dist")
    ctx = tree / "context"
    run([tool("ansible-builder"), "create", "-f", str(tree / "extras" / "ee" / "execution-environment.yml"),
         "-c", str(ctx), "--output-filename", "Containerfile"])
    return ctx


def containerfile(ctx):
    return (ctx / "Containerfile").read_text(encoding="utf-8")


def test_the_tarball_carries_what_ansible_builder_and_awx_read(tarball):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
        requirements = tar.extractfile("requirements.txt").read().decode()
    for name in ("meta/execution-environment.yml", "requirements.txt",
                 "extras/awx/credential_type_kaminario_k2.yml", "extras/awx/credential_type_kaminario_k2.json"):
        assert name in names, name
    # A collection's dependency paths are relative to the collection root.
    assert meta["dependencies"] == {"python": "requirements.txt"}
    assert "requests" in requirements
    # The EE definition refers to a source checkout (build/dist), so it is not shipped.
    assert not [n for n in names if n.startswith("extras/ee")]


def test_create_writes_a_containerfile_with_the_base_image_as_a_build_arg(context):
    definition = load_yaml("extras", "ee", "execution-environment.yml")
    text = containerfile(context)
    base = definition["images"]["base_image"]["name"]
    # The default lives in an ARG, so `ansible-builder build --build-arg EE_BASE_IMAGE=...` replaces it.
    assert 'ARG EE_BASE_IMAGE="%s"' % base in text
    assert "FROM $EE_BASE_IMAGE AS base" in text
    assert 'ARG PYCMD="%s"' % definition["dependencies"]["python_interpreter"]["python_path"] in text


def test_ansible_core_and_runner_are_the_tested_versions(context):
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', containerfile(context), re.M)
    assert refs, containerfile(context)
    assert sorted(refs.group(1).split()) == sorted([dev_pin("ansible-core"), dev_pin("ansible-runner")])
    assert "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in containerfile(context)


def test_the_collection_and_its_requirements_reach_the_build_context(context, tarball, tmp_path):
    build = context / "_build"
    assert yaml.safe_load((build / "requirements.yml").read_text()) == {
        "collections": [{"name": "collections/%s" % tarball.name, "type": "file"}]}
    assert (build / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    text = containerfile(context)
    # The galaxy stage copies _build to /build and installs from there; replay it on the context.
    assert "COPY _build /build\nWORKDIR /build" in text
    assert re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements.yml", text, re.M)
    collections = tmp_path / "collections"
    # A clean image has no other collection path (here one points at this checkout).
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    env["ANSIBLE_GALAXY_DISABLE_GPG_VERIFY"] = "1"
    run([tool("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
         "--collections-path", str(collections)], cwd=build, env=env)
    manifest = collections / "ansible_collections" / "kaminario" / "k2" / "MANIFEST.json"
    assert json.loads(manifest.read_text())["collection_info"]["version"] == load_yaml("galaxy.yml")["version"]
    # The builder stage's introspection: the collection's Python requirements, read from its metadata.
    assert "introspect.py introspect" in text
    pip = tmp_path / "pip.txt"
    run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(collections),
         "--write-pip", str(pip)])
    with open(os.path.join(REPO_ROOT, "requirements.txt"), encoding="utf-8") as handle:
        wanted = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    found = [line.split("#")[0].strip() for line in pip.read_text().splitlines() if line.strip()]
    assert found == wanted
