# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The K2 REST API over a K2Transport: objects, paged lists, name/id/ref references."""

from __future__ import annotations

import re
from collections import namedtuple
from urllib.parse import quote_plus

from ansible_collections.kaminario.k2.plugins.module_utils.errors import (
    K2ProtocolError,
    K2ReferenceError,
)

PAGE_SIZE = 100  # the server's cap for __limit
PAGING_KEYS = ("__limit", "__offset")

ListResult = namedtuple("ListResult", ["items", "total", "truncated"])
ListResult.__doc__ = """items: the objects; total: the last total the server reported;
truncated: True only when `limit` stopped the listing before every object was read."""

# A list filter (name__in) carries at most this many bytes of URL-encoded names, so that a request
# line stays well under the 8 KB that servers and proxies commonly allow (names may be 200
# characters, and non-ASCII ones triple when encoded).
NAMES_QUERY_BYTES = 3000

_ID = re.compile(r"^[0-9]+$")
_API_PREFIX = "/api/v2"
# A reference written "name:<name>" is a name, whatever it looks like: "name:5102" is the object
# named 5102, while 5102 alone is the id 5102.
NAME_PREFIX = "name:"


def _collection(path):
    """'volume_groups', '/volume_groups/' -> '/volume_groups'."""
    return "/" + path.strip("/")


def _query_value(value):
    """Query values as the K2 API spells them: lists comma-separated, refs as their ref string."""
    if isinstance(value, dict) and "ref" in value:
        return value["ref"]
    if isinstance(value, (list, tuple)):
        return ",".join(str(_query_value(v)) for v in value)
    return value


def query(params):
    """Copy of `params` ready for the transport; a {"ref": ...} value on `field` becomes `field.ref`."""
    result = {}
    for key, value in (params or {}).items():
        if isinstance(value, dict) and "ref" in value and not key.endswith(".ref"):
            key += ".ref"
        result[key] = _query_value(value)
    return result


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _id_of(collection, value, option):
    """The id that `value` gives for `collection`: an int, digits, "/collection/ID" (also with the
    /api/v2 prefix) or {"ref": ...}; None when `value` is a name. K2ReferenceError when unusable."""
    if isinstance(value, dict) and "ref" in value:
        value = value["ref"]
    if isinstance(value, str) and value.startswith(NAME_PREFIX) and value[len(NAME_PREFIX):]:
        return None
    if isinstance(value, str) and _ID.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        raise K2ReferenceError(option, value, "expected a name, an id or a ref, got %r" % (value,))
    if isinstance(value, int):
        if value < 1:
            raise K2ReferenceError(option, value, "an id must be a positive integer, got %r" % (value,))
        return value
    text = value.strip()
    if not text.startswith("/"):
        return None
    ref = text[len(_API_PREFIX):] if text.startswith(_API_PREFIX + "/") else text
    head, obj_id = ref.rstrip("/").rpartition("/")[::2]
    if head != collection or not _ID.match(obj_id):
        raise K2ReferenceError(option, value, "%r is not a reference to %s (expected %s/<id>)"
                               % (value, collection, collection))
    return int(obj_id)


def reference_name(value):
    """The name a reference value gives (after reference_id found no id in it): the value itself, or
    what follows "name:". Never stripped: names are taken literally."""
    text = str(value)
    return text[len(NAME_PREFIX):] if text.startswith(NAME_PREFIX) and len(text) > len(NAME_PREFIX) else text


def as_name(path, name):
    """`name` written so that a reference option reads it back as that name: prefixed with "name:"
    when, as it is, it would read as an id (all digits), a ref ("/..."), or begin with "name:"."""
    text = str(name)
    try:
        plain = _id_of(_collection(path), text, "name") is None
    except K2ReferenceError:
        plain = False
    return text if plain and not text.startswith(NAME_PREFIX) else NAME_PREFIX + text


def name_batches(names, size=PAGE_SIZE, budget=NAMES_QUERY_BYTES):
    """`names` cut into lists of at most `size` names whose comma-joined, URL-encoded form fits in
    `budget` bytes (a name longer than that alone gets a list of its own)."""
    batch, used = [], 0
    for name in names:
        cost = len(quote_plus(name)) + 3  # the encoded comma
        if batch and (len(batch) >= size or used + cost > budget):
            yield batch
            batch, used = [], 0
        batch.append(name)
        used += cost
    if batch:
        yield batch


def reference_id(path, value, option):
    """The id that `value` (an int, digits, a ref string or {"ref": ...}) gives for the collection at
    `path`, or None when `value` is a name; K2ReferenceError naming `option` when it is unusable."""
    return _id_of(_collection(path), value, option)


def _object_path(path, obj_id):
    """/collection/ID for an id or a ref to that collection (not a name)."""
    collection = _collection(path)
    found = _id_of(collection, obj_id, "id")
    if found is None:
        raise K2ReferenceError("id", obj_id, "expected an id or a ref to %s, got the name %r" % (collection, obj_id))
    return "%s/%d" % (collection, found)


def _hits(page, path):
    """The `hits` list of a collection answer."""
    hits = page.get("hits") if isinstance(page, dict) else None
    if not isinstance(hits, list):
        raise K2ProtocolError("GET", path, 200, "a list answer without a 'hits' list")
    return hits


