# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""References between names and refs, resolved in batches and cached for one run, so that a
reference named by 500 sessions costs one lookup, and a diff can show names instead of refs."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.api import PAGE_SIZE, reference_id, reference_name
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2ReferenceError
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import split_ref

# Collections whose objects have no name (nothing to show for them in a diff).
NAMELESS_COLLECTIONS = frozenset(["/replication/rpo_history"])


def _collection(path):
    return "/" + path.strip("/")


def id_lookups(refs):
    """Plan the batched name lookups for `refs` (ref strings or {"ref": ...}): [(collection, params)],
    one list query per collection and per PAGE_SIZE distinct ids (id__in, one page each)."""
    ids_by_path = {}
    for ref in refs:
        parsed = split_ref(ref)
        if parsed and parsed[0] not in NAMELESS_COLLECTIONS:
            ids_by_path.setdefault(parsed[0], dict())[parsed[1]] = None
    lookups = []
    for path in sorted(ids_by_path):
        ids = sorted(ids_by_path[path], key=lambda i: (len(i), i))
        for start in range(0, len(ids), PAGE_SIZE):
            lookups.append((path, {"id__in": ",".join(ids[start:start + PAGE_SIZE]), "__fields": "id,name"}))
    return lookups


class References:
    """Names and refs of the objects sessions point to, for one run against one array."""

    def __init__(self, api):
        self._api = api
        self._refs = {}   # (collection, name) -> ref string, or None when no object has that name
        self._names = {}  # ref string -> name

    def prefetch(self, wanted):
        """Look up, in batches, every name among `wanted` ((path, value) pairs) not known yet: one
        request per collection and per 100 names (both retention-policy options share
        /retention_policies). Ids and refs cost nothing."""
        by_collection = {}
        for path, value in wanted:
            collection = _collection(path)
            try:
                if reference_id(collection, value, "") is not None:
                    continue
            except K2ReferenceError:
                continue  # reported with its option by ref()
            name = reference_name(value)
            if (collection, name) not in self._refs:
                by_collection.setdefault(collection, dict())[name] = None
        for collection, names in by_collection.items():
            found = self._api.find_by_names(collection, list(names))
            for name in names:
                obj = found.get(name)
                ref = None
                if obj is not None:  # find_by_names checked its id
                    ref = "%s/%d" % (collection, int(obj["id"]))
                    self._names[ref] = name
                self._refs[(collection, name)] = ref

    def ref(self, path, value, option):
        """The ref string for `value` (a name, an id or a ref) in the collection at `path`;
        K2ReferenceError naming `option` when it cannot be one. A name not prefetched costs one request."""
        collection = _collection(path)
        obj_id = reference_id(collection, value, option)
        if obj_id is not None:
            return "%s/%d" % (collection, obj_id)
        name = reference_name(value)
        if (collection, name) not in self._refs:
            self.prefetch([(collection, name)])
        ref = self._refs[(collection, name)]
        if ref is None:
            raise K2ReferenceError(option, value, "no %s object is named %r" % (collection.lstrip("/"), name))
        return ref

    def names_of(self, refs):
        """{ref string: name} for `refs`, looking up (in batches, by id) only those not known yet."""
        unknown = [r for r in (split_ref(ref) for ref in refs) if r and "%s/%s" % r not in self._names]
        for path, params in id_lookups("%s/%s" % r for r in unknown):
            for obj in self._api.iterate(path, params=params):
                if isinstance(obj, dict) and obj.get("id") is not None:
                    self._names["%s/%s" % (path, obj["id"])] = obj.get("name")
        return dict(self._names)
