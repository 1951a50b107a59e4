#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_replication_session_info
short_description: List replication sessions on a Kaminario K2 / Silk array
version_added: 1.0.0
description:
  - Lists the replication sessions of one K2 array, with server-side filters, sorting and projection.
  - Every filter, the sort order and the projection are sent to the array in the query; nothing is
    filtered on the client.
  - Every page is read, so the result is never silently cut at the API's page size of 100. Listing
    N matching sessions costs ceil(N / 100) requests (at least one), plus the name resolution below.
  - With O(health=true), each session also tells whether its replication meets its RPO (its
    recovery point against the array's clock), with a count per status.
  - The options are validated before any request is sent. An unknown field or modifier, a numeric
    modifier on a field that is not numeric, or a value of the wrong type fails with a message that
    lists what is valid.
author:
  - kaminario.k2 maintainers (!UNKNOWN)
extends_documentation_fragment:
  - kaminario.k2.connection
  - kaminario.k2.connection.action_group
attributes:
  check_mode:
    description: Can run in check mode; the module only reads, so the result is the same.
    support: full
  diff_mode:
    description: The module changes nothing, so there is no diff.
    support: N/A
options:
  name:
    description:
      - Return only the session with exactly this name.
      - "A shortcut for O(filters) C({name: ...}); do not give both."
    type: str
  filters:
    description:
      - Conditions the sessions must all meet (they are ANDed), sent to the array as query filters.
      - Each key is a session field, for an exact match, or C(field__modifier).
      - The modifiers are the API's C(contains), C(contains_some), C(neq), C(in), C(m_eq) (a deprecated
        alias of C(in)), C(prefix) and C(regexp) for text fields, and C(gt), C(lt), C(gte), C(lte),
        C(neq), C(in), C(m_eq) for numeric fields (C(common_snapshots_count),
        C(current_snapshot_progress), C(estimated_remaining_time), C(id),
        C(remote_replication_session_id), C(rpo)).
      - The boolean fields C(primary) and C(stopped) take an exact value or C(neq). They are sent
        as C(True) / C(False).
      - C(in) and C(m_eq) take a list, or a comma-separated string. Text items cannot contain a
        comma, because the API separates items with commas. The other modifiers take one value.
        Numeric modifiers take an integer.
      - "A reference field (C(local_volume_group), C(replication_peer_k2array),
        C(replication_peer_volume_group), C(retention_policy), C(external_retention_policy),
        C(latest_replicated_snapshot), C(replication_rpo_history)) takes a name, an id or a ref
        such as C(/volume_groups/3), exact or with C(neq), C(in) or C(m_eq). A name costs one
        request to look up its id; then C(local_volume_group: prod-vg) is sent as
        C(local_volume_group.ref=/volume_groups/3)."
      - A name that matches nothing is an error that names the filter and the name.
    type: dict
  sort:
    description:
      - Sort the sessions by this field, ascending; prefix it with C(-) for descending, as in
        C(-rpo).
      - Reference fields cannot be sorted on.
      - Without it, the array's own order is used.
    type: str
  fields:
    description:
      - Return only these session fields (a server-side projection).
      - With O(resolve_names=true), names are added only for the reference fields listed here.
    type: list
    elements: str
  limit:
    description:
      - Stop after this many sessions. The module fetches no page beyond the one that reaches the
        limit, and RV(truncated) tells whether more sessions matched.
      - Without it, every matching session is returned.
    type: int
  health:
    version_added: 1.1.0
    description:
      - "Add C(health) to each session: is replication meeting its RPO? The array is asked the time
        (its answers' C(Date)), never the controller, because the array stamps the snapshots."
      - "The recovery point is the creation time of the session's C(latest_replicated_snapshot):
        the newest data that has reached the target side. Its age is the array's time now minus
        the recovery point (0 if the array's clock is behind it, with a note)."
      - "The status, the first that applies: V(not_replicating): the session is not in sync
        (suspended, with its reason code, idle or failed over). V(stalled): in sync, but nothing
        moves: a round has been running for more than O(health_stall_factor) times the rpo, or no
        round is running and the recovery point is older than that. V(critical): the recovery point
        is older than O(health_critical_factor) times the rpo, or there is none yet (nothing has
        reached the target: the initial sync still runs). V(late): it is older than
        O(health_tolerance) times the rpo. V(ok): otherwise. Exactly at a limit is not over it."
      - Costs one request per 100 sessions for their latest replicated snapshots and one per 100
        sessions in sync for their running rounds (C(replication/rpo_history)), whatever the
        number of sessions.
      - With O(fields), the fields health needs are read as well, but the sessions returned hold
        only the fields you listed, plus C(health).
    type: bool
    default: false
  health_tolerance:
    version_added: 1.1.0
    description:
      - A recovery point older than this many rpos is V(late). At most O(health_critical_factor).
    type: float
    default: 1.25
  health_critical_factor:
    version_added: 1.1.0
    description:
      - A recovery point older than this many rpos is V(critical).
    type: float
    default: 2.0
  health_stall_factor:
    version_added: 1.1.0
    description:
      - A round running for longer than this many rpos, or no round running while the recovery
        point is older than this many rpos, is V(stalled).
    type: float
    default: 2.0
  resolve_names:
    description:
      - Add the name of every referenced object to each session, as C(<field>_name), for example
        C(local_volume_group_name). A reference that is null, or whose object no longer exists,
        gets V(null).
      - The names are read with one list request per referenced resource type, for all sessions
        together (C(id__in)). A type that has more than 100 distinct ids takes one request per
        100 ids. Retention policies and external retention policies share their requests.
      - C(replication_rpo_history) has no name and is not resolved.
    type: bool
    default: false
  names:
    description:
      - Return only the sessions with exactly these names (those that exist; RV(missing) lists the
        others), in this order.
      - Read with one list request per 100 names, fewer names a request when they are long (the
        request line stays under about 4 KB), whatever their number. A name that holds a comma is
        read on its own.
      - Cannot be combined with O(name), O(filters), O(sort) or O(limit).
    type: list
    elements: str
    version_added: 1.1.0
  wait_for:
    description:
      - Read the sessions named here until each shows what its item asks for, or O(wait_timeout)
        seconds have passed (then the task fails naming each session that does not, and what it
        shows). Each round reads only the sessions still waited for, in batches as O(names).
      - For the side of a pair that follows the other, after a change on the other array.
      - Cannot be combined with O(name), O(filters), O(sort) or O(limit); O(names) adds sessions
        that are read once the wait is over.
    type: list
    elements: dict
    version_added: 1.1.0
    suboptions:
      name:
        description: The session's name.
        type: str
        required: true
      equal:
        description:
          - "Fields the session must show, such as C({state: in_sync, current_role: target})."
          - C(current_role) is worked out from C(primary) where the array does not show it. Numbers
            compare equal to their strings; references compare by ref.
        type: dict
      differ:
        description:
          - "Fields whose value the session must no longer show, such as
            C({latest_replicated_snapshot: /snapshots/7}) (a newer snapshot has arrived)."
        type: dict
      absent:
        description: Wait until the session no longer exists (then give no O(wait_for[].equal) or O(wait_for[].differ)).
        type: bool
        default: false
  wait_timeout:
    description: How many seconds O(wait_for) may wait, for all its sessions together.
    type: int
    default: 600
    version_added: 1.1.0
notes:
  - To count the sessions that match without reading them all, use O(limit=1) and read RV(total).
seealso:
  - module: kaminario.k2.k2_replication_session
"""

EXAMPLES = r"""
# The first task gives the connection options; the others take them from the K2_HOST, K2_USERNAME,
# K2_PASSWORD (and K2_CA_PATH) environment variables, or set them once for the play with
# module_defaults: {group/kaminario.k2.k2: {host: ..., username: ..., password: ...}}.
- name: List every replication session (all pages)
  kaminario.k2.k2_replication_session_info:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
  register: all_sessions

- name: Show how many sessions the array has
  ansible.builtin.debug:
    msg: "{{ all_sessions.total }} sessions"

- name: Read one session by name
  kaminario.k2.k2_replication_session_info:
    name: prod-db-1
  register: one

- name: Sessions of a volume group (given by name), in sync, with an RPO over 5 minutes, newest first
  kaminario.k2.k2_replication_session_info:
    filters:
      local_volume_group: prod-vg
      state: in_sync
      rpo__gt: 300
    sort: -id
  register: slow_rpo

- name: Sessions whose state is one of a list and whose name starts with prod-
  kaminario.k2.k2_replication_session_info:
    filters:
      state__in: [suspended, idle]
      name__prefix: prod-
  register: not_replicating

- name: Drift report, names of the referenced objects included, few fields
  kaminario.k2.k2_replication_session_info:
    fields: [name, state, rpo, local_volume_group, replication_peer_k2array]
    resolve_names: true
  register: report

- name: Print one line per session
  ansible.builtin.debug:
    msg: >-
      {{ item.name }}: {{ item.state }}, RPO {{ item.rpo }} s, group {{ item.local_volume_group_name }},
      peer {{ item.replication_peer_k2array_name }}
  loop: "{{ report.sessions }}"
  loop_control:
    label: "{{ item.name }}"

- name: Is replication meeting its RPO? Health of every session, and the counts per status
  kaminario.k2.k2_replication_session_info:
    health: true
    fields: [name, state, rpo]
  register: rpo_report

- name: Print the sessions that are not ok
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.health.status }}: {{ item.health.reason }}"
  loop: "{{ rpo_report.sessions | rejectattr('health.status', 'equalto', 'ok') | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: The first 10 sessions by name; truncated tells whether there are more
  kaminario.k2.k2_replication_session_info:
    sort: name
    limit: 10
  register: first_ten
