# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import pairs as model


def pair_plan(topology, array, sessions=None, arrays=None, play_hosts=None):
    """What array `array` has to do for the `k2_topology` declaration (see the documentation)."""
    try:
        pairs = model.normalize(topology, arrays)
    except model.PairError as exc:
        raise AnsibleFilterError(str(exc))
    found = dict((s.get("name"), s) for s in (sessions or []) if isinstance(s, dict))
    names = [p["name"] for p in pairs if p["source"] == array] + \
        [p["target_session"] for p in pairs if p["target"] == array]
    stopping = [p for p in model.of_source(pairs, array, "absent")
                if p["name"] in found and found[p["name"]].get("state") != "idle"]
    leaving = [p for p in model.of_target(pairs, array, "absent") if p["target_session"] in found]
    return {
        "pairs": pairs,
        "names": names,
        "converge": [model.source_item(p) for p in model.of_source(pairs, array)] + [
            {"name": p["name"], "current_role": model.SOURCE, "replication_state": "idle"} for p in stopping],
        "target_waits": [p["target_session"] for p in leaving],
        "target_removals": [model.target_item(p, state="absent") for p in leaving],
        "source_removals": [{"name": p["name"], "current_role": model.SOURCE, "state": "absent"}
                            for p in model.of_source(pairs, array, "absent")],
        "mirror_problems": [{"pair": name, "problem": problem}
                            for name, problem in model.mirror_problems(pairs, array, list(found.values()))],
        "removals_outside_play": [
            p["name"] for p in pairs if p["state"] == "absent" and play_hosts is not None
            and array in (p["source"], p["target"]) and not {p["source"], p["target"]} <= set(play_hosts)],
    }


class FilterModule:
    def filters(self):
        return {"pair_plan": pair_plan}
