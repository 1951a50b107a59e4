# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peer arrays of an array (replication/peer_k2arrays) for k2_peer_array_info: their fields for
the filters (validated by session_filters, the one filter validator), and the listing, every page."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.session_filters import Filterable, build_query
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import INT, STR

PEER_ARRAYS_PATH = "/replication/peer_k2arrays"

# The vendor's field list for replication/peer_k2arrays, with each field's type, and the two more
# that the vendor's PowerShell SDK filters on (capacity_state, logical_bandwidth_limit). Capacities
# and limits are numbers; password, local_username and local_password are write-only.
PEER_ARRAY_FIELDS = {
    "bandwidth_limit": INT,
    "capacity_allocated": INT,
    "capacity_allocated_snapshots_and_views": INT,
    "capacity_allocated_volumes": INT,
    "capacity_free": INT,
    "capacity_physical": INT,
    "capacity_provisioned": INT,
    "capacity_provisioned_snapshots": INT,
    "capacity_provisioned_views": INT,
    "capacity_provisioned_volumes": INT,
    "capacity_reserved": INT,
    "capacity_state": STR,
    "capacity_total": INT,
    "id": INT,
    "logical_bandwidth_limit": INT,
    "mgmt_connectivity_state": STR,
    "mgmt_host": STR,
    "name": STR,
    "system_id": STR,
    "username": STR,
}
PEER_ARRAYS = Filterable(PEER_ARRAY_FIELDS, {})  # a peer array references nothing


def peer_array_query(name=None, filters=None):
    """The validated query for `name` (exact) and `filters`; FilterError before any request."""
    return build_query(name=name, filters=filters, resource=PEER_ARRAYS)


def list_peer_arrays(api, query):
    """Every peer array `query` selects, as the API returns them (all pages): the module result."""
    listed = api.list(PEER_ARRAYS_PATH, params=query.params(None))  # no reference field to resolve
    return dict(changed=False, peer_arrays=listed.items, total=listed.total)