"""

RETURN = r"""
sessions:
  description:
    - The matching sessions, in the order the array returned them, as the API returns them (only
      the projected fields when O(fields) is set).
    - With O(resolve_names=true), C(<field>_name) is added for each nameable reference field.
    - "With O(health=true), C(health) is added: C(status) (V(ok), V(late), V(critical), V(stalled),
      V(not_replicating)), C(reason) (one sentence), C(age) (seconds, or null without a recovery
      point), C(rpo), C(ratio) (age / rpo), C(recovery_point) and C(now) (epoch seconds, the
      array's clock), C(generation_number) of the recovery point, C(transfer) (C(in_progress),
      C(snapshot), C(progress), C(estimated_remaining_time), C(round_start), C(round_age)),
      C(thresholds) (the factors and the ages in seconds they mean for this rpo) and C(notes)."
  returned: always
  type: list
  elements: dict
  sample:
    - id: 12
      name: prod-db-1
      state: in_sync
      current_role: source
      primary: true
      stopped: false
      rpo: 300
      local_volume_group: {ref: /volume_groups/3}
      local_volume_group_name: prod-vg
      replication_peer_k2array: {ref: /replication/peer_k2arrays/1}
      replication_peer_k2array_name: array-b
      replication_peer_volume_group: {ref: /replication/peer_volume_groups/4}
      replication_peer_volume_group_name: prod-vg
      retention_policy: {ref: /retention_policies/5}
      retention_policy_name: Best_Effort_Retention
      external_retention_policy: {ref: /retention_policies/6}
      external_retention_policy_name: Replication_Retention
      latest_replicated_snapshot: {ref: /snapshots/428}
      latest_replicated_snapshot_name: prod-vg-repl-428
      replication_rpo_history: {ref: /replication/rpo_history/12}
      remote_replication_session_id: 7
      remote_replication_session_name: remote_prod-db-1
      common_snapshots_count: 4
      current_snapshot: null
      current_snapshot_progress: 0
      estimated_remaining_time: null
      next_snapshot: null
      restored_snapshot: null
      suspend_reason: ""
      suspend_reason_code: none
      target_exposure: unmapped
      health:
        status: late
        reason: "Late: the recovery point is 420 s old, over 1.25 x rpo (375 s)."
        age: 420
        rpo: 300
        ratio: 1.4
        recovery_point: 1796465580
        generation_number: 428
        now: 1796466000
        transfer:
          in_progress: true
          snapshot: "prod-vg:snap_429"
          progress: 40
          estimated_remaining_time: 95
          round_start: 1796465880
          round_age: 120
        thresholds: {tolerance: 1.25, critical_factor: 2.0, stall_factor: 2.0, late_after: 375,
                     critical_after: 600, stalled_after: 600}
        notes: []
