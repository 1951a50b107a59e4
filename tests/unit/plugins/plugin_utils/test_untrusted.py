# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the filters hand back is never a template, on the core this runs on: on ansible-core 2.19
and newer the result is handed back as it is (a string a filter builds is not trusted as a
template, and nothing is copied); on older cores every string in it is marked unsafe. units runs
the first case, units-oldest the second."""

from __future__ import annotations

from ansible.release import __version__

from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted

CORE = tuple(int(p) for p in __version__.split(".")[:2])


def test_a_filter_result_is_never_a_template():
    value = {"name": "vg{{ lookup('pipe', 'id') }}", "names": ["{{ x }}", "plain"], "rpo": 300}
    found = untrusted(value)
    assert found == value
    strings = [found["name"]] + list(found["names"])
    if CORE >= (2, 19):
        from ansible.template import is_trusted_as_template

        assert found is value
        assert not any(is_trusted_as_template(s) for s in strings)
    else:
        from ansible.utils.unsafe_proxy import AnsibleUnsafeText

        assert all(isinstance(s, AnsibleUnsafeText) for s in strings)
