# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k2_replication_topology around the engine: the declared sessions from the items and their
defaults (checked before any request), the run, and the report (one entry per session, a count per
status, and the message that fails the task when a session could not be converged)."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import (
    FAILED,
    OK,
    REVERSED,
    STATUSES,
    Job,
    SessionApplier,
    action_result,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import PlanError, validate
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    DEFAULTABLE_OPTIONS,
    SOURCE,
    desired_state,
)

# How many sessions the failure message names (the rest are counted).
NAMED_IN_MESSAGE = 5


class TopologyError(K2Error):
    """The declaration is unusable; raised before any request."""


def declared_sessions(items, defaults=None):
    """The desired state of each item: its own options, then `defaults` for those it leaves out
    (only current_role for an item with state=absent); taken as source-side unless it declares
    current_role. Every value that can be checked without the
    array is checked here, for every item, before the first request."""
    defaults = dict((k, v) for k, v in (defaults or {}).items() if k in DEFAULTABLE_OPTIONS and v is not None)
    declared, problems, seen = [], [], {}
    for index, item in enumerate(items):
        own = desired_state(item)
        # A session to remove needs nothing but its side from the defaults (a default
        # replication_state, say, means nothing for it).
        shared = defaults if own.get("state") != "absent" else \
            dict((k, v) for k, v in defaults.items() if k == "current_role")
        desired = dict(shared)
        desired.update(own)
        desired.setdefault("current_role", SOURCE)
        label = "sessions[%d] (%s)" % (index, desired.get("name"))
        try:
            validate(desired)
        except PlanError as exc:
            problems.append("%s: %s" % (label, exc))
        for name in dict.fromkeys([desired.get("name"), desired.get("new_name")]):
            if name is None:
                continue
            if name in seen:
                problems.append("%s: the name %r is declared already by sessions[%d]" % (label, name, seen[name]))
            seen[name] = index
        declared.append(desired)
    if problems:
        raise TopologyError("%d of %d declared sessions are invalid, nothing was done: %s"
                            % (len(problems), len(items), "; ".join(problems)))
    return declared


def converge(api, declared, check_mode, diff, prune_prefix, wait, wait_timeout, sleep=None, clock=None,
             all_sessions=False):
    """Converge the declared sessions on the array behind `api`; returns (result, failure message or None)."""
    applier = SessionApplier(api, wait=wait, wait_timeout=wait_timeout, sleep=sleep, clock=clock)
    jobs = applier.run([Job(d) for d in declared], check_mode=check_mode, diff=diff, prune_prefix=prune_prefix)
    return report(jobs, diff, all_sessions)


def _entry(job, diff, all_sessions):
    """A session's entry: its name, status and actions; the session itself when something happened
    to it (changed, failed, reversed, pruned) or `all_sessions` asks for it; its diff when it changes.
    A no-op session's copy is most of a large run's result, and Ansible pays for every byte of it."""
    entry = dict(name=job.name, status=job.status, actions=[action_result(a) for a in job.done])
    if all_sessions or job.status != OK:
        entry["session"] = (job.session if job.error is None else job.actual) or {}
    if job.error is not None:
        entry["msg"] = str(job.error)
        entry["refused"] = job.refused
    if diff and job.before != job.after:
        entry["diff"] = dict(before=job.before, after=job.after)
    return entry


def report(jobs, diff, all_sessions=False):
    """The module result for a run, and the message to fail it with (None when every session converged)."""
    entries = [_entry(job, diff, all_sessions) for job in jobs]
    summary = dict((status, 0) for status in STATUSES)
    for entry in entries:
        summary[entry["status"]] += 1
    result = dict(changed=any(entry["actions"] for entry in entries), sessions=entries, summary=summary)
    if diff:
        changed = [job for job in jobs if job.before != job.after]
        result["diff"] = dict(before=dict((job.name, job.before) for job in changed),
                              after=dict((job.name, job.after) for job in changed))
    bad = [entry for entry in entries if entry["status"] in (FAILED, REVERSED)]
    if not bad:
        return result, None
    named = "; ".join("%s (%s): %s" % (e["name"], e["status"], e["msg"]) for e in bad[:NAMED_IN_MESSAGE])
    more = " (and %d more)" % (len(bad) - NAMED_IN_MESSAGE) if len(bad) > NAMED_IN_MESSAGE else ""
    others = len(entries) - len(bad)
    message = "%d of %d sessions were not converged (%d failed, %d reversed): %s%s%s" % (
        len(bad), len(entries), summary[FAILED], summary[REVERSED], named, more,
        "; the other %d were" % others if others else "")
    return result, message
