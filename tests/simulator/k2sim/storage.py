"""Volume groups, volumes and retention policies (sizes and quotas in KiB, as the API counts them)."""

import time

from k2sim.errors import bad_request
from k2sim.resource import Resource
from k2sim.schema import (
    BOOL,
    INT,
    PEER_VOLUME_GROUPS,
    PEER_VOLUMES,
    REF,
    RETENTION_POLICIES,
    RPO_HISTORY,
    SESSIONS,
    SNAPSHOTS,
    STR,
    VOLUME_GROUPS,
    VOLUMES,
    Field,
    ref,
    ref_id,
)


def now():
    return int(time.time())


def volume_group_index(store):
    """Per volume group id: volume count and size, snapshot count, and its replication session."""
    cached = store.cache.get("vg_index")
    if cached is not None:
        return cached
    index = {}

    def entry(vg_id):
        return index.setdefault(vg_id, {"volumes": 0, "size": 0, "snapshots": 0, "session": None})

    for vol in store.tables[VOLUMES].values():
        item = entry(ref_id(vol["volume_group"]))
        item["volumes"] += 1
        item["size"] += vol["size"]
    for snap in store.tables[SNAPSHOTS].values():
        entry(ref_id(snap["source"]))["snapshots"] += 1
    for session in store.tables[SESSIONS].values():
        entry(ref_id(session["local_volume_group"]))["session"] = session
    store.cache["vg_index"] = index
    return index


class VolumeGroups(Resource):
    path = VOLUME_GROUPS
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "description": Field(STR),
        "quota": Field(INT),
        "is_dedup": Field(BOOL),
        "is_default": Field(BOOL),
        "capacity_policy": Field(STR),
        "capacity_state": Field(STR),
        "creation_time": Field(INT),
        "iscsi_tgt_converted_name": Field(STR),
        "last_restored_from": Field(STR),
        "last_restored_time": Field(INT),
        "last_snapshot_creation_time": Field(INT),
        "logical_capacity": Field(INT),
        "mapped_hosts_count": Field(INT),
        "replication_peer_volume_group": Field(REF, PEER_VOLUME_GROUPS),
        "replication_rpo_history": Field(REF, RPO_HISTORY),
        "replication_session": Field(REF, SESSIONS),
        "snapshots_count": Field(INT),
        "snapshots_logical_capacity": Field(INT),
        "snapshots_overhead_state": Field(STR),
        "views_count": Field(INT),
        "volumes_count": Field(INT),
        "volumes_logical_capacity": Field(INT),
        "volumes_provisioned_capacity": Field(INT),
    }
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "quota")
    create_optional = ("is_dedup", "description")
    patch_fields = ("name", "quota", "description")

    def defaults(self, sim, arr):
        return {
            "description": "",
            "is_dedup": True,
            "is_default": False,
            "capacity_policy": None,
            "capacity_state": "ok",
            "creation_time": now(),
            "last_restored_from": None,
            "last_restored_time": None,
            "last_snapshot_creation_time": None,
            "logical_capacity": 0,
            "mapped_hosts_count": 0,
            "snapshots_logical_capacity": 0,
            "snapshots_overhead_state": "ok",
            "views_count": 0,
            "volumes_logical_capacity": 0,
        }

    def create(self, sim, arr, values, obj_id=None):
        _check_non_negative("quota", values.get("quota"))
        record = super().create(sim, arr, values, obj_id)
        record["iscsi_tgt_converted_name"] = "%s-%s" % (arr.system_id, record["name"].lower())
        return record

    def update(self, sim, arr, record, values):
        _check_non_negative("quota", values.get("quota"))
        super().update(sim, arr, record, values)

    def delete(self, sim, arr, record):
        item = volume_group_index(arr.store).get(record["id"], {})
        if item.get("session"):
            raise bad_request(
                "volume group %r is replicated by session %r: delete the session first"
                % (record["name"], item["session"]["name"])
            )
        if item.get("volumes"):
            raise bad_request("volume group %r still holds %d volume(s)" % (record["name"], item["volumes"]))
        super().delete(sim, arr, record)

    def render(self, ctx, record):
        out = super().render(ctx, record)
        item = volume_group_index(ctx.arr.store).get(record["id"], {})
        session = item.get("session")
        out["volumes_count"] = item.get("volumes", 0)
        out["volumes_provisioned_capacity"] = item.get("size", 0)
        out["snapshots_count"] = item.get("snapshots", 0)
        out["replication_session"] = ref(SESSIONS, session["id"]) if session else None
        out["replication_peer_volume_group"] = session["replication_peer_volume_group"] if session else None
        out["replication_rpo_history"] = session["replication_rpo_history"] if session else None
        return out


