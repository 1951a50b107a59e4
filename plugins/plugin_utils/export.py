# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adopt what exists: the `k2_topology` declaration (see pairs.py) of the replication sessions the
arrays hold today, by name, so that a drift report right after the export shows no drift and an apply
of it on empty arrays creates the same pairs (the options fixed at creation included).

One pair per source-side session on an array of the inventory. Its target is the inventory host
whose address (`k2_host`, default the host name) is the peer array object's `mgmt_host`, else the
inventory host named like the peer array object; a session whose peer array is neither is left out
(its target side could not be checked) and listed in `skipped`. A pair in the middle of a failover
(its target half failed over) is `refused`: its declared direction and state cannot be told from
what the arrays show. Names are written as they are, except that a reference that would read as an
id or a ref ("5102", "/x") gets the "name:" prefix. Pure: no I/O, no Ansible import.

`export_document` renders the file: every value read from an array is tagged !unsafe, so that
Ansible takes it as data, never as a template, however the file is loaded (-e @file, group_vars,
include_vars): an object named "{{ lookup('pipe', ...) }}" stays that name.
"""

from __future__ import annotations

import yaml

from ansible_collections.kaminario.k2.plugins.module_utils.api import as_name
from ansible_collections.kaminario.k2.plugins.module_utils.session_schema import (
    OPTION_REFERENCE_PATHS,
    SOURCE,
    TARGET,
    split_ref,
)
from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model
from ansible_collections.kaminario.k2.plugins.plugin_utils.markup import visible

# The session fields the export lists on every array (k2_replication_session_info `fields`).
LISTED_FIELDS = ("name", "current_role", "primary", "state", "rpo", "local_volume_group",
                 "replication_peer_k2array", "retention_policy", "external_retention_policy", "target_exposure",
                 "remote_replication_session_name", "replication_peer_volume_group", "suspend_reason_code")
# Pair options as the export writes them, in this order.
ORDER = ("name", "source", "target", "volume_group", "peer_array", "target_session", "target_volume_group", "rpo",
         "replication_state", "retention_policy", "external_retention_policy", "target_exposure")
# Pair options that are references (a name that looks like an id or a ref gets the name: prefix).
REFERENCES = {"volume_group": OPTION_REFERENCE_PATHS["local_volume_group"],
              "peer_array": OPTION_REFERENCE_PATHS["replication_peer_k2array"],
              "retention_policy": OPTION_REFERENCE_PATHS["retention_policy"],
              "external_retention_policy": OPTION_REFERENCE_PATHS["external_retention_policy"]}
# The options the export moves into `defaults` when every pair has a value and most share one.
SHARED = ("rpo", "replication_state", "retention_policy", "external_retention_policy", "target_exposure")


class ExportError(ValueError):
    """The inputs are unusable."""


def address_key(address):
    """'HTTPS://Array-B.example.com:443/' and 'array-b.example.com' compare equal."""
    text = str(address or "").strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    text = text.split("/", 1)[0]
    if text.endswith(":443"):
        text = text[:-4]
    return text


def _role(session):
    role = session.get("current_role")
    if role:
        return role
    return SOURCE if str(session.get("primary")).lower() == "true" else TARGET


def _read(read):
    """{"info": ..., "peers": ...} from that dictionary or from [info, peers], as the playbook zips them."""
    if isinstance(read, (list, tuple)):
        return dict(zip(("info", "peers"), read))
    return read


def _sessions(read):
    info = (_read(read) or {}).get("info") or {}
    sessions = info.get("sessions")
    return sessions if isinstance(sessions, list) else None


def _peers(read):
    """The peer array objects by id, from the k2_peer_array_info result (`peer_arrays`, every page),
    or a list of objects; None when they could not be read."""
    peers = (_read(read) or {}).get("peers")
    if isinstance(peers, dict):
        if peers.get("failed"):
            return None
        peers = peers.get("peer_arrays")
    if not isinstance(peers, list):
        return None
    return dict((str(p.get("id")), p) for p in peers if isinstance(p, dict))


def _why_unread(read):
    for key in ("info", "peers"):
        result = (_read(read) or {}).get(key)
        if isinstance(result, dict) and result.get("msg"):
            return str(result["msg"])
    return "not in this run (the play was limited or sliced, or the host failed before the reads)" \
        if read is None else "its sessions or peer arrays could not be read"


def target_host(peer, hosts):
    """The inventory host of a peer array object: by address first, then by name; None when neither."""
    wanted = address_key(peer.get("mgmt_host"))
    if wanted:
        for host in sorted(hosts):
            if address_key(hosts[host] or host) == wanted:
                return host
    name = peer.get("name")
    return name if name in hosts else None


def _pair(array, session, peers, hosts):
    """(pair, None) or (None, why the session is left out). Values read from the array stay as read
    (`Unread` strings), references written so they read back as names."""
    name = session.get("name")
    ref = split_ref(session.get("replication_peer_k2array"))
    peer = peers.get(ref[1]) if ref else None
    if peer is None:
        return None, "its peer array %s is not among the peer arrays of %s" % (
            session.get("replication_peer_k2array_name") or ref, array)
    target = target_host(peer, hosts)
    if target is None:
        return None, "its peer array %s (%s) is not an inventory host" % (peer.get("name"), peer.get("mgmt_host"))
    if target == array:
        return None, "its peer array %s resolves to %s itself" % (peer.get("name"), array)
    if session.get("state") not in model.PAIR_STATES:
        return None, "its state %s is not one a pair can declare" % session.get("state")
    volume_group = session.get("local_volume_group_name")
    if not volume_group:
        return None, "its volume group has no name"
    pair = {"name": name, "source": array, "target": target, "volume_group": volume_group,
            "rpo": _int(session.get("rpo")), "replication_state": session.get("state"),
            "retention_policy": session.get("retention_policy_name"),
            "external_retention_policy": session.get("external_retention_policy_name"),
            "target_exposure": session.get("target_exposure")}
    if peer.get("name") != target:
        pair["peer_array"] = peer.get("name")
    remote = session.get("remote_replication_session_name")
    if remote and remote != model.REMOTE_PREFIX + name:
        pair["target_session"] = remote
    peer_group = session.get("replication_peer_volume_group_name")
    if peer_group and peer_group != volume_group:
        pair["target_volume_group"] = peer_group
    for option, path in REFERENCES.items():
        if pair.get(option) is not None:
            pair[option] = as_name(path, pair[option])
    return dict((k, pair[k]) for k in ORDER if pair.get(k) is not None), None


def _int(value):
    try:
        return int(str(value).strip())
    except ValueError:
        return value


def _shared_defaults(pairs):
    """Move a value most pairs share into `defaults` (only for options every pair sets)."""
    defaults = {}
    for option in SHARED:
        values = [p.get(option) for p in pairs]
        if not values or any(v is None for v in values):
            continue
        counted = {}
        for value in values:
            counted[value] = counted.get(value, 0) + 1
        best = sorted(counted.items(), key=lambda item: (-item[1], str(item[0])))[0]
        if best[1] < 2:
            continue
        defaults[option] = best[0]
        for pair in pairs:
            if pair[option] == best[0]:
                del pair[option]
    return defaults


def topology_export(reads, hosts, shared_defaults=True):
    """{"k2_topology": {defaults, pairs}, "skipped": [...], "unread": [...]} (see topology_export.yml).

    `reads`: inventory host -> {"info": the k2_replication_session_info result (with resolve_names),
    "peers": the replication/peer_k2arrays listing}; `hosts`: every inventory host of the arrays ->
    its address (k2_host) or None for the host name."""
    if not isinstance(reads, dict) or not isinstance(hosts, dict):
        raise ExportError("topology_export: expected reads (array -> {info, peers}) and hosts (array -> address)")
    unknown = sorted(set(reads) - set(hosts))
    if unknown:
        raise ExportError("topology_export: %s not among the arrays (%s)" % (", ".join(unknown), ", ".join(sorted(hosts))))
    pairs, skipped, unread, covered = [], [], [], set()
    for array in sorted(hosts):
        sessions, peers = _sessions(reads.get(array)), None
        if sessions is not None:
            peers = _peers(reads.get(array))
        if sessions is None or peers is None:
            unread.append({"array": array, "error": _why_unread(reads.get(array))})
            continue
        for session in sorted(sessions, key=lambda s: str(s.get("name"))):
            if _role(session) != SOURCE:
                continue
            pair, why = _pair(array, session, peers, hosts)
            if pair is None:
                skipped.append({"array": array, "name": session.get("name"), "reason": why})
                continue
            pairs.append(pair)
            covered.add((pair["target"], pair.get("target_session") or model.REMOTE_PREFIX + pair["name"]))
    unread_names = set(u["array"] for u in unread)
    refused = []
    for array in sorted(hosts):
        if array in unread_names:
            continue
        for session in sorted(_sessions(reads.get(array)), key=lambda s: str(s.get("name"))):
            if _role(session) == TARGET and (array, session.get("name")) not in covered:
                skipped.append({"array": array, "name": session.get("name"),
                                "reason": "a target side whose source session is on no array read here"})
            if _role(session) == TARGET and session.get("state") == "failed_over":
                pair = session.get("remote_replication_session_name")
                refused.append({"array": array, "name": session.get("name"),
                                "reason": "it is failed over%s: the declared direction and state of its pair cannot be "
                                          "told now; export after the failback" % (" (pair %s)" % pair if pair else "")})
    topology = {"defaults": _shared_defaults(pairs) if shared_defaults else {}, "pairs": pairs}
    try:
        model.normalize(topology, list(hosts))
    except model.PairError as exc:
        raise ExportError("the exported declaration does not check: %s" % exc)
    lines = ["%d pairs exported from %d arrays (%d sessions left out, %d arrays not read, %d sessions failed over)" % (
        len(pairs), len(hosts) - len(unread), len(skipped), len(unread), len(refused))]
    lines.extend(visible("left out: %s on %s: %s" % (s["name"], s["array"], s["reason"])) for s in skipped)
    problems = [visible("not read: %s: %s" % (u["array"], u["error"])) for u in unread]
    problems += [visible("refused: %s on %s: %s" % (r["name"], r["array"], r["reason"])) for r in refused]
    return {"k2_topology": topology, "skipped": skipped, "unread": unread, "refused": refused,
            "lines": lines + problems, "problems": problems, "complete": not problems}


# ---- the file ------------------------------------------------------------------------------------

# Pair options whose values come from the inventory or are numbers: written plainly.
_PLAIN = frozenset(["source", "target", "rpo"])


class _Data(str):
    """A string read from an array: written with the !unsafe tag."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Data, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style='"'))


