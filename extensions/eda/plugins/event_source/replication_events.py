# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible source kaminario.k2.replication_events: the documentation, and main()."""

from __future__ import annotations

import os
import sys

DOCUMENTATION = r"""
---
short_description: Replication events from a Kaminario K2 / Silk array
version_added: 1.1.0
description:
  - An ansible-rulebook event source that polls one K2 array through its REST API and puts one
    event on the queue for each change it sees in the array's replication sessions, and when the
    array stops or starts answering again.
  - "Event kinds: V(session_appeared), V(session_removed); V(state_changed),
    V(current_role_changed) (the session's side, so the direction of its pair changed),
    V(suspend_reason_code_changed); V(health_changed) (the recovery-point status V(ok), V(late),
    V(critical), V(stalled) or V(not_replicating), judged as
    M(kaminario.k2.k2_replication_session_info) judges it with O(kaminario.k2.k2_replication_session_info#module:health=true));
    V(array_unreachable), V(array_reachable). With O(emit_initial=true), also one V(session_present)
    event per session at the first poll that succeeds."
  - "Each event is C({k2_replication: {...}}) with C(kind); C(array) (the O(host) option);
    C(session) and C(session_id) (null for the array events); C(before) and C(after) (the value
    that changed: the state, the role, the reason code, the health status; the session for
    V(session_appeared) and V(session_removed); V(reachable) or V(unreachable));
    C(changes) (every watched field that changed in this poll, each with C(before) and C(after));
    C(details) (the session as read: C(name), C(id), C(state), C(current_role),
    C(suspend_reason_code), C(rpo), C(remote_replication_session_name),
    C(replication_peer_k2array), C(local_volume_group), C(health) with C(status), C(reason),
    C(age), C(rpo), C(ratio), C(recovery_point); for the array events the C(error) and
    C(error_type)); and when it was seen: C(timestamp) (ISO 8601, UTC), C(epoch) (seconds) and
    C(clock), V(array) when that is the array's clock (the C(Date) of its answers to the poll) or
    V(controller) when it is the clock of the host that runs ansible-rulebook (an unreachable
    array, or one that sends no C(Date))."
  - "One change, one event. The changes of one session in one poll make one event: the first of
    V(state_changed), V(current_role_changed), V(suspend_reason_code_changed) whose field changed
    (and that O(event_kinds) lists), with all of them in C(changes): a suspension (state and reason
    code) or a reverse (state and side) is one V(state_changed) event. V(health_changed) is an
    event of its own, except where the state already tells it: a session that leaves C(in_sync)
    becomes V(not_replicating), and one that comes back in sync and V(ok) was only resumed; one
    that comes back V(late), V(critical) or V(stalled) does make a V(health_changed) event.
    Nothing that did not change makes an event."
  - A poll that fails (no connection, TLS, refused credentials, an error answer, after a short
    retry) makes one V(array_unreachable) event, and the source keeps polling; the next polls that
    fail make none. The first poll that succeeds again makes one V(array_reachable) event, then one
    event for each change made meanwhile.
  - "Reads per poll: the sessions, one request per 100 (projected to the fields the events
    carry); with V(health_changed) in O(event_kinds), also their latest replicated snapshots and
    their running rounds, one request per 100 sessions each. The requests run in a worker thread,
    so the rule engine keeps running while the array answers."
  - The state the events are computed from is kept in memory. When ansible-rulebook restarts, the
    first poll sets it again without events, unless O(emit_initial=true).
author:
  - kaminario.k2 maintainers (!UNKNOWN)
requirements:
  - requests >= 2.28 where ansible-rulebook runs (a decision environment)
options:
  host:
    description:
      - The K2 array's management address, as a host name or IP address with an optional port
        (V(k2.example.com), V(k2.example.com:8443), V(192.0.2.10) or V([2001:db8::10]:443)).
      - Not a URL. The source talks to C(https://HOST/api/v2); a scheme or a path is rejected.
      - Credentials do not belong here; a value such as C(user:password@k2.example.com) is refused
        without repeating it.
      - If not set, the value of the E(K2_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The user to authenticate as (HTTP Basic authentication). A C(read_only) user is enough.
      - If not set, the value of the E(K2_USERNAME) environment variable is used.
    type: str
    required: true
  password:
    description:
      - The user's password. It is never logged and never part of an event.
      - If not set, the value of the E(K2_PASSWORD) environment variable is used (an EDA
        controller credential injects it there).
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the array's TLS certificate.
      - Arrays ship with a self-signed certificate; rather than turning this off, give the CA that
        signed it in O(ca_path).
      - If not set, the value of the E(K2_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or a directory prepared with C(c_rehash)) of CA certificates to verify the
        array's certificate against, instead of the system's.
      - Ignored when O(validate_certs=false).
      - If not set, the value of the E(K2_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for a connection, and then for each answer, before the request fails.
    type: int
    default: 30
  interval:
    description:
      - Seconds from the start of one poll to the start of the next (a poll that takes longer is
        followed by the next one at once).
      - A change is seen at most this long after it happened, plus the time the poll takes.
    type: float
    default: 30
  event_kinds:
    description:
      - The kinds of events to put on the queue; the others are not sent.
      - Without V(health_changed), no health is read, so a poll costs fewer requests.
    type: list
    elements: str
    choices:
      - session_appeared
      - session_removed
      - state_changed
      - current_role_changed
      - suspend_reason_code_changed
      - health_changed
      - array_unreachable
      - array_reachable
    default:
      - session_appeared
      - session_removed
      - state_changed
      - current_role_changed
      - suspend_reason_code_changed
      - health_changed
      - array_unreachable
      - array_reachable
  emit_initial:
    description:
      - Put one V(session_present) event per session on the queue at the first poll that succeeds,
        with the session as it is then (and its health, with V(health_changed) in
        O(event_kinds)), so that rules also see the pairs that were already suspended or late when
        the source started.
      - When false, the first poll only records what is there.
    type: bool
    default: false
  health_tolerance:
    description:
      - A recovery point older than this many rpos is V(late). At most O(health_critical_factor).
    type: float
    default: 1.25
  health_critical_factor:
    description:
      - A recovery point older than this many rpos is V(critical).
    type: float
    default: 2.0
  health_stall_factor:
    description:
      - A round running for longer than this many rpos, or no round running while the recovery
        point is older than this many rpos, is V(stalled). A transfer whose progress has not moved
        for 60 seconds of the array's clock (seen over several polls) is V(stalled) too.
    type: float
    default: 2.0
notes:
  - Options are checked when the source starts, before any request; a bad one stops
    ansible-rulebook with a message naming it.
  - Each request is retried at most twice, for at most 30 seconds (a module retries 5 times, for
    at most 120 seconds), so that an array that stops answering is reported within a poll or two.
  - The source imports the collection's own Python code (C(ansible_collections.kaminario.k2)). It
    finds it next to itself when the collection is installed (C(ansible-galaxy collection install),
    a decision environment), or in the paths of E(ANSIBLE_COLLECTIONS_PATH).
seealso:
  - module: kaminario.k2.k2_replication_session_info
    description: The same sessions and health, read once from a playbook.
"""

