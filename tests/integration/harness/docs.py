"""The code blocks of the documentation, read from the files when a test runs, so that a doc edit
that breaks an example fails its test.

Every console and YAML (and any other non-``text``) block of README.md, the role READMEs and the
guides (docs/docsite/rst/*.rst) carries one of two markers, just before it, that render as nothing:

    reStructuredText                      Markdown
    .. doc-test: <id>                     <!-- doc-test: <id> -->
    .. not-run: <reason>                  <!-- not-run: <reason> -->

``doc-test`` blocks are run (or, for a file a command reads, written and used) by a test that names
them as ``doc_block("<id>")`` or ``doc_commands("<id>")``; ids are unique across the documentation.
``not-run`` blocks say why they cannot run here (a real AWX, a container runtime). test_docs_markers.py
fails for a block with neither, and for an id no test names.

What may change between the doc and the run, and only by these rules (``substitute``): values the
docs give as the reader's own. A host ``<array>.example.com`` is the simulator's array ``<array>``
(its ``host:port``); the CA file ``/etc/pki/k2-ca.pem`` is the simulator's CA; a password written
``'...'`` or ``...`` after ``K2_PASSWORD=`` is the simulator's password of the ``K2_USERNAME`` set on
the same line (admin when none is). The environment a command runs in is the reader's: each test
says what it holds (the venv's tools first on the PATH, ``K2_*`` when the guide assumes them set).

Console blocks: in a block with prompts (``$ ``, the guides), a command starts at a prompt and the
lines up to the next prompt continue it (no block shows output); in a block without prompts
(README.md), each line is a command, ``\\`` at the end of a line continues it, and ``#`` lines are
comments.
"""

import os
import re
import subprocess
from dataclasses import dataclass

from harness.simulator import REPO_ROOT

DOCS = ["README.md", "roles/drift_report/README.md", "roles/replication_topology/README.md"] + sorted(
    os.path.join("docs", "docsite", "rst", name)
    for name in os.listdir(os.path.join(REPO_ROOT, "docs", "docsite", "rst")) if name.endswith(".rst"))
UNMARKED_LANGUAGES = ("text",)  # a folder tree, a diagram: nothing to run
MARKER = re.compile(r"^(doc-test|not-run):\s*(.*)$", re.S)


@dataclass
class Block:
    path: str  # relative to the repository
    line: int  # of the directive or the opening fence
    language: str
    text: str  # dedented, ending with a newline
    marker: str = None  # "doc-test", "not-run" or None
    value: str = None  # the id or the reason

    def where(self):
        return "%s:%d" % (self.path, self.line)