health_summary:
  version_added: 1.1.0
  description:
    - With O(health=true), how many of the returned sessions have each status (every status is
      listed, zeros included).
  returned: when O(health=true)
  type: dict
  sample: {ok: 41, late: 2, critical: 1, stalled: 0, not_replicating: 3}
total:
  description:
    - How many sessions match, as the array counts them (the last count it reported while paging).
    - Can be larger than the length of RV(sessions) when O(limit) cut the list.
  returned: always
  type: int
  sample: 250
truncated:
  description: True only when O(limit) stopped the listing before every matching session was read.
  returned: always
  type: bool
  sample: false
missing:
  description: The names of O(names) and O(wait_for) that no session has.
  returned: when O(names) or O(wait_for) is set
  type: list
  elements: str
  sample: [remote_old-app]
unmet:
  description:
    - The items of O(wait_for) that the sessions did not meet when O(wait_timeout) ran out, each with
      C(found), what its session showed (null when it does not exist).
  returned: when O(wait_for) is set
  type: list
  elements: dict
  sample: [{name: remote_prod-db-1, equal: {state: in_sync}, differ: {}, absent: false, found: {state: suspended}}]
"""

import dataclasses

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import (
    add_names,
    build_query,
    name_lookups,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import SESSIONS_PATH

OPTIONS = dict(
    name=dict(type="str"),
    filters=dict(type="dict"),
    sort=dict(type="str"),
    fields=dict(type="list", elements="str"),
    limit=dict(type="int"),
    resolve_names=dict(type="bool", default=False),
    names=dict(type="list", elements="str"),
    wait_for=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        equal=dict(type="dict"),
        differ=dict(type="dict"),
        absent=dict(type="bool", default=False),
    )),
    wait_timeout=dict(type="int", default=600),
    health=dict(type="bool", default=False),
    health_tolerance=dict(type="float", default=1.25),
    health_critical_factor=dict(type="float", default=2.0),
    health_stall_factor=dict(type="float", default=2.0),
)
BY_NAMES = ("names", "wait_for")


# Health and waiting are imported where they are used: a run that asks for neither never compiles
# them (the module's module_utils are compiled on every run, from the AnsiballZ zip).


def health_factors(params):
    """The health_* options, checked (K2OptionError naming the option)."""
    from ansible_collections.kaminario.k2.plugins.module_utils.replication_health import check_thresholds

    return check_thresholds(params["health_tolerance"], params["health_critical_factor"],
                            params["health_stall_factor"], prefix="health_")


def read_fields(params):
    """The fields to read: the user's, plus what health needs (None: every field)."""
    wanted = params["fields"]
    if params["health"] and wanted:
        from ansible_collections.kaminario.k2.plugins.module_utils.session_health import HEALTH_SESSION_FIELDS

        return wanted + [f for f in HEALTH_SESSION_FIELDS if f not in wanted]
    return wanted


