# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the info modules: validate the user's query, build the API query parameters,
and plan/apply the batched name resolution. No I/O here: the module injects it. The fields a query
may name come from a Filterable (replication sessions by default; peer arrays in peer_arrays.py)."""

from __future__ import annotations

import re
from collections import namedtuple
from dataclasses import dataclass, field

from ansible_collections.kaminario.k2.plugins.module_utils.references import id_lookups
from ansible_collections.kaminario.k2.plugins.module_utils.errors import K2Error
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    BOOL,
    INT,
    NAMELESS_REFERENCES,
    REF,
    REFERENCE_PATHS,
    SESSION_FIELDS,
    STR,
    split_ref,
)

MODIFIERS = ("contains", "contains_some", "gt", "lt", "gte", "lte", "neq", "in", "m_eq", "prefix", "regexp")
NUMERIC_MODIFIERS = frozenset(["gt", "lt", "gte", "lte"])
LIST_MODIFIERS = frozenset(["in", "m_eq"])
EXACT = ""  # no modifier: `field=value`

# Which modifiers make sense for each field type. Numeric comparisons only on numbers (the server
# answers 400 otherwise); text matching only on strings; a reference matches by ref only.
MODIFIERS_BY_TYPE = {
    STR: (EXACT, "contains", "contains_some", "neq", "in", "m_eq", "prefix", "regexp"),
    INT: (EXACT, "gt", "lt", "gte", "lte", "neq", "in", "m_eq"),
    BOOL: (EXACT, "neq"),
    REF: (EXACT, "neq", "in", "m_eq"),
}

_INTEGER = re.compile(r"^-?[0-9]+$")


class Filterable(namedtuple("Filterable", ["fields", "reference_paths"])):
    """A resource as its filters see it: `fields` maps each field to its type (INT, BOOL, STR or
    REF), `reference_paths` each REF field to the path of the resource it points to."""


SESSIONS = Filterable(SESSION_FIELDS, REFERENCE_PATHS)


class FilterError(K2Error):
    """The query options are invalid; raised before any request is sent."""


@dataclass(frozen=True)
class Condition:
    """One validated filter: `field`, `modifier` ("" for exact) and a normalised value (a list for in)."""

    field: str
    modifier: str
    value: object

    @property
    def key(self):
        return self.field + ("__" + self.modifier if self.modifier else "")


@dataclass
class Query:
    """A validated query; `params(resolve_ref)` turns it into API query parameters."""

    conditions: list = field(default_factory=list)
    sort: str | None = None
    fields: list | None = None
    resource: Filterable = SESSIONS

    def params(self, resolve_ref):
        """Build the query parameters. `resolve_ref(path, value, option)` returns the ref string
        ("/volume_groups/3") for a name, id or ref; it is only called for reference filters."""
        params = {}
        for cond in self.conditions:
            if self.resource.fields[cond.field] == REF:
                key = cond.field + ".ref" + ("__" + cond.modifier if cond.modifier else "")
                option = "filters." + cond.key
                path = self.resource.reference_paths[cond.field]
                if cond.modifier in LIST_MODIFIERS:
                    params[key] = ",".join(resolve_ref(path, v, option) for v in cond.value)
                else:
                    params[key] = resolve_ref(path, cond.value, option)
            else:
                params[cond.key] = _render(cond.value)
        if self.sort:
            descending = self.sort.startswith("-")
            params["__sort"] = self.sort.lstrip("-")
            params["__sort_order"] = "desc" if descending else "asc"
        if self.fields:
            params["__fields"] = ",".join(self.fields)
        return params


def _render(value):
    """A normalised filter value as the API spells it in a query string."""
    if isinstance(value, list):
        return ",".join(_render(v) for v in value)
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _choices(items):
    return ", ".join(sorted(items))


def _type_name(value):
    return type(value).__name__


def _scalar(key, ftype, value, resource):
    """Check and normalise one scalar value for a field of type `ftype`."""
    if value is None or isinstance(value, (list, tuple, dict)):
        raise FilterError("filters.%s: expected a single %s value, got %s" % (key, _expected(ftype), _type_name(value)))
    if ftype == INT:
        if isinstance(value, bool):
            raise FilterError("filters.%s: expected an integer, got a boolean" % key)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value.strip())
        raise FilterError("filters.%s: expected an integer, got %r" % (key, value))
    if ftype == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise FilterError("filters.%s: expected a boolean (true or false), got %r" % (key, value))
    if ftype == REF:
        # A blank name would only fail later, as a lookup of " ": refuse it here with the others.
        blank = isinstance(value, str) and not value.strip()
        if isinstance(value, bool) or not isinstance(value, (str, int)) or blank:
            raise FilterError("filters.%s: expected a name, an id or a ref like %s/ID, got %r"
                              % (key, resource.reference_paths[key.split("__")[0]], value))
        return value
    # Strings: a number typed in YAML (`suspend_reason_code: 12`) means its text.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FilterError("filters.%s: expected a string, got %s" % (key, _type_name(value)))
    return str(value)


def _expected(ftype):
    return {INT: "integer", BOOL: "boolean", STR: "string", REF: "name, id or ref"}[ftype]


def _list(key, ftype, value, resource):
    """`in` / `m_eq` take a list or a comma-separated string; each item is checked like a scalar."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise FilterError("filters.%s: expected a list (or a comma-separated string), got %s" % (key, _type_name(value)))
    if not items or any(v == "" for v in items):
        raise FilterError("filters.%s: expected a non-empty list without empty items, got %r" % (key, value))
    normalised = [_scalar(key, ftype, v, resource) for v in items]
    for item in normalised:
        # The API separates list items with commas: a text item holding one cannot be expressed
        # (reference items are resolved to refs, which never hold one).
        if ftype == STR and "," in item:
            raise FilterError("filters.%s: the item %r contains a comma, which the API uses as the list separator"
                              % (key, item))
    return normalised


