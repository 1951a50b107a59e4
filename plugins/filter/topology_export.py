# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/export_topology.yml: the declaration of the pairs the arrays hold today, and
the text of the file it is written to. The logic is in plugins/plugin_utils/export.py; each filter
is documented in its own <name>.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import export
from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted


def topology_export(reads, hosts, shared_defaults=True):
    """The k2_topology declaration of the pairs the arrays hold today (see the documentation)."""
    try:
        return untrusted(export.topology_export(reads, hosts, shared_defaults=shared_defaults))
    except export.ExportError as exc:
        raise AnsibleFilterError(str(exc))


def topology_export_document(exported, arrays, generated_at=None):
    """The text of the declaration file, every value read from an array tagged !unsafe."""
    if not isinstance(exported, dict) or "k2_topology" not in exported:
        raise AnsibleFilterError("topology_export_document: expected the result of kaminario.k2.topology_export")
    return untrusted(export.export_document(exported, list(arrays or []), generated_at))


class FilterModule:
    def filters(self):
        return {"topology_export": topology_export, "topology_export_document": topology_export_document}
