"""What the arrays hold at start and after a reset.

Always present on every array: system/state, one peer-array object per other simulated array
(named after it, mgmt_host = its host:port) and the two retention policies. Then the content: the
built-in believable default below, or a seed file (YAML or JSON) that replaces it:

    k2-a:                       # array name
      volume_groups:            # resource path -> list of POST bodies
        - {id: 5101, name: vg_app, quota: 0}   # "id" is allowed in a seed only
      volumes:
        - {name: app_01, size: 104857600, volume_group: vg_app}  # a reference by name ...
      replication/sessions:
        - {name: app_sync, replication_peer_k2array: k2-b, local_volume_group: vg_app,
           rpo: 300, state: in_sync}        # ... and a session may start in a state

A reference is a name, a "/path/id" string or a {"ref": ...}. Resources are created in a fixed order
(RESOURCE_ORDER) across all arrays, through the same validation as the API.
"""

import json

from k2sim.errors import ApiError
from k2sim.registry import RESOURCES
from k2sim.schema import PEER_ARRAYS, REF, RETENTION_POLICIES, SESSIONS, SYSTEM_STATE, VOLUME_GROUPS, VOLUMES
from k2sim.store import Store

GIB = 1024 * 1024  # in KiB, the API's size unit

# (id, name, num_snapshots, weeks, days, hours); ids as in the vendor's examples (/retention_policies/5, /6).
RETENTION = ((5, "Best_Effort_Retention", 6, 0, 1, 0), (6, "Replication_Retention", 24, 0, 2, 12))

RESOURCE_ORDER = (
    RETENTION_POLICIES,
    VOLUME_GROUPS,
    VOLUMES,
    PEER_ARRAYS,
    SESSIONS,
    "replication/peer_volumes",
    "snapshots",
)

# Content per array position: a production array and its disaster-recovery peer.
DEFAULT_CONTENT = (
    {
        VOLUME_GROUPS: [
            {"id": 5101, "name": "vg_oracle_prod", "quota": 0, "description": "Oracle production"},
            {"id": 5102, "name": "vg_sql_prod", "quota": 2048 * GIB, "description": "SQL Server production"},
            {"id": 5103, "name": "vg_web_prod", "quota": 0, "description": "Web content", "is_dedup": False},
        ],
        VOLUMES: [
            {"name": "ora_data_01", "size": 500 * GIB, "volume_group": "vg_oracle_prod"},
            {"name": "ora_data_02", "size": 500 * GIB, "volume_group": "vg_oracle_prod"},
            {"name": "ora_redo_01", "size": 50 * GIB, "volume_group": "vg_oracle_prod"},
            {"name": "sql_data_01", "size": 200 * GIB, "volume_group": "vg_sql_prod"},
            {"name": "sql_log_01", "size": 50 * GIB, "volume_group": "vg_sql_prod"},
            {"name": "web_content_01", "size": 100 * GIB, "volume_group": "vg_web_prod"},
        ],
    },
    {
        VOLUME_GROUPS: [
            {"name": "vg_reports_dr", "quota": 0, "description": "Reporting copies"},
            {"name": "vg_test_dr", "quota": 0, "description": "DR test scratch"},
        ],
        VOLUMES: [{"name": "reports_01", "size": 100 * GIB, "volume_group": "vg_reports_dr"}],
    },
)


class SeedError(ValueError):
    pass


def load_file(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith((".yml", ".yaml")):
        import yaml  # only needed for YAML seeds

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise SeedError("%s: the seed is a mapping of array name -> resources" % path)
    return data


def apply(sim, content):
    """Rebuild every array's store: the fixed base, then ``content`` (None: the default)."""
    arrays = list(sim.arrays.values())
    for arr in arrays:
        arr.store = Store(RESOURCES)
        RESOURCES[SYSTEM_STATE].create(sim, arr, {}, obj_id=1)
        for peer in arrays:
            if peer is not arr:
                RESOURCES[PEER_ARRAYS].create(
                    sim,
                    arr,
                    {
                        "name": peer.name,
                        "mgmt_host": peer.host,
                        "username": "admin",
                        "password": "replication",
                        "local_username": "admin",
                        "local_password": "replication",
                    },
                )
        for obj_id, name, num, weeks, days, hours in RETENTION:
            RESOURCES[RETENTION_POLICIES].create(
                sim,
                arr,
                {"name": name, "num_snapshots": num, "weeks": weeks, "days": days, "hours": hours},
                obj_id=obj_id,
            )
    if content is None:
        content = {arr.name: DEFAULT_CONTENT[i] for i, arr in enumerate(arrays) if i < len(DEFAULT_CONTENT)}
    unknown = sorted(set(content) - set(sim.arrays))
    if unknown:
        raise SeedError("seed names unknown array(s): %s (serving %s)" % (", ".join(unknown), ", ".join(sim.arrays)))
    for name, resources in content.items():
        bad = sorted(set(resources or {}) - set(RESOURCE_ORDER))
        if bad:
            raise SeedError("seed for %s: unsupported resource(s): %s" % (name, ", ".join(bad)))
    for path in RESOURCE_ORDER:
        for name, resources in content.items():
            for index, obj in enumerate((resources or {}).get(path) or []):
                where = "%s %s[%d]" % (name, path, index)
                try:
                    _create(sim, sim.arrays[name], path, dict(obj), where)
                except ApiError as exc:
                    raise SeedError("seed %s: %s" % (where, exc.message)) from None


def _create(sim, arr, path, obj, where):
    resource = RESOURCES[path]
    obj_id = obj.pop("id", None)
    state = obj.pop("state", None) if path == SESSIONS else None
    for key, value in list(obj.items()):
        field = resource.field(key)
        if field is not None and field.type == REF and isinstance(value, str):
            obj[key] = _ref_by_name(arr, field.ref, value, where, key)
    values = resource.validate_create(arr.store, obj)
    record = resource.create(sim, arr, values, obj_id)
    if state is not None:
        from k2sim.sessions import seed_state

        seed_state(sim, arr, record, state)


def _ref_by_name(arr, path, value, where, key):
    if value.startswith("/"):
        return {"ref": value}
    record = arr.store.by_name(path, value)
    if record is None:
        raise SeedError("seed %s: %s: no %s named %r on %s" % (where, key, path, value, arr.name))
    return {"ref": "/%s/%d" % (path, record["id"])}