def parse_condition(key, value, resource=SESSIONS):
    """Validate one `filters` entry on a field of `resource` and return a Condition."""
    fname, sep, modifier = str(key).partition("__")
    if fname not in resource.fields:
        raise FilterError("filters: unknown field %r in %r; valid fields: %s" % (fname, key, _choices(resource.fields)))
    ftype = resource.fields[fname]
    if sep and modifier not in MODIFIERS:
        raise FilterError("filters: unknown modifier %r in %r; valid modifiers: %s"
                          % (modifier, key, ", ".join(MODIFIERS)))
    allowed = MODIFIERS_BY_TYPE[ftype]
    if modifier not in allowed:
        what = "numeric modifier" if modifier in NUMERIC_MODIFIERS else "modifier"
        valid = ", ".join(["(exact match: %s)" % fname] + ["%s__%s" % (fname, m) for m in allowed if m])
        raise FilterError("filters: the %s %r does not apply to the %s field %r; valid for it: %s"
                          % (what, modifier, ftype, fname, valid))
    if modifier in LIST_MODIFIERS:
        return Condition(fname, modifier, _list(key, ftype, value, resource))
    return Condition(fname, modifier, _scalar(key, ftype, value, resource))


def _check_field(option, fname, allowed):
    if not isinstance(fname, str) or fname not in allowed:
        raise FilterError("%s: unknown field %r; valid fields: %s" % (option, fname, _choices(allowed)))


def build_query(name=None, filters=None, sort=None, fields=None, limit=None, resource=SESSIONS):
    """Validate every query option on the fields of `resource` and return a Query. Raises
    FilterError before any request."""
    query = Query(resource=resource)
    filters = filters or {}
    if not isinstance(filters, dict):
        raise FilterError("filters: expected a dictionary of field or field__modifier keys")
    if name is not None:
        if "name" in filters:
            raise FilterError("name and filters.name both ask for an exact name; give only one")
        query.conditions.append(parse_condition("name", name, resource))
    query.conditions.extend(parse_condition(k, v, resource) for k, v in filters.items())
    if sort:
        sortable = [f for f, t in resource.fields.items() if t != REF]
        _check_field("sort", sort[1:] if sort.startswith("-") else sort, sortable)
        query.sort = sort
    if fields is not None:
        if not fields:
            raise FilterError("fields: give at least one field, or omit fields for all of them")
        for fname in fields:
            _check_field("fields", fname, resource.fields)
        query.fields = list(dict.fromkeys(fields))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise FilterError("limit: expected a positive integer, got %r" % (limit,))
    return query


# ---- name resolution -------------------------------------------------------------------------


def name_lookups(sessions):
    """Plan the name resolution: [(path, params)], one list query per resource type and per
    PAGE_SIZE ids (batched id__in, one page each), covering every distinct id the sessions reference."""
    return id_lookups(session.get(f) for session in sessions for f in REFERENCE_PATHS if f not in NAMELESS_REFERENCES)


def add_names(sessions, objects_by_path):
    """Add `<field>_name` to each session, in place, for every nameable reference field it holds.
    `objects_by_path` maps a resource path to the objects listed from it. A null reference, or one
    to an object that no longer exists, gets None."""
    names = {}
    for path, objects in objects_by_path.items():
        for obj in objects:
            names[(path, str(obj.get("id")))] = obj.get("name")
    for session in sessions:
        for fname in REFERENCE_PATHS:
            if fname in NAMELESS_REFERENCES or fname not in session:
                continue
            parsed = split_ref(session[fname])
            session[fname + "_name"] = names.get(parsed) if parsed else None
    return sessions
