# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the collection's first run, against the two-array simulator, one line per step.

Starts the simulator (k2-a and k2-b on 127.0.0.1:18443 and :18444, as examples/simulator/inventory.yml
expects), applies examples/simulator/topology.yml (pairs in both directions, started), applies it again
(nothing changes), changes an rpo behind Ansible's back, runs the drift report and prints it, converges
again, fails one pair over while its source array is down, fails it back, and stops the simulator
whatever happened. Each playbook's full output goes to build/demo/<step>.log.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import collections_path, start_simulator  # noqa: E402

OUT = os.path.join(ROOT, "build", "demo")
INVENTORY = os.path.join(ROOT, "examples", "simulator", "inventory.yml")
TOPOLOGY = os.path.join(ROOT, "examples", "simulator", "topology.yml")
PORTS = (18443, 18444)
PAIR, DRIFTED = "oracle_prod", "sql_prod"  # the pair failed over and back; the pair whose rpo drifts
RECAP = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, sim):
        self.sim = sim
        self.number = 0
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", K2_USERNAME="admin",
                        K2_PASSWORD=sim.users["admin"]["password"], K2_CA_PATH=sim.ca_path,
                        ANSIBLE_LOCAL_TEMP=os.path.join(OUT, "ansible-tmp"))
        self.api = requests.Session()
        self.api.auth = ("admin", sim.users["admin"]["password"])

    # ---- output --------------------------------------------------------------------------------

    def step(self, text, action):
        self.number += 1
        label = "%2d. %s " % (self.number, text)
        print(label.ljust(64, "."), end=" ", flush=True)
        started = time.monotonic()
        try:
            outcome = action()
        except StepFailed as exc:
            print("FAILED")
            print(str(exc))
            raise
        print("%s (%.1f s)" % (outcome, time.monotonic() - started))

    # ---- the arrays ----------------------------------------------------------------------------

    def call(self, array, method, path, body=None, **params):
        url = self.sim.arrays[array]["url"] + path
        answer = self.api.request(method, url, json=body, params=params, verify=self.sim.ca_path, timeout=30)
        if answer.status_code >= 400:
            raise StepFailed("%s %s: HTTP %d %s" % (method, path, answer.status_code, answer.text))
        return answer.json() if answer.content else None

    def session(self, array, name):
        hits = self.call(array, "GET", "/replication/sessions", name=name)["hits"]
        if not hits:
            raise StepFailed("no session %r on %s" % (name, array))
        return hits[0]

    def wait(self, what, check, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise StepFailed("timed out waiting for %s" % what)
            time.sleep(0.2)

    # ---- playbooks -----------------------------------------------------------------------------

    def playbook(self, name, playbook, *args, check=False):
        log = os.path.join(OUT, "%02d-%s.log" % (self.number, name))
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
                "-e", "@" + TOPOLOGY, os.path.join(ROOT, "playbooks", playbook)] + list(args)
        if check:
            argv.append("--check")
        with open(log, "w", encoding="utf-8") as handle:
            proc = subprocess.run(argv, cwd=OUT, env=self.env, stdin=subprocess.DEVNULL, stdout=handle,
                                  stderr=subprocess.STDOUT, check=False, timeout=900)
        with open(log, encoding="utf-8") as handle:
            text = handle.read()
        recap = dict((m.group(1), [int(x) for x in m.groups()[1:]]) for m in RECAP.finditer(text))
        if proc.returncode != 0:
            raise StepFailed("ansible-playbook exited %d; the last lines of %s:\n%s"
                             % (proc.returncode, os.path.relpath(log, ROOT), "\n".join(text.splitlines()[-25:])))
        return sum(counts[1] for counts in recap.values()), text

    # ---- the steps -----------------------------------------------------------------------------

    def apply(self, expect_changes):
        changed, _text = self.playbook("apply", "topology.yml")
        if expect_changes is False and changed:
            raise StepFailed("the second apply changed %d task(s); see build/demo" % changed)
        return "ok, %d changed" % changed

    def drift_behind_ansibles_back(self):
        session = self.session("k2-a", DRIFTED)
        self.call("k2-a", "PATCH", "/replication/sessions/%d" % session["id"], {"rpo": 1800})
        return "ok, %s rpo %s -> 1800 on k2-a" % (DRIFTED, session["rpo"])

    def drift_report(self):
        reports = os.path.join(OUT, "reports")
        self.playbook("drift", "drift_report.yml", "-e", "drift_report_dir=%s" % reports, check=True)
        with open(os.path.join(reports, "drift_report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        # The report's summary lines (plain text) on the terminal; the Markdown file escapes every
        # value for renderers, which reads badly in a terminal.
        self.lines = report["lines"]
        summary = report["summary"]
        found = ", ".join("%d %s" % (summary[p["status"]], p["status"]) for p in
                          dict((p["status"], p) for p in report["pairs"]).values())
        health = ", ".join("%d %s" % (n, s) for s, n in (summary.get("health") or {}).items() if n)
        return "ok, %s of %d pairs" % (found, summary["total"]) + (", drift found" if summary["drift"] else "") + \
            ("; recovery points: %s" % health if health else "") + \
            "; the picture: %s" % os.path.relpath(os.path.join(reports, "drift_report.html"), ROOT)

    def snapshot(self):
        session = self.session("k2-a", PAIR)
        self.call("k2-a", "POST", "/snapshots", {"replication_session": {"ref": "/replication/sessions/%d"
                                                                         % session["id"]}, "short_name": "demo"})
        self.wait("the snapshot to reach k2-b",
                  lambda: self.session("k2-b", "remote_" + PAIR).get("latest_replicated_snapshot"))
        return "ok, replicated to k2-b"

    def failover(self):
        self.sim.down("k2-a")
        self.playbook("failover", "failover.yml", "-e", json.dumps({"k2_failover_pairs": [PAIR]}))
        remote = self.session("k2-b", "remote_" + PAIR)
        if remote["state"] != "failed_over":
            raise StepFailed("remote_%s on k2-b is %s, not failed_over" % (PAIR, remote["state"]))
        return "ok, remote_%s failed_over on k2-b with k2-a down" % PAIR

    def failback(self):
        self.sim.up("k2-a")
        self.playbook("failback", "failback.yml", "-e", json.dumps({"k2_failback_pairs": [PAIR]}))
        source, target = self.session("k2-a", PAIR), self.session("k2-b", "remote_" + PAIR)
        found = (source["current_role"], source["state"], target["current_role"], target["state"])
        if found != ("source", "in_sync", "target", "in_sync"):
            raise StepFailed("after the failback: %s on k2-a is %s/%s, remote_%s on k2-b is %s/%s"
                             % ((PAIR,) + found[:2] + (PAIR,) + found[2:]))
        return "ok, k2-a -> k2-b again, in_sync"


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt()


def main():
    os.makedirs(OUT, exist_ok=True)
    print("kaminario.k2 demo: two simulated K2 arrays, the topology in examples/simulator/, logs in build/demo/")
    sim = None
    # SIGTERM ends the demo like Ctrl-C does, so the simulator is always stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sim = start_simulator(ports=list(PORTS), transition_delay=0.3, log_path=os.path.join(OUT, "simulator.log"))
        demo = Demo(sim)
        demo.number = 1
        print(" 1. Start the simulator ".ljust(64, ".") + " ok, k2-a :%d, k2-b :%d" % PORTS)
        demo.step("Apply the topology (both directions, started)", lambda: demo.apply(True))
        demo.step("Apply it again", lambda: demo.apply(False))
        demo.step("Change an rpo behind Ansible's back (the API)", demo.drift_behind_ansibles_back)
        demo.step("Drift report (check mode)", demo.drift_report)
        print("\n" + "\n".join("    " + line for line in demo.lines) + "\n    (the full report: build/demo/reports/)\n")
        demo.step("Converge again", lambda: demo.apply(None))
        demo.step("Replication snapshot of %s" % PAIR, demo.snapshot)
        demo.step("Fail %s over with k2-a down" % PAIR, demo.failover)
        demo.step("Fail it back (k2-a up)", demo.failback)
        print("Done. Next: make test; the playbooks are in playbooks/, the roles in roles/.")
        return 0
    except StepFailed:
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        if sim is not None:
            sim.stop()
            print("Simulator stopped.")


if __name__ == "__main__":
    sys.exit(main())
