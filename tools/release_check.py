# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release check of `make build`, on the collection as a user installs it from the tarball.

    release_check.py COLLECTIONS_PATH

COLLECTIONS_PATH holds ansible_collections/kaminario/k2 installed from the tarball. With only that
path on ANSIBLE_COLLECTIONS_PATH (and a working directory outside the checkout), this renders every
module, filter and role with `ansible-doc`, then applies `kaminario.k2.topology` (the playbook of the
installed copy) with the example topology to the two-array simulator started on free ports (the
example inventory rewritten for them), checks every declared pair on both arrays, and applies it
again: nothing may change. One line per check; exit 1 at the first failure.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import start_simulator  # noqa: E402
from harness.contents import filters, modules, roles  # noqa: E402

BIN = os.path.dirname(sys.executable)
RECAP = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class CheckFailed(Exception):
    pass


def run(argv, env, cwd, timeout=600):
    return subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


def check_docs(env, cwd):
    for kind, names in (("module", modules()), ("filter", filters()), ("role", roles())):
        if not names:
            raise CheckFailed("no %s found in the checkout" % kind)
        for name in names:
            fqcn = "kaminario.k2." + name
            proc = run([os.path.join(BIN, "ansible-doc"), "-t", kind, fqcn], env, cwd)
            # ansible-doc prints a warning and exits 0 for a plugin it does not find: read its output too.
            if proc.returncode != 0 or fqcn not in proc.stdout or "not found" in proc.stderr:
                raise CheckFailed("ansible-doc -t %s %s: rc=%d\n%s%s"
                                  % (kind, fqcn, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
            print("ansible-doc -t %s %s: ok" % (kind, fqcn))


def example_inventory(sim, path):
    """examples/simulator/inventory.yml with each array's k2_host pointing at the simulator's port."""
    with open(os.path.join(ROOT, "examples", "simulator", "inventory.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    hosts = inventory["all"]["children"]["k2_arrays"]["hosts"]
    if sorted(hosts) != sorted(sim.arrays):
        raise CheckFailed("the example inventory's arrays %s are not the simulator's %s" % (sorted(hosts), sorted(sim.arrays)))
    for name, values in hosts.items():
        values["k2_host"] = sim.arrays[name]["host"]
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)


def recap(proc):
    found = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(proc.stdout)}
    if not found:
        raise CheckFailed("no play recap in:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return found


def check_playbook(env, cwd):
    topology_file = os.path.join(ROOT, "examples", "simulator", "topology.yml")
    with open(topology_file, encoding="utf-8") as handle:
        pairs = yaml.safe_load(handle)["k2_topology"]["pairs"]
    with start_simulator() as sim:
        inventory = os.path.join(cwd, "inventory.yml")
        example_inventory(sim, inventory)
        run_env = dict(env, K2_USERNAME="admin", K2_PASSWORD=sim.users["admin"]["password"], K2_CA_PATH=sim.ca_path)
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "kaminario.k2.topology", "-e", "@" + topology_file]
        first = run(argv + ["-v"], run_env, cwd)
        if first.returncode != 0:
            raise CheckFailed("kaminario.k2.topology: rc=%d\n%s\n%s" % (first.returncode, first.stdout[-4000:], first.stderr[-3000:]))
        # The role's included task files are named by their path: the installed copy's.
        role = os.path.join(env["ANSIBLE_COLLECTIONS_PATH"], "ansible_collections", "kaminario", "k2", "roles",
                            "replication_topology")
        if "running playbook inside collection kaminario.k2" not in first.stdout or \
                "included: %s/tasks/" % role not in first.stdout:
            raise CheckFailed("the playbook did not run from %s:\n%s" % (role, first.stdout[:2000]))
        for pair in pairs:
            on_source = {s["name"]: s for s in sim.dump(pair["source"])["objects"]["replication/sessions"]}
            on_target = {s["name"]: s for s in sim.dump(pair["target"])["objects"]["replication/sessions"]}
            target_name = pair.get("target_session", "remote_" + pair["name"])
            if on_source.get(pair["name"], {}).get("state") != "in_sync" or target_name not in on_target:
                raise CheckFailed("pair %s not applied: %s / %s" % (pair["name"], sorted(on_source), sorted(on_target)))
        print("ansible-playbook kaminario.k2.topology (installed copy): ok, %d pairs in_sync" % len(pairs))
        sim.clear_journal()
        second = run(argv, run_env, cwd)
        changed = {host: counts[1] for host, counts in recap(second).items()}
        # What the arrays were sent, not only what Ansible reports: a rerun sends no write at all.
        journal = [(array, e["method"], e["path"]) for array in sorted(sim.arrays) for e in sim.journal(array)]
        sent = [entry for entry in journal if entry[1] != "GET"]
        if not journal:
            raise CheckFailed("the simulator's journal shows no request of the second run")
        if second.returncode != 0 or any(changed.values()) or sent:
            raise CheckFailed("the second run changed %s and sent %s (rc=%d)\n%s"
                              % (changed, sent, second.returncode, second.stdout[-3000:]))
        print("ansible-playbook kaminario.k2.topology again: ok, 0 changed, no write sent")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = os.path.abspath(argv[1])
    manifest = os.path.join(path, "ansible_collections", "kaminario", "k2", "MANIFEST.json")
    if not os.path.isfile(manifest):
        print("%s: no installed collection (no %s)" % (argv[0], manifest), file=sys.stderr)
        return 2
    with open(manifest, encoding="utf-8") as handle:
        print("installed: kaminario.k2 %s in %s" % (json.load(handle)["collection_info"]["version"], path))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K2_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", PATH=BIN + os.pathsep + os.environ["PATH"])
    with tempfile.TemporaryDirectory(prefix="k2-release-check-") as cwd:
        env["ANSIBLE_LOCAL_TEMP"] = os.path.join(cwd, "ansible-tmp")
        try:
            check_docs(env, cwd)
            check_playbook(env, cwd)
        except CheckFailed as exc:
            print("FAILED: %s" % exc)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
