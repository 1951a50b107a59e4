# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the cross-array planner (role kaminario.k2.replication_topology, and the drift report
through it): the role's options, what to read on each array, the plan of every pair, and the run
as its stages report back. The logic is in plugins/plugin_utils/pair_planner.py; each filter is
documented in its own <name>.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import pair_planner as planner
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.untrusted import untrusted


def _guard(function, *args, **kwargs):
    try:
        return untrusted(function(*args, **kwargs))
    except (model.PairError, planner.PlanError) as exc:
        raise AnsibleFilterError(str(exc))


def topology_options(values, labels=None):
    """The role's options checked and converted (strings from -e included)."""
    if not isinstance(values, dict):
        raise AnsibleFilterError("topology_options: expected a dictionary of options")
    return _guard(planner.options, values, labels or {})


def topology_reads(topology, arrays, variable="k2_topology"):
    """{array: {names, check}}: what to read on every array, the declaration checked once."""
    arrays = list(arrays or [])
    _guard(model.normalize, topology, arrays, variable)
    return dict((array, _guard(planner.read_plan, topology, array, arrays, variable)) for array in arrays)


def topology_plan(topology, reads, arrays, prune=False, allow_partial=False, variable="k2_topology"):
    """The plan of every pair from what every array showed."""
    return _guard(planner.plan, topology, reads, arrays, prune=bool(prune), allow_partial=bool(allow_partial),
                  variable=variable)


def topology_advance(run, stage, results):
    """The run after one of its stages, from the stage's results on each array."""
    if not isinstance(run, dict) or "steps" not in run:
        raise AnsibleFilterError("topology_advance: expected the result of kaminario.k2.topology_plan")
    return _guard(planner.advance, run, stage, results or {})


def topology_summary(run, check_mode=False):
    """Per pair what the run did, the counts and the lines to print."""
    if not isinstance(run, dict) or "steps" not in run:
        raise AnsibleFilterError("topology_summary: expected the result of kaminario.k2.topology_plan")
    return untrusted(planner.summary(run, check_mode=bool(check_mode)))


class FilterModule:
    def filters(self):
        return {
            "topology_options": topology_options,
            "topology_reads": topology_reads,
            "topology_plan": topology_plan,
            "topology_advance": topology_advance,
            "topology_summary": topology_summary,
        }
