"""replication/sessions: creation and mirror, every allowed and forbidden transition (with the
side), asynchronous landing, the mirror rules, deletion, writable fields, peer volumes, snapshots."""

import time

import pytest

from k2sim_testlib import SESSIONS, create_pair, session_body, settle, state_of, transition, wait_for, wait_state

STATES = ("idle", "in_sync", "suspended", "failed_over")
ALLOWED = {
    ("source", "idle"): {"in_sync"},
    ("source", "in_sync"): {"suspended"},
    ("source", "suspended"): {"in_sync", "idle"},
    ("target", "idle"): set(),
    ("target", "in_sync"): {"failed_over"},
    ("target", "suspended"): {"failed_over"},
    ("target", "failed_over"): {"in_sync", "idle"},
}


def url(sid):
    return "%s/%d" % (SESSIONS, sid)


def pair_in(a, b, state):
    """A fresh pair whose target shows ``state`` (and whose source follows the mirror rules)."""
    src, tgt = create_pair(a, b)
    s, t = src["id"], tgt["id"]
    if state != "idle":
        transition(a, s, "in_sync")
        settle(a, b, s, t, "in_sync", "in_sync")
    if state == "suspended":
        transition(a, s, "suspended")
        settle(a, b, s, t, "suspended", "suspended")
    if state == "failed_over":
        transition(b, t, "failed_over")
        settle(a, b, s, t, "suspended", "failed_over")
    return s, t


# ---- creation ---------------------------------------------------------------------------------
def test_create_makes_the_target_session_and_peer_groups(a, b):
    src, tgt = create_pair(a, b, name="ora")
    assert (src["state"], src["current_role"], src["primary"], src["stopped"]) == ("idle", "source", True, True)
    assert (tgt["state"], tgt["current_role"], tgt["primary"]) == ("idle", "target", False)
    assert tgt["name"] == "remote_ora"
    assert (src["remote_replication_session_id"], src["remote_replication_session_name"]) == (tgt["id"], "remote_ora")
    assert (tgt["remote_replication_session_id"], tgt["remote_replication_session_name"]) == (src["id"], "ora")
    assert src["rpo"] == tgt["rpo"] == 300
    vg_b = b.one("/volume_groups", name="vg_oracle_prod")  # made on the peer with the local group's name
    assert tgt["local_volume_group"] == {"ref": "/volume_groups/%d" % vg_b["id"]}
    assert vg_b["replication_session"] == {"ref": url(tgt["id"])}
    assert a.ok("GET", "/volume_groups/5101")["replication_session"] == {"ref": url(src["id"])}
    pvg_a = a.ok("GET", src["replication_peer_volume_group"]["ref"])
    assert (pvg_a["name"], pvg_a["remote_volume_group_id"], pvg_a["fullname"]) == (
        "vg_oracle_prod",
        vg_b["id"],
        "d502_vg_oracle_prod",
    )
    assert pvg_a["replication_session"] == {"ref": url(src["id"])}
    pvg_b = b.ok("GET", tgt["replication_peer_volume_group"]["ref"])
    assert (pvg_b["remote_volume_group_id"], pvg_b["fullname"]) == (5101, "d501_vg_oracle_prod")
    assert b.ok("GET", tgt["replication_peer_k2array"]["ref"])["name"] == "k2-a"
    # rpo_history records come with replication rounds (tests/simulator/tests/test_sim_rounds.py).
    assert src["replication_rpo_history"] is None and tgt["replication_rpo_history"] is None
    policy = a.one("/retention_policies", name="Replication_Retention")  # the default when omitted
    assert (
        src["retention_policy"] == src["external_retention_policy"] == {"ref": "/retention_policies/%d" % policy["id"]}
    )


