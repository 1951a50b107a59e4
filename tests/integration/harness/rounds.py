"""Pairs replicating on the simulator's frozen array clock, for tests of recovery-point health.

    from harness.rounds import start_together, at_age
    start = start_together(sim, {"p1": ("k2-a", "k2-b", "vg_oracle_prod", 60, "in_sync")})
    at_age(sim, start, 45)     # every recovery point is now exactly 45 s old

The simulator's manual clock stays on: nothing moves unless a test moves the clock, so the module
judges exactly the age a test set, however slow the machine is (it takes the array's time from the
Date header, which stands still while frozen). Nothing is timed.
"""

import math

from harness.scene import Scene

SESSIONS = "/replication/sessions"


def start_together(sim, pairs):
    """Create and start every pair of `pairs` ({name: (source, target, volume group, rpo, declared
    state)}) at the same moment of the frozen clock; their initial rounds arrive; the pairs declared
    suspended or idle are then moved there. Returns the time their rounds started (the journals are
    cleared)."""
    sim.manual_clock(True)
    with Scene(sim) as api:
        ids = {}
        for name, (source, target, vg, rpo, _state) in pairs.items():
            body = {"name": name, "rpo": rpo, "local_volume_group": api.ref(source, "/volume_groups", vg),
                    "replication_peer_k2array": api.ref(source, "/replication/peer_k2arrays", target)}
            ids[name] = api.call(source, "POST", SESSIONS, body)["id"]
            api.call(source, "PATCH", "%s/%d" % (SESSIONS, ids[name]), {"state": "in_sync"})
        sim.advance()  # the transitions, their mirrors and the initial rounds, in due order
        starts = set()
        for name, (source, _target, _vg, rpo, _state) in pairs.items():
            starts.add(sim.dump(source)["replication"][str(ids[name])]["next_round_at"] - rpo)
        for name, (source, _target, _vg, _rpo, state) in pairs.items():
            if state in ("suspended", "idle"):
                api.call(source, "PATCH", "%s/%d" % (SESSIONS, ids[name]), {"state": "suspended"})
        sim.advance()
        for name, (source, _target, _vg, _rpo, state) in pairs.items():
            if state == "idle":
                api.call(source, "PATCH", "%s/%d" % (SESSIONS, ids[name]), {"state": "idle"})
        sim.advance()
    assert len(starts) == 1, starts
    sim.clear_journal()
    return starts.pop()


def at_age(sim, start, age):
    """Move the frozen clock (what falls due on the way runs) to half a second into the second that
    is `age` whole seconds after the one the rounds started in: the arrays show times in whole
    seconds (the snapshots' creation_time, the Date header), so every age is exactly `age`."""
    now = sim.clock()["now"]
    target = math.floor(start) + age + 0.5
    assert target >= now, (start, age, now)
    sim.advance(seconds=target - now)