def _plain(value):
    """`value` with its strings as plain str (Ansible may hand them over as str subclasses)."""
    if isinstance(value, dict):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    # str() of Ansible's unsafe text is unsafe text again (ansible-core before 2.19); str.__str__ is not.
    return str.__str__(value) if isinstance(value, str) else value


def _tagged(options):
    return dict((k, v if k in _PLAIN or not isinstance(v, str) else _Data(v)) for k, v in _plain(options).items())


def export_document(export, arrays, generated_at=None):
    """The text of the declaration file (a YAML vars file) for `export` (topology_export's result):
    a header, `k2_topology_export` (the arrays it was read from and when) and `k2_topology`, every
    value read from an array tagged !unsafe and double-quoted (escapes for line breaks and control
    characters, leading and trailing spaces kept)."""
    topology = export["k2_topology"]
    data = {
        "k2_topology_export": {"arrays": _plain(list(arrays)), "generated_at": _plain(generated_at)},
        "k2_topology": {"defaults": _tagged(topology["defaults"]),
                        "pairs": [_tagged(p) for p in topology["pairs"]]},
    }
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False, width=1000)
    header = ("---\n# The replication topology exported from %s%s: %d pairs.\n"
              "# Every value read from an array is tagged !unsafe: Ansible takes it as data, never as a template.\n"
              "# Review it, then keep it in the group_vars of k2_arrays, or pass it with -e @FILE.\n" % (
                  ", ".join(_plain(list(arrays))), " at %s" % generated_at if generated_at else "", len(topology["pairs"])))
    return header + body
