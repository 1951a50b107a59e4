# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the drift report's read tasks register on each array, built for unit tests: session
listings (with the health k2_replication_session_info adds, judged by replication_health.assess
itself, never written by hand) and check-mode converge results."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils import replication_health as rh

NOW = 1_800_000_000


def health(age=None, rpo=300, state="in_sync", running_for=None, **session):
    """The health the info module adds to a session: `age` of its recovery point (None: none yet),
    `running_for`: seconds a round has been running (None: none)."""
    listed = {"name": "x", "state": state, "rpo": rpo,
              "latest_replicated_snapshot": {"ref": "/snapshots/9"} if age is not None else None}
    listed.update(session)
    snapshot = {"id": 9, "creation_time": NOW - age, "generation_number": 4} if age is not None else None
    running = {"session": {"ref": "/replication/sessions/1"}, "round_start": NOW - running_for, "round_end": 0} \
        if running_for is not None else None
    return rh.assess(listed, snapshot, running, NOW)


def source(name, vg="vg", peer="k2-b", health_of=None, **extra):
    """A source half as the role lists it (names resolved)."""
    session = {"name": name, "current_role": "source", "state": "in_sync", "rpo": 300,
               "local_volume_group": {"ref": "/volume_groups/7"}, "local_volume_group_name": vg,
               "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
               "replication_peer_k2array_name": peer, "remote_replication_session_name": "remote_" + name,
               "suspend_reason_code": "none"}
    session.update(extra)
    if health_of is not None:
        session["health"] = health_of
    return session


def target(name, health_of=None, **extra):
    session = {"name": name, "current_role": "target", "state": "in_sync", "rpo": 300}
    session.update(extra)
    if health_of is not None:
        session["health"] = health_of
    return session


def converged(*names):
    """A check-mode converge that found every named source half as declared."""
    return {"sessions": [{"name": n, "status": "ok", "actions": [], "diff": {"before": {}, "after": {}}}
                         for n in names]}


def read(sessions, converge=None):
    return {"info": {"sessions": list(sessions)}, "converge": converge or {"skipped": True}}


def unread(message="connection refused"):
    return {"info": {"failed": True, "msg": message}}
