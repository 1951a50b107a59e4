"""Replication rounds: a source session that is in_sync replicates on a schedule.

- The first round starts when the session enters in_sync (the initial sync; also a resume, and a
  reverse on the side that becomes the source), then one every ``rpo`` simulated seconds after the
  previous round started; if that one is still running then, the next starts when it ends.
- A round takes a snapshot of the session's volume group (``creation_time`` = the round start,
  ``triggered_by: Replication``, ``replication_session`` = the session) and transfers
  ``round_bytes`` at the link speed (bytes per simulated second, ``link_speed`` divided by the
  slowdown factors, global and of the array pair). Concurrent rounds do not share the link: each
  moves at the link speed. When the transfer is done the snapshot exists on the peer (a copy with the
  SAME creation_time and generation_number, ``is_originating_from_peer``, in the peer session's volume
  group), ``is_exist_on_peer`` is set, and ``latest_replicated_snapshot`` and
  ``common_snapshots_count`` move on both sides.
- Each round writes a ``replication/rpo_history`` record on the source array when it starts
  (``round_end`` 0 while it runs) and on the peer array (at the start when that array is up, else
  when the round ends); both get ``round_end`` and the bytes transmitted when it ends. A session's
  ``replication_rpo_history`` references the record of its latest round (null before its first).
- While a round runs, the source session shows ``current_snapshot`` (the snapshot's name),
  ``current_snapshot_progress`` (0-99) and ``estimated_remaining_time`` (simulated seconds; null
  while the transfer cannot move), worked out from the clock when read. After a round reaches the
  peer both sides show progress 100; a dropped round leaves 0.
- Nothing moves while the transfer is stalled (control API), the link between the two arrays is cut,
  either array is down or the peer session is gone: the session stays in_sync (an array keeps
  retrying) and no round completes. The link cut is the replication data path only: session
  creation and the mirrors of transitions still reach the peer.
- A session that leaves in_sync (suspended, stopped, failed over, link lost) drops its running round
  at once: its snapshot stays on the source without reaching the peer, its rpo_history records end
  with the bytes moved so far, and replication snapshots waiting in its queue stay where they are.
- A user-requested replication snapshot (POST /snapshots with replication_session) is a round the
  user asked for: it starts at once when no round runs, else it waits in the session's queue and
  starts when the running round ends (before any periodic round). It counts as a round for the
  schedule. Its copy on the peer says ``triggered_by: Replication_API``; it is never pruned.
- Storage stays bounded: on each array, a session keeps the snapshots of its last KEEP_ROUNDS
  scheduled rounds (older ones are deleted on both sides, and common_snapshots_count goes down
  with them) and the rpo_history records of its last KEEP_ROUNDS rounds.
"""

import math

from k2sim import snapshots, transitions
from k2sim.schema import RPO_HISTORY, SESSIONS, SNAPSHOTS, ref
from k2sim.scheduler import ROUND_END, ROUND_START

MIB = 1024 * 1024
GIB = 1024 * MIB
# A round moves 32 MiB at 1 GiB per simulated second: about 31 ms at time_scale 1, so a session
# that starts replicating has its first replicated snapshot long before a transition delay passes.
DEFAULT_ROUND_BYTES = 32 * MIB
DEFAULT_LINK_SPEED = GIB
KEEP_ROUNDS = 5
EPSILON = 1e-6
ROUND_TRIGGER = "Replication"
USER_COPY_TRIGGER = "Replication_API"