def finish(api, sessions, params):
    """The sessions as returned: with health (then trimmed back to the user's fields) and names;
    returns (sessions, the health summary or None)."""
    summary = None
    if params["health"]:
        from ansible_collections.kaminario.k2.plugins.module_utils.replication_health import count_by_status
        from ansible_collections.kaminario.k2.plugins.module_utils.session_health import read_health

        healths = read_health(api, sessions, **health_factors(params))
        if params["fields"]:
            sessions = [dict((k, v) for k, v in s.items() if k in params["fields"]) for s in sessions]
        for session, health in zip(sessions, healths):
            session["health"] = health
        summary = count_by_status(healths)
    if params["resolve_names"]:
        objects_by_path = {}
        for path, lookup in name_lookups(sessions):
            objects_by_path.setdefault(path, []).extend(api.iterate(path, params=lookup))
        add_names(sessions, objects_by_path)
    return sessions, summary


def _result(sessions, summary, **result):
    result.update(changed=False, sessions=sessions)
    if summary is not None:
        result["health_summary"] = summary
    return result


def list_sessions(api, query, params):
    """List the sessions a validated `query` selects; returns the module result."""
    def ref(path, value, option):
        return api.ref(path, value, option)["ref"]

    if params["health"] and query.fields:
        query = dataclasses.replace(query, fields=read_fields(params))
    listed = api.list(SESSIONS_PATH, params=query.params(ref), limit=params["limit"])
    sessions, summary = finish(api, listed.items, params)
    return _result(sessions, summary, total=listed.total, truncated=listed.truncated)


def read_by_names(api, params, expectations):
    """The sessions of `names` and `wait_for` (after the wait), in batches; returns (result,
    failure message or None)."""
    projection = {}
    if params["fields"]:
        # find_by_names addresses what it found by id and name.
        projection["__fields"] = ",".join(dict.fromkeys(["id", "name"] + read_fields(params)))
    from ansible_collections.kaminario.k2.plugins.module_utils.session_wait import timeout_message, wait_for

    waited, left = {}, []
    if expectations:
        waited, left = wait_for(api, expectations, params["wait_timeout"], params=projection)
    names = params["names"] or []
    others = [n for n in names if n not in waited]
    found = dict(waited)
    found.update(api.find_by_names(SESSIONS_PATH, others, params=projection) if others else {})
    order = list(dict.fromkeys(names + [w["name"] for w in expectations]))
    sessions, summary = finish(api, [found[n] for n in order if found.get(n) is not None], params)
    result = _result(sessions, summary, total=len(sessions), truncated=False,
                     missing=[n for n in order if found.get(n) is None])
    if params["wait_for"] is not None:
        result["unmet"] = left
    return result, timeout_message(left, params["wait_timeout"]) if left else None


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**OPTIONS), supports_check_mode=True,
                           mutually_exclusive=[(a, b) for a in BY_NAMES for b in ("name", "filters", "sort", "limit")])
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    with handle_errors(module):
        # Validate everything before the first request.
        query = build_query(name=params["name"], filters=params["filters"], sort=params["sort"],
                            fields=params["fields"], limit=params["limit"])
        if params["health"]:
            health_factors(params)
        if not any(params[o] is not None for o in BY_NAMES):
            module.exit_json(**list_sessions(connect(module), query, params))
        from ansible_collections.kaminario.k2.plugins.module_utils.session_wait import WaitError, check

        try:
            expectations = check(params["wait_for"])
        except WaitError as exc:
            module.fail_json(msg=str(exc))
        result, failure = read_by_names(connect(module), params, expectations)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
