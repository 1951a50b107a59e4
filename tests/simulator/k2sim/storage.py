"""Volume groups, volumes and retention policies (sizes and quotas in KiB, as the API counts them)."""

from k2sim.errors import bad_request
from k2sim.resource import Resource
from k2sim.schema import BOOL, INT, REF, STR, Field, ref
from k2sim.schema import (  # resource paths
    PEER_VOLUME_GROUPS, PEER_VOLUMES, RETENTION_POLICIES, RPO_HISTORY, SESSIONS, SNAPSHOTS, VOLUME_GROUPS, VOLUMES
)


def now(sim):
    """The array clock, in whole epoch seconds (as the API shows times)."""
    return int(sim.scheduler.now())


def volumes_of(store, vg):
    return store.children(VOLUMES, "volume_group", ref(VOLUME_GROUPS, vg["id"]))


def snapshots_of(store, vg):
    return store.children(SNAPSHOTS, "source", ref(VOLUME_GROUPS, vg["id"]))


def session_of(store, vg):
    """The replication session of volume group ``vg``, or None."""
    sessions = store.children(SESSIONS, "local_volume_group", ref(VOLUME_GROUPS, vg["id"]))
    return sessions[-1] if sessions else None


def _session_link(name):
    """A computed volume-group field copied from its session (None when it has none)."""

    def compute(ctx, vg):
        session = session_of(ctx.arr.store, vg)
        return session[name] if session else None

    return compute


def _is_dedup(vg):
    return bool(vg and vg.get("is_dedup"))


def _session_ref(ctx, vg):
    session = session_of(ctx.arr.store, vg)
    return ref(SESSIONS, session["id"]) if session else None


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
    computed = {
        "volumes_count": lambda ctx, vg: len(volumes_of(ctx.arr.store, vg)),
        "volumes_provisioned_capacity": lambda ctx, vg: sum(v["size"] for v in volumes_of(ctx.arr.store, vg)),
        "snapshots_count": lambda ctx, vg: len(snapshots_of(ctx.arr.store, vg)),
        "replication_session": _session_ref,
        "replication_peer_volume_group": _session_link("replication_peer_volume_group"),
        "replication_rpo_history": _session_link("replication_rpo_history"),
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
            "creation_time": now(sim),
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
        session = session_of(arr.store, record)
        if session is not None:
            raise bad_request(
                "volume group %r is replicated by session %r: delete the session first"
                % (record["name"], session["name"])
            )
        volumes = volumes_of(arr.store, record)
        if volumes:
            raise bad_request("volume group %r still holds %d volume(s)" % (record["name"], len(volumes)))
        super().delete(sim, arr, record)


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
    parent_refs = ("volume_group",)
    computed = {"is_dedup": lambda ctx, vol: _is_dedup(ctx.arr.store.resolve(vol["volume_group"]))}
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "size", "volume_group")
    create_optional = ("description", "read_only")
    patch_fields = ("name", "size", "description", "read_only")

    def defaults(self, sim, arr):
        return {
            "description": "",
            "read_only": False,
            "creation_time": now(sim),
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
    computed = {"snapshots_usage_count": lambda ctx, policy: _snapshots_using(ctx.arr.store, policy)}
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


def _snapshots_using(store, policy):
    my_ref = ref(RETENTION_POLICIES, policy["id"])
    return sum(1 for s in store.tables[SNAPSHOTS].values() if s.get("retention_policy") == my_ref)


def _check_non_negative(name, value):
    if value is not None and value < 0:
        raise bad_request("%s must not be negative" % name)
