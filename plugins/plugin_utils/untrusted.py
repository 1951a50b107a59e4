# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's filters hand back to Ansible is data, never a template: a session named
"vg{{ lookup('pipe', ...) }}" must stay that name, not run a command on the controller.

ansible-core 2.19 and newer template only strings trusted as templates (from playbooks and vars
files), and a string a filter builds is not. Older cores template any plain string held by a fact
(set_fact stores filter results unwrapped) when that fact is used, unless the string is marked
unsafe: there, every string of a filter's result is marked."""

from __future__ import annotations

from ansible.release import __version__ as ANSIBLE_VERSION

_TAGGED = tuple(int(p) for p in ANSIBLE_VERSION.split(".")[:2]) >= (2, 19)

if not _TAGGED:  # pragma: no cover - exercised by the oldest-core test pass
    from ansible.utils.unsafe_proxy import wrap_var


def untrusted(value):
    """`value` with every string in it marked so that Ansible never templates it."""
    if _TAGGED:
        return value
    return wrap_var(value)
