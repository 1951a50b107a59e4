# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release tarball: the changelog `antsibull-changelog` renders for the version of galaxy.yml, and
the file list of `ansible-galaxy collection build` (what a user gets, and nothing of the development tree).

Both run on a copy of the checkout (its files as git sees them), with the dev-only leftovers a
working tree has planted into it, so the checks do not depend on what this tree holds right now.
Before the release, the copy runs `antsibull-changelog release` (the fragments must make a changelog);
after it, `antsibull-changelog generate` (the committed CHANGELOG.rst must be what changelog.yaml says)."""

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
           "changelogs/.plugin-cache.yaml", "changelogs/fragments/after-the-release.yml",
           ".hypothesis/examples/x/y")
FORBIDDEN = ("tests/*", "tools/*", ".ci/*", "changelogs/fragments/*", "build/*", ".venv*", "playbooks/reports*",
             "examples/*/reports*", ".pytest_cache*", ".ansible/*", "*__pycache__*", "*.pyc", "Makefile",
             "conftest.py", "pytest.ini", "requirements-dev.txt", "requirements-oldest.txt", "requirements-mutation.txt", ".gitignore",
             ".ansible-lint", "extras/ee/*", "changelogs/.plugin-cache.yaml", ".hypothesis*")


def run(argv, cwd, **kwargs):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=300,
                          stdin=subprocess.DEVNULL, **kwargs)
    assert proc.returncode == 0, "%s\nrc=%d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def checkout_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sorted(p for p in listed if p and os.path.isfile(os.path.join(REPO_ROOT, p)))


def released_versions(folder):
    with open(os.path.join(folder, "changelogs", "changelog.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle).get("releases") or {}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A copy of the checkout in .../ansible_collections/kaminario/k2 with its changelog rendered for the
    version of galaxy.yml and the leftovers planted; returns (copy, version, names in its tarball)."""
    root = tmp_path_factory.mktemp("release")
    copy = root / "ansible_collections" / "kaminario" / "k2"
    for path in checkout_files():
        os.makedirs(copy / os.path.dirname(path), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, path), copy / path)
    version = yaml.safe_load((copy / "galaxy.yml").read_text())["version"]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    env["PATH"] = BIN + os.pathsep + env["PATH"]
    changelog = os.path.join(BIN, "antsibull-changelog")
    if version in released_versions(copy):
        run([changelog, "generate"], cwd=copy, env=env)
    else:
        run([changelog, "release", "--version", version, "--date", "2026-12-01"], cwd=copy, env=env)
    for path in PLANTED:
        os.makedirs(copy / os.path.dirname(path), exist_ok=True)
        (copy / path).write_text("left over\n")
    out = root / "dist"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(copy)], cwd=root, env=env)
    with tarfile.open(out / ("kaminario-k2-%s.tar.gz" % version)) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
    return copy, version, names


def fragments_of(folder):
    path = os.path.join(folder, "changelogs", "fragments")
    return sorted(n for n in os.listdir(path) if n.endswith((".yml", ".yaml"))) if os.path.isdir(path) else []


def test_the_changelog_renders_every_change_and_every_new_plugin_and_role(released):
    copy, version, _names = released
    text = (copy / "CHANGELOG.rst").read_text()
    assert "v%s" % version in text.splitlines()
    release = released_versions(copy)[version]
    if version in released_versions(REPO_ROOT):
        # Released: the committed CHANGELOG.rst is what changelog.yaml renders to.
        with open(os.path.join(REPO_ROOT, "CHANGELOG.rst"), encoding="utf-8") as handle:
            assert handle.read() == text
    else:
        # The release takes up every fragment of the checkout, and consumes them (keep_fragments: false).
        assert fragments_of(REPO_ROOT), "no changelog fragment"
        assert sorted(release["fragments"]) == fragments_of(REPO_ROOT)
        assert not set(fragments_of(REPO_ROOT)) & set(fragments_of(copy))
    flat = " ".join(text.split())
    changes = release.get("changes") or {}
    assert changes, "the release of %s records no change" % version
    for section, entries in changes.items():
        if section == "trivial":
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            assert " ".join(entry.split()) in flat, (section, entry)
    modules = [n[:-3] for n in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")) if n.endswith(".py")]
    roles = os.listdir(os.path.join(REPO_ROOT, "roles"))
    for heading, names in (("New Modules", modules), ("New Roles", roles)):
        assert heading in text
        section = text.split(heading, 1)[1]
        for name in names:
            assert "- kaminario.k2.%s - " % name in section, (heading, name)


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
