# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology_export filter: one pair per source-side session, the target found by the peer
array's mgmt_host then by its name, names not refs, shared values in defaults, what is left out."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.topology_plan import topology_reads
from ansible_collections.kaminario.k2.plugins.filter.topology_export import topology_export
from ansible_collections.kaminario.k2.plugins.plugin_utils.export import address_key

HOSTS = {"prod": "k2-prod.example.com:8443", "dr": "k2-dr.example.com"}
PEERS_PROD = {"peer_arrays": [{"id": 1, "name": "k2-dr", "mgmt_host": "k2-dr.example.com"},
                              {"id": 2, "name": "lab", "mgmt_host": "lab.example.com"}]}
PEERS_DR = {"peer_arrays": [{"id": 3, "name": "prod", "mgmt_host": "10.0.0.1"}]}


def source(name, vg, peer, rpo=300, state="in_sync", remote=None, **extra):
    session = {"name": name, "current_role": "source", "state": state, "rpo": rpo,
               "local_volume_group": {"ref": "/volume_groups/9"}, "local_volume_group_name": vg,
               "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/%d" % peer},
               "retention_policy_name": "Replication_Retention", "external_retention_policy_name": "Replication_Retention",
               "target_exposure": "unmapped", "remote_replication_session_name": remote or "remote_" + name}
    session.update(extra)
    return session


def target(name):
    return {"name": name, "current_role": "target", "state": "in_sync", "rpo": 300}


def reads():
    return {
        "prod": {"info": {"sessions": [source("ora", "vg_ora", 1), source("sql", "vg_sql", 1, rpo=900, remote="sql-dr"),
                                       source("lab1", "vg_lab", 2), target("remote_rep")]},
                 "peers": PEERS_PROD},
        "dr": {"info": {"sessions": [target("remote_ora"), target("sql-dr"),
                                     source("rep", "vg_rep", 3, state="suspended",
                                            retention_policy_name="Best_Effort_Retention"),
                                     target("remote_orphan")]},
               "peers": PEERS_DR},
    }


def test_one_pair_per_source_session_by_name_with_shared_values_in_defaults():
    result = topology_export(reads(), HOSTS)
    topology = result["k2_topology"]
    assert topology["defaults"] == {"rpo": 300, "replication_state": "in_sync",
                                    "retention_policy": "Replication_Retention",
                                    "external_retention_policy": "Replication_Retention", "target_exposure": "unmapped"}
    assert topology["pairs"] == [
        # dr first (sorted), its peer object is named like the inventory host "prod".
        {"name": "rep", "source": "dr", "target": "prod", "volume_group": "vg_rep", "replication_state": "suspended",
         "retention_policy": "Best_Effort_Retention"},
        # by mgmt_host: the peer object k2-dr is the inventory host dr.
        {"name": "ora", "source": "prod", "target": "dr", "volume_group": "vg_ora", "peer_array": "k2-dr"},
        {"name": "sql", "source": "prod", "target": "dr", "volume_group": "vg_sql", "peer_array": "k2-dr",
         "target_session": "sql-dr", "rpo": 900},
    ]
    assert result["skipped"] == [
        {"array": "prod", "name": "lab1", "reason": "its peer array lab (lab.example.com) is not an inventory host"},
        {"array": "dr", "name": "remote_orphan", "reason": "a target side whose source session is on no array read here"},
    ]
    assert result["unread"] == [] and result["complete"] and result["lines"][0] == (
        "3 pairs exported from 2 arrays (2 sessions left out, 0 arrays not read, 0 sessions failed over)")
    # The declaration is what the role takes: on prod, ora and sql converge as they are.
    plan = topology_reads(topology, list(HOSTS))["prod"]
    assert [(i["name"], i["rpo"], i["replication_peer_k2array"]) for i in plan["check"]] == [
        ("ora", 300, "k2-dr"), ("sql", 900, "k2-dr")]


def test_without_shared_defaults_each_pair_carries_every_value():
    pairs = topology_export(reads(), HOSTS, shared_defaults=False)["k2_topology"]["pairs"]
    assert all(p["rpo"] and p["replication_state"] and p["target_exposure"] for p in pairs)


