# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every console command and YAML example of README.md, the role READMEs and the guides is run by a
test, or says why it cannot be: each code block carries a marker (harness/docs.py), ``doc-test: <id>``
with a test that names the id, or ``not-run: <reason>``. A new block without either fails here."""

import glob
import os
import re

from harness import REPO_ROOT
from harness.docs import DOCS, UNMARKED_LANGUAGES, all_blocks, blocks, commands

HERE = os.path.dirname(os.path.abspath(__file__))


def sources_of_tests():
    """The text of every test file (unit and integration), where a test names the blocks it runs."""
    texts = {}
    for path in glob.glob(os.path.join(REPO_ROOT, "tests", "**", "test_*.py"), recursive=True):
        if os.path.abspath(path) != os.path.abspath(__file__):
            with open(path, encoding="utf-8") as handle:
                texts[os.path.relpath(path, REPO_ROOT)] = handle.read()
    return texts


def test_the_documentation_files_are_the_readmes_and_every_guide():
    assert "README.md" in DOCS and "docs/docsite/rst/guide_awx.rst" in DOCS
    guides = glob.glob(os.path.join(REPO_ROOT, "docs", "docsite", "rst", "*.rst"))
    assert len([d for d in DOCS if d.endswith(".rst")]) == len(guides)
    for path in DOCS:
        assert blocks(path), "%s: no code block found (a change in its markup?)" % path


def test_every_block_is_run_by_a_test_or_says_why_not():
    unmarked = [b.where() + " (" + b.language + ")" for b in all_blocks()
                if b.marker is None and b.language not in UNMARKED_LANGUAGES]
    assert unmarked == [], "blocks with neither a doc-test nor a not-run marker: %s" % unmarked
    for block in all_blocks():
        if block.marker == "not-run":
            assert len(block.value) > 10, "%s: say why it cannot run" % block.where()
        if block.marker == "doc-test":
            assert re.fullmatch(r"[a-z0-9-]+", block.value), "%s: ids are [a-z0-9-]+" % block.where()


def test_every_doc_test_id_is_unique_and_named_by_a_test():
    ids = [b.value for b in all_blocks() if b.marker == "doc-test"]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    sources = "\n".join(sources_of_tests().values())
    assert [i for i in ids if '"%s"' % i not in sources] == []


def test_the_marker_reader_finds_what_the_files_hold():
    # Cross-check the parser on the raw text: as many blocks as directives and fences, and as many
    # markers as marker comments.
    for path in DOCS:
        with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as handle:
            text = handle.read()
        found = blocks(path)
        if path.endswith(".md"):
            assert len(found) == len(re.findall(r"^```\S*\s*$", text, re.M)) // 2, path
            markers = re.findall(r"<!-- (?:doc-test|not-run): ", text)
        else:
            assert len(found) == len(re.findall(r"^\s*\.\. code-block::", text, re.M)), path
            markers = re.findall(r"^\s*\.\. (?:doc-test|not-run): ", text, re.M)
        assert len(markers) == len([b for b in found if b.marker]), path


def test_console_commands_are_split_as_a_shell_runs_them():
    class Fake:
        def __init__(self, text):
            self.text = text

    prompts = Fake("$ a \\\n    b\n$ for x in 1; do\n    echo $x\n  done\n$ c\n")
    assert commands(prompts) == ["a \\\n    b", "for x in 1; do\n    echo $x\n  done", "c"]
    bare = Fake("# a comment\nmake demo    # runs\n\nx \\\n  y\n# another\nz\n")
    assert commands(bare) == ["make demo    # runs", "x \\\n  y", "z"]
