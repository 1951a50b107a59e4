# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names read from an array, shown in reports as data: Markdown text and HTML text, character by
character where it matters (&, <, >, punctuation, line breaks, spaces at either end)."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import html_text, markdown_text, visible


@pytest.mark.parametrize("value, shown", [
    ("a&b", "a&amp;b"),
    ("<script>", "&lt;script&gt;"),
    ("&lt;", "&amp;lt\\;"),  # an entity in a name is shown as written, not decoded
    ("x_1*[y](z)", "x\\_1\\*\\[y\\]\\(z\\)"),
    ("| cell", "\\| cell"),
    ("x\n# heading", "x\\\\n\\# heading"),
    ("  two before", "&nbsp;&nbsp;two before"),
    ("one after ", "one after&nbsp;"),
    (" both  ", "&nbsp;both&nbsp;&nbsp;"),
    ("in  between", "in  between"),
    ("   ", "&nbsp;&nbsp;&nbsp;"),  # one per space, never counted twice
    ("", ""),
    (None, "none"),
])
def test_markdown_text_shows_the_value_as_written(value, shown):
    assert markdown_text(value) == shown


def test_html_text_escapes_for_text_and_attributes():
    assert html_text('a&b <i>"x"</i> \'y\'\n') == "a&amp;b &lt;i&gt;&quot;x&quot;&lt;/i&gt; &#x27;y&#x27;\\n"


def test_visible_writes_line_breaks_and_control_characters_as_escapes():
    assert visible("a\r\nb\u2028c\x00d\x7f") == "a\\r\\nb\\u2028c\\x00d\\x7f"
    assert visible(7) == "7" and visible(None) == "none"