def test_create_with_custom_remote_names_uses_an_existing_peer_group(a, b):
    src, tgt = create_pair(
        a,
        b,
        name="rep",
        vg_id=5102,
        remote_replication_session_name="dr_rep",
        replication_peer_volume_group_name="vg_test_dr",
        target_exposure="Read Only",
    )
    assert tgt["name"] == "dr_rep" and tgt["target_exposure"] == "Read Only"
    vg = b.one("/volume_groups", name="vg_test_dr")
    assert tgt["local_volume_group"] == {"ref": "/volume_groups/%d" % vg["id"]}
    assert b.ok("GET", "/volume_groups", params={"name": "vg_sql_prod"})["total"] == 0
    assert a.ok("GET", src["replication_peer_volume_group"]["ref"])["name"] == "vg_test_dr"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rpo": 120}, "rpo must be either 60 (1 min) or a multiple of 300 (5 min)"),
        ({"rpo": 0}, "rpo must be"),
        ({"rpo": "abc"}, "rpo must be an integer"),
        ({"target_exposure": "exposed"}, "target_exposure must be one of"),
        ({"state": "in_sync"}, "unknown or non-writable field(s) for replication/sessions: state"),
        ({"primary": True}, "unknown or non-writable"),
        ({"bogus": 1}, "bogus"),
        (
            {"local_volume_group": {"ref": "/volume_groups/9999"}},
            "local_volume_group: no volume_groups object with id 9999",
        ),
        ({"local_volume_group": {"ref": "/volumes/1"}}, "local_volume_group must reference /volume_groups"),
        ({"replication_peer_k2array": {"ref": "/replication/peer_k2arrays/7"}}, "replication_peer_k2array"),
        ({"retention_policy": "/retention_policies/5"}, "retention_policy must be a reference"),
    ],
)
def test_create_rejects(a, change, message):
    body = session_body()
    body.update(change)
    response = a.post(SESSIONS, body)
    assert response.status_code == 400
    assert message in response.json()["error_msg"]


@pytest.mark.parametrize("missing", ["name", "replication_peer_k2array", "local_volume_group", "rpo"])
def test_create_requires_the_mandatory_fields(a, missing):
    body = session_body()
    del body[missing]
    response = a.post(SESSIONS, body)
    assert response.status_code == 400 and missing in response.json()["error_msg"]


def test_create_conflicts(a, b):
    create_pair(a, b, name="one")
    for body, message in (
        (session_body("one", vg_id=5102), "already exists"),  # duplicate name
        (session_body("two"), "already replicated"),  # same volume group
        (session_body("two", vg_id=5102, remote_replication_session_name="remote_one"), "already exists on peer"),
        (session_body("two", vg_id=5102, replication_peer_volume_group_name="vg_oracle_prod"), "already replicated"),
    ):
        response = a.post(SESSIONS, body)
        assert response.status_code == 400 and message in response.json()["error_msg"], response.text
    assert a.ok("GET", SESSIONS)["total"] == 1 and b.ok("GET", SESSIONS)["total"] == 1


def test_create_accepts_strings_for_numbers_and_booleans(a, b):
    src = create_pair(a, b, rpo="600", auto_configure_peer_volumes="False")[0]
    assert src["rpo"] == 600
    assert a.ok("GET", "/replication/peer_volumes")["total"] == 0


# ---- the transition table ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "role, state, requested", [(role, state, requested) for (role, state) in ALLOWED for requested in STATES]
)
def test_transition_table(sim, a, b, role, state, requested):
    sim.set_delay(0)
    s, t = pair_in(a, b, state)
    client, sid = (a, s) if role == "source" else (b, t)
    current = client.ok("GET", url(sid))
    assert (current["current_role"], current["state"]) == (role, state)
    response = client.patch(url(sid), {"state": requested})
    if requested in ALLOWED[(role, state)]:
        assert response.status_code == 200, response.text
        wait_state(client, sid, requested)
    else:
        assert response.status_code == 400
        message = response.json()["error_msg"]
        assert "current state %s" % state in message and "requested state %s" % requested in message
        assert state_of(client, sid) == state