def _rst_blocks(path, lines):
    blocks = []
    for number, line in enumerate(lines):
        found = re.match(r"^(\s*)\.\. code-block::\s*(\S+)\s*$", line)
        if not found:
            continue
        indent = len(found.group(1))
        body = []
        for following in lines[number + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        cut = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        text = "\n".join(b[cut:] for b in body) + "\n"
        block = Block(path, number + 1, found.group(2), text)
        # The marker: the comment paragraph right before the directive (a blank line between them).
        before = number - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        comment = []
        while before >= 0 and lines[before].strip():
            comment.insert(0, lines[before])
            before -= 1
        if comment and comment[0].strip().startswith(".. ") and \
                len(comment[0]) - len(comment[0].lstrip()) == indent:
            marker = MARKER.match(" ".join(c.strip() for c in comment)[3:])
            if marker:
                block.marker, block.value = marker.group(1), " ".join(marker.group(2).split())
        blocks.append(block)
    return blocks


def _md_blocks(path, lines):
    blocks = []
    number = 0
    while number < len(lines):
        found = re.match(r"^```(\S*)\s*$", lines[number])
        if not found:
            number += 1
            continue
        end = number + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        block = Block(path, number + 1, found.group(1) or "text", "\n".join(lines[number + 1:end]) + "\n")
        before = number - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and lines[before].rstrip().endswith("-->"):
            start = before
            while start >= 0 and "<!--" not in lines[start]:
                start -= 1
            comment = " ".join(line.strip() for line in lines[start:before + 1])
            marker = MARKER.match(comment[comment.index("<!--") + 4:comment.rindex("-->")].strip())
            if marker:
                block.marker, block.value = marker.group(1), " ".join(marker.group(2).split())
        blocks.append(block)
        number = end + 1
    return blocks


def blocks(path):
    """Every code block of `path` (relative to the repository), in order."""
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return (_md_blocks if path.endswith(".md") else _rst_blocks)(path, lines)


def all_blocks():
    return [block for path in DOCS for block in blocks(path)]


def doc_block(block_id):
    """The block marked ``doc-test: <block_id>`` (exactly one, in any of the documentation files)."""
    found = [b for b in all_blocks() if b.marker == "doc-test" and b.value == block_id]
    assert len(found) == 1, "doc-test %r: %d blocks are marked so (%s)" % (
        block_id, len(found), ", ".join(b.where() for b in found))
    return found[0]


def commands(block):
    """The commands of a console block, as a shell runs them (see the module docstring)."""
    lines = block.text.splitlines()
    found = []
    if any(line.startswith("$ ") for line in lines):
        for line in lines:
            if line.startswith("$ "):
                found.append(line[2:])
            elif found:
                found[-1] += "\n" + line
        return found
    pending = None
    for line in lines:
        if pending is None and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = line if pending is None else pending + "\n" + line
        if not line.rstrip().endswith("\\"):
            found.append(pending)
            pending = None
    if pending is not None:
        found.append(pending)
    return found


def doc_commands(block_id):
    """The commands of the console block marked ``doc-test: <block_id>``."""
    block = doc_block(block_id)
    assert block.language == "console", "%s: a %s block, not console" % (block.where(), block.language)
    return commands(block)


def substitute(text, sim):
    """`text` with the reader's own values replaced by the simulator's (the rules of the module docstring)."""
    arrays = sim.arrays

    def host(match):
        name = match.group(1)
        assert name in arrays, "%s.example.com: the simulator has no array %s" % (name, name)
        return arrays[name]["host"]

    text = re.sub(r"\b([a-z0-9-]+)\.example\.com\b", host, text)
    text = text.replace("/etc/pki/k2-ca.pem", sim.ca_path)
    lines = []
    for line in text.split("\n"):
        user = re.search(r"K2_USERNAME=(\w+)", line)
        account = user.group(1) if user and user.group(1) in sim.users else "admin"
        lines.append(re.sub(r"K2_PASSWORD=(?:'\.\.\.'|\.\.\.)(?=\s|$)",
                            "K2_PASSWORD=" + sim.users[account]["password"], line))
    return "\n".join(lines)


@dataclass
class CommandRun:
    command: str
    rc: int
    output: str  # stdout and stderr, interleaved

    def __str__(self):
        return "$ %s\n(rc=%s)\n%s" % (self.command, self.rc, self.output)


def run_commands(commands_, cwd, env, timeout=900):
    """Run `commands_` in ONE bash process, in order, as a reader types them into one shell (so
    ``export`` and ``&`` carry over), stopping after the first that fails. Returns a CommandRun per
    command that ran; assert on them (``str()`` shows the command and its output)."""
    script = []
    for number, command in enumerate(commands_):
        script.append("printf '\\n@@doc-command %d\\n'" % number)
        script.append(command)
        script.append("rc=$?; printf '\\n@@doc-rc %d %%d\\n' \"$rc\"; [ \"$rc\" -eq 0 ] || exit \"$rc\"" % number)
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          check=False)
    runs = []
    parts = re.split(r"\n@@doc-command (\d+)\n", proc.stdout)
    for index in range(1, len(parts), 2):
        number, body = int(parts[index]), parts[index + 1]
        found = re.search(r"\n@@doc-rc %d (\d+)\n" % number, body)
        runs.append(CommandRun(commands_[number], int(found.group(1)) if found else proc.returncode,
                               body[:found.start()] if found else body))
    return runs


def assert_all_ran(runs, commands_):
    """Every command ran, each with rc 0."""
    assert len(runs) == len(commands_) and all(r.rc == 0 for r in runs), "\n\n".join(str(r) for r in runs)
