"""snapshots: volume group snapshots, and replication snapshots that travel to the peer array.

POST with ``replication_session`` (source side, in_sync) takes a snapshot of the session's volume
group and hands it to the replication rounds (k2sim.rounds): it travels at once when no round is
running, else right after the running one. When it arrives the session's latest_replicated_snapshot
and common_snapshots_count move, and the peer array gets its copy (is_originating_from_peer).
"""

from k2sim import transitions
from k2sim.errors import bad_request
from k2sim.resource import Resource
from k2sim.storage import now, snapshots_of
from k2sim.schema import BOOL, INT, REF, RETENTION_POLICIES, SESSIONS, SNAPSHOTS, STR, VOLUME_GROUPS, Field, ref


class Snapshots(Resource):
    path = SNAPSHOTS
    fields = {
        "id": Field(INT),
        "name": Field(STR),
        "short_name": Field(STR),
        "description": Field(STR),
        "source": Field(REF, VOLUME_GROUPS),
        "volume_group": Field(REF, VOLUME_GROUPS),
        "creation_time": Field(INT),
        "generation_number": Field(INT),
        "is_application_consistent": Field(BOOL),
        "is_auto_deleteable": Field(BOOL),
        "is_exist_on_peer": Field(BOOL),
        "is_originating_from_peer": Field(BOOL),
        "is_external": Field(BOOL),
        "triggered_by": Field(STR),
        "wwn": Field(STR),
        "retention_policy": Field(REF, RETENTION_POLICIES),
        "replication_session": Field(REF, SESSIONS),
    }
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_optional = (
        "source",
        "replication_session",
        "short_name",
        "description",
        "retention_policy",
        "is_application_consistent",
    )
    patch_fields = ("short_name", "description", "retention_policy")
    unique_name = False  # short_name is unique per volume group instead
    parent_refs = ("source",)

    def create(self, sim, arr, values, obj_id=None):
        store = arr.store
        session = store.resolve(values.get("replication_session")) if "replication_session" in values else None
        vg = store.resolve(values.get("source")) if "source" in values else None
        if session is not None:
            if vg is not None and values["source"] != session["local_volume_group"]:
                raise bad_request("source must be the volume group of replication_session %r" % session["name"])
            vg = store.resolve(session["local_volume_group"])
            _check_can_replicate(session)
        if vg is None:
            raise bad_request("source or replication_session is required")
        if "short_name" in values:
            _check_short_name(store, vg, values["short_name"])
        policy = values.get("retention_policy") or (session["retention_policy"] if session else None)
        snap = insert(
            arr,
            vg,
            {
                "short_name": values.get("short_name"),
                "description": values.get("description", ""),
                "creation_time": now(sim),
                "generation_number": 0,
                "is_application_consistent": values.get("is_application_consistent", False),
                "triggered_by": "api",
                "retention_policy": policy,
                "replication_session": ref(SESSIONS, session["id"]) if session else None,
            },
            obj_id=obj_id,
        )
        if session is not None:
            session["_generation"] += 1
            snap["generation_number"] = session["_generation"]
            sim.replication.user_snapshot(arr, session, snap)
        return snap

    def update(self, sim, arr, record, values):
        if "short_name" in values and values["short_name"] != record["short_name"]:
            vg = arr.store.resolve(record["source"])
            _check_short_name(arr.store, vg, values["short_name"])
            values = dict(values, name="%s:%s" % (vg["name"], values["short_name"]))
        super().update(sim, arr, record, values)

    def delete(self, sim, arr, record):
        remove(arr, record)


def _check_can_replicate(session):
    if session["current_role"] != transitions.SOURCE:
        raise bad_request(
            "replication_session: snapshots replicate from the source side; session %r is a target" % session["name"]
        )
    if session["state"] != transitions.IN_SYNC or session["_pending"] is not None:
        raise bad_request(
            "replication_session: session %r must be in_sync (current state: %s)" % (session["name"], session["state"])
        )


def _check_short_name(store, vg, short_name):
    for snap in snapshots_of(store, vg):
        if snap["short_name"] == short_name:
            raise bad_request("short_name: volume group %r already has a snapshot named %r" % (vg["name"], short_name))


def insert(arr, vg, values, obj_id=None, rename_if_taken=False):
    """A snapshot of volume group ``vg`` on ``arr`` from ``values`` (the fields that differ from a
    plain user snapshot's), named ``<vg>:<short_name>`` (default short name ``snap_<id>``; with
    ``rename_if_taken`` a short name already used in the group gets ``_<id>`` appended)."""
    record = {
        "short_name": None,
        "description": "",
        "source": ref(VOLUME_GROUPS, vg["id"]),
        "volume_group": ref(VOLUME_GROUPS, vg["id"]),
        "generation_number": 0,
        "is_application_consistent": False,
        "is_auto_deleteable": True,
        "is_exist_on_peer": False,
        "is_originating_from_peer": False,
        "is_external": False,
        "triggered_by": "api",
        "retention_policy": None,
        "replication_session": None,
    }
    record.update(values)
    wanted = record["short_name"]
    if rename_if_taken and wanted:
        taken = {s["short_name"] for s in snapshots_of(arr.store, vg)}
        record["short_name"] = None if wanted in taken else wanted
    snap = arr.store.insert(SNAPSHOTS, record, obj_id)
    if not snap["short_name"]:
        snap["short_name"] = "%s_%d" % (wanted, snap["id"]) if wanted else "snap_%d" % snap["id"]
    arr.store.update(SNAPSHOTS, snap, {"name": "%s:%s" % (vg["name"], snap["short_name"])})
    snap["wwn"] = "0x0024f400%04x%08x" % (int(arr.system_id.lstrip("d") or 0) % 0x10000, snap["id"])
    vg["last_snapshot_creation_time"] = snap["creation_time"]
    return snap


def remove(arr, snap):
    """Delete a snapshot; sessions whose latest replicated snapshot it was no longer have one."""
    my_ref = ref(SNAPSHOTS, snap["id"])
    for session in arr.store.where(SESSIONS, latest_replicated_snapshot=my_ref):
        session["latest_replicated_snapshot"] = None
    arr.store.remove(SNAPSHOTS, snap["id"])
