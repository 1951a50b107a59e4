#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_replication_snapshot
short_description: Take replication snapshots on a Kaminario K2 / Silk array and wait until they reach the peer
version_added: 1.1.0
description:
  - "Takes one replication snapshot of each session in O(sessions), on the array the task talks to
    (the source side of those sessions), and waits until each snapshot has reached the peer array
    (the snapshot reads C(is_exist_on_peer)). A replication snapshot is a snapshot of the session's
    volume group that the array sends to the peer at once, outside the session's RPO schedule: after
    it, the peer holds the data as it was when the snapshot was taken, for example before a planned
    failover or a failback."
  - "Every session is read and checked before the first write: it must exist on this array, be the
    source side of its pair and be V(in_sync). If one is not, the task fails naming each such session
    and why, and no snapshot is taken."
  - "Requests are batched: the sessions are read with one list request per 100 names, and the
    snapshots they already have with one list request per 100 sessions (ids only). Then one
    C(POST /snapshots) per session, and one list request per polling round (per 100 snapshots) for
    every snapshot still on its way, backing off from a quarter of a second to five seconds."
  - "A session whose snapshot fails (the array refuses it, it does not reach the peer in time) is
    reported with a message and the others go on; the task then fails, naming the first few. An
    error that concerns the whole array (no connection, TLS, credentials) stops the run."
  - "A busy array (HTTP 503, 429 or one of its C(MC_ERR_*) busy codes, as when the session's previous
    snapshot is still on its way) is retried as described in the notes. A request whose outcome is
    unknown (HTTP 502 after the write, or the connection lost after it was sent) is never simply sent
    again: the module reads the session's snapshots and adopts one taken since the run began. Only
    when there is none (a request that got no answer at all first gets 30 seconds to show) is it sent
    again, at most 3 times per session."
  - The module is not idempotent by nature, since each run takes new snapshots. In check mode it
    reads and checks the sessions and reports what it would do.
author:
  - kaminario.k2 maintainers (!UNKNOWN)
extends_documentation_fragment:
  - kaminario.k2.connection
  - kaminario.k2.connection.action_group
attributes:
  check_mode:
    description:
      - Sends no write. Reads and checks the sessions, fails as a real run would for a session that
        cannot take a snapshot, and otherwise reports V(changed) with one entry per session.
    support: full
  diff_mode:
    description: A snapshot has no before and after to show.
    support: N/A
options:
  sessions:
    description:
      - The names of the replication sessions to take a snapshot of, on the array the task talks to.
        Each must be the source side of its pair and V(in_sync).
      - Each name at most once. An empty list does nothing and sends no request.
    type: list
    elements: str
    required: true
  wait:
    description:
      - Wait until every snapshot has reached the peer array.
      - With V(false), the module returns once the array has taken the snapshots; RV(snapshots[].exists_on_peer)
        then shows whether each had already arrived.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole run may wait, all waits together (the snapshots on their way to
        the peer, and a request whose outcome is unknown given time to show).
      - The module never sleeps past it. A snapshot that has not reached the peer by then is
        reported as failed; it is taken and may still arrive.
    type: int
    default: 600
notes:
  - The sessions on the other array of each pair (the target sides) cannot take a replication
    snapshot; run the task on the array of the source sides.
seealso:
  - module: kaminario.k2.k2_replication_session_info
  - module: kaminario.k2.k2_replication_topology
"""

EXAMPLES = r"""
# The first task gives the connection options; the others take them from the K2_HOST, K2_USERNAME,
# K2_PASSWORD (and K2_CA_PATH) environment variables, or set them once for the play with
# module_defaults: {group/kaminario.k2.k2: {host: ..., username: ..., password: ...}}.
- name: Take a replication snapshot of two sessions and wait until both are on the peer array
  kaminario.k2.k2_replication_snapshot:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
    sessions:
      - prod-db
      - prod-web
  register: taken

- name: Show each snapshot and its generation
  ansible.builtin.debug:
    msg: "{{ item.session }}: {{ item.name }} (generation {{ item.generation_number }}) on the peer: {{ item.exists_on_peer }}"
  loop: "{{ taken.snapshots }}"
  loop_control:
    label: "{{ item.session }}"

- name: Check only, sending no write, whether every session would take a snapshot
  kaminario.k2.k2_replication_snapshot:
    sessions: [prod-db, prod-web]
  check_mode: true

- name: Take the snapshots of every in-sync source session whose name starts with prod-, at most 5 minutes of waiting
  block:
    - name: Find the sessions
      kaminario.k2.k2_replication_session_info:
        filters:
          name__prefix: prod-
          current_role: source
          state: in_sync
        fields: [name]
      register: prod_sessions

    - name: Take their snapshots in one module run
      kaminario.k2.k2_replication_snapshot:
        sessions: "{{ prod_sessions.sessions | map(attribute='name') | list }}"
        wait_timeout: 300
"""

RETURN = r"""
snapshots:
  description:
    - One entry per session of O(sessions), in that order. In check mode, and for a session refused
      before any write, the snapshot fields are empty.
  returned: always
  type: list
  elements: dict
  contains:
    session:
      description: The session's name, as given.
      type: str
      returned: always
      sample: prod-db
    session_id:
      description: The session's id, when it exists.
      type: int
      returned: always
      sample: 12
    snapshot:
      description: The snapshot as last read from the array (empty when none was taken).
      type: dict
      returned: always
      sample:
        id: 428
        name: prod-vg:snap_428
        short_name: snap_428
        generation_number: 7
        is_exist_on_peer: true
        is_originating_from_peer: false
        replication_session: {ref: /replication/sessions/12}
        source: {ref: /volume_groups/3}
        triggered_by: api
    name:
      description: The snapshot's name.
      type: str
      returned: always
      sample: prod-vg:snap_428
    id:
      description: The snapshot's id.
      type: int
      returned: always
      sample: 428
    generation_number:
      description: The snapshot's replication generation.
      type: int
      returned: always
      sample: 7
    exists_on_peer:
      description: Whether the snapshot has reached the peer array (as last read).
      type: bool
      returned: always
      sample: true
    msg:
      description: Why this session has no snapshot on the peer array.
      type: str
      returned: when this session failed or was refused
      sample: "replication session 'prod-web' is suspended, not in_sync: only a session in sync takes a replication snapshot"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
)
from ansible_collections.kaminario.k2.plugins.module_utils.replication_snapshots import SnapshotRun, check_names, report
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import WAIT_OPTIONS

OPTIONS = dict(
    sessions=dict(type="list", elements="str", required=True),
    **WAIT_OPTIONS
)


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**OPTIONS), supports_check_mode=True)
    params = module.params
    with handle_errors(module):
        if params["wait_timeout"] < 0:
            module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % params["wait_timeout"])
        names = check_names(params["sessions"])  # before connecting
        run = SnapshotRun(connect(module), wait=params["wait"], wait_timeout=params["wait_timeout"])
        result, failure = report(run.run(names, check_mode=module.check_mode), module.check_mode)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
