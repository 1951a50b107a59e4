# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import drift
from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted


def drift_report(topology, reads, arrays, undeclared_is_drift=True, generated_at=None, check_mode=None):
    """One status per pair of the `k2_topology` declaration (see the documentation)."""
    try:
        return untrusted(drift.drift_report(topology, reads, arrays, undeclared_is_drift=undeclared_is_drift,
                                            generated_at=generated_at, check_mode=check_mode))
    except drift.DriftError as exc:
        raise AnsibleFilterError(str(exc))


def drift_report_markdown(report):
    """The report of drift_report as a Markdown document."""
    if not isinstance(report, dict) or "summary" not in report or "pairs" not in report:
        raise AnsibleFilterError("drift_report_markdown: expected the result of kaminario.k2.drift_report")
    return untrusted(drift.markdown(report))


class FilterModule:
    def filters(self):
        return {"drift_report": drift_report, "drift_report_markdown": drift_report_markdown}
