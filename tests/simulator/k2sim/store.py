"""One array's objects: a table per resource path, ids per table, lookups by name and reference.

Records are plain dicts: public keys are the API fields, keys starting with "_" are simulator
bookkeeping and never leave the server. Callers hold the simulator lock.

Two indexes are kept up to date on every insert, remove and rename, so that seeding and reading
stay linear in the number of objects (no lookup scans a table):
- by name, per table: a record's name changes only through ``insert`` and ``update``, never by
  assigning ``record["name"]`` directly;
- children: for each reference field a resource lists in ``parent_refs`` (set when the record is
  made and never changed afterwards), the records that point at each object.
"""

from k2sim.schema import parse_ref


class Store:
    def __init__(self, resources):
        """``resources``: resource path -> resource (its ``parent_refs`` say what to index)."""
        self.tables = {path: {} for path in resources}
        self._next_id = {path: 1 for path in resources}
        self._names = {path: {} for path in resources}  # path -> name -> {id: record}, oldest first
        self._parent_refs = {path: tuple(resource.parent_refs) for path, resource in resources.items()}
        # (path, field) -> referenced "/path/id" -> {id: record}, oldest first
        self._children = {(path, field): {} for path, fields in self._parent_refs.items() for field in fields}

    # ---- changes ----------------------------------------------------------------------------
    def insert(self, path, record, obj_id=None):
        table = self.tables[path]
        if obj_id is None:
            obj_id = self._next_id[path]
        if obj_id in table:
            raise ValueError("%s/%d already exists" % (path, obj_id))
        record["id"] = obj_id
        table[obj_id] = record
        self._next_id[path] = max(self._next_id[path], obj_id + 1)
        self._index_name(path, record)
        for field in self._parent_refs[path]:
            parent = _ref_key(record.get(field))
            if parent is not None:
                self._children[path, field].setdefault(parent, {})[obj_id] = record
        return record

    def remove(self, path, obj_id):
        record = self.tables[path].pop(obj_id, None)
        if record is None:
            return
        self._unindex_name(path, record)
        for field in self._parent_refs[path]:
            _discard(self._children[path, field], _ref_key(record.get(field)), obj_id)

    def update(self, path, record, values):
        """Set fields of a stored record: the one way to rename it."""
        renamed = "name" in values and values["name"] != record.get("name")
        if renamed:
            self._unindex_name(path, record)
        record.update(values)
        if renamed:
            self._index_name(path, record)

    def _index_name(self, path, record):
        name = record.get("name")
        if name is not None:
            self._names[path].setdefault(name, {})[record["id"]] = record

    def _unindex_name(self, path, record):
        _discard(self._names[path], record.get("name"), record["id"])

    # ---- lookups ----------------------------------------------------------------------------
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
        """The record of ``path`` called ``name`` (the first indexed, should several share it), or None."""
        same = self._names[path].get(name)
        return next(iter(same.values())) if same else None

    def children(self, path, field, parent):
        """The records of ``path`` whose ``field`` (one of its resource's ``parent_refs``) references
        ``parent`` (a reference dict or string), oldest first."""
        return list(self._children[path, field].get(_ref_key(parent), {}).values())

    def where(self, path, **equal):
        return [r for r in self.tables[path].values() if all(r.get(k) == v for k, v in equal.items())]


def _ref_key(value):
    return value.get("ref") if isinstance(value, dict) else value


def _discard(index, key, obj_id):
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(obj_id, None)
        if not bucket:
            del index[key]
