"""Field types, references and value coercion shared by every resource.

The API accepts numbers as strings ("1200") and booleans as "True"/"False" (real clients send both),
so incoming values are coerced here, and a value that cannot be coerced is a 400 naming the field.
"""

import re
from dataclasses import dataclass

from k2sim.errors import bad_request

INT = "int"
FLOAT = "float"
STR = "str"
BOOL = "bool"
REF = "ref"
ANY = "any"  # a string or a {"ref": ...} (restored_snapshot): filtered as a string

NUMERIC = (INT, FLOAT)
_INT_RE = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Field:
    type: str
    ref: str = None  # for REF fields: the resource path the reference must point at


def ref(path, obj_id):
    return {"ref": "/%s/%d" % (path, obj_id)}


def parse_ref(value):
    """``{"ref": "/a/b/7"}`` or ``"/a/b/7"`` -> ``("a/b", 7)``; None when it is not a reference."""
    if isinstance(value, dict):
        if set(value) != {"ref"}:
            return None
        value = value["ref"]
    if not isinstance(value, str) or not value.startswith("/"):
        return None
    path, tail = value[1:].rpartition("/")[::2]
    if not path or not tail.isdigit():
        return None
    return path, int(tail)


def ref_id(value):
    parsed = parse_ref(value)
    return parsed[1] if parsed else None


def to_int(name, value):
    if isinstance(value, bool):
        raise bad_request("%s must be an integer, got %r" % (name, value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    raise bad_request("%s must be an integer, got %r" % (name, value))


def to_float(name, value):
    if isinstance(value, bool):
        raise bad_request("%s must be a number, got %r" % (name, value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request("%s must be a number, got %r" % (name, value)) from None


def to_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request("%s must be a boolean (true/false), got %r" % (name, value))


def to_str(name, value):
    if not isinstance(value, str):
        raise bad_request("%s must be a string, got %r" % (name, value))
    return value


def coerce(name, field, value, store):
    """Check and normalise one written value; references must name an existing object."""
    if field.type == INT:
        return to_int(name, value)
    if field.type == FLOAT:
        return to_float(name, value)
    if field.type == BOOL:
        return to_bool(name, value)
    if field.type == STR:
        return to_str(name, value)
    if field.type == REF:
        return coerce_ref(name, field.ref, value, store)
    if field.type == ANY:
        if isinstance(value, dict):
            parsed = parse_ref(value)
            if parsed is None or store.get(*parsed) is None:
                raise bad_request("%s: invalid or unknown reference %r" % (name, value))
            return ref(*parsed)
        if value is None or isinstance(value, str):
            return value
        raise bad_request("%s must be a string or a reference, got %r" % (name, value))
    raise AssertionError("unknown field type %s" % field.type)


def coerce_ref(name, path, value, store):
    parsed = parse_ref(value) if isinstance(value, dict) else None
    if parsed is None:
        raise bad_request('%s must be a reference {"ref": "/%s/<id>"}, got %r' % (name, path, value))
    if parsed[0] != path:
        raise bad_request("%s must reference /%s, got %r" % (name, path, value["ref"]))
    if store.get(path, parsed[1]) is None:
        raise bad_request("%s: no %s object with id %d" % (name, path, parsed[1]))
    return ref(path, parsed[1])


# Resource paths, as discovery lists them and as references spell them (without /api/v2).
SYSTEM_STATE = "system/state"
VOLUME_GROUPS = "volume_groups"
VOLUMES = "volumes"
RETENTION_POLICIES = "retention_policies"
PEER_ARRAYS = "replication/peer_k2arrays"
PEER_VOLUME_GROUPS = "replication/peer_volume_groups"
PEER_VOLUMES = "replication/peer_volumes"
SESSIONS = "replication/sessions"
RPO_HISTORY = "replication/rpo_history"
SNAPSHOTS = "snapshots"
