#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_replication_session
short_description: Manage a replication session on a Kaminario K2 / Silk array
version_added: 1.0.0
description:
  - Creates, updates, starts, suspends, resumes, stops, fails over, reverses and deletes one
    replication session on the K2 array the task talks to.
  - "The module plans, then applies: it reads the session (one request by name), computes the
    ordered list of writes that takes it to the state the task declares, and sends them, unless in
    check mode. The plan is returned as RV(actions), so C(--check) is a drift report."
  - Only the options the task sets are desired state. An option left out is never compared nor
    changed. Values are normalised before they are compared (a number sent as a string, a
    reference given as a name, an id or a ref, the spelling of O(target_exposure)), so a second run
    is a no-op.
  - An existing session is changed with one PATCH that carries only the writable fields that
    differ (O(rpo), O(retention_policy), O(external_retention_policy), O(target_exposure)).
  - The other fields are fixed at creation. When one the task sets differs from the session, the
    module fails before any write and names the field, the current and the wanted value. It never
    deletes and recreates a session; to replace one, remove it with O(state=absent) and create it
    again.
  - "O(replication_state) moves the session along the transitions the array allows, waiting for each
    to land: for example V(in_sync) to V(idle) is a suspend then a stop. A state that cannot be
    reached from the current one (for example V(idle) to V(failed_over)) fails before any write,
    naming both states. Failover and reverse are never taken as steps on the way to another state."
  - "A write whose outcome is unknown (HTTP 502, or a connection lost after the request was sent) is
    never repeated blindly: the module re-reads the session and continues from what is really there,
    so it never creates a session twice nor sends a change the array already took."
  - "Requests: a run that changes nothing costs one request when references are given as ids or
    refs, and one more per resource type named (the two retention policies share one lookup)."
  - This module is the one-session case of the engine of P(kaminario.k2.k2_replication_topology#module),
    which converges every declared session of an array in one run.
author:
  - kaminario.k2 maintainers (!UNKNOWN)
extends_documentation_fragment:
  - kaminario.k2.connection
  - kaminario.k2.connection.action_group
  - kaminario.k2.session
  - kaminario.k2.session.wait
attributes:
  check_mode:
    description:
      - Sends no write. RV(actions) lists what would be done, and RV(session) is the predicted session.
    support: full
  diff_mode:
    description:
      - Returns the managed fields, the side and the state of the session before and after the run
        (in check mode, the predicted after), references by name. The names cost at most one more
        request per resource type.
    support: full
notes:
  - Failover and reverse are deliberate and are only sent when O(replication_state) asks for them.
  - A transition on the source array is mirrored by the peer's session after a delay. The module waits
    only for the session it manages.
  - "References given by name are looked up only when the plan needs them: never for O(state=absent),
    and for O(restored_snapshot) only when a failover is sent."
seealso:
  - module: kaminario.k2.k2_replication_session_info
"""

EXAMPLES = r"""
- name: Create a session and start replicating (references by name)
  kaminario.k2.k2_replication_session:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    name: prod-db
    peer_array: array-b
    volume_group: prod-vg
    rpo: 300
    retention_policy: Best_Effort_Retention
    external_retention_policy: Replication_Retention
    target_exposure: Read Only
    replication_state: in_sync
  register: created

- name: Set the connection once for the tasks below
  module_defaults:
    group/kaminario.k2.k2:
      host: "{{ k2_host }}"
      username: "{{ k2_username }}"
      password: "{{ k2_password }}"
  block:
    - name: Change the RPO (one PATCH; a reference given as an id costs no request)
      kaminario.k2.k2_replication_session:
        name: prod-db
        local_volume_group: 5
        rpo: 1200

    - name: Pause replication
      kaminario.k2.k2_replication_session:
        name: prod-db
        replication_state: suspended

    - name: Resume replication, without waiting for the array to carry it out
      kaminario.k2.k2_replication_session:
        name: prod-db
        replication_state: in_sync
        wait: false

- name: Fail over on the target array (works while the source array is down)
  kaminario.k2.k2_replication_session:
    host: "{{ k2_target_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    name: remote_prod-db
    replication_state: failed_over
    restored_snapshot: latest
    wait_timeout: 300

- name: Reverse replication after the failover (the target-side session becomes the source)
  kaminario.k2.k2_replication_session:
    host: "{{ k2_target_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    name: remote_prod-db
    replication_state: in_sync

- name: Stop and delete the session, on the array that is now its source
  kaminario.k2.k2_replication_session:
    host: "{{ k2_target_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    name: remote_prod-db
    state: absent
"""

RETURN = r"""
session:
  description:
    - The session as the API shows it after the run; in check mode, the predicted one.
    - Empty when the session does not exist (after O(state=absent)).
    - With O(wait=false), the state may still show the one before the last transition.
  returned: always
  type: dict
  sample:
    id: 12
    name: prod-db
    state: in_sync
    current_role: source
    primary: true
    rpo: 300
    local_volume_group: {ref: /volume_groups/5}
    replication_peer_k2array: {ref: /replication/peer_k2arrays/1}
    replication_peer_volume_group: {ref: /replication/peer_volume_groups/4}
    retention_policy: {ref: /retention_policies/5}
    external_retention_policy: {ref: /retention_policies/6}
    latest_replicated_snapshot: {ref: /snapshots/428}
    remote_replication_session_id: 7
    remote_replication_session_name: remote_prod-db
    target_exposure: Read Only
actions:
  description:
    - The writes done, in order; in check mode, the writes that would be done.
    - "Each has a short O(name) (C(create), C(update), C(transition) or C(delete)), the HTTP C(method),
      the C(path) under C(/api/v2) and the C(body) sent (null for a delete)."
    - In check mode, the path of a session not created yet ends in "(new)" instead of its id.
    - After a write with an unknown outcome, only what the array really did is listed.
  returned: always
  type: list
  elements: dict
  sample:
    - name: create
      method: POST
      path: /replication/sessions
      body:
        name: prod-db
        replication_peer_k2array: {ref: /replication/peer_k2arrays/1}
        local_volume_group: {ref: /volume_groups/5}
        rpo: 300
    - name: transition
      method: PATCH
      path: /replication/sessions/12
      body: {state: in_sync}
diff:
  description:
    - The managed fields, the side and the state of the session before and after the run,
      references by name (a ref string when the object has no name or no longer exists). An absent
      session is an empty dict.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The session before the run.
      type: dict
      returned: when diff mode is on
      sample: {}
    after:
      description: The session after the run (in check mode, the predicted one).
      type: dict
      returned: when diff mode is on
      sample:
        name: prod-db
        replication_peer_k2array: array-b
        local_volume_group: prod-vg
        rpo: 300
        current_role: source
        state: in_sync
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
    mask_credentials_in_host,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import SessionApplier
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    SESSION_OPTIONS,
    WAIT_OPTIONS,
    desired_state,
)


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**SESSION_OPTIONS, **WAIT_OPTIONS), supports_check_mode=True)
    mask_credentials_in_host(module)  # before the first result that could show it
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    with handle_errors(module):
        applier = SessionApplier(connect(module), wait=params["wait"], wait_timeout=params["wait_timeout"])
        outcome = applier.converge(desired_state(params), check_mode=module.check_mode, diff=module._diff)
    result = dict(changed=outcome.changed, session=outcome.session, actions=outcome.actions)
    if module._diff:
        result["diff"] = dict(before=outcome.before, after=outcome.after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
