# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host option's edges (transport.parse_host): IPv6 with and without brackets, several colons,
ports at and past their bounds, labels requests would refuse only when sending."""

from __future__ import annotations

import pytest

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2OptionError
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport, parse_host


@pytest.mark.parametrize("value, netloc", [
    ("::1", "[::1]"),
    ("[::1]", "[::1]"),
    ("[::1]:8443", "[::1]:8443"),
    ("::1:8443", "[::1:8443]"),  # a bare IPv6 address never carries a port: this is the address ::1:8443
    ("fe80::1%eth0", "[fe80::1%eth0]"),
    ("[fe80::1%eth0]:443", "[fe80::1%eth0]:443"),
    ("k2:1", "k2:1"),
    ("k2:65535", "k2:65535"),
    ("[::1]:1", "[::1]:1"),
    ("[::1]:65535", "[::1]:65535"),
    ("k2:0443", "k2:443"),
    ("k2.example.com.", "k2.example.com."),
])
def test_accepted(value, netloc):
    assert parse_host(value) == netloc


def test_the_url_uses_the_bracketed_address():
    assert K2Transport("::1", "u", "p").base_url == "https://[::1]/api/v2"
    assert K2Transport("[::1]:8443", "u", "p").base_url == "https://[::1]:8443/api/v2"


@pytest.mark.parametrize("value, message", [
    ("k2:0", "port out of range 1-65535: 'k2:0'"),
    ("k2:65536", "port out of range 1-65535: 'k2:65536'"),
    ("[::1]:0", "port out of range 1-65535: '[::1]:0'"),
    ("[::1]:65536", "port out of range 1-65535: '[::1]:65536'"),
    ("k2:80:90", "not an IPv6 address: 'k2:80:90'"),
    ("1:2:3", "not an IPv6 address: '1:2:3'"),
    ("[k2]:443", "not an IPv6 address: '[k2]:443'"),
    ("[::1]:", "expected a host name, name:port or [IPv6]:port: '[::1]:'"),
    ("k2:", "expected a host name, name:port or [IPv6]:port: 'k2:'"),
    ("[::1]8443", "expected a host name, name:port or [IPv6]:port: '[::1]8443'"),
    (".k2", "not a host name (an empty label or a wildcard): '.k2'"),
    ("k2..example", "not a host name (an empty label or a wildcard): 'k2..example'"),
    ("*.example", "not a host name (an empty label or a wildcard): '*.example'"),
    ("k2.example..", "not a host name (an empty label or a wildcard): 'k2.example..'"),
    ("   ", "a host name or address is required"),
    (443, "a host name or address is required"),
])
def test_refused_naming_the_option(value, message):
    with pytest.raises(K2OptionError) as info:
        parse_host(value)
    assert str(info.value) == "host: " + message
    assert info.value.details() == {"option": "host"}
