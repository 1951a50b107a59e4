"""The /api/v2 surface: Basic auth, roles, discovery, routing and the generic list/get/create/
update/delete flow over the resources of ``registry``. Returns (status, payload, headers)."""

from k2sim import auth, listing
from k2sim.errors import ApiError, bad_request, not_found
from k2sim.registry import RESOURCES, route
from k2sim.resource import RenderContext, method_not_allowed

READS = ("GET",)
COLLECTION_METHODS = ("GET", "POST")
OBJECT_METHODS = ("GET", "PATCH", "DELETE")


def discovery():
    return {"resources": {path: {"url": "/" + path} for path in RESOURCES}}


def handle(sim, arr, method, relpath, pairs, body, authorization):
    user = auth.authenticate(sim.users, authorization)
    if user is None:
        raise ApiError(
            401, "authentication required: missing or bad credentials", {"WWW-Authenticate": 'Basic realm="K2"'}
        )
    if relpath.strip("/") == "":
        if method != "GET":
            raise ApiError(405, "method %s is not allowed on /api/v2" % method, {"Allow": "GET"})
        return 200, discovery()
    resource, tail = route(relpath)
    if resource is None:
        raise not_found("no such resource: /api/v2%s" % relpath)
    allowed = COLLECTION_METHODS if tail is None else OBJECT_METHODS
    if method not in allowed or method not in resource.methods:
        raise method_not_allowed(resource, method, allowed)
    if method not in READS and not user.can_write:
        raise ApiError(403, "user %r (role %s) is not allowed to %s %s" % (user.name, user.role, method, resource.path))
    obj_id = None
    if tail is not None:
        if not tail.isdigit():
            raise not_found("no %s object with id %r" % (resource.path, tail))
        obj_id = int(tail)
    with sim.lock:
        sim.run_due()
        return _dispatch(sim, arr, RenderContext(sim, arr, user), resource, method, obj_id, pairs, body)


def _dispatch(sim, arr, ctx, resource, method, obj_id, pairs, body):
    store = arr.store
    if obj_id is None and method == "GET":
        query = listing.parse(resource.fields, pairs)
        return 200, listing.run(resource, ctx, store.tables[resource.path], query)
    if obj_id is None:  # POST
        if body is None:
            raise bad_request("POST %s needs a JSON body" % resource.path)
        values = resource.validate_create(store, body)
        record = resource.create(sim, arr, values)
        return 201, resource.render(ctx, record)
    record = store.get(resource.path, obj_id)
    if record is None:
        raise not_found("no %s object with id %d" % (resource.path, obj_id))
    if method == "GET":
        fields = None
        for key, value in pairs:
            if key == "__fields":
                fields = listing.parse_fields_param(resource.fields, value)
            elif key != "__pretty":
                raise bad_request("unknown query parameter %s for a single object" % key)
        out = resource.render(ctx, record)
        return 200, listing.project(out, fields) if fields is not None else out
    if method == "PATCH":
        values = resource.validate_patch(store, record, {} if body is None else body)
        resource.update(sim, arr, record, values)
        return 200, resource.render(ctx, record)
    resource.delete(sim, arr, record)
    return 204, None
