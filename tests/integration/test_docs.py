# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make docs` (tools/build-docs.sh: antsibull-docs sphinx-init, then its build.sh without -W) builds a
site with a page for every module, filter and role of the checkout and every guide of
docs/docsite/extra-docs.yml, each page naming what it documents; the indexes link them all."""

import os
import re
import subprocess
import sys

import pytest
import yaml
from harness import REPO_ROOT, collections_path
from harness.contents import filters, modules, roles

pytestmark = pytest.mark.newest  # antsibull-docs and Sphinx are in the newest toolchain only

BIN = os.path.dirname(sys.executable)


def guides():
    with open(os.path.join(REPO_ROOT, "docs", "docsite", "extra-docs.yml"), encoding="utf-8") as handle:
        sections = yaml.safe_load(handle)["sections"]
    return [entry for section in sections for entry in section["toctree"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    dest = tmp_path_factory.mktemp("docs") / "site"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(["bash", os.path.join(REPO_ROOT, "tools", "build-docs.sh"), str(dest)], env=env,
                          capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    assert "build succeeded" in proc.stdout + proc.stderr
    (dest / "build.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return dest / "build" / "html"


# Labels of docs.ansible.com, which intersphinx cannot fetch here; every other reference must resolve.
EXTERNAL_LABELS = {"ansible_configuration_settings", "common_return_values"}


def test_every_reference_of_ours_resolves(site):
    log = (site.parent.parent / "build.log").read_text(encoding="utf-8")
    undefined = set(re.findall(r"undefined label: '([^']+)'", log))
    assert undefined <= EXTERNAL_LABELS, sorted(undefined - EXTERNAL_LABELS)


def page(site, *parts):
    path = site.joinpath(*parts)
    assert path.is_file(), "no page %s" % path
    return path.read_text(encoding="utf-8")


def text_of(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_lists_are_not_empty():
    assert modules() and filters() and roles() and guides()


def test_a_page_for_every_module_filter_and_role_and_no_other(site):
    folder = site / "collections" / "kaminario" / "k2"
    for kind, names in (("module", modules()), ("filter", filters()), ("role", roles())):
        found = sorted(n[:-len("_%s.html" % kind)] for n in os.listdir(folder) if n.endswith("_%s.html" % kind))
        assert found == names, kind
        index = page(site, "collections", "index_%s.html" % kind)
        for name in names:
            html = page(folder, "%s_%s.html" % (name, kind))
            assert "kaminario.k2.%s" % name in text_of(html), (kind, name)
            assert 'href="kaminario/k2/%s_%s.html' % (name, kind) in index or \
                'href="../collections/kaminario/k2/%s_%s.html' % (name, kind) in index or \
                "%s_%s.html" % (name, kind) in index, (kind, name)


def test_module_pages_carry_their_options_and_examples(site):
    for name in modules():
        text = text_of(page(site, "collections", "kaminario", "k2", "%s_module.html" % name))
        for heading in ("Parameters", "Examples", "Return Values"):
            assert heading in text, (name, heading)


def test_a_page_for_every_guide_linked_from_the_collection_index(site):
    index = page(site, "collections", "kaminario", "k2", "index.html")
    for guide in guides():
        with open(os.path.join(REPO_ROOT, "docs", "docsite", "rst", guide + ".rst"), encoding="utf-8") as handle:
            lines = [line.rstrip() for line in handle]
        # The title: the first line underlined with = (after the label and any overline).
        title = next(lines[i] for i in range(len(lines) - 1)
                     if lines[i] and re.fullmatch(r"=+", lines[i + 1]) and not re.fullmatch(r"=+", lines[i]))
        html = page(site, "collections", "kaminario", "k2", "docsite", guide + ".html")
        assert title in text_of(html), (guide, title)
        assert "docsite/%s.html" % guide in index, guide
