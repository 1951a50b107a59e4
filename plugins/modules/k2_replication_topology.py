#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_replication_topology
short_description: Converge every declared replication session of a Kaminario K2 / Silk array in one run
version_added: 1.0.0
description:
  - "Takes the replication sessions declared for the array the task talks to (O(sessions), with
    O(defaults) for what they share) and converges them all in one module run, the way
    M(kaminario.k2.k2_replication_session) converges one: plan first, then apply; only what an item
    sets is desired state; the same normalisation, refusals and safe transitions."
  - "Every value that can be checked without the array is checked for every item before the first
    request: one bad item fails the task and nothing is done. Unknown keys, wrong types and choices
    are reported by the argument spec, naming the item's option."
  - "Requests are batched: the declared sessions are read with one list request per 100 names, every
    reference given by name is looked up once per resource type and 100 names (the two retention
    policies share one lookup), and ids or refs cost nothing. A run that changes nothing over N
    sessions, references as ids or refs, costs exactly ceil(N/100) requests."
  - "Writes: each session's actions are sent in order, and every session that needs a transition gets
    it before the first poll; then one list request per polling round reads every session still in
    transition."
  - "A session that cannot be converged (a field fixed at creation that differs, a transition the
    array does not allow, a refusal as below, an array error that persists after the retries) is
    reported as failed and the others are still converged; the task then fails, naming how many
    sessions failed or were reversed and the first few with the reason. Check mode fails the same way,
    with the same messages, so a nightly check job sees it."
  - "Direction: items are taken as the source side of their pair (O(sessions[].current_role=source))
    unless they say otherwise. After a failover and a reverse, the session reads
    C(current_role=target): it is then left untouched, reported as V(reversed), and the task fails at
    the end."
  - "O(prune) also removes the source-side sessions on this array whose name starts with
    O(prune_prefix) and that no item declares, along the same planned path as
    O(sessions[].state=absent). A target-side session is never pruned."
author:
  - kaminario.k2 maintainers (!UNKNOWN)
extends_documentation_fragment:
  - kaminario.k2.connection
  - kaminario.k2.connection.action_group
  - kaminario.k2.session.topology
  - kaminario.k2.session.wait
attributes:
  check_mode:
    description:
      - Sends no write. Each entry of RV(sessions) holds the actions that would be done and the
        predicted session; refusals fail the task as in a real run.
    support: full
  diff_mode:
    description:
      - Each entry of RV(sessions) holds the session before and after (predicted in check mode),
        references by name; RV(diff) holds those that change. The names cost at most one more
        request per resource type and 100 objects.
    support: full
options:
  sessions:
    description:
      - The sessions declared for this array, one item per session, each with the options of
        M(kaminario.k2.k2_replication_session) (below).
      - Names (and new names) must be unique across the items.
    type: list
    elements: dict
    required: true
  defaults:
    description:
      - Session options applied to every item that does not set them, for example the peer array,
        the rpo and the policies, written once.
      - Every option of an item but O(sessions[].name), O(sessions[].new_name) and O(sessions[].state).
      - An item with O(sessions[].state=absent) takes only O(defaults.current_role) from here.
    type: dict
  prune:
    description:
      - Also remove the source-side sessions on this array that no item declares and whose name starts
        with O(prune_prefix). Each is stopped along the allowed transitions, then deleted, and reported
        with status V(pruned).
      - Needs O(prune_prefix), so that sessions managed by other means are never touched.
    type: bool
    default: false
  prune_prefix:
    description:
      - The name prefix of the sessions O(prune) may remove (a plain prefix, matched by the array's
        C(name__prefix) filter and checked again by the module). It must not be empty.
      - Only with O(prune=true).
    type: str
  return_sessions:
    description:
      - Which entries of RV(sessions) carry the C(session) itself. V(changed) - those that changed (or
        would, in check mode), failed, were reversed or pruned, which is what a report or a next step
        reads. V(all) - every one, also the sessions that needed nothing (on a large array, most of the
        result, which Ansible carries at a cost per byte).
    type: str
    choices: [changed, all]
    default: changed
    version_added: 1.1.0
notes:
  - The module talks to one array. A pair has a session on each array; the role
    C(kaminario.k2.replication_topology) checks the target sides and removes pairs in the safe order.
  - Failover and reverse are deliberate and are only sent when an item's O(sessions[].replication_state)
    asks for them; on the DR array, items declared O(sessions[].current_role=target) fail sessions over.
seealso:
  - module: kaminario.k2.k2_replication_session
  - module: kaminario.k2.k2_replication_session_info
"""

EXAMPLES = r"""
- name: Converge the sessions this array is the source of (one module run)
  kaminario.k2.k2_replication_topology:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    defaults:
      replication_peer_k2array: array-b
      rpo: 300
      retention_policy: Best_Effort_Retention
      external_retention_policy: Replication_Retention
      replication_state: in_sync
    sessions:
      - name: prod-db
        local_volume_group: prod-vg
      - name: prod-web
        local_volume_group: web-vg
        rpo: 900
      - name: old-app
        state: absent
  register: topology

