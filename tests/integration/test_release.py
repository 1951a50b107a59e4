# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release tarball: the changelog the lead's `antsibull-changelog release` renders, and the file
list of `ansible-galaxy collection build` (what a user gets, and nothing of the development tree).

Both run on a copy of the checkout (its files as git sees them), with the dev-only leftovers a
working tree has planted into it, so the checks do not depend on what this tree holds right now."""

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from harness import REPO_ROOT

pytestmark = pytest.mark.newest  # antsibull-changelog is in the newest toolchain only

BIN = os.path.dirname(sys.executable)
# Leftovers of development and test runs that must never ship.
PLANTED = ("tests/output/junit.xml", "build/demo/01-apply.log", "build/dist/kaminario-k2-0.0.1.tar.gz",
           "playbooks/reports/drift_report.json", "playbooks/reports/drift_report.md",
           "examples/simulator/reports/drift_report.md", ".venv-oldest/pyvenv.cfg", ".venv/pyvenv.cfg",
           ".pytest_cache/README.md", ".ansible/collections/x.txt", "plugins/modules/__pycache__/x.cpython-311.pyc",
           "changelogs/.plugin-cache.yaml", "changelogs/fragments/after-the-release.yml")
FORBIDDEN = ("tests/*", "tools/*", ".ci/*", "changelogs/fragments/*", "build/*", ".venv*", "playbooks/reports*",
             "examples/*/reports*", ".pytest_cache*", ".ansible/*", "*__pycache__*", "*.pyc", "Makefile",
             "conftest.py", "pytest.ini", "requirements-dev.txt", "requirements-oldest.txt", "requirements-mutation.txt", ".gitignore",
             ".ansible-lint", "extras/ee/*", "changelogs/.plugin-cache.yaml")


def run(argv, cwd, **kwargs):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=300,
                          stdin=subprocess.DEVNULL, **kwargs)
    assert proc.returncode == 0, "%s\nrc=%d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def checkout_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sorted(p for p in listed if p and os.path.isfile(os.path.join(REPO_ROOT, p)))


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A copy of the checkout in .../ansible_collections/kaminario/k2, after `antsibull-changelog release`
    and with the leftovers planted; returns (copy, names in the tarball built from it)."""
    root = tmp_path_factory.mktemp("release")
    copy = root / "ansible_collections" / "kaminario" / "k2"
    for path in checkout_files():
        os.makedirs(copy / os.path.dirname(path), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, path), copy / path)
    version = yaml.safe_load((copy / "galaxy.yml").read_text())["version"]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    env["PATH"] = BIN + os.pathsep + env["PATH"]
    run([os.path.join(BIN, "antsibull-changelog"), "release", "--version", version, "--date", "2026-12-01"],
        cwd=copy, env=env)
    for path in PLANTED:
        os.makedirs(copy / os.path.dirname(path), exist_ok=True)
        (copy / path).write_text("left over\n")
    out = root / "dist"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(copy)], cwd=root, env=env)
    with tarfile.open(out / ("kaminario-k2-%s.tar.gz" % version)) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
    return copy, version, names


def test_the_changelog_renders_every_fragment_and_every_new_plugin_and_role(released):
    copy, version, _names = released
    text = (copy / "CHANGELOG.rst").read_text()
    assert "v%s" % version in text.splitlines()
    fragments = sorted(os.listdir(os.path.join(REPO_ROOT, "changelogs", "fragments")))
    assert fragments, "no changelog fragment"
    flat = " ".join(text.split())
    for name in fragments:
        with open(os.path.join(REPO_ROOT, "changelogs", "fragments", name), encoding="utf-8") as handle:
            for section, entries in yaml.safe_load(handle).items():
                if section == "trivial":
                    continue
                for entry in entries:
                    assert " ".join(entry.split()) in flat, (name, entry)
    modules = [n[:-3] for n in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")) if n.endswith(".py")]
    roles = os.listdir(os.path.join(REPO_ROOT, "roles"))
    for heading, names in (("New Modules", modules), ("New Roles", roles)):
        assert heading in text
        section = text.split(heading, 1)[1]
        for name in names:
            assert "- kaminario.k2.%s - " % name in section, (heading, name)
    # The fragments were consumed (keep_fragments: false): the release leaves none behind.
    assert not set(fragments) & set(os.listdir(copy / "changelogs" / "fragments"))


def test_the_tarball_holds_the_collection_and_nothing_of_the_development_tree(released):
    _copy, _version, names = released
    leaked = [n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in FORBIDDEN)]
    assert leaked == []
    shipped = set(names)
    for top in ("plugins", "roles", "playbooks", "meta", "docs", "extras/awx"):
        wanted = [p for p in checkout_files() if p.startswith(top + "/")]
        assert wanted and not sorted(set(wanted) - shipped), (top, sorted(set(wanted) - shipped))
    for name in ("README.md", "COPYING", "CHANGELOG.rst", "changelogs/changelog.yaml", "changelogs/config.yaml",
                 "requirements.txt", "MANIFEST.json", "FILES.json", "examples/simulator/inventory.yml"):
        assert name in shipped, name
