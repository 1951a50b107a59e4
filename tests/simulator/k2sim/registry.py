"""Every resource the simulator serves, in discovery order."""

from k2sim.peers import PeerArrays, PeerVolumeGroups, PeerVolumes
from k2sim.sessions import Sessions
from k2sim.snapshots import Snapshots
from k2sim.storage import RetentionPolicies, VolumeGroups, Volumes
from k2sim.system import RpoHistory, SystemState

RESOURCES = {
    r.path: r
    for r in (
        SystemState(),
        VolumeGroups(),
        Volumes(),
        RetentionPolicies(),
        Snapshots(),
        PeerArrays(),
        PeerVolumeGroups(),
        PeerVolumes(),
        Sessions(),
        RpoHistory(),
    )
}
PATHS = tuple(RESOURCES)
# Longest first, so "replication/peer_volume_groups" wins over a shorter prefix when routing.
_BY_LENGTH = sorted(PATHS, key=len, reverse=True)


def route(relpath):
    """``/replication/sessions/7`` -> (resource, "7"); ``/volumes`` -> (resource, None); else (None, None)."""
    path = relpath.strip("/")
    for candidate in _BY_LENGTH:
        if path == candidate:
            return RESOURCES[candidate], None
        if path.startswith(candidate + "/"):
            rest = path[len(candidate) + 1 :]
            if "/" not in rest:
                return RESOURCES[candidate], rest
    return None, None
