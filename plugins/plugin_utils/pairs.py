# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology as pairs: one declaration for both arrays of every replicated volume group.

    k2_topology:
      defaults: {rpo: 300, replication_state: in_sync}      # for every pair that leaves them out
      pairs:
        - name: oracle-prod          # the source-side session
          source: k2-a               # inventory hosts (arrays)
          target: k2-b
          volume_group: vg_oracle_prod

A pair maps to a session on its source array (the options of k2_replication_topology's items) and
the session the source array creates on the target array (`target_session`, default remote_<name>).
Pure: no I/O, no Ansible import, so the filters, the roles' checks and the tests share it.
"""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    SOURCE,
    TARGET,
    exposure_spelling,
)

# Pair option -> the session option on the source array it sets.
SESSION_OPTION = {
    "volume_group": "local_volume_group",
    "peer_array": "replication_peer_k2array",
    "rpo": "rpo",
    "retention_policy": "retention_policy",
    "external_retention_policy": "external_retention_policy",
    "target_exposure": "target_exposure",
    "target_session": "remote_replication_session_name",
    "target_volume_group": "replication_peer_volume_group_name",
    "auto_configure_peer_volumes": "auto_configure_peer_volumes",
    "replication_state": "replication_state",
}
# What a pair's replication_state may be: the source side's states (failover is a DR operation,
# never a declared state).
PAIR_STATES = ("in_sync", "suspended", "idle")
DEFAULTABLE = tuple(o for o in SESSION_OPTION if o != "volume_group" and o != "target_session")
PAIR_OPTIONS = ("name", "source", "target", "state") + tuple(SESSION_OPTION)
REMOTE_PREFIX = "remote_"


class PairError(ValueError):
    """The declaration is unusable; the message names the option."""


def target_session_name(pair):
    """The name of a pair's session on its target array."""
    return pair.get("target_session") or REMOTE_PREFIX + pair["name"]


def normalize(topology, arrays=None, variable="k2_topology"):
    """The pairs of a `k2_topology` declaration with its defaults applied, checked: each pair has
    a name, a source and a target that differ (inventory hosts among `arrays` when given), pair
    names are unique in the declaration (whatever their case), session names are unique per array
    (source sessions and target sessions alike), rpo and replication_state are valid. Returns a
    list of dicts with every option of PAIR_OPTIONS (None when not set). Messages name `variable`
    (the role variable holding the declaration) and, for a pair, its index and name."""
    if not isinstance(topology, dict):
        raise PairError("%s: expected a dictionary with 'pairs' (and optionally 'defaults')" % variable)
    unknown = sorted(set(topology) - {"pairs", "defaults"})
    if unknown:
        raise PairError("%s: unknown key(s) %s; expected pairs and defaults" % (variable, ", ".join(map(str, unknown))))
    defaults = topology.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise PairError("%s.defaults: expected a dictionary of pair options" % variable)
    bad = sorted(set(defaults) - set(DEFAULTABLE))
    if bad:
        raise PairError("%s.defaults: unknown or per-pair option(s) %s; defaults may set %s"
                        % (variable, ", ".join(map(str, bad)), ", ".join(DEFAULTABLE)))
    pairs = topology.get("pairs") or []
    if not isinstance(pairs, list):
        raise PairError("%s.pairs: expected a list of pairs" % variable)
    result, names, pair_names = [], {}, {}
    for index, raw in enumerate(pairs):
        where = "%s.pairs[%d]" % (variable, index)
        if not isinstance(raw, dict):
            raise PairError("%s: expected a dictionary" % where)
        if isinstance(raw.get("name"), str) and raw["name"]:
            where = "%s (%s)" % (where, raw["name"])
        unknown = sorted(set(raw) - set(PAIR_OPTIONS))
        if unknown:
            raise PairError("%s: unknown option(s) %s; valid options: %s"
                            % (where, ", ".join(map(str, unknown)), ", ".join(sorted(PAIR_OPTIONS))))
        pair = dict((o, None) for o in PAIR_OPTIONS)
        pair.update((k, v) for k, v in defaults.items() if v is not None)
        pair.update((k, v) for k, v in raw.items() if v is not None)
        pair["state"] = pair["state"] or "present"
        for option in ("name", "source", "target"):
            if not pair[option] or not isinstance(pair[option], str):
                raise PairError("%s: %s is required (a non-empty string)" % (where, option))
        if pair["source"] == pair["target"]:
            raise PairError("%s: source and target are both %r; a pair replicates between two arrays"
                            % (where, pair["source"]))
        for option in ("source", "target"):
            if arrays is not None and pair[option] not in arrays:
                raise PairError("%s: %s %r is not an array of the inventory (known: %s)"
                                % (where, option, pair[option], ", ".join(sorted(arrays)) or "none"))
        if pair["state"] not in ("present", "absent"):
            raise PairError("%s: state must be present or absent, got %r" % (where, pair["state"]))
        _check_values(where, pair)
        pair["peer_array"] = pair["peer_array"] or pair["target"]
        pair["target_session"] = target_session_name(pair)
        if not isinstance(pair["target_session"], str):
            raise PairError("%s: target_session must be a string, got %r" % (where, pair["target_session"]))
        # Pair names select pairs in the DR playbooks: two that differ only in case would be one
        # operator's typo away from each other (and an array may compare names without case).
        key = pair["name"].casefold()
        if key in pair_names:
            raise PairError("%s: the pair name %r is declared already by %s (pair names must be unique, "
                            "whatever their case)" % (where, pair["name"], pair_names[key]))
        pair_names[key] = "%s.pairs[%d] (%s)" % (variable, index, pair["name"])
        for array, session in ((pair["source"], pair["name"]), (pair["target"], pair["target_session"])):
            if (array, session) in names:
                raise PairError("%s: the session name %r on %s is used by %s already"
                                % (where, session, array, names[(array, session)]))
            names[(array, session)] = "%s.pairs[%d] (%s)" % (variable, index, pair["name"])
        result.append(pair)
    return result


def declared_names(pairs):
    """{(array, session name)} of every session a pair names, both halves, whatever its state."""
    found = set()
    for pair in pairs:
        found.add((pair["source"], pair["name"]))
        found.add((pair["target"], pair["target_session"]))
    return found


def _check_values(where, pair):
    rpo = pair["rpo"]
    if rpo is not None:
        try:
            value = int(str(rpo).strip())
        except ValueError:
            value = None
        if isinstance(rpo, bool) or value is None or value <= 0 or (value != 60 and value % 300):
            raise PairError("%s: rpo must be 60 (1 minute) or a positive multiple of 300 (5 minutes), in seconds; "
                            "got %r" % (where, rpo))
        pair["rpo"] = value
    if pair["replication_state"] is not None and pair["replication_state"] not in PAIR_STATES:
        raise PairError("%s: replication_state must be one of %s, got %r (failover is done with the failover "
                        "playbook, not declared)" % (where, ", ".join(PAIR_STATES), pair["replication_state"]))
    if pair["target_exposure"] is not None and exposure_spelling(pair["target_exposure"]) is None:
        raise PairError("%s: target_exposure must be one of unmapped, Read Only, Mapped - Not Exposed; got %r"
                        % (where, pair["target_exposure"]))
    if pair["state"] == "present" and not pair["volume_group"]:
        raise PairError("%s: volume_group is required (the source array's volume group to replicate)" % where)


def source_item(pair):
    """The k2_replication_topology item for a present pair, on its source array."""
    item = {"name": pair["name"], "current_role": SOURCE}
    item.update((session, pair[option]) for option, session in SESSION_OPTION.items() if pair[option] is not None)
    return item


def target_item(pair, **options):
    """A k2_replication_topology item for a pair's session on its target array."""
    item = {"name": pair["target_session"], "current_role": TARGET}
    item.update(options)
    return item


def of_source(pairs, array, state="present"):
    return [p for p in pairs if p["source"] == array and p["state"] == state]


def of_target(pairs, array, state="present"):
    return [p for p in pairs if p["target"] == array and p["state"] == state]


def mirror_problems(pairs, array, sessions):
    """What is wrong with the target sides on `array` of the present pairs: [(pair name, problem)].
    `sessions` are the sessions listed on `array`. A target side follows its source: it exists, is
    the target (current_role), and shows the declared replication_state and rpo."""
    by_name = dict((s.get("name"), s) for s in sessions)
    problems = []
    for pair in of_target(pairs, array):
        session = by_name.get(pair["target_session"])
        if session is None:
            problems.append((pair["name"], "the target-side session %r does not exist on %s"
                             % (pair["target_session"], array)))
            continue
        found = mirror_fields(pair, session)
        if found:
            problems.append((pair["name"], "the target-side session %r on %s has %s" % (
                pair["target_session"], array, ", ".join("%s %r, not %r" % f for f in found))))
    return problems


def mirror_fields(pair, session):
    """[(field, current, declared)] where a target-side session does not follow its pair."""
    found = []
    role = session.get("current_role") or (SOURCE if str(session.get("primary")).lower() == "true" else TARGET)
    if role != TARGET:
        found.append(("current_role", role, TARGET))
    if pair["replication_state"] is not None and session.get("state") != pair["replication_state"]:
        found.append(("state", session.get("state"), pair["replication_state"]))
    if pair["rpo"] is not None and str(session.get("rpo")) != str(pair["rpo"]):
        found.append(("rpo", session.get("rpo"), pair["rpo"]))
    return found
