"""replication/sessions: creation together with the peer's target session and peer volume groups,
PATCH (state changes go through k2sim.transitions), DELETE from idle, and peer volumes.

On POST towards a reachable peer array B: B gets a session named remote_replication_session_name
(default remote_<name>), current_role target, primary false, idle, in a local volume group named
replication_peer_volume_group_name (default the local group's name; made when missing); the two
sessions cross-link through remote_replication_session_id / _name.
"""

from k2sim.errors import bad_request
from k2sim.resource import Resource
from k2sim.storage import VolumeGroups, Volumes, session_of, volumes_of
from k2sim.transitions import FAILED_OVER, IDLE, IN_SYNC, SOURCE, SUSPENDED, TARGET
from k2sim.transitions import check_transition, land, mirror_of, set_state
from k2sim.schema import ANY, BOOL, INT, REF, STR, Field, ref, ref_id
from k2sim.schema import (  # resource paths
    PEER_ARRAYS, PEER_VOLUME_GROUPS, PEER_VOLUMES, RETENTION_POLICIES, RPO_HISTORY, SESSIONS, SNAPSHOTS, SYSTEM_STATE,
    VOLUME_GROUPS, VOLUMES,
)

TARGET_EXPOSURES = ("unmapped", "Read Only", "Mapped - Not Exposed")
DEFAULT_POLICY = "Replication_Retention"

STATE_EXTRAS = ("snapshot_wwn", "offline_initial_sync", "restored_snapshot")


