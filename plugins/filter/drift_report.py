# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import drift, html_report
from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted


def drift_report(topology, reads, arrays, undeclared_is_drift=True, generated_at=None, check_mode=None,
                 health=False):
    """One status per pair of the `k2_topology` declaration (see the documentation)."""
    try:
        return untrusted(drift.drift_report(topology, reads, arrays, undeclared_is_drift=undeclared_is_drift,
                                            generated_at=generated_at, check_mode=check_mode,
                                            health=_bool(health, "health")))
    except drift.DriftError as exc:
        raise AnsibleFilterError(str(exc))


def _bool(value, option):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", "", "none"):
        return False
    raise AnsibleFilterError("drift_report: %s must be true or false, got %r" % (option, value))


def _report(report, name):
    if not isinstance(report, dict) or "summary" not in report or "pairs" not in report or "arrays" not in report:
        raise AnsibleFilterError("%s: expected the result of kaminario.k2.drift_report" % name)
    return report


def drift_report_markdown(report):
    """The report of drift_report as a Markdown document."""
    return untrusted(drift.markdown(_report(report, "drift_report_markdown")))


def drift_report_html(report):
    """The report of drift_report as one self-contained HTML page."""
    return untrusted(html_report.render(_report(report, "drift_report_html")))


class FilterModule:
    def filters(self):
        return {"drift_report": drift_report, "drift_report_markdown": drift_report_markdown,
                "drift_report_html": drift_report_html}
