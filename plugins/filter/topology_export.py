# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import export


def topology_export(reads, hosts, shared_defaults=True):
    """The k2_topology declaration of the pairs the arrays hold today (see the documentation)."""
    try:
        return export.topology_export(reads, hosts, shared_defaults=shared_defaults)
    except export.ExportError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"topology_export": topology_export}
