"""One array's objects: a table per resource path, ids per table, lookups by name and reference.

Records are plain dicts: public keys are the API fields, keys starting with "_" are simulator
bookkeeping and never leave the server. Callers hold the simulator lock.
"""

from k2sim.schema import parse_ref


class Store:
    def __init__(self, paths):
        self.tables = {path: {} for path in paths}
        self._next_id = {path: 1 for path in paths}
        self.cache = {}  # derived indexes for rendering; emptied on every change

    def insert(self, path, record, obj_id=None):
        table = self.tables[path]
        if obj_id is None:
            obj_id = self._next_id[path]
        if obj_id in table:
            raise ValueError("%s/%d already exists" % (path, obj_id))
        record["id"] = obj_id
        table[obj_id] = record
        self._next_id[path] = max(self._next_id[path], obj_id + 1)
        self.touch()
        return record

    def remove(self, path, obj_id):
        self.tables[path].pop(obj_id, None)
        self.touch()

    def touch(self):
        self.cache.clear()

    def get(self, path, obj_id):
        table = self.tables.get(path)
        return None if table is None else table.get(obj_id)

    def resolve(self, value):
        """The record a reference (dict or string) points at, or None."""
        parsed = parse_ref(value)
        return self.get(*parsed) if parsed else None

    def all(self, path):
        return list(self.tables[path].values())

    def by_name(self, path, name):
        for record in self.tables[path].values():
            if record.get("name") == name:
                return record
        return None

    def where(self, path, **equal):
        return [r for r in self.tables[path].values() if all(r.get(k) == v for k, v in equal.items())]