def _positive(name, value, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError("%s must be a positive number" % name)
    if integer and int(value) != value:
        raise ValueError("%s must be a whole number of bytes" % name)
    return int(value) if integer else float(value)


def _pair(a, b):
    return tuple(sorted((a, b)))


class Replication:
    """The rounds of every session, the link settings and the stalled transfers of one simulator."""

    def __init__(self, sim, round_bytes=DEFAULT_ROUND_BYTES, link_speed=DEFAULT_LINK_SPEED):
        self.sim = sim
        self.initial = {
            "round_bytes": _positive("round_bytes", round_bytes, integer=True),
            "link_speed": _positive("link_speed", link_speed),
            "link_slowdown": 1.0,
        }
        self.round_bytes = self.link_speed = self.link_slowdown = None
        self.links = {}  # (array, array) sorted -> {"speed": None or bytes/s, "slowdown": factor, "cut": bool}
        self.running = {}  # (array name, session id) -> None: the sessions with a round in flight
        self.reset()

    # ---- settings ---------------------------------------------------------------------------
    def reset(self):
        self.round_bytes = self.initial["round_bytes"]
        self.link_speed = self.initial["link_speed"]
        self.link_slowdown = self.initial["link_slowdown"]
        self.links.clear()
        self.running.clear()

    def settings(self):
        return {"round_bytes": self.round_bytes, "link_speed": self.link_speed, "link_slowdown": self.link_slowdown}

    def check(self, round_bytes=None, link_speed=None, link_slowdown=None):
        if round_bytes is not None:
            _positive("round_bytes", round_bytes, integer=True)
        if link_speed is not None:
            _positive("link_speed", link_speed)
        if link_slowdown is not None:
            _positive("link_slowdown", link_slowdown)

    def configure(self, round_bytes=None, link_speed=None, link_slowdown=None):
        """New settings (checked first with check()); rounds in flight move at the new speed from now."""
        self.check(round_bytes, link_speed, link_slowdown)
        if round_bytes is not None:
            self.round_bytes = int(round_bytes)  # from the next round on
        if link_speed is not None:
            self.link_speed = float(link_speed)
        if link_slowdown is not None:
            self.link_slowdown = float(link_slowdown)
        self.rerate_all()

    def link(self, a, b):
        """The settings of the link between arrays ``a`` and ``b`` and its effective speed."""
        own = self.links.get(_pair(a, b), {})
        return {
            "arrays": list(_pair(a, b)),
            "speed": own.get("speed"),
            "slowdown": own.get("slowdown", 1.0),
            "cut": own.get("cut", False),
            "effective_speed": self.speed_between(a, b),
        }

    def set_link(self, a, b, **changes):
        """Change the link between ``a`` and ``b``: ``speed`` (bytes per simulated second; None: the
        global link_speed), ``slowdown`` (a factor the speed is divided by) and ``cut`` (bool)."""
        unknown = sorted(set(changes) - {"speed", "slowdown", "cut"})
        if unknown:
            raise ValueError("unknown link setting(s): %s (settings: speed, slowdown, cut)" % ", ".join(unknown))
        if a == b:
            raise ValueError("a link joins two different arrays")
        if "speed" in changes and changes["speed"] is not None:
            changes["speed"] = _positive("speed", changes["speed"])
        if "slowdown" in changes:
            changes["slowdown"] = _positive("slowdown", changes["slowdown"])
        if "cut" in changes and not isinstance(changes["cut"], bool):
            raise ValueError("cut must be true or false")
        self.links.setdefault(_pair(a, b), {}).update(changes)
        self.rerate_all()
        return self.link(a, b)

    def speed_between(self, a, b):
        own = self.links.get(_pair(a, b), {})
        if own.get("cut"):
            return 0.0
        speed = own.get("speed") or self.link_speed
        return speed / (self.link_slowdown * own.get("slowdown", 1.0))

    def stall(self, arr, s, stalled):
        """Stop (or let go on) the transfers of session ``s``: its progress stops, no round completes."""
        s["_stalled"] = bool(stalled)
        if self._round(s) is not None:
            self._rate(arr, s, self.now())

    # ---- hooks ------------------------------------------------------------------------------
    def now(self):
        return self.sim.scheduler.now()

    def refresh(self, arr, s):
        """After a session's state or role changed: start replicating (the initial round) or stop."""
        replicating = s["current_role"] == transitions.SOURCE and s["state"] == transitions.IN_SYNC
        if replicating and s.get("_repl") is None:
            s["_repl"] = {"round": None, "queue": [], "last_start": None, "next": None, "due": False}
            self._start(arr, s, self.now())
        elif not replicating and s.get("_repl") is not None:
            self.forget(arr, s)

    def forget(self, arr, s):
        """The session stops replicating (or is deleted): its round is dropped, nothing is scheduled."""
        repl = s.get("_repl")
        if repl is None:
            return
        if repl["round"] is not None:
            self._drop(arr, s, self.now())
        self.sim.scheduler.cancel(repl["next"])
        s["_repl"] = None

    def rerate_all(self):
        """Something the transfers depend on changed (link, arrays up or down, a session gone)."""
        t = self.now()
        for name, sid in list(self.running):
            arr = self.sim.arrays.get(name)
            s = arr.store.get(SESSIONS, sid) if arr is not None else None
            if s is not None and self._round(s) is not None:
                self._rate(arr, s, t)

    def rpo_changed(self, arr, s):
        repl = s.get("_repl")
        if repl is None or repl["last_start"] is None:
            return
        self.sim.scheduler.cancel(repl["next"])
        self._schedule_next(arr, s, max(self.now(), repl["last_start"] + s["rpo"]))

    def user_snapshot(self, arr, s, snap):
        """A replication snapshot the user took: a round now, or queued behind the running one."""
        repl = s["_repl"]
        if repl["round"] is None:
            self._start(arr, s, self.now(), snap)
        else:
            repl["queue"].append(snap["id"])

    # ---- what GET shows ---------------------------------------------------------------------
    def progress(self, s):
        rnd = self._round(s)
        if rnd is None:
            return s.get("_progress", 0)
        # EPSILON: a clock that moved by 25.0 s may read 24.9999999 after float rounding.
        return min(99, int(math.floor(100 * self._done(rnd, self.now()) / rnd["total"] + EPSILON)))

    def remaining(self, s):
        rnd = self._round(s)
        if rnd is None or rnd["rate"] <= 0:
            return None
        return max(0, int(math.ceil((rnd["total"] - self._done(rnd, self.now())) / rnd["rate"] - EPSILON)))

    def describe(self, s):
        """The simulator's bookkeeping of a session, for the dump."""
        repl = s.get("_repl")
        rnd = self._round(s)
        return {
            "replicating": repl is not None,
            "stalled": s.get("_stalled", False),
            "round": None if rnd is None else {
                "snapshot": rnd["snap"], "start": rnd["start"], "bytes": rnd["total"],
                "done": self._done(rnd, self.now()), "rate": rnd["rate"], "user": rnd["user"],
            },
            "queue": list(repl["queue"]) if repl else [],
            "next_round_at": repl["next"].due if repl and repl["next"] is not None and repl["next"].alive else None,
        }

    # ---- rounds -----------------------------------------------------------------------------
    @staticmethod
    def _round(s):
        repl = s.get("_repl")
        return repl["round"] if repl else None

    @staticmethod
    def _done(rnd, t):
        return min(rnd["total"], rnd["done"] + rnd["rate"] * max(0.0, t - rnd["since"]))

    def _start(self, arr, s, t, snap=None):
        repl = s["_repl"]
        user = snap is not None
        if snap is None:
            snap = self._take_snapshot(arr, s, t)
        rnd = {"snap": snap["id"], "start": t, "total": self.round_bytes, "done": 0.0, "since": t, "rate": 0.0,
               "event": None, "user": user, "history": None, "peer_history": None}
        repl["round"], repl["last_start"], repl["due"] = rnd, t, False
        s["current_snapshot"] = snap["name"]
        rnd["history"] = self._history(arr, s, snap, t)
        peer, mirror = transitions.mirror_of(self.sim, arr, s)
        if mirror is not None and peer.down is None:
            rnd["peer_history"] = (peer.name, self._history(peer, mirror, snap, t))
        self.running[(arr.name, s["id"])] = None
        self._rate(arr, s, t, (peer, mirror))
        self.sim.scheduler.cancel(repl["next"])
        self._schedule_next(arr, s, t + s["rpo"])

    def _schedule_next(self, arr, s, when):
        name, sid = arr.name, s["id"]
        s["_repl"]["next"] = self.sim.scheduler.schedule_at(when, lambda: self._periodic(name, sid), ROUND_START)

    def _periodic(self, name, sid):
        arr = self.sim.arrays[name]
        s = arr.store.get(SESSIONS, sid)
        repl = s.get("_repl") if s is not None else None
        if repl is None:
            return
        repl["next"] = None
        if repl["round"] is not None:
            repl["due"] = True  # starts when the running round ends
        else:
            self._start(arr, s, self.now())

    def _take_snapshot(self, arr, s, t):
        vg = arr.store.resolve(s["local_volume_group"])
        s["_generation"] += 1
        snap = snapshots.insert(arr, vg, {
            "short_name": None,
            "description": "",
            "creation_time": int(t),
            "generation_number": s["_generation"],
            "is_application_consistent": False,
            "triggered_by": ROUND_TRIGGER,
            "retention_policy": s["retention_policy"],
            "replication_session": ref(SESSIONS, s["id"]),
        })
        s["_round_snaps"].append(snap["id"])
        return snap

    def _history(self, arr, s, snap, t):
        """The rpo_history record of the round starting at ``t`` on ``arr`` (for session ``s``)."""
        record = arr.store.insert(RPO_HISTORY, {
            "session": ref(SESSIONS, s["id"]),
            "role": s["current_role"],
            "target_rpo": s["rpo"],
            "generation_number": snap["generation_number"],
            "round_start": int(t),
            "round_end": 0,
            "bytes_transmitted_logical": 0,
            "bytes_transmitted_physical": 0,
        })
        s["replication_rpo_history"] = ref(RPO_HISTORY, record["id"])
        s["_history"].append(record["id"])
        while len(s["_history"]) > KEEP_ROUNDS:
            arr.store.remove(RPO_HISTORY, s["_history"].pop(0))
        return record["id"]

    def _rate(self, arr, s, t, peer_mirror=None):
        """Settle the round's progress up to ``t`` at its old rate, then move on at the current one."""
        rnd = self._round(s)
        rnd["done"], rnd["since"] = self._done(rnd, t), max(t, rnd["since"])
        rnd["rate"] = self._speed(arr, s, peer_mirror)
        self.sim.scheduler.cancel(rnd["event"])
        rnd["event"] = None
        if rnd["rate"] > 0:
            end = rnd["since"] + (rnd["total"] - rnd["done"]) / rnd["rate"]
            name, sid = arr.name, s["id"]
            rnd["event"] = self.sim.scheduler.schedule_at(end, lambda: self._arrive(name, sid, rnd), ROUND_END)

    def _speed(self, arr, s, peer_mirror=None):
        if s.get("_stalled"):
            return 0.0
        peer, mirror = peer_mirror or transitions.mirror_of(self.sim, arr, s)
        if mirror is None or peer.down is not None or arr.down is not None:
            return 0.0
        return self.speed_between(arr.name, peer.name)

    def _arrive(self, name, sid, rnd):
        arr = self.sim.arrays[name]
        s = arr.store.get(SESSIONS, sid)
        if s is None or self._round(s) is not rnd:
            return
        t = self.now()
        peer, mirror = transitions.mirror_of(self.sim, arr, s)
        snap = arr.store.get(SNAPSHOTS, rnd["snap"])
        if mirror is None or peer.down is not None or arr.down is not None or snap is None:
            self._drop(arr, s, t)  # the peer session is gone, or the user deleted the snapshot
            self._next(arr, s, t)
            return
        rnd["done"], rnd["since"], rnd["event"] = rnd["total"], t, None
        copy = self._copy(snap, peer, mirror, rnd["user"])
        snap["is_exist_on_peer"] = True
        for side, session, latest in ((arr, s, snap), (peer, mirror, copy)):
            session["latest_replicated_snapshot"] = ref(SNAPSHOTS, latest["id"])
            session["common_snapshots_count"] += 1
            session["_progress"] = 100
        self._end_history(arr, s, rnd, t, (peer, mirror))
        s["current_snapshot"] = None
        s["_repl"]["round"] = None
        self.running.pop((arr.name, s["id"]), None)
        self._prune(arr, s)
        self._prune(peer, mirror)
        self._next(arr, s, t)

    def _copy(self, snap, peer, mirror, user):
        target_vg = peer.store.resolve(mirror["local_volume_group"])
        copy = snapshots.insert(peer, target_vg, {
            "short_name": snap["short_name"],
            "description": "",
            "creation_time": snap["creation_time"],
            "generation_number": snap["generation_number"],
            "is_application_consistent": snap["is_application_consistent"],
            "is_exist_on_peer": True,
            "is_originating_from_peer": True,
            "triggered_by": USER_COPY_TRIGGER if user else ROUND_TRIGGER,
            "retention_policy": mirror["retention_policy"],
            "replication_session": ref(SESSIONS, mirror["id"]),
        }, rename_if_taken=True)
        if not user:
            mirror["_round_snaps"].append(copy["id"])
        return copy

    def _end_history(self, arr, s, rnd, t, peer_mirror=None):
        moved = int(rnd["done"])
        ends = {"round_end": max(1, int(t)), "bytes_transmitted_logical": moved, "bytes_transmitted_physical": moved // 2}
        record = arr.store.get(RPO_HISTORY, rnd["history"])
        if record is not None:
            record.update(ends)
        peer, mirror = peer_mirror or transitions.mirror_of(self.sim, arr, s)
        if rnd["peer_history"] is not None:
            where = self.sim.arrays.get(rnd["peer_history"][0])
            record = where.store.get(RPO_HISTORY, rnd["peer_history"][1]) if where is not None else None
            if record is not None:
                record.update(ends)
        elif mirror is not None and peer.down is None and rnd["done"] >= rnd["total"]:
            # The peer array was down when the round started: it records the round it received.
            snap = arr.store.get(SNAPSHOTS, rnd["snap"])
            record_id = self._history(peer, mirror, snap, rnd["start"])
            peer.store.get(RPO_HISTORY, record_id).update(ends)

    def _drop(self, arr, s, t):
        rnd = self._round(s)
        rnd["done"], rnd["since"] = self._done(rnd, t), t
        self.sim.scheduler.cancel(rnd["event"])
        self._end_history(arr, s, rnd, t)
        s["current_snapshot"] = None
        s["_progress"] = 0
        s["_repl"]["round"] = None
        self.running.pop((arr.name, s["id"]), None)

    def _next(self, arr, s, t):
        """A round ended: the next queued user snapshot, else a periodic round that fell due meanwhile."""
        repl = s["_repl"]
        while repl["queue"]:
            snap = arr.store.get(SNAPSHOTS, repl["queue"].pop(0))
            if snap is not None:
                self._start(arr, s, t, snap)
                return
        if repl["due"]:
            self._start(arr, s, t)

    def _prune(self, arr, s):
        """Keep the snapshots of the last KEEP_ROUNDS scheduled rounds of ``s`` on ``arr``."""
        kept = s["_round_snaps"]
        while len(kept) > KEEP_ROUNDS:
            snap = arr.store.get(SNAPSHOTS, kept[0])
            if snap is not None and s["latest_replicated_snapshot"] == ref(SNAPSHOTS, snap["id"]):
                break  # never the recovery point (it is the newest, so this does not happen)
            kept.pop(0)
            if snap is None:
                continue
            if snap["is_exist_on_peer"] or snap["is_originating_from_peer"]:
                s["common_snapshots_count"] = max(0, s["common_snapshots_count"] - 1)
            # Never a recovery point (checked above, and no other session points at this one's
            # snapshots), so no session needs to be told.
            arr.store.remove(SNAPSHOTS, snap["id"])