def test_patch_answers_with_the_old_state_and_the_change_lands_after_the_delay(sim, a, b):
    delay = 0.3
    sim.set_delay(delay)
    src, tgt = create_pair(a, b)
    started = time.monotonic()
    answer = a.ok("PATCH", url(src["id"]), {"state": "in_sync"})
    assert answer["state"] == "idle"
    seen = []
    while True:
        source_state, target_state = state_of(a, src["id"]), state_of(b, tgt["id"])
        seen.append((time.monotonic() - started, source_state, target_state))
        if target_state == "in_sync":
            break
        assert time.monotonic() - started < 10, seen
        time.sleep(0.02)
    for elapsed, source_state, target_state in seen:
        if elapsed < delay:  # answered before the delay had passed: cannot have landed yet
            assert source_state == "idle", seen
        if elapsed < 2 * delay:  # the mirror follows only after a further delay
            assert target_state == "idle", seen
    assert state_of(a, src["id"]) == "in_sync"


def test_manual_clock_orders_the_transition_then_its_mirror(sim, a, b):
    sim.manual_clock(True)
    src, tgt = create_pair(a, b)
    a.ok("PATCH", url(src["id"]), {"state": "in_sync"})
    assert (state_of(a, src["id"]), state_of(b, tgt["id"])) == ("idle", "idle")
    assert sim.advance(1) == {"ran": 1, "pending": 1}
    assert (state_of(a, src["id"]), state_of(b, tgt["id"])) == ("in_sync", "idle")
    sim.advance()
    assert (state_of(a, src["id"]), state_of(b, tgt["id"])) == ("in_sync", "in_sync")


# ---- the mirror rules -------------------------------------------------------------------------
def test_the_target_follows_the_source_through_in_sync_suspended_idle(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "idle")
    for state in ("in_sync", "suspended", "in_sync", "suspended", "idle"):
        transition(a, s, state)
        settle(a, b, s, t, state, state)
        assert b.ok("GET", url(t))["current_role"] == "target"
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert source["stopped"] is target["stopped"] is True


def test_suspend_reasons(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "suspended")
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert source["suspend_reason_code"] == target["suspend_reason_code"] == "user_request"
    assert source["suspend_reason"] and source["stopped"] is False
    transition(a, s, "in_sync")
    settle(a, b, s, t, "in_sync", "in_sync")
    assert (a.ok("GET", url(s))["suspend_reason_code"], a.ok("GET", url(s))["suspend_reason"]) == ("none", "")


def test_failover_suspends_the_source(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "failed_over")
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert (source["state"], source["current_role"], source["primary"]) == ("suspended", "source", True)
    assert source["suspend_reason_code"] == "peer_failed_over" and "failed over" in source["suspend_reason"]
    assert (target["state"], target["current_role"], target["primary"]) == ("failed_over", "target", False)


def test_failover_from_suspended_and_with_a_restored_snapshot(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "in_sync")
    a.ok("POST", "/snapshots", {"replication_session": {"ref": url(s)}, "short_name": "before_dr"})
    latest = wait_for(lambda: b.ok("GET", url(t))["latest_replicated_snapshot"], what="snapshot on the peer")
    transition(a, s, "suspended")
    settle(a, b, s, t, "suspended", "suspended")
    b.ok("PATCH", url(t), {"state": "failed_over", "restored_snapshot": latest})
    wait_state(b, t, "failed_over")
    assert b.ok("GET", url(t))["restored_snapshot"] == latest


def test_reverse_after_failover_swaps_the_roles_and_failback_restores_them(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "failed_over")
    transition(b, t, "in_sync")  # replication now runs from k2-b
    settle(a, b, s, t, "in_sync", "in_sync")
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert (target["current_role"], target["primary"]) == ("source", True)
    assert (source["current_role"], source["primary"]) == ("target", False)
    # Fail back: the original side, now a target, fails over, then reverses again.
    transition(a, s, "failed_over")
    settle(a, b, s, t, "failed_over", "suspended")
    transition(a, s, "in_sync")
    settle(a, b, s, t, "in_sync", "in_sync")
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert (source["current_role"], source["primary"], target["current_role"], target["primary"]) == (
        "source",
        True,
        "target",
        False,
    )