class Sessions(Resource):
    path = SESSIONS
    # Exactly the 25 fields of the vendor page.
    fields = {
        "common_snapshots_count": Field(INT),
        "current_role": Field(STR),
        "current_snapshot": Field(STR),
        "current_snapshot_progress": Field(INT),
        "estimated_remaining_time": Field(INT),
        "external_retention_policy": Field(REF, RETENTION_POLICIES),
        "id": Field(INT),
        "latest_replicated_snapshot": Field(REF, SNAPSHOTS),
        "local_volume_group": Field(REF, VOLUME_GROUPS),
        "name": Field(STR),
        "next_snapshot": Field(STR),
        "primary": Field(BOOL),
        "remote_replication_session_id": Field(INT),
        "remote_replication_session_name": Field(STR),
        "replication_peer_k2array": Field(REF, PEER_ARRAYS),
        "replication_peer_volume_group": Field(REF, PEER_VOLUME_GROUPS),
        "replication_rpo_history": Field(REF, RPO_HISTORY),
        "restored_snapshot": Field(ANY),
        "retention_policy": Field(REF, RETENTION_POLICIES),
        "rpo": Field(INT),
        "state": Field(STR),
        "stopped": Field(BOOL),
        "suspend_reason": Field(STR),
        "suspend_reason_code": Field(STR),
        "target_exposure": Field(STR),
    }
    # Worked out from the replication round in flight when read (k2sim.rounds).
    computed = {
        "current_snapshot_progress": lambda ctx, s: ctx.sim.replication.progress(s),
        "estimated_remaining_time": lambda ctx, s: ctx.sim.replication.remaining(s),
    }
    write_only = {
        "replication_peer_volume_group_name": Field(STR),
        "auto_configure_peer_volumes": Field(BOOL),
        "snapshot_wwn": Field(STR),
        "offline_initial_sync": Field(BOOL),
    }
    parent_refs = ("local_volume_group",)
    methods = ("GET", "POST", "PATCH", "DELETE")
    create_mandatory = ("name", "replication_peer_k2array", "local_volume_group", "rpo")
    create_optional = (
        "retention_policy",
        "external_retention_policy",
        "replication_peer_volume_group_name",
        "remote_replication_session_name",
        "auto_configure_peer_volumes",
        "target_exposure",
    )
    patch_fields = (
        ("name", "state") + STATE_EXTRAS + ("rpo", "retention_policy", "external_retention_policy", "target_exposure")
    )

    # ---- POST -------------------------------------------------------------------------------
    def create(self, sim, arr, values, obj_id=None):
        check_rpo(values["rpo"])
        exposure = (
            values.get("target_exposure") or arr.store.get(SYSTEM_STATE, 1)["replication_default_target_exposure"]
        )
        check_exposure(exposure)
        peer_rec = arr.store.resolve(values["replication_peer_k2array"])
        peer = sim.arrays.get(peer_rec.get("_peer_array"))
        if peer is None:
            raise bad_request(
                "replication_peer_k2array: peer array %r (mgmt_host %s) is not connected"
                % (peer_rec["name"], peer_rec["mgmt_host"])
            )
        if peer.down is not None:
            raise bad_request("replication_peer_k2array: peer array %r is unreachable" % peer_rec["name"])
        back = peer_record_for(peer, arr)
        if back is None:
            raise bad_request("replication_peer_k2array: array %r has no peer object for %r" % (peer.name, arr.name))
        vg = arr.store.resolve(values["local_volume_group"])
        _check_not_replicated(arr, vg, "local_volume_group")
        remote_name = values.get("remote_replication_session_name") or "remote_" + values["name"]
        if peer.store.by_name(SESSIONS, remote_name) is not None:
            raise bad_request(
                "remote_replication_session_name: a session named %r already exists on peer array %r"
                % (remote_name, peer.name)
            )
        peer_vg_name = values.get("replication_peer_volume_group_name") or vg["name"]
        peer_vg = peer.store.by_name(VOLUME_GROUPS, peer_vg_name)
        if peer_vg is not None:
            _check_not_replicated(peer, peer_vg, "replication_peer_volume_group_name")
        retention = _policy(arr, values.get("retention_policy"), "retention_policy")
        external = _policy(arr, values.get("external_retention_policy"), "external_retention_policy")
        peer_retention = _peer_policy(peer, retention)
        peer_external = _peer_policy(peer, external)
        volumes = volumes_of(arr.store, vg)
        if values.get("auto_configure_peer_volumes"):
            for volume in volumes:
                _check_peer_volume_names(arr, peer, volume, volume["name"], peer_vg)
        # Every check passed: from here on nothing fails half-way.
        if peer_vg is None:
            description = "Replication target of %s:%s" % (arr.name, vg["name"])
            peer_vg = _make_target(
                sim, peer, VolumeGroups(), peer_vg_name, description, quota=vg["quota"], is_dedup=vg["is_dedup"]
            )
        local = _insert_session(
            arr, values["name"], SOURCE, vg, peer_rec, retention, external, values["rpo"], exposure, obj_id
        )
        remote = _insert_session(
            peer, remote_name, TARGET, peer_vg, back, peer_retention, peer_external, values["rpo"], exposure
        )
        local["remote_replication_session_id"], local["remote_replication_session_name"] = remote["id"], remote["name"]
        remote["remote_replication_session_id"], remote["remote_replication_session_name"] = local["id"], local["name"]
        _insert_peer_volume_group(arr, local, peer_vg_name, vg, peer_vg, peer_rec, peer)
        _insert_peer_volume_group(peer, remote, vg["name"], peer_vg, vg, back, arr)
        if values.get("auto_configure_peer_volumes"):
            for volume in volumes:
                add_peer_volume(sim, arr, local, volume, volume["name"])
        return local

    # ---- PATCH ------------------------------------------------------------------------------
    def update(self, sim, arr, record, values):
        requested = values.get("state")
        extras = [k for k in STATE_EXTRAS if k in values]
        if extras and requested is None:
            raise bad_request("%s can only be sent together with state" % ", ".join(extras))
        if "restored_snapshot" in values and requested != FAILED_OVER:
            raise bad_request("restored_snapshot applies to state failed_over only")
        if "offline_initial_sync" in values and requested != IN_SYNC:
            raise bad_request("offline_initial_sync applies to state in_sync only")
        if "rpo" in values:
            check_rpo(values["rpo"])
        if "target_exposure" in values:
            check_exposure(values["target_exposure"])
        start = requested is not None and check_transition(sim, arr, record, requested)
        peer, mirror = mirror_of(sim, arr, record)
        reachable = mirror is not None and peer.down is None and arr.down is None
        if "name" in values and values["name"] != record["name"]:
            arr.store.update(SESSIONS, record, {"name": values["name"]})
            if reachable:
                mirror["remote_replication_session_name"] = values["name"]
        for key in ("rpo", "retention_policy", "external_retention_policy", "target_exposure"):
            if key in values:
                record[key] = values[key]
        if "rpo" in values:
            _set_target_rpo(arr, record)
            sim.replication.rpo_changed(arr, record)
            if reachable:
                mirror["rpo"] = values["rpo"]
                _set_target_rpo(peer, mirror)
                sim.replication.rpo_changed(peer, mirror)
        if start:
            record["_pending"] = requested
            options = {"restored_snapshot": values.get("restored_snapshot")}
            sim.schedule(lambda: land(sim, arr, record["id"], requested, options))

    # ---- DELETE -----------------------------------------------------------------------------
    def delete(self, sim, arr, record):
        if record["_pending"] is not None:
            raise bad_request(
                "session %r cannot be deleted while its change to %s is in progress"
                % (record["name"], record["_pending"])
            )
        if record["state"] != IDLE:
            raise bad_request(
                "session %r can be deleted only in state idle (current state: %s)" % (record["name"], record["state"])
            )
        store, my_ref = arr.store, ref(SESSIONS, record["id"])
        for pv in store.where(PEER_VOLUMES, replication_peer_volume_group=record["replication_peer_volume_group"]):
            volume = store.resolve(pv["local_volume"])
            if volume is not None:
                volume["replication_peer_volume"] = None
            store.remove(PEER_VOLUMES, pv["id"])
        for snap in store.where(SNAPSHOTS, replication_session=my_ref):
            snap["replication_session"] = None
        store.remove(PEER_VOLUME_GROUPS, ref_id(record["replication_peer_volume_group"]))
        for history_id in record["_history"]:
            store.remove(RPO_HISTORY, history_id)
        sim.replication.forget(arr, record)
        store.remove(SESSIONS, record["id"])
        sim.replication.rerate_all()  # a round towards this session can no longer arrive


