# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the topology variant of the session options into plugins/doc_fragments/session.py.

The session options are written once, as the fragment's DOCUMENTATION (k2_replication_session takes
them at the top level). k2_replication_topology takes the same options under `sessions` (and, but for
name, new_name and state, under `defaults`): its fragment TOPOLOGY is derived from DOCUMENTATION by
this script. ansible-test needs every fragment to be a plain string, so the derived text is written
into the file; tests/unit/test_doc_fragments.py fails when it is out of date.

    python3 tools/render_session_fragment.py          # rewrite TOPOLOGY
"""

import ast
import os
import re
import sys

FRAGMENT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "plugins", "doc_fragments", "session.py")
NOT_DEFAULTABLE = ("name", "new_name", "state")
START, END = "    TOPOLOGY = r\"\"\"\n", "\"\"\"\n"


def _strings(source):
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    return dict((s.targets[0].id, s.value.value) for s in cls.body if isinstance(s, ast.Assign))


def _blocks(options_text):
    """[(option name, its YAML lines)] of an `options:` text indented by two."""
    blocks = []
    for line in options_text.splitlines(True)[1:]:
        match = re.match(r"^  ([a-z_]+):\n$", line)
        if match:
            blocks.append((match.group(1), [line]))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def render(documentation):
    """The TOPOLOGY text for the session options in `documentation`."""
    blocks = _blocks(documentation.strip("\n") + "\n")
    names = [name for name, _lines in blocks]

    def under(wanted):
        text = "".join("".join(lines) for name, lines in blocks if name in wanted)
        # Option references point at the item's options; everything moves four columns right.
        text = re.sub(r"O\((%s)([)=])" % "|".join(names), r"O(sessions[].\1\2", text)
        return "".join("    " + line if line.strip() else line for line in text.splitlines(True))

    return ("\noptions:\n  sessions:\n    suboptions:\n" + under(names)
            + "  defaults:\n    suboptions:\n" + under([n for n in names if n not in NOT_DEFAULTABLE]))


def main():
    with open(FRAGMENT, encoding="utf-8") as handle:
        source = handle.read()
    text = render(_strings(source)["DOCUMENTATION"])
    head, _sep, rest = source.partition(START)
    _old, _sep, tail = rest.partition(END)
    with open(FRAGMENT, "w", encoding="utf-8") as handle:
        handle.write(head + START + text.lstrip("\n") + END + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
