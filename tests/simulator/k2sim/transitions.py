"""The session state machine: contract.md's transition table (with the side), asynchronous landing,
and the mirror that follows each landed transition on the peer array.

A transition requested by PATCH is validated at once against (current_role, state), answered with
the object still in its old state, and lands after the transition delay. The peer's session then
follows after a further delay:
- source in_sync / suspended / idle -> the target takes the same state;
- target failed_over -> the source becomes suspended (suspend_reason_code peer_failed_over);
- target failed_over -> in_sync reverses replication: this side becomes source/primary, the peer
  target/not primary/in_sync;
- target failed_over -> idle -> the peer becomes idle.
A mirror update is due once the transition lands: it is delivered even if the session is deleted
in between. One that cannot be delivered because either array is down is dropped, and the session it
was meant for shows ``suspended`` with suspend_reason_code ``link_down`` (if it was in_sync or
suspended): at once when that array is up, or when it comes back up.
"""

from k2sim.errors import bad_request
from k2sim.schema import SESSIONS

SOURCE, TARGET = "source", "target"
IDLE, IN_SYNC, SUSPENDED, FAILED_OVER = "idle", "in_sync", "suspended", "failed_over"
STATES = (IDLE, IN_SYNC, SUSPENDED, FAILED_OVER)

# contract.md's table, keyed by (current_role, current state) -> states a PATCH may request.
TRANSITIONS = {
    (SOURCE, IDLE): (IN_SYNC,),
    (SOURCE, IN_SYNC): (SUSPENDED,),
    (SOURCE, SUSPENDED): (IN_SYNC, IDLE),
    (TARGET, IN_SYNC): (FAILED_OVER,),
    (TARGET, SUSPENDED): (FAILED_OVER,),
    (TARGET, FAILED_OVER): (IN_SYNC, IDLE),
}
# (suspend_reason_code, suspend_reason)
REASON_NONE = ("none", "")
REASON_USER = ("user_request", "Replication was suspended by a user request")
REASON_PEER_FAILED_OVER = ("peer_failed_over", "The peer session failed over")
REASON_LINK = ("link_down", "The replication link to the peer array was down while the peer session changed")


def check_transition(sim, arr, s, requested):
    """True when a new transition starts; False when the same one is already under way."""
    if requested not in STATES:
        raise bad_request("state must be one of %s, got %r" % (", ".join(STATES), requested))
    if s["_pending"] is not None:
        if requested == s["_pending"]:
            return False  # a repeated request for the change already in progress
        raise bad_request("MC_ERR_INPROGRESS")
    role, current = s["current_role"], s["state"]
    if requested not in TRANSITIONS.get((role, current), ()):
        raise bad_request(
            "invalid state transition for session %r (current_role %s): current state %s, "
            "requested state %s" % (s["name"], role, current, requested)
        )
    if role == SOURCE and current == SUSPENDED and requested == IN_SYNC:
        peer, mirror = mirror_of(sim, arr, s)
        if mirror is not None and peer.down is None and mirror["state"] == FAILED_OVER:
            raise bad_request(
                "session %r cannot resume: its peer session %r on %r is failed_over"
                % (s["name"], mirror["name"], peer.name)
            )
    return True


def set_state(s, state, reason=None):
    s["state"] = state
    s["stopped"] = state == IDLE
    code, text = (reason or REASON_USER) if state == SUSPENDED else REASON_NONE
    s["suspend_reason_code"], s["suspend_reason"] = code, text


def mirror_of(sim, arr, s):
    """(peer array, the peer's session linked to ``s``); (peer or None, None) when there is none."""
    peer_rec = arr.store.resolve(s["replication_peer_k2array"])
    peer = sim.arrays.get(peer_rec.get("_peer_array")) if peer_rec else None
    if peer is None:
        return None, None
    mirror = peer.store.get(SESSIONS, s["remote_replication_session_id"])
    if mirror is None or mirror["remote_replication_session_id"] != s["id"]:
        return peer, None
    back = peer.store.resolve(mirror["replication_peer_k2array"])
    if back is None or back.get("_peer_array") != arr.name:
        return peer, None
    return peer, mirror


def land(sim, arr, sid, requested, options):
    s = arr.store.get(SESSIONS, sid)
    if s is None or s["_pending"] != requested:
        return
    s["_pending"] = None
    role = s["current_role"]
    set_state(s, requested)
    if requested == FAILED_OVER:
        s["restored_snapshot"] = options.get("restored_snapshot")
    if role == SOURCE:
        action = ("state", requested, REASON_USER if requested == SUSPENDED else None)
    elif requested == FAILED_OVER:
        action = ("state", SUSPENDED, REASON_PEER_FAILED_OVER)
    elif requested == IN_SYNC:  # failed_over -> in_sync on the target: replication reverses
        s["current_role"], s["primary"] = SOURCE, True
        action = ("reverse",)
    else:  # failed_over -> idle on the target
        action = ("state", IDLE, None)
    sim.replication.refresh(arr, s)
    # The mirror update is due from now on: it reaches the peer even if this session is deleted
    # before it is delivered (a source stopped and deleted at once still leaves its target idle).
    peer, mirror = mirror_of(sim, arr, s)
    link = (peer.name, mirror["id"], s["current_role"]) if mirror is not None else None
    sim.schedule(lambda: _mirror(sim, arr, sid, action, link))


def _mirror(sim, arr, sid, action, link):
    if link is None:
        return
    peer = sim.arrays.get(link[0])
    mirror = peer.store.get(SESSIONS, link[1]) if peer is not None else None
    if mirror is None or mirror["remote_replication_session_id"] != sid:
        return
    s = arr.store.get(SESSIONS, sid)
    if s is not None and mirror_of(sim, arr, s)[1] is not mirror:
        return
    if arr.down is not None or peer.down is not None:
        deliver_failed(sim, peer, mirror)
        return
    if action[0] == "reverse":
        mirror["current_role"], mirror["primary"] = TARGET, False
        set_state(mirror, IN_SYNC)
    elif not (mirror["current_role"] == TARGET and mirror["state"] == FAILED_OVER and link[2] == SOURCE):
        # A source's change never undoes its target's failover (it can only happen across a link loss).
        set_state(mirror, action[1], action[2])
    sim.replication.refresh(peer, mirror)


def deliver_failed(sim, dest_arr, dest_session):
    if dest_arr.down is not None:
        dest_session["_link_missed"] = True
    else:
        link_down(sim, dest_arr, dest_session)


def link_down(sim, arr, s):
    if s["state"] in (IN_SYNC, SUSPENDED):
        set_state(s, SUSPENDED, REASON_LINK)
        sim.replication.refresh(arr, s)


def array_came_up(sim, arr):
    """Sessions on ``arr`` that missed a mirror update while it was down now show the link loss."""
    for s in arr.store.all(SESSIONS):
        if s["_link_missed"]:
            s["_link_missed"] = False
            link_down(sim, arr, s)