# ---- rules ------------------------------------------------------------------------------------
def check_rpo(rpo):
    if not (rpo == 60 or (rpo > 0 and rpo % 300 == 0)):
        raise bad_request("rpo must be either 60 (1 min) or a multiple of 300 (5 min)")


def check_exposure(value):
    if value not in TARGET_EXPOSURES:
        raise bad_request("target_exposure must be one of %s, got %r" % (", ".join(TARGET_EXPOSURES), value))


def _check_not_replicated(arr, vg, option):
    session = session_of(arr.store, vg)
    if session is not None:
        raise bad_request(
            "%s: volume group %r on %r is already replicated by session %r"
            % (option, vg["name"], arr.name, session["name"])
        )


def default_policy(arr):
    return arr.store.by_name(RETENTION_POLICIES, DEFAULT_POLICY) or next(iter(arr.store.all(RETENTION_POLICIES)), None)


def _policy(arr, value, option):
    policy = arr.store.resolve(value) if value else default_policy(arr)
    if policy is None:
        raise bad_request("%s is required: array %r has no default retention policy" % (option, arr.name))
    return policy


def _peer_policy(peer, policy):
    match = peer.store.by_name(RETENTION_POLICIES, policy["name"]) or default_policy(peer)
    if match is None:
        raise bad_request("peer array %r has no retention policy" % peer.name)
    return match


# ---- records ----------------------------------------------------------------------------------
def _insert_session(arr, name, role, vg, peer_rec, retention, external, rpo, exposure, obj_id=None):
    s = {
        "name": name,
        "current_role": role,
        "primary": role == SOURCE,
        "common_snapshots_count": 0,
        "current_snapshot": None,
        "next_snapshot": None,
        "latest_replicated_snapshot": None,
        "local_volume_group": ref(VOLUME_GROUPS, vg["id"]),
        "replication_peer_k2array": ref(PEER_ARRAYS, peer_rec["id"]),
        "retention_policy": ref(RETENTION_POLICIES, retention["id"]),
        "external_retention_policy": ref(RETENTION_POLICIES, external["id"]),
        "remote_replication_session_id": None,
        "remote_replication_session_name": None,
        "replication_peer_volume_group": None,
        "replication_rpo_history": None,
        "restored_snapshot": None,
        "rpo": rpo,
        "target_exposure": exposure,
        "_pending": None,
        "_link_missed": False,
        "_generation": 0,
        # Replication rounds (k2sim.rounds): the schedule and the round in flight (None while the
        # session does not replicate), transfers stalled by the control API, the progress shown
        # when no round runs, this session's rpo_history records and scheduled-round snapshots on
        # this array (oldest first).
        "_repl": None,
        "_stalled": False,
        "_progress": 0,
        "_history": [],
        "_round_snaps": [],
    }
    set_state(s, IDLE)
    arr.store.insert(SESSIONS, s, obj_id)
    return s


def _insert_peer_volume_group(arr, session, name, local_vg, remote_vg, peer_rec, peer):
    pvg = arr.store.insert(
        PEER_VOLUME_GROUPS,
        {
            "name": name,
            "fullname": "%s_%s" % (peer.system_id, name),
            "local_volume_group": ref(VOLUME_GROUPS, local_vg["id"]),
            "remote_volume_group_id": remote_vg["id"],
            "replication_peer_k2array": ref(PEER_ARRAYS, peer_rec["id"]),
            "replication_session": ref(SESSIONS, session["id"]),
            "replication_session_id": session["id"],
            "capacity_state": "ok",
            "logical_capacity": 0,
            "snapshots_logical_capacity": 0,
            "volumes_logical_capacity": 0,
        },
    )
    session["replication_peer_volume_group"] = ref(PEER_VOLUME_GROUPS, pvg["id"])