def test_an_array_not_read_makes_the_export_incomplete_naming_it():
    data = reads()
    data["dr"] = [{"failed": True, "msg": "HTTP 401: bad credentials"}, {"failed": True, "msg": "HTTP 401"}]
    result = topology_export(data, HOSTS)
    assert result["unread"] == [{"array": "dr", "error": "HTTP 401: bad credentials"}] and not result["complete"]
    assert [p["name"] for p in result["k2_topology"]["pairs"]] == ["ora", "sql"]
    assert result["problems"] == ["not read: dr: HTTP 401: bad credentials"]
    del data["dr"]
    assert topology_export(data, HOSTS)["problems"][0].startswith("not read: dr: not in this run")


def test_a_pair_failed_over_makes_the_export_incomplete():
    data = reads()
    data["dr"]["info"]["sessions"][0]["state"] = "failed_over"
    result = topology_export(data, HOSTS)
    assert result["refused"] == [{"array": "dr", "name": "remote_ora", "reason": (
        "it is failed over: the declared direction and state of its pair cannot be told now; export after the "
        "failback")}]
    assert not result["complete"] and result["problems"][0].startswith("refused: remote_ora on dr: ")
    data["dr"]["info"]["sessions"][0]["remote_replication_session_name"] = "ora\n# x"
    assert topology_export(data, HOSTS)["problems"] == [
        "refused: remote_ora on dr: it is failed over (pair ora\\n# x): the declared direction and state of its pair "
        "cannot be told now; export after the failback"]


def test_names_that_read_as_ids_or_refs_get_the_name_prefix_and_creation_options_are_kept():
    data = reads()
    data["prod"]["info"]["sessions"][0].update(local_volume_group_name="5102", retention_policy_name="/x",
                                               replication_peer_volume_group_name="vg_ora_dr")
    data["prod"]["info"]["sessions"][1].update(replication_peer_volume_group_name="vg_sql")
    pairs = dict((p["name"], p) for p in topology_export(data, HOSTS, shared_defaults=False)["k2_topology"]["pairs"])
    assert (pairs["ora"]["volume_group"], pairs["ora"]["retention_policy"]) == ("name:5102", "name:/x")
    assert pairs["ora"]["target_volume_group"] == "vg_ora_dr" and "target_volume_group" not in pairs["sql"]


HOSTILE = ["vg{{ lookup('ansible.builtin.pipe', 'touch /tmp/x') }}", "{% raw %}", "a\r\nb", "a\u2028b", " lead",
           "trail ", "'quote\"", "#hash", "x: y", "- item", "!tag", "&anchor", "*alias", "%%", "@at", "`tick`", "5102"]


@pytest.mark.parametrize("name", HOSTILE)
def test_the_document_tags_every_value_read_from_an_array_and_reads_back_literally(name):
    import yaml

    from ansible_collections.kaminario.k2.plugins.filter.topology_export import topology_export_document

    data = reads()
    data["prod"]["info"]["sessions"][0].update(name=name, local_volume_group_name=name,
                                               remote_replication_session_name="remote_" + name)
    data["dr"]["info"]["sessions"][0]["name"] = "remote_" + name
    exported = topology_export(data, HOSTS)
    text = topology_export_document(exported, ["dr", "prod"], "2026-12-01T00:00:00Z")
    assert text.startswith("---\n# The replication topology exported from dr, prod at 2026-12-01T00:00:00Z: 3 pairs.")

    class Loader(yaml.SafeLoader):
        pass

    tagged = []
    Loader.add_constructor("!unsafe", lambda loader, node: tagged.append(loader.construct_scalar(node)) or tagged[-1])
    loaded = yaml.load(text, Loader=Loader)
    assert loaded["k2_topology_export"] == {"arrays": ["dr", "prod"], "generated_at": "2026-12-01T00:00:00Z"}
    pair = [p for p in loaded["k2_topology"]["pairs"] if p["source"] == "prod" and p["name"] == name][0]
    assert pair["volume_group"] == ("name:" + name if name == "5102" else name)
    assert name in tagged and "prod" not in tagged  # values from arrays tagged, inventory names not
    assert all(line.startswith(("#", "---", " ", "-", "k2_topology")) for line in text.splitlines()), text


def test_the_address_comparison_ignores_scheme_case_and_the_default_port():
    assert address_key("HTTPS://K2-B.example.com:443/api/v2") == address_key("k2-b.example.com")
    assert address_key("k2-b:8443") != address_key("k2-b")


def test_bad_inputs():
    with pytest.raises(AnsibleFilterError, match="lab not among the arrays"):
        topology_export({"lab": {}}, HOSTS)
