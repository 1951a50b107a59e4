# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the disaster-recovery playbooks (failover.yml, failback.yml): the selected pairs, the
arrays they need in the run, the failover plan and report, and the failback plan and report. The
logic is in plugins/plugin_utils/dr.py; each filter is documented in its own <name>.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import dr
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted


def _guard(function, *args, **kwargs):
    try:
        return untrusted(function(*args, **kwargs))
    except (model.PairError, dr.DrError) as exc:
        raise AnsibleFilterError(str(exc))


def dr_pairs(topology, pairs=None, source=None, arrays=None, labels=None):
    """The pairs of `topology` selected by name (`pairs`) or by source array (`source`)."""
    normalised = _guard(model.normalize, topology, arrays)
    labels = tuple(labels or ("pairs", "source"))
    if len(labels) != 2:
        raise AnsibleFilterError("labels: expected two variable names, got %r" % (labels,))
    return _guard(dr.select, normalised, pairs, source, arrays, labels)


def dr_needed_arrays(selected, sides, play_hosts):
    """True, or an error naming the arrays the selected pairs need that are not in the run."""
    return _guard(dr.needed_arrays, selected or [], tuple(sides or ()), list(play_hosts or []))


def failover_plan(selected, readings=None, restored_snapshot=dr.LATEST):
    return _guard(dr.failover_plan, selected or [], readings or {}, restored_snapshot)


def failover_report(plan, results=None, check_mode=False):
    if not isinstance(plan, dict) or "pairs" not in plan:
        raise AnsibleFilterError("failover_report: expected the result of kaminario.k2.failover_plan")
    return _guard(dr.failover_report, plan, results or {}, bool(check_mode))


def failover_summary(records):
    return _guard(dr.failover_summary, list(records or []))


def failback_plan(selected, readings=None, step=None, marks=None):
    return _guard(dr.failback_plan, selected or [], readings or {}, step, marks or {})


def failback_summary(start, end, stopped_after=None):
    return _guard(dr.failback_summary, start, end, stopped_after or None)


class FilterModule:
    def filters(self):
        return {
            "dr_pairs": dr_pairs,
            "dr_needed_arrays": dr_needed_arrays,
            "failover_plan": failover_plan,
            "failover_report": failover_report,
            "failover_summary": failover_summary,
            "failback_plan": failback_plan,
            "failback_summary": failback_summary,
        }