class Volumes(Resource):
    path = VOLUMES
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "description": Field(STR),
        "size": Field(INT),
        "volume_group": Field(REF, VOLUME_GROUPS),
        "read_only": Field(BOOL),
        "is_dedup": Field(BOOL),
        "creation_time": Field(INT),
        "logical_capacity": Field(INT),
        "scsi_sn": Field(STR),
        "replication_peer_volume": Field(REF, PEER_VOLUMES),
    }
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "size", "volume_group")
    create_optional = ("description", "read_only")
    patch_fields = ("name", "size", "description", "read_only")

    def defaults(self, sim, arr):
        return {
            "description": "",
            "read_only": False,
            "creation_time": now(),
            "logical_capacity": 0,
            "replication_peer_volume": None,
        }

    def create(self, sim, arr, values, obj_id=None):
        if values["size"] < 1:
            raise bad_request("size must be a positive number of KiB")
        record = super().create(sim, arr, values, obj_id)
        record["scsi_sn"] = "%s%010d" % (arr.system_id, record["id"])
        return record

    def update(self, sim, arr, record, values):
        if "size" in values and values["size"] < record["size"]:
            raise bad_request(
                "size cannot shrink (current %d KiB, requested %d KiB)" % (record["size"], values["size"])
            )
        super().update(sim, arr, record, values)

    def delete(self, sim, arr, record):
        if record.get("replication_peer_volume"):
            raise bad_request("volume %r has a replication peer volume: delete it first" % record["name"])
        super().delete(sim, arr, record)

    def render(self, ctx, record):
        out = super().render(ctx, record)
        vg = ctx.arr.store.resolve(record["volume_group"])
        out["is_dedup"] = bool(vg and vg.get("is_dedup"))
        return out


class RetentionPolicies(Resource):
    path = RETENTION_POLICIES
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "num_snapshots": Field(INT),
        "weeks": Field(INT),
        "days": Field(INT),
        "hours": Field(INT),
        "snapshots_usage_count": Field(INT),
    }
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "num_snapshots", "weeks", "days", "hours")
    patch_fields = create_mandatory

    def create(self, sim, arr, values, obj_id=None):
        for key in ("num_snapshots", "weeks", "days", "hours"):
            _check_non_negative(key, values.get(key))
        return super().create(sim, arr, values, obj_id)

    def update(self, sim, arr, record, values):
        for key in ("num_snapshots", "weeks", "days", "hours"):
            _check_non_negative(key, values.get(key))
        super().update(sim, arr, record, values)

    def delete(self, sim, arr, record):
        my_ref = ref(self.path, record["id"])
        for session in arr.store.all(SESSIONS):
            if my_ref in (session["retention_policy"], session["external_retention_policy"]):
                raise bad_request("retention policy %r is used by session %r" % (record["name"], session["name"]))
        super().delete(sim, arr, record)

    def render(self, ctx, record):
        out = super().render(ctx, record)
        my_ref = ref(self.path, record["id"])
        out["snapshots_usage_count"] = sum(
            1 for s in ctx.arr.store.tables[SNAPSHOTS].values() if s.get("retention_policy") == my_ref
        )
        return out


def _check_non_negative(name, value):
    if value is not None and value < 0:
        raise bad_request("%s must not be negative" % name)