class _Listing:
    """One paged walk over a collection; `total` and `truncated` are known once it is exhausted."""

    def __init__(self, transport, path, params, limit):
        base = query(params)
        clash = [key for key in PAGING_KEYS if key in base]
        if clash:
            raise ValueError("%s are set by the pager, not by the caller" % ", ".join(clash))
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError("limit must be a positive integer or None, got %r" % (limit,))
        self._transport = transport
        self._path = _collection(path)
        self._base = base
        self._limit = limit
        self.total = None
        self.truncated = False

    def __iter__(self):
        offset, count, seen = 0, 0, set()
        while True:
            wanted = PAGE_SIZE if self._limit is None else min(PAGE_SIZE, self._limit - count)
            params = dict(self._base)
            params.update({"__limit": wanted, "__offset": offset})
            page = self._transport.request("GET", self._path, params=params)
            hits = _hits(page, self._path)
            reported = _as_int(page.get("total"))
            offset += len(hits)
            # The last total reported wins: objects may come and go while we page.
            self.total = reported if reported is not None else offset
            for obj in hits:
                # An object created during the walk shifts later ones onto the next page: skip repeats.
                key = obj.get("id") if isinstance(obj, dict) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                if self._limit is not None and count >= self._limit:
                    self.truncated = True
                    return
                count += 1
                yield obj
            more = len(hits) >= wanted if reported is None else offset < reported
            if not hits or not more:
                return
            if self._limit is not None and count >= self._limit:
                self.truncated = True
                return


class K2Api:
    """K2 API calls on one transport (see docs/architecture.md for the contract)."""

    def __init__(self, transport):
        self.transport = transport

    @property
    def last_date(self):
        """The array's clock as its last answer gave it (the Date header, epoch seconds), or None."""
        return getattr(self.transport, "last_date", None)

    def get(self, path, obj_id):
        """GET /path/ID -> the object (K2NotFound when it does not exist); `obj_id` may be a ref."""
        return self.transport.request("GET", _object_path(path, obj_id))

    def find_by_name(self, path, name):
        """The object whose name is exactly `name`, or None (one GET ?name=). An object without a
        usable id is a K2ProtocolError: callers address what they found by its id."""
        return self._find_one(path, name)

    def _find_one(self, path, name, params=None):
        collection = _collection(path)
        query_params = query(params)
        query_params["name"] = name
        hits = _hits(self.transport.request("GET", collection, params=query_params), collection)
        found = next((obj for obj in hits if isinstance(obj, dict) and obj.get("name") == name), None)
        if found is not None and _as_int(found.get("id")) is None:
            raise K2ProtocolError("GET", collection, 200, "the object named %r has no id" % name)
        return found

    def find_by_names(self, path, names, params=None):
        """{name: object} for those of `names` that exist. One name costs one GET ?name=; more cost
        one list request per PAGE_SIZE names (name__in), fewer when long names would make the
        request line too long (name_batches). A name holding a comma cannot be an item of the API's
        comma-separated list, so it is looked up on its own. `params` add to every request (a
        projection, say). An object without a usable id is a K2ProtocolError, as in find_by_name."""
        names = list(dict.fromkeys(names))
        alone = names if len(names) == 1 else [n for n in names if "," in n]
        batched = [n for n in names if n not in alone]
        found = {}
        for name in alone:
            obj = self._find_one(path, name, params)
            if obj is not None:
                found[name] = obj
        wanted = set(batched)
        for batch in name_batches(batched):
            query_params = dict(params or {})
            query_params["name__in"] = batch
            for obj in self.iterate(path, params=query_params):
                if isinstance(obj, dict) and obj.get("name") in wanted:
                    if _as_int(obj.get("id")) is None:
                        raise K2ProtocolError("GET", _collection(path), 200, "the object named %r has no id"
                                              % obj["name"])
                    found[obj["name"]] = obj
        return found

    def iterate(self, path, params=None, limit=None):
        """Generator over every object that `params` selects, page by page (__limit=100 / __offset)."""
        return iter(_Listing(self.transport, path, params, limit))

    def list(self, path, params=None, limit=None):
        """Every object that `params` selects (at most `limit`) -> ListResult(items, total, truncated)."""
        listing = _Listing(self.transport, path, params, limit)
        items = list(listing)
        return ListResult(items, listing.total, listing.truncated)

    def ref(self, path, value, option):
        """{"ref": "/path/ID"} from a name (one GET), an id (int or digits) or a ref ("/path/ID" or
        {"ref": ...}); K2ReferenceError naming `option` when the value cannot be one."""
        collection = _collection(path)
        obj_id = _id_of(collection, value, option)
        if obj_id is None:
            name = reference_name(value)
            found = self.find_by_name(collection, name)
            if found is None:
                raise K2ReferenceError(option, value, "no %s object is named %r" % (collection.lstrip("/"), name))
            obj_id = _as_int(found["id"])
        return {"ref": "%s/%d" % (collection, obj_id)}

    def create(self, path, body):
        """POST /path -> the created object."""
        return self.transport.request("POST", _collection(path), body=body)

    def update(self, path, obj_id, body):
        """PATCH /path/ID with only the fields to change -> the whole object."""
        return self.transport.request("PATCH", _object_path(path, obj_id), body=body)

    def delete(self, path, obj_id):
        """DELETE /path/ID (204, returns None)."""
        return self.transport.request("DELETE", _object_path(path, obj_id))