def test_stop_after_failover_stops_the_peer_and_both_sides_can_be_deleted(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "failed_over")
    transition(b, t, "idle")
    settle(a, b, s, t, "idle", "idle")
    b.ok("DELETE", url(t))
    a.ok("DELETE", url(s))
    assert a.ok("GET", SESSIONS)["total"] == b.ok("GET", SESSIONS)["total"] == 0


def test_a_source_cannot_resume_while_its_target_is_failed_over(sim, a, b):
    sim.set_delay(0)
    s = pair_in(a, b, "failed_over")[0]
    response = a.patch(url(s), {"state": "in_sync"})
    assert response.status_code == 400 and "failed_over" in response.json()["error_msg"]


# ---- pending transitions, delete --------------------------------------------------------------
def test_a_repeated_request_while_pending_is_accepted_and_another_is_busy(sim, a, b):
    sim.set_delay(30)  # stays pending for the whole test
    src = create_pair(a, b)[0]
    a.ok("PATCH", url(src["id"]), {"state": "in_sync"})
    assert a.ok("PATCH", url(src["id"]), {"state": "in_sync"})["state"] == "idle"
    response = a.patch(url(src["id"]), {"state": "suspended"})
    assert (response.status_code, response.json()) == (400, {"error_msg": "MC_ERR_INPROGRESS"})
    response = a.delete(url(src["id"]))
    assert response.status_code == 400 and "in progress" in response.json()["error_msg"]


@pytest.mark.parametrize("state", ["in_sync", "suspended"])
def test_delete_only_from_idle(sim, a, b, state):
    sim.set_delay(0)
    s, t = pair_in(a, b, state)
    response = a.delete(url(s))
    assert response.status_code == 400
    assert "idle" in response.json()["error_msg"] and state in response.json()["error_msg"]
    assert b.delete(url(t)).status_code == 400


def test_delete_removes_the_session_and_its_peer_objects_on_this_array_only(sim, a, b):
    src, tgt = create_pair(a, b, auto_configure_peer_volumes=True)
    response = a.delete(url(src["id"]))
    assert (response.status_code, response.content) == (204, b"")
    assert a.get(url(src["id"])).status_code == 404
    assert a.ok("GET", "/replication/peer_volume_groups")["total"] == 0
    assert a.ok("GET", "/replication/peer_volumes")["total"] == 0
    assert a.ok("GET", "/volume_groups/5101")["replication_session"] is None
    assert a.ok("GET", "/volumes", params={"name": "ora_data_01"})["hits"][0]["replication_peer_volume"] is None
    assert b.ok("GET", url(tgt["id"]))["state"] == "idle"  # the peer's session stays (deleted separately)
    # The local group is free again; the peer's group still belongs to the remaining target session.
    response = a.post(SESSIONS, session_body("again"))
    assert response.status_code == 400 and "already replicated by session 'remote_s1'" in response.json()["error_msg"]
    a.ok("POST", SESSIONS, session_body("again", replication_peer_volume_group_name="vg_oracle_again"))


# ---- other writable fields --------------------------------------------------------------------
def test_patch_rpo_name_exposure_and_policies(sim, a, b):
    src, tgt = create_pair(a, b)
    sim.stall("k2-a", src["id"])  # its first replication round stays in flight
    transition(a, src["id"], "in_sync")
    a.ok("POST", "/retention_policies", {"name": "CDP", "num_snapshots": "10", "weeks": 0, "days": 1, "hours": 0})
    cdp = a.one("/retention_policies", name="CDP")
    updated = a.ok(
        "PATCH",
        url(src["id"]),
        {
            "rpo": "900",
            "name": "renamed",
            "target_exposure": "Mapped - Not Exposed",
            "retention_policy": {"ref": "/retention_policies/%d" % cdp["id"]},
        },
    )
    assert (updated["rpo"], updated["name"], updated["target_exposure"]) == (900, "renamed", "Mapped - Not Exposed")
    assert updated["retention_policy"] == {"ref": "/retention_policies/%d" % cdp["id"]}
    target = b.ok("GET", url(tgt["id"]))
    assert (target["rpo"], target["remote_replication_session_name"]) == (900, "renamed")
    assert a.ok("GET", updated["replication_rpo_history"]["ref"])["target_rpo"] == 900  # the round in flight
    assert a.ok("PATCH", url(src["id"]), {"name": "renamed", "rpo": 60})["rpo"] == 60  # same name: no rename


