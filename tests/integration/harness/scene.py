"""Set a scene on the simulator's arrays through their API, behind Ansible's back: volume groups,
sessions, transitions (waiting until they land on both sides), deletes.

    from harness.scene import Scene
    scene = Scene(sim)
    scene.volume_group("k2-a", "vg_app")
    scene.session("k2-a", "app", "vg_app", peer="k2-b", rpo=300, state="in_sync")
    scene.transition("k2-b", "remote_app", "failed_over")
    scene.sessions("k2-b")["remote_app"]["state"]
"""

import time

import requests

API_WRITES = ("POST", "PATCH", "PUT", "DELETE")


class SceneError(AssertionError):
    pass


class Scene:
    def __init__(self, sim, user="admin", timeout=60.0):
        self.sim = sim
        self.timeout = timeout
        self.http = requests.Session()
        self.http.auth = (user, sim.users[user]["password"])

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- raw API -------------------------------------------------------------------------------
    def call(self, array, method, path, body=None, **params):
        answer = self.http.request(method, self.sim.arrays[array]["url"] + path, json=body, params=params or None,
                                   verify=self.sim.ca_path, timeout=30)
        if answer.status_code >= 400:
            raise SceneError("%s %s on %s: %s %s" % (method, path, array, answer.status_code, answer.text))
        return answer.json() if answer.content else None

    def find(self, array, path, name):
        hits = self.call(array, "GET", path, name=name)["hits"]
        return hits[0] if hits else None

    def ref(self, array, path, name):
        found = self.find(array, path, name)
        if found is None:
            raise SceneError("no %s named %r on %s" % (path, name, array))
        return {"ref": "%s/%s" % (path, found["id"])}

    # ---- objects -------------------------------------------------------------------------------
    def volume_group(self, array, name):
        found = self.find(array, "/volume_groups", name)
        return found or self.call(array, "POST", "/volume_groups", {"name": name, "quota": 0})

    def sessions(self, array):
        """The sessions on `array` by name, as the control API's dump shows them."""
        return {s["name"]: s for s in self.sim.dump(array)["objects"]["replication/sessions"]}

    def session(self, array, name, volume_group, peer, rpo=300, state=None, **extra):
        """Create session `name` on `array` towards `peer` (the target side appears on the peer);
        with `state`, move it there and wait until both sides show it."""
        body = {"name": name, "local_volume_group": self.ref(array, "/volume_groups", volume_group),
                "replication_peer_k2array": self.ref(array, "/replication/peer_k2arrays", peer), "rpo": rpo}
        for key in ("retention_policy", "external_retention_policy"):
            if key in extra:
                extra[key] = self.ref(array, "/retention_policies", extra[key])
        body.update(extra)
        created = self.call(array, "POST", "/replication/sessions", body)
        if state is not None and state != "idle":
            self.transition(array, name, state)
        return created

    def patch(self, array, name, **values):
        found = self.find(array, "/replication/sessions", name)
        if found is None:
            raise SceneError("no session %r on %s" % (name, array))
        return self.call(array, "PATCH", "/replication/sessions/%s" % found["id"], values)

    def transition(self, array, name, state, peer_state=None, **options):
        """PATCH the state and wait until it landed here and (unless the peer is down) on the other
        side (`peer_state`, by default what the mirror shows for `state`)."""
        session = self.patch(array, name, state=state, **options)
        peer_name = session["remote_replication_session_name"]
        peer = self._peer_array(array, session)
        self.wait(array, name, state=state)
        if peer is not None and self.sim.dump(peer)["down"] is None:
            expected = peer_state or {"failed_over": "suspended"}.get(state, state)
            self.wait(peer, peer_name, state=expected)

    def delete(self, array, name):
        found = self.find(array, "/replication/sessions", name)
        self.call(array, "DELETE", "/replication/sessions/%s" % found["id"])

    def _peer_array(self, array, session):
        ref = (session.get("replication_peer_k2array") or {}).get("ref", "")
        peer_id = ref.rsplit("/", 1)[-1]
        for peer in self.call(array, "GET", "/replication/peer_k2arrays")["hits"]:
            if str(peer["id"]) == peer_id:
                return peer["name"] if peer["name"] in self.sim.arrays else None
        return None

    def wait(self, array, name, **fields):
        """Wait until session `name` on `array` shows `fields` and has no transition pending."""
        deadline = time.monotonic() + self.timeout
        while True:
            dump = self.sim.dump(array)
            session = {s["name"]: s for s in dump["objects"]["replication/sessions"]}.get(name)
            if session is not None and all(session.get(k) == v for k, v in fields.items()):
                internal = dump["sessions_internal"].get(str(session["id"])) or {}
                if internal.get("pending_state") is None:
                    return session
            if time.monotonic() > deadline:
                raise SceneError("%s on %s never showed %s; it shows %s" % (name, array, fields, session))
            time.sleep(0.05)


def writes(sim, array):
    """The write requests the array received (journal): [(method, path, user)]."""
    return [(e["method"], e["path"], e["user"]) for e in sim.journal(array) if e["method"] in API_WRITES]
