#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k2_peer_array_info
short_description: List the peer arrays of a Kaminario K2 / Silk array
version_added: 1.1.0
description:
  - Lists the peer arrays (C(replication/peer_k2arrays)) of the array the task talks to, that is the
    arrays it can replicate with, with their management address and whether it can reach them.
  - Every page is read, so the result is never cut at the API's page size of 100. Listing N peer
    arrays costs ceil(N / 100) requests (at least one).
  - The filters are sent to the array in the query; nothing is filtered on the client. They are
    validated before any request, as in M(kaminario.k2.k2_replication_session_info).
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
      - Return only the peer array with exactly this name.
      - "A shortcut for O(filters) C({name: ...}); do not give both."
    type: str
  filters:
    description:
      - Conditions the peer arrays must all meet (they are ANDed), sent to the array as query filters.
      - Each key is a peer array field, for an exact match, or C(field__modifier).
      - The text fields are C(name), C(mgmt_host), C(system_id), C(mgmt_connectivity_state),
        C(username) and C(capacity_state); they take the modifiers C(contains), C(contains_some),
        C(neq), C(in), C(m_eq), C(prefix) and C(regexp).
      - The numeric fields are C(id), C(bandwidth_limit), C(logical_bandwidth_limit) and the
        C(capacity_*) figures; they take C(gt), C(lt), C(gte), C(lte), C(neq), C(in) and C(m_eq),
        with an integer.
      - C(in) and C(m_eq) take a list, or a comma-separated string.
      - An unknown field or modifier, or a value of the wrong type, fails before any request with a
        message that lists what is valid.
    type: dict
seealso:
  - module: kaminario.k2.k2_replication_session_info
"""

EXAMPLES = r"""
# The first task gives the connection options; the others take them from the K2_HOST, K2_USERNAME,
# K2_PASSWORD (and K2_CA_PATH) environment variables, or set them once for the play with
# module_defaults: {group/kaminario.k2.k2: {host: ..., username: ..., password: ...}}.
- name: List the peer arrays of this array
  kaminario.k2.k2_peer_array_info:
    host: "{{ k2_host }}"
    username: "{{ k2_username }}"
    password: "{{ k2_password }}"
  register: peers

- name: Show where each peer array is managed and whether it is reachable
  ansible.builtin.debug:
    msg: "{{ item.name }} ({{ item.system_id }}) at {{ item.mgmt_host }}: {{ item.mgmt_connectivity_state }}"
  loop: "{{ peers.peer_arrays }}"
  loop_control:
    label: "{{ item.name }}"

- name: Read one peer array by name
  kaminario.k2.k2_peer_array_info:
    name: array-b
  register: array_b

- name: The peer arrays this array cannot reach now
  kaminario.k2.k2_peer_array_info:
    filters:
      mgmt_connectivity_state__neq: ok
  register: unreachable
"""

RETURN = r"""
peer_arrays:
  description:
    - The matching peer arrays, in the order the array returned them, with every field the API
      returns (write-only fields such as passwords are never returned by the API).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The peer array's id; sessions refer to it as C(/replication/peer_k2arrays/ID).
      type: int
      sample: 1
    name:
      description: The peer array's name on this array.
      type: str
      sample: array-b
    system_id:
      description: The peer's system id.
      type: str
      sample: d502
    mgmt_host:
      description: The peer's management address, as configured on this array.
      type: str
      sample: 192.0.2.20
    mgmt_connectivity_state:
      description: Whether this array reaches the peer's management address (C(ok) when it does).
      type: str
      sample: ok
  sample:
    - id: 1
      name: array-b
      system_id: d502
      mgmt_host: 192.0.2.20
      mgmt_connectivity_state: ok
      username: admin
      bandwidth_limit: 0
      logical_bandwidth_limit: 0
      capacity_state: healthy
      capacity_total: 53687091200
      capacity_free: 40802189312
total:
  description: How many peer arrays match, as the array counts them.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaminario.k2.plugins.module_utils.k2_module import (
    connect,
    handle_errors,
    k2_argument_spec,
)
from ansible_collections.kaminario.k2.plugins.module_utils.peer_arrays import list_peer_arrays, peer_array_query

OPTIONS = dict(
    name=dict(type="str"),
    filters=dict(type="dict"),
)


def main():
    module = AnsibleModule(argument_spec=k2_argument_spec(**OPTIONS), supports_check_mode=True)
    with handle_errors(module):
        query = peer_array_query(name=module.params["name"], filters=module.params["filters"])  # before any request
        result = list_peer_arrays(connect(module), query)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
