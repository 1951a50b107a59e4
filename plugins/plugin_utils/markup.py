# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values read from an array shown in reports: as data, never as markup. A session named
"x\\n# No drift found" must not add a heading to a Markdown report, nor "<script>" run in an HTML
one. Pure: no I/O, no Ansible import."""

from __future__ import annotations

import html
import re

# Characters that end or break a line somewhere (CommonMark, browsers, editors), and the other
# control characters: shown as their escape (\n, \u2028, ...) so a reader sees they are there.
_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
# ASCII punctuation that CommonMark lets a backslash escape, all of it escaped wherever it is; &, <
# and > become entities instead (no renderer reads an entity as a tag).
_PUNCTUATION = re.compile(r"""([!"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])""")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def visible(value):
    """str(value) with line breaks and control characters written as escapes."""
    text = "none" if value is None else str(value)
    return _BREAKS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def markdown_text(value):
    """`value` as literal Markdown text: every punctuation character backslash-escaped (so no
    emphasis, link, heading, list, table cell end, code span or HTML), line breaks shown as escapes,
    and leading or trailing spaces kept (as non-breaking spaces, which Markdown does not trim)."""
    text = _PUNCTUATION.sub(r"\\\1", visible(value))
    text = re.sub("[&<>]", lambda m: _ENTITIES[m.group(0)], text)
    stripped = text.strip(" ")
    if stripped != text:
        lead = len(text) - len(text.lstrip(" "))
        trail = len(text) - len(stripped) - lead  # (a name of spaces only: all of them lead)
        text = "&nbsp;" * lead + stripped + "&nbsp;" * trail
    return text


def html_text(value):
    """`value` as HTML text (also safe in an attribute): escaped, line breaks shown as escapes."""
    return html.escape(visible(value), quote=True)