- name: Show how many sessions changed
  ansible.builtin.debug:
    msg: "{{ topology.summary }}"

- name: The same, and remove the undeclared sessions whose name starts with prod-
  kaminario.k2.k2_replication_topology:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    defaults:
      replication_peer_k2array: array-b
      rpo: 300
      replication_state: in_sync
    sessions:
      - name: prod-db
        local_volume_group: prod-vg
      - name: prod-web
        local_volume_group: web-vg
        rpo: 900
    prune: true
    prune_prefix: prod-

- name: On the DR array, fail over the target sides of both pairs (works while the source is down)
  kaminario.k2.k2_replication_topology:
    host: "{{ k2_dr_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    defaults:
      current_role: target
      replication_state: failed_over
      restored_snapshot: latest
    sessions:
      - name: remote_prod-db
      - name: remote_prod-web
"""

RETURN = r"""
sessions:
  description:
    - One entry per declared session, in the order declared, then one per pruned session.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The declared name.
      type: str
      returned: always
      sample: prod-db
    status:
      description:
        - V(ok) (nothing to do), V(changed), V(pruned) (removed by O(prune)), V(reversed) (on the
          other side of its pair than declared; untouched) or V(failed).
      type: str
      returned: always
      sample: changed
    actions:
      description:
        - The writes done for this session, in order; in check mode, the writes that would be done.
          Each has C(name), C(method), C(path) and C(body), as in M(kaminario.k2.k2_replication_session).
      type: list
      elements: dict
      returned: always
      sample:
        - {name: update, method: PATCH, path: /replication/sessions/12, body: {rpo: 900}}
    session:
      description:
        - The session as the API shows it after the run; in check mode, the predicted one. Empty when
          it does not exist. For a failed or reversed session, as it was read.
        - Only for the sessions that changed (or would), failed, were reversed or pruned, unless
          O(return_sessions=all).
      type: dict
      returned: when the status is not V(ok), or O(return_sessions=all)
      sample: {id: 12, name: prod-db, state: in_sync, current_role: source, rpo: 900}
    msg:
      description: Why the session was not converged.
      type: str
      returned: when status is failed or reversed
      sample: "rpo of replication session 'prod-db' ..."
    refused:
      description:
        - True when the session was refused before any write to it (the plan could not be made, or a
          name did not resolve), false when the array failed while it was being changed.
      type: bool
      returned: when status is failed or reversed
      sample: true
    diff:
      description: The managed fields, side and state before and after, references by name.
      type: dict
      returned: when diff mode is on and the session changes
      sample:
        before: {name: prod-db, rpo: 300, local_volume_group: prod-vg, current_role: source, state: in_sync}
        after: {name: prod-db, rpo: 900, local_volume_group: prod-vg, current_role: source, state: in_sync}
summary:
  description: How many sessions ended in each status (every status is counted, zeros included).
  returned: always
  type: dict
  sample: {ok: 18, changed: 1, pruned: 0, reversed: 0, failed: 1}
diff:
  description: The sessions that change, by name, before and after (in check mode, predicted).
  returned: when diff mode is on
  type: dict
  sample:
    before: {prod-db: {name: prod-db, rpo: 300}}
    after: {prod-db: {name: prod-db, rpo: 900}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
    mask_credentials_in_host,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    DEFAULTABLE_OPTIONS,
    SESSION_OPTIONS,
    WAIT_OPTIONS,
)
from ansible_collections.kaminario.k2.plugins.module_utils.topology import converge, declared_sessions

OPTIONS = dict(
    sessions=dict(type="list", elements="dict", required=True, options=SESSION_OPTIONS),
    defaults=dict(type="dict", options=dict((o, SESSION_OPTIONS[o]) for o in DEFAULTABLE_OPTIONS)),
    prune=dict(type="bool", default=False),
    prune_prefix=dict(type="str"),
    return_sessions=dict(type="str", choices=["changed", "all"], default="changed"),
    **WAIT_OPTIONS
)


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**OPTIONS), supports_check_mode=True,
                           required_if=[("prune", True, ["prune_prefix"])])
    mask_credentials_in_host(module)  # before the first result that could show it
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    prefix = params["prune_prefix"]
    if prefix is not None and not params["prune"]:
        module.fail_json(msg="prune_prefix is set but prune is false: set prune=true to remove the undeclared "
                             "sessions it matches, or leave prune_prefix out")
    if params["prune"] and not prefix.strip():
        module.fail_json(msg="prune_prefix must not be empty: it limits prune to the sessions it names")
    with handle_errors(module):
        declared = declared_sessions(params["sessions"], params["defaults"])
        result, failure = converge(connect(module), declared, check_mode=module.check_mode, diff=module._diff,
                                   prune_prefix=prefix if params["prune"] else None, wait=params["wait"],
                                   wait_timeout=params["wait_timeout"], all_sessions=params["return_sessions"] == "all")
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
