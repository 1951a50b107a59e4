"""Collection GETs: envelope, paging edges, sort, projection, every modifier, .ref filters, and
the 400s for unknown fields, modifiers and numeric modifiers on strings."""

import pytest
from k2sim_testlib import create_pair, transition, wait_for


def make_snapshots(client, count):
    for i in range(count):
        client.ok("POST", "/snapshots", {"source": {"ref": "/volume_groups/1"}, "short_name": "s%03d" % i})


@pytest.mark.parametrize("count", [0, 100, 101, 250])
def test_paging_edges(b, count):
    make_snapshots(b, count)
    seen, offset, pages = [], 0, 0
    while True:
        page = b.ok("GET", "/snapshots", params={"__limit": 100, "__offset": offset})
        assert (page["limit"], page["offset"], page["total"]) == (100, offset, count)
        pages += 1
        seen += page["hits"]
        if len(page["hits"]) < 100:
            break
        offset += 100
    assert len(seen) == count and len({s["id"] for s in seen}) == count
    assert pages == count // 100 + 1
    assert [s["short_name"] for s in seen] == ["s%03d" % i for i in range(count)]


def test_limit_is_capped_at_100_and_defaults_to_100(b):
    make_snapshots(b, 120)
    capped = b.ok("GET", "/snapshots", params={"__limit": 250})
    assert (capped["limit"], len(capped["hits"]), capped["total"]) == (100, 100, 120)
    default = b.ok("GET", "/snapshots")
    assert (default["limit"], default["offset"], len(default["hits"])) == (100, 0, 100)
    tail = b.ok("GET", "/snapshots", params={"__limit": 7, "__offset": 115})
    assert (tail["limit"], len(tail["hits"])) == (7, 5)
    beyond = b.ok("GET", "/snapshots", params={"__offset": 500})
    assert beyond["hits"] == [] and beyond["total"] == 120


@pytest.mark.parametrize(
    "params",
    [
        {"__limit": 0},
        {"__limit": -1},
        {"__limit": "ten"},
        {"__offset": -5},
        {"__sort_order": "up"},
        {"__sort": "nope"},
        {"__fields": "id,nope"},
        {"__bogus": 1},
    ],
)
def test_bad_paging_sort_or_projection(a, params):
    response = a.get("/volumes", params=params)
    assert response.status_code == 400 and response.json()["error_msg"]


def test_sort_and_order(a):
    def names(params):
        return [v["name"] for v in a.ok("GET", "/volumes", params=params)["hits"]]

    assert names({"__sort": "name"}) == sorted(names({}))
    assert names({"__sort": "name", "__sort_order": "desc"}) == sorted(names({}), reverse=True)
    by_size = a.ok("GET", "/volumes", params={"__sort": "size,name", "__sort_order": "asc"})["hits"]
    assert [(v["size"], v["name"]) for v in by_size] == sorted((v["size"], v["name"]) for v in by_size)
    ids = [v["id"] for v in a.ok("GET", "/volumes", params={"__sort_order": "desc"})["hits"]]
    assert ids == sorted(ids, reverse=True)
    groups = a.ok("GET", "/volumes", params={"__sort": "volume_group", "__fields": "volume_group"})["hits"]
    refs = [int(g["volume_group"]["ref"].rsplit("/", 1)[1]) for g in groups]
    assert refs == sorted(refs)


def test_projection_on_lists_and_objects(a):
    page = a.ok("GET", "/volume_groups", params={"__fields": "id,name", "__limit": 2})
    assert [set(h) for h in page["hits"]] == [{"id", "name"}] * 2
    assert a.ok("GET", "/volume_groups/5101", params={"__fields": "name,quota"}) == {
        "name": "vg_oracle_prod",
        "quota": 0,
    }
    assert a.get("/volume_groups/5101", params={"name": "x"}).status_code == 400


def names_for(client, path="/volumes", **params):
    return sorted(h["name"] for h in client.ok("GET", path, params=params)["hits"])


def test_string_modifiers(a):
    assert names_for(a, name="sql_log_01") == ["sql_log_01"]
    assert names_for(a, name__contains="data") == ["ora_data_01", "ora_data_02", "sql_data_01"]
    assert names_for(a, name__contains_some="redo,log") == ["ora_redo_01", "sql_log_01"]
    assert names_for(a, name__prefix="ora_") == ["ora_data_01", "ora_data_02", "ora_redo_01"]
    assert names_for(a, name__regexp="^(sql|web)_.*1$") == ["sql_data_01", "sql_log_01", "web_content_01"]
    assert names_for(a, name__in="sql_log_01,web_content_01,missing") == ["sql_log_01", "web_content_01"]
    assert names_for(a, name__m_eq="sql_log_01,web_content_01") == ["sql_log_01", "web_content_01"]
    assert len(names_for(a, name__neq="sql_log_01")) == 5
    assert names_for(a, name="SQL_LOG_01") == []  # exact and case-sensitive


def test_numeric_modifiers(a):
    gib = 1024 * 1024
    assert names_for(a, size__gt=200 * gib) == ["ora_data_01", "ora_data_02"]
    assert names_for(a, size__gte=200 * gib) == ["ora_data_01", "ora_data_02", "sql_data_01"]
    assert names_for(a, size__lt=100 * gib) == ["ora_redo_01", "sql_log_01"]
    assert names_for(a, size__lte=100 * gib) == ["ora_redo_01", "sql_log_01", "web_content_01"]
    assert names_for(a, size=50 * gib) == ["ora_redo_01", "sql_log_01"]
    assert names_for(a, size__in="%d,%d" % (50 * gib, 100 * gib)) == ["ora_redo_01", "sql_log_01", "web_content_01"]
    assert names_for(a, "/volume_groups", id__gt=5101, id__lt=5103) == ["vg_sql_prod"]  # filters are ANDed


