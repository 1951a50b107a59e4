#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_replication_session
short_description: Manage a replication session on a Kaminario K2 / Silk array
version_added: 0.1.0
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
    refs, and at most one more per reference given by name."
author:
  - kaminario.k2 maintainers (@kaminario)
extends_documentation_fragment:
  - kaminario.k2.connection
  - kaminario.k2.connection.action_group
attributes:
  check_mode:
    description:
      - Sends no write. RV(actions) lists what would be done, and RV(session) is the predicted session.
    support: full
  diff_mode:
    description:
      - Returns the managed fields and the state of the session before and after the run (in check
        mode, the predicted after).
    support: full
options:
  name:
    description:
      - The name of the session on the array the task talks to.
      - On the target array, the session that mirrors a source session is named after
        O(remote_replication_session_name) (by default C(remote_<name>)).
    type: str
    required: true
  state:
    description:
      - V(present) creates the session when it does not exist and updates the fields the task sets.
      - V(absent) stops the session along the allowed transitions (for example V(in_sync) to
        V(suspended) to V(idle)), then deletes it. A session that does not exist is left alone.
      - A target-side session that is V(in_sync) or V(suspended) follows its source and cannot be
        stopped from this side. O(state=absent) fails for it before any write; stop the session on the
        source array first, or fail it over deliberately.
    type: str
    choices: [present, absent]
    default: present
  replication_peer_k2array:
    description:
      - The peer array the session replicates to, as a name, an id or a ref such as
        C(/replication/peer_k2arrays/1).
      - Needed to create the session. Fixed at creation.
    type: str
    aliases: [peer_array]
  local_volume_group:
    description:
      - The local volume group to replicate, as a name, an id or a ref such as C(/volume_groups/5).
      - Needed to create the session. Fixed at creation.
    type: str
    aliases: [volume_group]
  rpo:
    description:
      - The recovery point objective, in seconds. V(60), or a multiple of V(300).
      - Needed to create the session. Can be changed later.
    type: int
  retention_policy:
    description:
      - The local retention policy, as a name, an id or a ref such as C(/retention_policies/5).
      - When a new session is created without it, the array uses its default policy.
    type: str
  external_retention_policy:
    description:
      - The retention policy of the replicated snapshots on the peer array, as a name, an id or a ref.
      - When a new session is created without it, the array uses its default policy.
    type: str
  target_exposure:
    description:
      - How the replicated volumes are exposed on the peer array.
      - Compared without regard to case or separators, and sent in the spelling shown here.
    type: str
    choices: [unmapped, Read Only, Mapped - Not Exposed]
  remote_replication_session_name:
    description:
      - The name of the session the array creates on the peer array. The array's default is
        C(remote_<name>).
      - Fixed at creation.
    type: str
    aliases: [remote_session_name]
  replication_peer_volume_group_name:
    description:
      - The name of the volume group the array creates on the peer array. The array's default is the
        name of the local volume group.
      - Used on create only. The session shows its peer group as a ref, not a name, so this option is
        not compared on an existing session.
    type: str
    aliases: [peer_volume_group_name]
  auto_configure_peer_volumes:
    description:
      - Let the array create the peer volumes.
      - Used on create only. The API does not show it back, so it is not compared on an existing
        session.
    type: bool
  replication_state:
    description:
      - The state the session must end in. Left out, the module does not touch the session's state.
      - V(in_sync) starts (or resumes) replication. On a V(failed_over) target-side session, it
        reverses the direction of replication, and the session becomes the source.
      - V(suspended) pauses replication, V(idle) stops it.
      - V(failed_over) fails over a target-side session (one whose C(current_role) is C(target)), so
        that its copy becomes writable. It needs nothing from the source array and works while the
        source array is down.
      - A new session starts V(idle).
    type: str
    choices: [in_sync, suspended, idle, failed_over]
  snapshot_wwn:
    description:
      - Sent with the transition that reaches O(replication_state) (the API's C(snapshot_wwn)).
      - Nothing is sent when the session is already in that state.
    type: str
  offline_initial_sync:
    description:
      - Sent with the transition that reaches O(replication_state) (the API's C(offline_initial_sync)).
      - Nothing is sent when the session is already in that state.
    type: bool
  restored_snapshot:
    description:
      - "The snapshot a failover restores, with O(replication_state=failed_over): a name, an id, a ref
        such as C(/snapshots/428), or V(latest) for the session's C(latest_replicated_snapshot)."
      - V(latest) costs no request. A name is looked up only when a failover is actually sent.
    type: str
  wait:
    description:
      - Wait until each transition has landed, polling the session by id.
      - With V(false), the module still waits for the steps before the last one (the array needs
        them done before the next), but returns as soon as the last transition is accepted.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole run may wait for transitions, all of them together.
      - The module never sleeps past it, and fails naming the session, its current state and the
        expected one when it runs out. The array may still carry the transition out; a later run
        continues from where the session is.
    type: int
    default: 600
notes:
  - Failover and reverse are deliberate and are only sent when O(replication_state) asks for them.
  - A transition on the source array is mirrored by the peer's session after a delay. The module waits
    only for the session it manages.
  - "References given by name cost one request each, and only when the plan needs them: never for
    O(state=absent), and for O(restored_snapshot) only when a failover is sent."
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
    - The managed fields and the state of the session before and after the run, references as ref
      strings. An absent session is an empty dict.
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
        replication_peer_k2array: /replication/peer_k2arrays/1
        local_volume_group: /volume_groups/5
        rpo: 300
        state: in_sync
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
)
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import (
    SessionApplier,
    desired_state,
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    replication_peer_k2array=dict(type="str", aliases=["peer_array"]),
    local_volume_group=dict(type="str", aliases=["volume_group"]),
    rpo=dict(type="int"),
    retention_policy=dict(type="str"),
    external_retention_policy=dict(type="str"),
    target_exposure=dict(type="str", choices=["unmapped", "Read Only", "Mapped - Not Exposed"]),
    remote_replication_session_name=dict(type="str", aliases=["remote_session_name"]),
    replication_peer_volume_group_name=dict(type="str", aliases=["peer_volume_group_name"]),
    auto_configure_peer_volumes=dict(type="bool"),
    replication_state=dict(type="str", choices=["in_sync", "suspended", "idle", "failed_over"]),
    snapshot_wwn=dict(type="str"),
    offline_initial_sync=dict(type="bool"),
    restored_snapshot=dict(type="str"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**OPTIONS), supports_check_mode=True)
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
    with handle_errors(module):
        applier = SessionApplier(connect(module), wait=params["wait"], wait_timeout=params["wait_timeout"])
        outcome = applier.converge(desired_state(params), check_mode=module.check_mode)
    result = dict(changed=outcome.changed, session=outcome.session, actions=outcome.actions)
    if module._diff:
        result["diff"] = dict(before=outcome.before, after=outcome.after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