@pytest.mark.parametrize(
    "body, message",
    [
        ({"rpo": 301}, "rpo must be"),
        ({"current_role": "target"}, "unknown or non-writable"),
        ({"local_volume_group": {"ref": "/volume_groups/5102"}}, "unknown or non-writable"),
        ({"state": "bogus"}, "state must be one of"),
        ({"snapshot_wwn": "0x1"}, "only be sent together with state"),
        ({"state": "in_sync", "restored_snapshot": "x"}, "restored_snapshot applies to state failed_over"),
        ({"state": "in_sync", "offline_initial_sync": "maybe"}, "offline_initial_sync must be a boolean"),
        ({"target_exposure": "unexposed"}, "target_exposure must be one of"),
        ({"rpo": None}, "rpo must not be null"),
    ],
)
def test_patch_rejects(a, b, body, message):
    src = create_pair(a, b)[0]
    response = a.patch(url(src["id"]), body)
    assert response.status_code == 400 and message in response.json()["error_msg"], response.text


def test_patch_state_with_its_options(sim, a, b):
    sim.set_delay(0)
    src = create_pair(a, b)[0]
    a.ok(
        "PATCH",
        url(src["id"]),
        {"name": "s1", "state": "in_sync", "offline_initial_sync": "True", "snapshot_wwn": "0x0024"},
    )
    wait_state(a, src["id"], "in_sync")


def test_patch_rename_to_an_existing_name_is_rejected(a, b):
    src = create_pair(a, b, name="one")[0]
    a.ok("POST", SESSIONS, session_body("two", vg_id=5102))
    response = a.patch(url(src["id"]), {"name": "two"})
    assert response.status_code == 400 and "already exists" in response.json()["error_msg"]


def test_a_renamed_peer_session_frees_its_name_on_the_peer(a, b):
    tgt = create_pair(a, b, name="one")[1]
    b.ok("PATCH", url(tgt["id"]), {"name": "dr_copy"})
    response = a.post(SESSIONS, session_body("two", vg_id=5102, remote_replication_session_name="dr_copy"))
    assert response.status_code == 400 and "already exists on peer" in response.json()["error_msg"]
    two = a.ok("POST", SESSIONS, session_body("two", vg_id=5102, remote_replication_session_name="remote_one"))
    assert b.one(SESSIONS, name="remote_one")["id"] == two["remote_replication_session_id"]
    assert b.one(SESSIONS, name="dr_copy")["id"] == tgt["id"]


# ---- peer volumes and replication snapshots ---------------------------------------------------
def test_auto_configure_peer_volumes_makes_the_target_volumes(a, b):
    src, tgt = create_pair(a, b, auto_configure_peer_volumes="True")
    peer_volumes = a.ok("GET", "/replication/peer_volumes")["hits"]
    assert sorted(p["name"] for p in peer_volumes) == ["ora_data_01", "ora_data_02", "ora_redo_01"]
    target_volumes = b.ok("GET", "/volumes", params={"volume_group.ref": tgt["local_volume_group"]["ref"]})["hits"]
    assert sorted(v["name"] for v in target_volumes) == ["ora_data_01", "ora_data_02", "ora_redo_01"]
    assert all(v["read_only"] and v["replication_peer_volume"] for v in target_volumes)
    local = a.one("/volumes", name="ora_data_01")
    pv = a.ok("GET", local["replication_peer_volume"]["ref"])
    assert pv["replication_peer_volume_group"] == src["replication_peer_volume_group"]
    assert pv["remote_volume_id"] == b.one("/volumes", name="ora_data_01")["id"]


