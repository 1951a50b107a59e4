# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the disaster-recovery playbooks (failover.yml, failback.yml): the selected pairs, the
failover items and report, and the failback plan, its waits and its report. The logic is in
plugins/plugin_utils/dr.py; each filter is documented in its own <name>.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import dr
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model


def _guard(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (model.PairError, dr.DrError) as exc:
        raise AnsibleFilterError(str(exc))


def dr_pairs(topology, pairs=None, source=None, arrays=None, labels=None):
    """The pairs of `topology` selected by name (`pairs`) or by source array (`source`)."""
    normalised = _guard(model.normalize, topology, arrays)
    labels = tuple(labels or ("pairs", "source"))
    if len(labels) != 2:
        raise AnsibleFilterError("labels: expected two variable names, got %r" % (labels,))
    return _guard(dr.select, normalised, pairs, source, arrays, labels)


def failover_items(selected, array, restored_snapshot=dr.LATEST):
    return _guard(dr.failover_items, selected or [], array, restored_snapshot)


def failover_report(selected, array, result=None, check_mode=False):
    return _guard(dr.failover_report, selected or [], array, result, bool(check_mode))


def failover_summary(records):
    flat = []
    for item in records or []:
        flat.extend(item if isinstance(item, list) else [item])
    return dr.failover_summary(flat)


def failback_plan(selected, readings=None, step=None, snapshot=True, restored_snapshot=dr.LATEST):
    return _guard(dr.failback_plan, selected or [], readings or {}, step, bool(snapshot), restored_snapshot)


def failback_waiting(sessions, expect=None):
    return dr.waiting(sessions or [], expect or [])


def failback_summary(start, end, stopped_after=None):
    return dr.failback_summary(start, end, stopped_after or None)


class FilterModule:
    def filters(self):
        return {
            "dr_pairs": dr_pairs,
            "failover_items": failover_items,
            "failover_report": failover_report,
            "failover_summary": failover_summary,
            "failback_plan": failback_plan,
            "failback_waiting": failback_waiting,
            "failback_summary": failback_summary,
        }