EXAMPLES = r"""
# Run the drift report when a pair changes state or direction
# (the report's play runs on the inventory group k2_arrays: the rulebook's hosts limit it)
- name: React to replication changes on k2-a
  hosts: k2_arrays
  sources:
    - name: k2-a replication
      kaminario.k2.replication_events:
        host: k2-a.example.com
        # username, password and ca_path from K2_USERNAME, K2_PASSWORD and K2_CA_PATH
        interval: 30
        event_kinds:
          - state_changed
          - current_role_changed
          - array_unreachable
  rules:
    - name: A pair changed state or direction
      condition: >-
        event.k2_replication.kind in ["state_changed", "current_role_changed"]
      action:
        run_playbook:
          name: kaminario.k2.drift_report

# Every change, printed, with the pairs that are already late at start
- name: Watch k2-b
  hosts: all
  sources:
    - kaminario.k2.replication_events:
        host: k2-b.example.com
        ca_path: /etc/pki/k2-ca.pem
        emit_initial: true
        health_tolerance: 1.5
  rules:
    - name: Late at start or turning late
      condition: >-
        event.k2_replication.details.health.status == "late"
      action:
        debug:
          msg: "{{ event.k2_replication.session }} is late: {{ event.k2_replication.details.health.reason }}"
"""


def _collections_root():
    """The folder that holds the ansible_collections tree this file was installed in, or None.

    ansible-rulebook runs a source with runpy.run_path: not as part of a package, and with no
    collection loader, so `ansible_collections.kaminario.k2` is importable only if a folder holding
    `ansible_collections/kaminario/k2` is on sys.path. This file sits at
    `<root>/ansible_collections/kaminario/k2/extensions/eda/plugins/event_source/`; failing that
    (a copy run with `-S`), the paths of ANSIBLE_COLLECTIONS_PATH that hold the collection."""
    for path in (os.path.abspath(__file__), os.path.realpath(__file__)):
        collection = path
        for _level in range(5):
            collection = os.path.dirname(collection)
        namespace = os.path.dirname(collection)
        tree = os.path.dirname(namespace)
        if (os.path.basename(collection), os.path.basename(namespace), os.path.basename(tree)) == \
                ("k2", "kaminario", "ansible_collections"):
            return os.path.dirname(tree)
    for variable in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        for root in os.environ.get(variable, "").split(os.pathsep):
            if root and os.path.isdir(os.path.join(root, "ansible_collections", "kaminario", "k2")):
                return root
    return None


_ROOT = _collections_root()
if _ROOT is not None and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ansible_collections.kaminario.k2.plugins.plugin_utils.replication_events import run  # noqa: E402


async def main(queue, args):
    """ansible-rulebook's entry point: poll the array in `args` and put its events on `queue`
    until cancelled (see DOCUMENTATION)."""
    await run(queue, args)


if __name__ == "__main__":
    # Standalone: print the events of the array in K2_HOST (K2_USERNAME, K2_PASSWORD, K2_CA_PATH).
    import asyncio

    class _PrintQueue:
        async def put(self, event):
            print(event)

    asyncio.run(main(_PrintQueue(), {"emit_initial": True}))