def test_auto_configure_conflict_creates_nothing(a, b):
    test_vg = b.one("/volume_groups", name="vg_test_dr")
    b.ok(
        "POST",
        "/volumes",
        {"name": "sql_data_01", "size": 1024, "volume_group": {"ref": "/volume_groups/%d" % test_vg["id"]}},
    )
    response = a.post(SESSIONS, session_body(vg_id=5102, auto_configure_peer_volumes=True))
    assert (
        response.status_code == 400
        and "'sql_data_01' already exists on peer array 'k2-b'" in response.json()["error_msg"]
    )
    assert a.ok("GET", SESSIONS)["total"] == b.ok("GET", SESSIONS)["total"] == 0
    assert b.ok("GET", "/volume_groups", params={"name": "vg_sql_prod"})["total"] == 0
    assert a.ok("GET", "/replication/peer_volume_groups")["total"] == 0


def test_declare_a_peer_volume(a, b):
    src, tgt = create_pair(a, b, vg_id=5102)
    vol = a.one("/volumes", name="sql_data_01")
    pv = a.ok(
        "POST",
        "/replication/peer_volumes",
        {
            "name": "sql_data_01_dr",
            "local_volume": {"ref": "/volumes/%d" % vol["id"]},
            "replication_session": {"ref": url(src["id"])},
        },
    )
    assert pv["name"] == "sql_data_01_dr"
    assert b.one("/volumes", name="sql_data_01_dr")["volume_group"] == tgt["local_volume_group"]
    other = a.one("/volumes", name="web_content_01")
    response = a.post(
        "/replication/peer_volumes",
        {
            "name": "x",
            "local_volume": {"ref": "/volumes/%d" % other["id"]},
            "replication_session": {"ref": url(src["id"])},
        },
    )
    assert response.status_code == 400 and "not in the volume group" in response.json()["error_msg"]


def test_replication_snapshot(sim, a, b):
    sim.set_delay(0)
    s, t = pair_in(a, b, "idle")
    body = {"replication_session": {"ref": url(s)}, "is_application_consistent": "False"}
    response = a.post("/snapshots", body)
    assert response.status_code == 400 and "must be in_sync" in response.json()["error_msg"]
    sim.manual_clock(True)
    a.ok("PATCH", url(s), {"state": "in_sync"})
    sim.advance()  # the transition, its mirror, and the initial round (generation 1) reaching k2-b
    assert a.ok("GET", url(s))["common_snapshots_count"] == 1
    snap = a.ok("POST", "/snapshots", body)
    assert snap["source"] == {"ref": "/volume_groups/5101"} and snap["generation_number"] == 2
    assert snap["triggered_by"] == "api" and snap["is_exist_on_peer"] is False
    assert a.ok("GET", url(s))["current_snapshot"] == snap["name"]  # no round was running: it travels at once
    sim.advance()
    source, target = a.ok("GET", url(s)), b.ok("GET", url(t))
    assert source["latest_replicated_snapshot"] == {"ref": "/snapshots/%d" % snap["id"]}
    assert (source["common_snapshots_count"], target["common_snapshots_count"]) == (2, 2)
    assert (source["current_snapshot"], source["current_snapshot_progress"]) == (None, 100)
    assert a.ok("GET", "/snapshots/%d" % snap["id"])["is_exist_on_peer"] is True
    copy = b.ok("GET", target["latest_replicated_snapshot"]["ref"])
    assert (copy["is_originating_from_peer"], copy["triggered_by"], copy["generation_number"]) == (
        True,
        "Replication_API",
        2,
    )
    assert copy["creation_time"] == snap["creation_time"]
    assert a.ok("GET", source["replication_rpo_history"]["ref"])["generation_number"] == 2
    response = b.post("/snapshots", {"replication_session": {"ref": url(t)}})
    assert response.status_code == 400 and "target" in response.json()["error_msg"]
