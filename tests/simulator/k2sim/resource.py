"""Base class of a REST resource: declared fields, body validation, generic create/update/delete.

A subclass declares ``path``, ``fields`` (what GET returns, with types for filters), ``write_only``
(accepted on writes, never returned), ``methods``, ``create_mandatory``, ``create_optional``,
``patch_fields``, ``parent_refs`` (reference fields fixed at creation that the store indexes) and
``computed`` (fields worked out when read), and overrides ``create``/``update``/``delete`` where it
has behaviour.
"""

from k2sim.errors import ApiError, bad_request
from k2sim.schema import ANY, coerce


class RenderContext:
    """What rendering needs besides the record: the simulator, the array and the calling user."""

    def __init__(self, sim, arr, user=None):
        self.sim = sim
        self.arr = arr
        self.user = user


class Resource:
    path = None
    fields = {}
    write_only = {}
    methods = ("GET",)
    create_mandatory = ()
    create_optional = ()
    patch_fields = ()
    unique_name = True
    parent_refs = ()
    # field -> function(ctx, record) -> its value as GET shows it; added after the stored fields,
    # in this order. Lists filter and sort through getter() and render only the page they return.
    computed = {}

    def field(self, name):
        return self.fields.get(name) or self.write_only.get(name)

    # ---- validation -------------------------------------------------------------------------
    def _check(self, store, body, allowed, mandatory, allow_null):
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        unknown = sorted(k for k in body if k not in allowed)
        if unknown:
            raise bad_request("unknown or non-writable field(s) for %s: %s" % (self.path, ", ".join(unknown)))
        missing = [k for k in mandatory if body.get(k) is None]
        if missing:
            raise bad_request("missing mandatory field(s) for %s: %s" % (self.path, ", ".join(missing)))
        values = {}
        for key, value in body.items():
            field = self.field(key)
            if value is None:
                if not allow_null and field.type != ANY:
                    raise bad_request("%s must not be null" % key)
                values[key] = None
                continue
            values[key] = coerce(key, field, value, store)
        return values

    def validate_create(self, store, body):
        allowed = set(self.create_mandatory) | set(self.create_optional)
        values = self._check(store, body, allowed, self.create_mandatory, allow_null=True)
        values = {k: v for k, v in values.items() if v is not None}
        if self.unique_name and "name" in values:
            if store.by_name(self.path, values["name"]) is not None:
                raise bad_request("%s: an object named %r already exists" % (self.path, values["name"]))
        return values

    def validate_patch(self, store, record, body):
        values = self._check(store, body, set(self.patch_fields), (), allow_null=False)
        name = values.get("name")
        if self.unique_name and name is not None and name != record.get("name"):
            if store.by_name(self.path, name) is not None:
                raise bad_request("%s: an object named %r already exists" % (self.path, name))
        return values

    # ---- behaviour --------------------------------------------------------------------------
    def defaults(self, sim, arr):
        return {}

    def create(self, sim, arr, values, obj_id=None):
        record = self.defaults(sim, arr)
        record.update(values)
        return arr.store.insert(self.path, record, obj_id)

    def update(self, sim, arr, record, values):
        arr.store.update(self.path, record, values)

    def delete(self, sim, arr, record):
        arr.store.remove(self.path, record["id"])

    def render(self, ctx, record):
        out = {k: record[k] for k in sorted(record) if not k.startswith("_")}
        for name, compute in self.computed.items():
            out[name] = compute(ctx, record)
        return out

    def getter(self, ctx, name):
        """A function: record -> its field ``name`` as render() shows it, without rendering the rest."""
        compute = self.computed.get(name)
        if compute is None:
            return lambda record: record.get(name)
        return lambda record: compute(ctx, record)


def method_not_allowed(resource, method, allowed):
    """405 with the methods this URL (collection or object) does take."""
    methods = [m for m in allowed if m in resource.methods]
    return ApiError(405, "method %s is not allowed here on %s" % (method, resource.path), {"Allow": ", ".join(methods)})