def test_boolean_and_null_fields(a):
    assert names_for(a, "/volume_groups", is_dedup="false") == ["vg_web_prod"]
    assert names_for(a, "/volume_groups", is_dedup="True") == ["vg_oracle_prod", "vg_sql_prod"]
    assert names_for(a, "/volume_groups", replication_session__neq="/replication/sessions/1") == [
        "vg_oracle_prod",
        "vg_sql_prod",
        "vg_web_prod",
    ]


def test_reference_filters(a):
    assert names_for(a, **{"volume_group.ref": "/volume_groups/5102"}) == ["sql_data_01", "sql_log_01"]
    assert names_for(a, **{"volume_group.ref__in": "/volume_groups/5102,/volume_groups/5103"}) == [
        "sql_data_01",
        "sql_log_01",
        "web_content_01",
    ]
    assert names_for(a, **{"volume_group.ref__m_eq": "/volume_groups/5103"}) == ["web_content_01"]
    assert names_for(a, volume_group="/volume_groups/5103") == ["web_content_01"]
    assert names_for(a, volume_group="5103") == ["web_content_01"]
    assert len(names_for(a, **{"volume_group.ref__neq": "/volume_groups/5101"})) == 3
    assert names_for(a, **{"volume_group.ref__prefix": "/volume_groups/510"}) == names_for(a)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"colour": "red"}, "unknown field colour"),
        ({"name__like": "x"}, "unknown modifier __like"),
        ({"name__gt": "a"}, "numeric fields only"),
        ({"read_only__lt": "1"}, "numeric fields only"),
        ({"volume_group.ref__gt": "1"}, "numeric fields only"),
        ({"name.ref": "/x/1"}, "not a reference field"),
        ({"size": "big"}, "size must be a number"),
        ({"size__gte": "big"}, "size must be a number"),
        ({"read_only": "maybe"}, "read_only must be a boolean"),
        ({"name__regexp": "(unclosed"}, "invalid regular expression"),
    ],
)
def test_bad_filters(a, params, message):
    response = a.get("/volumes", params=params)
    assert response.status_code == 400 and message in response.json()["error_msg"], response.text


def test_system_state_is_a_one_hit_list_and_an_object(a, api):
    listed = a.ok("GET", "/system/state")
    assert listed["total"] == 1 and listed["hits"][0]["system_id"] == "d501"
    state = a.ok("GET", "/system/state/1")
    assert (state["state"], state["system_name"], state["current_user_role"]) == ("ONLINE", "k2-a", "admin")
    assert api("k2-b", "monitor").ok("GET", "/system/state/1")["current_user_role"] == "read_only"


def test_fields_worked_out_on_read_filter_sort_and_page_as_shown(sim, a, b, api):
    """Lists filter and sort on the values GET shows, also for the fields computed when read, and
    render only the page they return."""
    src = create_pair(a, b, "s1", vg_id=5102)[0]
    for short_name, policy in (("one", None), ("two", 5)):
        body = {"source": {"ref": "/volume_groups/5101"}, "short_name": short_name}
        if policy:
            body["retention_policy"] = {"ref": "/retention_policies/%d" % policy}
        a.ok("POST", "/snapshots", body)
    shown = {vg["name"]: vg for vg in a.ok("GET", "/volume_groups")["hits"]}
    counts = {name: (vg["volumes_count"], vg["snapshots_count"]) for name, vg in shown.items()}
    assert counts == {"vg_oracle_prod": (3, 2), "vg_sql_prod": (2, 0), "vg_web_prod": (1, 0)}
    for field in ("volumes_count", "volumes_provisioned_capacity", "snapshots_count"):
        for value in {vg[field] for vg in shown.values()}:
            expected = sorted(name for name, vg in shown.items() if vg[field] == value)
            assert names_for(a, "/volume_groups", **{field: value}) == expected, (field, value)
        for order in ("asc", "desc"):
            expected = sorted(shown, key=lambda name, f=field: (shown[name][f], shown[name]["id"]), reverse=order == "desc")
            params = {"__sort": field, "__sort_order": order, "__fields": "name", "__limit": 1}
            pages = [a.ok("GET", "/volume_groups", params=dict(params, __offset=i))["hits"] for i in range(3)]
            assert [page[0]["name"] for page in pages] == expected, (field, order)
    assert names_for(a, "/volume_groups", replication_session=src["id"]) == ["vg_sql_prod"]
    assert names_for(a, "/volume_groups", replication_peer_volume_group__prefix="/") == ["vg_sql_prod"]
    assert names_for(a, is_dedup="false") == ["web_content_01"]
    assert names_for(a, "/retention_policies", snapshots_usage_count=1) == ["Best_Effort_Retention"]
    assert names_for(a, "/replication/peer_k2arrays", system_id="d502", mgmt_connectivity_state="ok") == ["k2-b"]
    sim.down("k2-b")
    try:
        assert names_for(a, "/replication/peer_k2arrays", mgmt_connectivity_state="disconnected") == ["k2-b"]
    finally:
        sim.up("k2-b")
    assert a.ok("GET", "/system/state", params={"current_user_role": "admin"})["total"] == 1
    assert api("k2-a", "monitor").ok("GET", "/system/state", params={"current_user_role": "admin"})["total"] == 0
    # A session's rpo_history record exists from its first replication round on.
    assert names_for(a, "/volume_groups", replication_rpo_history__prefix="/") == []
    transition(a, src["id"], "in_sync")
    history = wait_for(lambda: a.ok("GET", "/replication/sessions/%d" % src["id"])["replication_rpo_history"])
    assert names_for(a, "/volume_groups", **{"replication_rpo_history.ref": history["ref"]}) == ["vg_sql_prod"]
