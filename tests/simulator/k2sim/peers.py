"""The replication peer objects: peer arrays, peer volume groups and peer volumes."""

from k2sim.errors import bad_request
from k2sim.resource import Resource
from k2sim.schema import (
    INT,
    PEER_ARRAYS,
    PEER_VOLUME_GROUPS,
    PEER_VOLUMES,
    REF,
    SESSIONS,
    STR,
    VOLUME_GROUPS,
    VOLUMES,
    Field,
    ref,
)

KIB_PER_GIB = 1024 * 1024


class PeerArrays(Resource):
    """A peer K2 this array replicates with. ``_peer_array`` names the simulated array it reaches."""

    path = PEER_ARRAYS
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "mgmt_host": Field(STR),
        "username": Field(STR),
        "system_id": Field(STR),
        "mgmt_connectivity_state": Field(STR),
        "bandwidth_limit": Field(INT),
        "logical_bandwidth_limit": Field(INT),
        "capacity_state": Field(STR),
        "capacity_total": Field(INT),
        "capacity_free": Field(INT),
        "capacity_allocated": Field(INT),
        "capacity_provisioned": Field(INT),
    }
    write_only = {"password": Field(STR), "local_username": Field(STR), "local_password": Field(STR)}
    computed = {
        "system_id": lambda ctx, record: _system_id(ctx.sim.arrays.get(record.get("_peer_array"))),
        "mgmt_connectivity_state": lambda ctx, record: _connectivity(ctx.sim.arrays.get(record.get("_peer_array"))),
    }
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "mgmt_host", "username", "password", "local_username", "local_password")
    create_optional = ("bandwidth_limit", "logical_bandwidth_limit")
    patch_fields = ("name", "mgmt_host", "username", "password", "bandwidth_limit", "logical_bandwidth_limit")

    def defaults(self, sim, arr):
        return {
            "bandwidth_limit": 0,
            "logical_bandwidth_limit": 0,
            "capacity_state": "healthy",
            "capacity_total": 50 * 1024 * KIB_PER_GIB,
            "capacity_free": 38 * 1024 * KIB_PER_GIB,
            "capacity_allocated": 12 * 1024 * KIB_PER_GIB,
            "capacity_provisioned": 30 * 1024 * KIB_PER_GIB,
        }

    def _secrets(self, record, values):
        for key in ("password", "local_username", "local_password"):
            if key in values:
                record["_" + key] = values.pop(key)

    def create(self, sim, arr, values, obj_id=None):
        record = self.defaults(sim, arr)
        self._secrets(record, values)
        record.update(values)
        peer = sim.array_by_host(record["mgmt_host"])
        record["_peer_array"] = peer.name if peer is not None and peer is not arr else None
        return arr.store.insert(self.path, record, obj_id)

    def update(self, sim, arr, record, values):
        self._secrets(record, values)
        arr.store.update(self.path, record, values)
        if "mgmt_host" in values:
            peer = sim.array_by_host(record["mgmt_host"])
            record["_peer_array"] = peer.name if peer is not None and peer is not arr else None

    def delete(self, sim, arr, record):
        my_ref = ref(self.path, record["id"])
        for session in arr.store.all(SESSIONS):
            if session["replication_peer_k2array"] == my_ref:
                raise bad_request("peer array %r is used by session %r" % (record["name"], session["name"]))
        super().delete(sim, arr, record)


def _system_id(peer):
    return peer.system_id if peer else ""


def _connectivity(peer):
    return "ok" if peer and peer.down is None else "disconnected"


class PeerVolumeGroups(Resource):
    """The peer side of a replicated volume group; made and removed with its session (no POST)."""

    path = PEER_VOLUME_GROUPS
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "fullname": Field(STR),
        "local_volume_group": Field(REF, VOLUME_GROUPS),
        "remote_volume_group_id": Field(INT),
        "replication_peer_k2array": Field(REF, PEER_ARRAYS),
        "replication_session": Field(REF, SESSIONS),
        "replication_session_id": Field(INT),
        "capacity_state": Field(STR),
        "logical_capacity": Field(INT),
        "snapshots_logical_capacity": Field(INT),
        "volumes_logical_capacity": Field(INT),
    }
    methods = ("GET", "PATCH", "DELETE")
    patch_fields = ("name",)

    def delete(self, sim, arr, record):
        session = arr.store.resolve(record["replication_session"])
        if session is not None:
            raise bad_request(
                "peer volume group %r belongs to session %r: delete the session instead"
                % (record["name"], session["name"])
            )
        super().delete(sim, arr, record)


class PeerVolumes(Resource):
    """A volume's replication pair. POST declares it (before a session starts) and makes the
    target volume in the peer array's volume group."""

    path = PEER_VOLUMES
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "local_volume": Field(REF, VOLUMES),
        "remote_volume_id": Field(INT),
        "replication_peer_volume_group": Field(REF, PEER_VOLUME_GROUPS),
    }
    write_only = {"replication_session": Field(REF, SESSIONS)}
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "local_volume", "replication_session")
    patch_fields = ("name",)

    def create(self, sim, arr, values, obj_id=None):
        from k2sim import sessions  # sessions imports this module

        session = arr.store.resolve(values["replication_session"])
        volume = arr.store.resolve(values["local_volume"])
        return sessions.add_peer_volume(sim, arr, session, volume, values["name"], obj_id)

    def delete(self, sim, arr, record):
        volume = arr.store.resolve(record["local_volume"])
        if volume is not None and volume.get("replication_peer_volume") == ref(self.path, record["id"]):
            volume["replication_peer_volume"] = None
        super().delete(sim, arr, record)
