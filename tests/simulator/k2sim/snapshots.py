"""snapshots: volume group snapshots, and replication snapshots that travel to the peer array.

POST with ``replication_session`` (source side, in_sync) takes a snapshot of the session's volume
group; after the transition delay it "arrives": the session's latest_replicated_snapshot and
common_snapshots_count move, and the peer array gets its copy (is_originating_from_peer).
"""

import math

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
        snap = store.insert(
            self.path,
            {
                "short_name": values.get("short_name"),
                "description": values.get("description", ""),
                "source": ref(VOLUME_GROUPS, vg["id"]),
                "volume_group": ref(VOLUME_GROUPS, vg["id"]),
                "creation_time": now(),
                "generation_number": 0,
                "is_application_consistent": values.get("is_application_consistent", False),
                "is_auto_deleteable": True,
                "is_exist_on_peer": False,
                "is_originating_from_peer": False,
                "is_external": False,
                "triggered_by": "api",
                "retention_policy": policy,
                "replication_session": ref(SESSIONS, session["id"]) if session else None,
            },
            obj_id,
        )
        _finish(arr, vg, snap)
        if session is not None:
            session["_generation"] += 1
            snap["generation_number"] = session["_generation"]
            session["current_snapshot"] = snap["name"]
            session["current_snapshot_progress"] = 0
            session["estimated_remaining_time"] = max(1, math.ceil(sim.transition_delay))
            sid, snap_id = session["id"], snap["id"]
            sim.schedule(lambda: _arrived(sim, arr, sid, snap_id))
        return snap

    def update(self, sim, arr, record, values):
        if "short_name" in values and values["short_name"] != record["short_name"]:
            vg = arr.store.resolve(record["source"])
            _check_short_name(arr.store, vg, values["short_name"])
            values = dict(values, name="%s:%s" % (vg["name"], values["short_name"]))
        super().update(sim, arr, record, values)

    def delete(self, sim, arr, record):
        my_ref = ref(self.path, record["id"])
        for session in arr.store.where(SESSIONS, latest_replicated_snapshot=my_ref):
            session["latest_replicated_snapshot"] = None
        super().delete(sim, arr, record)


def _check_can_replicate(session):
    if session["current_role"] != transitions.SOURCE:
        raise bad_request(
            "replication_session: snapshots replicate from the source side; session %r is a target" % session["name"]
        )
    if session["state"] != transitions.IN_SYNC or session["_pending"] is not None:
        raise bad_request(
            "replication_session: session %r must be in_sync (current state: %s)" % (session["name"], session["state"])
        )
    if session["current_snapshot"] is not None:
        raise bad_request("MC_ERR_INPROGRESS")


def _check_short_name(store, vg, short_name):
    for snap in snapshots_of(store, vg):
        if snap["short_name"] == short_name:
            raise bad_request("short_name: volume group %r already has a snapshot named %r" % (vg["name"], short_name))


def _finish(arr, vg, snap):
    if not snap["short_name"]:
        snap["short_name"] = "snap_%d" % snap["id"]
    arr.store.update(SNAPSHOTS, snap, {"name": "%s:%s" % (vg["name"], snap["short_name"])})
    snap["wwn"] = "0x0024f400%04x%08x" % (int(arr.system_id.lstrip("d") or 0) % 0x10000, snap["id"])
    vg["last_snapshot_creation_time"] = snap["creation_time"]


def _arrived(sim, arr, sid, snap_id):
    session, snap = arr.store.get(SESSIONS, sid), arr.store.get(SNAPSHOTS, snap_id)
    if session is None:
        return
    session["current_snapshot"] = None
    session["estimated_remaining_time"] = None
    peer, mirror = transitions.mirror_of(sim, arr, session)
    if snap is None or mirror is None or peer.down is not None or arr.down is not None:
        session["current_snapshot_progress"] = 0
        transitions.link_down(session)
        return
    session["current_snapshot_progress"] = 100
    snap["is_exist_on_peer"] = True
    target_vg = peer.store.resolve(mirror["local_volume_group"])
    copy = peer.store.insert(
        SNAPSHOTS,
        {
            "short_name": None,
            "description": "",
            "source": ref(VOLUME_GROUPS, target_vg["id"]),
            "volume_group": ref(VOLUME_GROUPS, target_vg["id"]),
            "creation_time": snap["creation_time"],
            "generation_number": snap["generation_number"],
            "is_application_consistent": snap["is_application_consistent"],
            "is_auto_deleteable": True,
            "is_exist_on_peer": True,
            "is_originating_from_peer": True,
            "is_external": False,
            "triggered_by": "Replication_API",
            "retention_policy": mirror["retention_policy"],
            "replication_session": ref(SESSIONS, mirror["id"]),
        },
    )
    taken = {s["short_name"] for s in snapshots_of(peer.store, target_vg)}
    copy["short_name"] = (
        snap["short_name"] if snap["short_name"] not in taken else "%s_%d" % (snap["short_name"], copy["id"])
    )
    _finish(peer, target_vg, copy)
    for where, s, latest in ((arr, session, snap), (peer, mirror, copy)):
        s["latest_replicated_snapshot"] = ref(SNAPSHOTS, latest["id"])
        s["common_snapshots_count"] += 1
        s["current_snapshot_progress"] = 100
        history = where.store.resolve(s["replication_rpo_history"])
        if history is not None:
            history.update(
                generation_number=snap["generation_number"],
                round_start=snap["creation_time"],
                round_end=now(),
                bytes_transmitted_logical=1024 * snap["generation_number"],
                bytes_transmitted_physical=512 * snap["generation_number"],
            )