def _set_target_rpo(arr, s):
    """A round in flight is judged against the new rpo (finished rounds keep theirs)."""
    history = arr.store.resolve(s["replication_rpo_history"])
    if history is not None and history["round_end"] == 0:
        history["target_rpo"] = s["rpo"]


def peer_record_for(peer, arr):
    """The peer-array object on ``peer`` that points back at ``arr``."""
    for record in peer.store.all(PEER_ARRAYS):
        if record.get("_peer_array") == arr.name:
            return record
    return None


def add_peer_volume(sim, arr, session, volume, name, obj_id=None):
    """Declare ``volume``'s replica: a peer_volumes record on both arrays and the target volume."""
    if session["current_role"] != SOURCE:
        raise bad_request("replication_session: peer volumes are declared on the source side")
    if volume["volume_group"] != session["local_volume_group"]:
        raise bad_request(
            "local_volume: volume %r is not in the volume group of session %r" % (volume["name"], session["name"])
        )
    if volume["replication_peer_volume"]:
        raise bad_request("local_volume: volume %r already has a peer volume" % volume["name"])
    peer, mirror = mirror_of(sim, arr, session)
    if mirror is None:
        raise bad_request("replication_session: the peer session of %r is missing" % session["name"])
    if peer.down is not None:
        raise bad_request("replication_session: peer array %r is unreachable" % peer.name)
    target = _check_peer_volume_names(arr, peer, volume, name, peer.store.resolve(mirror["local_volume_group"]))
    if target is None:
        description = "Synced by %s source machine" % arr.system_id
        target = _make_target(
            sim, peer, Volumes(), name, description, size=volume["size"], volume_group=mirror["local_volume_group"],
            read_only=True,
        )
    pv = arr.store.insert(
        PEER_VOLUMES,
        {
            "name": name,
            "local_volume": ref(VOLUMES, volume["id"]),
            "remote_volume_id": target["id"],
            "replication_peer_volume_group": session["replication_peer_volume_group"],
        },
        obj_id,
    )
    volume["replication_peer_volume"] = ref(PEER_VOLUMES, pv["id"])
    back = peer.store.insert(
        PEER_VOLUMES,
        {
            "name": volume["name"],
            "local_volume": ref(VOLUMES, target["id"]),
            "remote_volume_id": volume["id"],
            "replication_peer_volume_group": mirror["replication_peer_volume_group"],
        },
    )
    target["replication_peer_volume"] = ref(PEER_VOLUMES, back["id"])
    return pv


def _make_target(sim, peer, resource, name, description, **values):
    """The object on the peer array that receives a replicated one: a volume group or a volume."""
    return resource.create(sim, peer, dict(values, name=name, description=description))


def _check_peer_volume_names(arr, peer, volume, name, peer_vg):
    """400 unless ``volume`` can be paired with a volume ``name`` in ``peer_vg`` (None: not made yet).
    Returns the existing free target volume, or None when it is to be made."""
    if arr.store.by_name(PEER_VOLUMES, name) is not None:
        raise bad_request("%s: an object named %r already exists" % (PEER_VOLUMES, name))
    if peer.store.by_name(PEER_VOLUMES, volume["name"]) is not None:
        raise bad_request("peer array %r already has a peer volume named %r" % (peer.name, volume["name"]))
    target = peer.store.by_name(VOLUMES, name)
    if target is not None and (
        peer_vg is None
        or target["volume_group"] != ref(VOLUME_GROUPS, peer_vg["id"])
        or target["replication_peer_volume"]
    ):
        raise bad_request("name: volume %r already exists on peer array %r" % (name, peer.name))
    return target


def seed_state(sim, arr, s, state):
    """A seeded session starts in ``state`` on both sides at once (no transition, no delay)."""
    if state not in (IDLE, IN_SYNC, SUSPENDED):
        raise bad_request("a seeded session may start idle, in_sync or suspended, not %r" % state)
    set_state(s, state)
    peer, mirror = mirror_of(sim, arr, s)
    if mirror is not None:
        set_state(mirror, state)
    sim.replication.refresh(arr, s)
