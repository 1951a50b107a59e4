"""The control API under /__sim/ (no auth, JSON in and out). Tests use it through
``k2sim.control_client.ControlClient``; the routes are listed in tests/simulator/README.md."""

import json

SIM_PREFIX = "/__sim"


class ControlRouteError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def handle(sim, method, path, pairs, raw):
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        return 400, {"error_msg": "invalid JSON body: %s" % exc}
    parts = [p for p in path[len(SIM_PREFIX) :].split("/") if p]
    try:
        return _route(sim, method, parts, dict(pairs), body)
    except ControlRouteError as exc:
        return exc.status, {"error_msg": str(exc)}
    except ValueError as exc:
        return 400, {"error_msg": str(exc)}


def _route(sim, method, parts, query, body):
    if parts in ([], ["info"]):
        _only(method, "GET")
        return 200, sim.info()
    if parts == ["config"]:
        if method == "GET":
            return 200, sim.config()
        _only(method, "PATCH", "PUT", "POST")
        settings = _object(body)
        unknown = sorted(set(settings) - set(sim.config()))
        if unknown:
            raise ControlRouteError(
                400, "unknown setting(s): %s (settings: %s)" % (", ".join(unknown), ", ".join(sim.config()))
            )
        return 200, sim.configure(**settings)
    if parts == ["clock"]:
        _only(method, "GET")
        return 200, sim.clock_info()
    if parts == ["links"]:
        _only(method, "GET")
        return 200, {"links": sim.links()}
    if len(parts) == 3 and parts[0] == "links":
        for name in parts[1:]:
            if name not in sim.arrays:
                raise ControlRouteError(404, "no array named %r (arrays: %s)" % (name, ", ".join(sim.arrays)))
        if method == "GET":
            return 200, sim.link(parts[1], parts[2])
        _only(method, "PATCH", "POST")
        return 200, sim.set_link(parts[1], parts[2], **_object(body))
    if len(parts) == 5 and parts[0] == "arrays" and parts[2] == "sessions" and parts[4] in ("stall", "unstall"):
        arr = sim.arrays.get(parts[1])
        if arr is None:
            raise ControlRouteError(404, "no array named %r (arrays: %s)" % (parts[1], ", ".join(sim.arrays)))
        _only(method, "POST")
        try:
            return 200, sim.stall(arr.name, parts[3], parts[4] == "stall")
        except KeyError:
            raise ControlRouteError(404, "no session %r on array %s" % (parts[3], arr.name)) from None
    if parts == ["advance"]:
        _only(method, "POST")
        body = _object(body)
        unknown = sorted(set(body) - {"events", "seconds"})
        if unknown:
            raise ControlRouteError(400, "unknown key(s): %s (give events or seconds)" % ", ".join(unknown))
        return 200, sim.advance(body.get("events"), body.get("seconds"))
    if parts == ["reset"]:
        _only(method, "POST")
        sim.reset()
        return 200, {"reset": True}
    if parts == ["journal"]:
        if method == "DELETE":
            for arr in sim.arrays.values():
                arr.journal.clear()
            return 204, None
        _only(method, "GET")
        return 200, {name: arr.journal.entries() for name, arr in sim.arrays.items()}
    if parts == ["dump"]:
        _only(method, "GET")
        return 200, {name: sim.dump(name) for name in sim.arrays}
    if len(parts) == 3 and parts[0] == "arrays":
        arr = sim.arrays.get(parts[1])
        if arr is None:
            raise ControlRouteError(404, "no array named %r (arrays: %s)" % (parts[1], ", ".join(sim.arrays)))
        return _array_route(sim, arr, method, parts[2], body)
    raise ControlRouteError(404, "no control route %s/%s" % (SIM_PREFIX, "/".join(parts)))


def _array_route(sim, arr, method, what, body):
    if what == "journal":
        if method == "DELETE":
            arr.journal.clear()
            return 204, None
        _only(method, "GET")
        return 200, {"entries": arr.journal.entries()}
    if what == "faults":
        if method == "POST":
            return 201, arr.faults.add(_object(body))
        if method == "DELETE":
            arr.faults.clear()
            return 204, None
        _only(method, "GET")
        return 200, {"faults": arr.faults.list()}
    if what == "down":
        _only(method, "POST")
        sim.set_down(arr.name, _object(body).get("mode", "refuse"))
        return 200, {"name": arr.name, "down": arr.down}
    if what == "up":
        _only(method, "POST")
        sim.set_up(arr.name)
        return 200, {"name": arr.name, "down": arr.down}
    if what == "dump":
        _only(method, "GET")
        return 200, sim.dump(arr.name)
    raise ControlRouteError(404, "no control route for array %s: %s" % (arr.name, what))


def _only(method, *allowed):
    if method not in allowed:
        raise ControlRouteError(405, "method %s not allowed here (use %s)" % (method, ", ".join(allowed)))


def _object(body):
    if not isinstance(body, dict):
        raise ControlRouteError(400, "the body must be a JSON object")
    return body
