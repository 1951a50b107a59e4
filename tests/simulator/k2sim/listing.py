"""Collection GETs: filters with the vendor's modifiers, sort, paging and projection.

Query keys: ``field=v`` (exact), ``field__<modifier>=v``, ``field.ref=/path/id`` and
``field.ref__<modifier>=v``; several filters are ANDed. Reserved keys: ``__limit`` (default 100,
capped at 100), ``__offset``, ``__sort`` (comma-separated fields), ``__sort_order`` (asc|desc),
``__fields`` (projection) and ``__pretty`` (ignored). Anything else is a 400.
"""

import re

from k2sim.errors import bad_request
from k2sim.schema import BOOL, NUMERIC, REF, parse_ref, to_bool, to_float

PAGE_MAX = 100
STRING_MODIFIERS = ("contains", "contains_some", "neq", "in", "m_eq", "prefix", "regexp")
NUMERIC_MODIFIERS = ("gt", "lt", "gte", "lte")
MODIFIERS = STRING_MODIFIERS + NUMERIC_MODIFIERS
RESERVED = ("__limit", "__offset", "__sort", "__sort_order", "__fields", "__pretty")


class ListQuery:
    def __init__(self):
        self.filters = []  # (field name, on_ref, modifier, matcher)
        self.limit = PAGE_MAX
        self.offset = 0
        self.sort = []
        self.descending = False
        self.fields = None


def parse_fields_param(fields, raw):
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise bad_request("__fields: unknown field(s): %s" % ", ".join(unknown))
    return names


def parse(fields, pairs):
    """Validate ``pairs`` (list of (key, value) from the query string) against ``fields``."""
    q = ListQuery()
    for key, value in pairs:
        if key.startswith("__"):
            _reserved(q, fields, key, value)
        else:
            q.filters.append(_filter(fields, key, value))
    return q


def _reserved(q, fields, key, value):
    if key == "__limit":
        limit = _nonneg_int(key, value)
        if limit < 1:
            raise bad_request("__limit must be at least 1")
        q.limit = min(limit, PAGE_MAX)
    elif key == "__offset":
        q.offset = _nonneg_int(key, value)
    elif key == "__sort":
        q.sort = parse_fields_param(fields, value) if value else []
    elif key == "__sort_order":
        if value not in ("asc", "desc"):
            raise bad_request("__sort_order must be asc or desc, got %r" % value)
        q.descending = value == "desc"
    elif key == "__fields":
        q.fields = parse_fields_param(fields, value)
    elif key != "__pretty":
        raise bad_request("unknown query parameter %s" % key)


def _nonneg_int(key, value):
    if not value.isdigit():
        raise bad_request("%s must be a non-negative integer, got %r" % (key, value))
    return int(value)


def _filter(fields, key, value):
    name, modifier = key.partition("__")[::2]
    on_ref = name.endswith(".ref")
    if on_ref:
        name = name[: -len(".ref")]
    field = fields.get(name)
    if field is None:
        raise bad_request("unknown field %s" % name)
    if on_ref and field.type != REF:
        raise bad_request("%s is not a reference field: .ref does not apply" % name)
    modifier = modifier or "eq"
    if modifier != "eq" and modifier not in MODIFIERS:
        raise bad_request("unknown modifier __%s" % modifier)
    if modifier in NUMERIC_MODIFIERS and (on_ref or field.type not in NUMERIC):
        raise bad_request("modifier __%s applies to numeric fields only; %s is not numeric" % (modifier, name))
    return name, _matcher(name, field, on_ref, modifier, value)


def _matcher(name, field, on_ref, modifier, raw):
    if modifier in NUMERIC_MODIFIERS:
        bound = to_float(name, raw)
        compare = {"gt": float.__gt__, "lt": float.__lt__, "gte": float.__ge__, "lte": float.__le__}[modifier]
        return lambda v: v is not None and compare(float(v), bound)
    if modifier in ("eq", "neq", "in", "m_eq"):
        wanted = raw.split(",") if modifier in ("in", "m_eq") else [raw]
        equals = [_equality(name, field, on_ref, w) for w in wanted]
        if modifier == "neq":
            return lambda v: not equals[0](v)
        return lambda v: any(eq(v) for eq in equals)
    if modifier == "regexp":
        try:
            pattern = re.compile(raw)
        except re.error as exc:
            raise bad_request("%s__regexp: invalid regular expression: %s" % (name, exc)) from None
        return lambda v: v is not None and pattern.search(_text(v)) is not None
    if modifier == "contains":
        return lambda v: v is not None and raw in _text(v)
    if modifier == "contains_some":
        parts = [p for p in raw.split(",") if p]
        return lambda v: v is not None and any(p in _text(v) for p in parts)
    if modifier == "prefix":
        return lambda v: v is not None and _text(v).startswith(raw)
    raise AssertionError(modifier)


def _equality(name, field, on_ref, raw):
    if field.type == REF:
        # field.ref=/path/id, or the bare field given the ref string or the id.
        def eq_ref(v):
            if v is None:
                return False
            return raw == v["ref"] or (not on_ref and raw == str(parse_ref(v)[1]))

        return eq_ref
    if field.type in NUMERIC:
        number = to_float(name, raw)
        return lambda v: v is not None and not isinstance(v, bool) and float(v) == number
    if field.type == BOOL:
        flag = to_bool(name, raw)
        return lambda v: v is flag
    return lambda v: v is not None and _text(v) == raw


def _text(value):
    if isinstance(value, dict) and "ref" in value:
        return value["ref"]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sort_key(value):
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, dict) and "ref" in value:
        parsed = parse_ref(value)
        return (1, float(parsed[1]) if parsed else 0.0, value["ref"])
    if isinstance(value, (bool, int, float)):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def run(resource, ctx, table, q):
    """Filter and sort the records of ``table`` (id -> record) on their values as GET shows them,
    then render and project only the requested page -> the list envelope."""
    order = sorted(table, reverse=q.descending)
    if q.filters or q.sort:
        records = [table[obj_id] for obj_id in order]
        for name, match in q.filters:  # ANDed: each filter narrows what the previous ones kept
            get = resource.getter(ctx, name)
            records = [r for r in records if match(get(r))]
        for name in reversed(q.sort):  # stable sorts, last key first
            get = resource.getter(ctx, name)
            records.sort(key=lambda r, g=get: _sort_key(g(r)), reverse=q.descending)
        total, page = len(records), records[q.offset : q.offset + q.limit]
    else:
        total, page = len(order), [table[obj_id] for obj_id in order[q.offset : q.offset + q.limit]]
    hits = [resource.render(ctx, r) for r in page]
    if q.fields is not None:
        hits = [project(o, q.fields) for o in hits]
    return {"hits": hits, "limit": q.limit, "offset": q.offset, "total": total}


def project(obj, names):
    return {n: obj.get(n) for n in names}
