# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/drift_report.yml (role kaminario.k2.drift_report) through real ansible-playbook runs
against the simulator: one scene, set through the API, where every status shows; the run writes
nothing to either array (journal), in a Run job too; the JSON and Markdown reports hold every
finding; fail_on_drift fails the play; a read_only user can run it; an array that is down blocks its
pairs and fails the report (unless drift_report_fail_on_unread is false); and the report runs as an AWX Check job, its set_stats summary read back."""

import json
import os

import pytest
from harness import arrays_inventory
from harness.awx import k2_arrays_inventory, run_job
from harness.scene import Scene, writes
from harness.simulator import REPO_ROOT, eventually

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "drift_report.yml")
ROLE = "kaminario.k2.drift_report : "
STATUSES = ("in_sync", "drifted", "missing", "source_missing", "mirror_missing", "mirror_drifted", "reversed",
            "failed_over", "blocked")


def build_scene(scene, sim):
    """Set the scene on k2-a and k2-b; returns the k2_topology that declares it. Each pair's name
    says the status it must get."""
    for vg in ("vg_rev", "vg_mmiss", "vg_smiss", "vg_mdrift", "vg_fo", "vg_fixed", "vg_fixed2", "vg_remove",
               "vg_stray"):
        scene.volume_group("k2-a", vg)
    # mirror_drifted: started on k2-a while k2-b was down, so its target half on k2-b never followed
    # (it stays idle). First, while no other session exists to be disturbed by k2-b going down.
    scene.session("k2-a", "p-mdrift", "vg_mdrift", "k2-b")
    sim.down("k2-b")
    scene.transition("k2-a", "p-mdrift", "in_sync")
    assert eventually(lambda: sim.dump("k2-a")["scheduled_events"] == 0), "the mirror was never dropped"
    sim.up("k2-b")
    # in_sync: as declared.
    scene.session("k2-a", "p-sync", "vg_oracle_prod", "k2-b", rpo=300, state="in_sync")
    # drifted: rpo and retention policy changed behind Ansible's back.
    scene.session("k2-a", "p-drift", "vg_sql_prod", "k2-b", rpo=300, state="in_sync",
                  retention_policy="Replication_Retention")
    scene.patch("k2-a", "p-drift", rpo=900, retention_policy=scene.ref("k2-a", "/retention_policies",
                                                                       "Best_Effort_Retention"))
    # missing: p-missing was never created.
    # reversed: failed over on k2-b, then reversed there; k2-a now holds the target side.
    scene.session("k2-a", "p-rev", "vg_rev", "k2-b", state="in_sync")
    scene.transition("k2-b", "remote_p-rev", "failed_over")
    scene.transition("k2-b", "remote_p-rev", "in_sync")
    # mirror_missing: the target half was deleted (both idle first).
    scene.session("k2-a", "p-mmiss", "vg_mmiss", "k2-b")
    scene.delete("k2-b", "remote_p-mmiss")
    # source_missing: the source half was deleted (both idle first).
    scene.session("k2-a", "p-smiss", "vg_smiss", "k2-b")
    scene.delete("k2-a", "p-smiss")
    # failed_over: the target half failed over (the source reads suspended, peer_failed_over) ...
    scene.session("k2-a", "p-fo", "vg_fo", "k2-b", state="in_sync")
    scene.transition("k2-b", "remote_p-fo", "failed_over")
    # ... and a pair from k2-b declared suspended, whose target half on k2-a failed over.
    scene.session("k2-b", "p-fo-back", "vg_reports_dr", "k2-a", state="in_sync")
    scene.transition("k2-b", "p-fo-back", "suspended")
    scene.transition("k2-a", "remote_p-fo-back", "failed_over")
    # blocked: a field fixed at creation differs (declared vg_fixed2) ...
    scene.session("k2-a", "p-fixed", "vg_fixed", "k2-b", state="in_sync")
    # ... and a pair names a volume group that does not exist (p-novg: nothing on either array).
    # drifted: declared absent, still there.
    scene.session("k2-a", "p-remove", "vg_remove", "k2-b", state="in_sync")
    # undeclared: stray on k2-a and its target side on k2-b.
    scene.session("k2-a", "stray", "vg_stray", "k2-b", state="in_sync")
    return {
        "defaults": {"rpo": 300, "replication_state": "in_sync"},
        "pairs": [
            {"name": "p-sync", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod"},
            {"name": "p-drift", "source": "k2-a", "target": "k2-b", "volume_group": "vg_sql_prod",
             "retention_policy": "Replication_Retention"},
            {"name": "p-missing", "source": "k2-a", "target": "k2-b", "volume_group": "vg_web_prod"},
            {"name": "p-smiss", "source": "k2-a", "target": "k2-b", "volume_group": "vg_smiss",
             "replication_state": "idle"},
            {"name": "p-mmiss", "source": "k2-a", "target": "k2-b", "volume_group": "vg_mmiss",
             "replication_state": "idle"},
            {"name": "p-mdrift", "source": "k2-a", "target": "k2-b", "volume_group": "vg_mdrift"},
            {"name": "p-rev", "source": "k2-a", "target": "k2-b", "volume_group": "vg_rev"},
            {"name": "p-fo", "source": "k2-a", "target": "k2-b", "volume_group": "vg_fo"},
            {"name": "p-fo-back", "source": "k2-b", "target": "k2-a", "volume_group": "vg_reports_dr",
             "replication_state": "suspended"},
            {"name": "p-fixed", "source": "k2-a", "target": "k2-b", "volume_group": "vg_fixed2"},
            {"name": "p-novg", "source": "k2-a", "target": "k2-b", "volume_group": "vg_nope"},
            {"name": "p-gone", "source": "k2-a", "target": "k2-b", "state": "absent"},
            {"name": "p-remove", "source": "k2-a", "target": "k2-b", "state": "absent"},
        ],
    }


EXPECTED = {
    "p-sync": "in_sync", "p-drift": "drifted", "p-missing": "missing", "p-smiss": "source_missing",
    "p-mmiss": "mirror_missing", "p-mdrift": "mirror_drifted", "p-rev": "reversed", "p-fo": "failed_over",
    "p-fo-back": "failed_over", "p-fixed": "blocked", "p-novg": "blocked", "p-gone": "in_sync", "p-remove": "drifted",
}
COUNTS = {"in_sync": 2, "drifted": 2, "missing": 1, "source_missing": 1, "mirror_missing": 1, "mirror_drifted": 1,
          "reversed": 1, "failed_over": 2, "blocked": 2}


@pytest.fixture
def scene(k2sim):
    """The scene of build_scene on the simulator (journals cleared); yields its k2_topology."""
    with Scene(k2sim) as api:
        topology = build_scene(api, k2sim)
    k2sim.clear_journal()
    yield topology


@pytest.fixture
def report(run_playbook, k2sim, tmp_path):
    """Run the drift report playbook on both arrays; returns (result, JSON report, Markdown text)."""
    def run(topology, check=False, user="admin", host_vars=None, **extra_vars):
        paths = {"drift_report_json_path": str(tmp_path / "out" / "drift.json"),
                 "drift_report_markdown_path": str(tmp_path / "out" / "drift.md")}
        for path in paths.values():
            if os.path.exists(path):
                os.unlink(path)
        extra_vars.update(paths, k2_topology=topology)
        result = run_playbook(PLAYBOOK, check=check, user=user, extra_vars=extra_vars,
                              inventory=arrays_inventory(k2sim, host_vars=host_vars))
        found, text = None, None
        if os.path.exists(paths["drift_report_json_path"]):
            with open(paths["drift_report_json_path"], encoding="utf-8") as handle:
                found = json.load(handle)
            with open(paths["drift_report_markdown_path"], encoding="utf-8") as handle:
                text = handle.read()
        return result, found, text
    return run


def pairs_of(found):
    return {p["name"]: p for p in found["pairs"]}


def assert_no_writes(k2sim):
    for array in ("k2-a", "k2-b"):
        assert k2sim.journal(array), "no request reached %s" % array
        assert writes(k2sim, array) == [], writes(k2sim, array)


def md(text):
    """`text` as the Markdown report escapes a value (every punctuation mark; > as an entity)."""
    return "".join("&gt;" if c == ">" else "\\" + c if c in "-_:()'/.,;" else c for c in text)


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_every_status_in_one_scene_and_nothing_written(k2sim, scene, report, check):
    result, found, text = report(scene, check=check)
    assert result.rc == 0, result
    assert_no_writes(k2sim)
    assert {name: p["status"] for name, p in pairs_of(found).items()} == EXPECTED
    summary = found["summary"]
    assert {s: summary[s] for s in STATUSES} == COUNTS
    assert (summary["total"], summary["undeclared"], summary["drift"], summary["unread"]) == (13, 2, True, 0)
    assert found["check_mode"] is check
    pairs = pairs_of(found)
    # drifted: the fields by name, current and declared, and the write a converge would send.
    drift = pairs["p-drift"]
    assert [(f["side"], f["field"], f["current"], f["declared"]) for f in drift["fields"]] == [
        ("source", "retention_policy", "Best_Effort_Retention", "Replication_Retention"), ("source", "rpo", 900, 300)]
    assert [(a["array"], a["action"], a["method"], a["fields"]) for a in drift["actions"]] == [
        ("k2-a", "update", "PATCH", ["retention_policy", "rpo"])]
    assert "/retention_policies" not in json.dumps(drift)
    assert [(a["action"], a["method"]) for a in pairs["p-missing"]["actions"]] == [
        ("create", "POST"), ("transition", "PATCH")]
    # A missing half: its own status, why, and how to recover; never an action.
    assert "the source half p-smiss on k2-a is gone" in pairs["p-smiss"]["reason"]
    assert "delete remote_p-smiss on k2-b" in pairs["p-smiss"]["fix"] and pairs["p-smiss"]["actions"] == []
    assert "the target half remote_p-mmiss on k2-b is gone" in pairs["p-mmiss"]["reason"]
    assert "declare the pair state: absent and apply" in pairs["p-mmiss"]["fix"] and pairs["p-mmiss"]["actions"] == []
    assert [(f["side"], f["field"], f["current"], f["declared"]) for f in pairs["p-mdrift"]["fields"]] == [
        ("target", "state", "idle", "in_sync")]
    assert [(f["field"], f["current"]) for f in pairs["p-rev"]["fields"]] == [("current_role", "target")]
    # Failed over (the source suspended by its peer's failover): the fix is the failback, never a resume.
    for name, array, declared in (("p-fo", "k2-b", "in_sync"), ("p-fo-back", "k2-a", "suspended")):
        assert [(f["side"], f["array"], f["field"], f["current"], f["declared"]) for f in pairs[name]["fields"]] == [
            ("target", array, "state", "failed_over", declared)]
        assert "failed over to %s" % array in pairs[name]["reason"] and "failback" in pairs[name]["fix"]
        assert pairs[name]["actions"] == []
    assert [(f["field"], f["current"], f["declared"]) for f in pairs["p-fixed"]["fields"]] == [
        ("local_volume_group", "vg_fixed", "vg_fixed2")]
    assert "no volume_groups object is named 'vg_nope'" in pairs["p-novg"]["reason"]
    assert [a["text"] for a in pairs["p-remove"]["actions"]] == [
        "on k2-a: stop p-remove (idle)", "on k2-b: wait until remote_p-remove is idle",
        "on k2-b: delete remote_p-remove", "on k2-a: delete p-remove"]
    assert [(u["array"], u["name"], u["current_role"]) for u in found["undeclared"]] == [
        ("k2-a", "stray", "source"), ("k2-b", "remote_stray", "target")]
    # The Markdown holds every finding (values escaped); the printed summary has one line per pair not
    # in sync.
    for name, status in EXPECTED.items():
        assert "| %s | %s | %s |" % (md(name), md("%s -> %s" % (pairs[name]["source"], pairs[name]["target"])),
                                     md(status)) in text
    assert "| source | k2\\-a | p\\-drift | rpo | 900 | 300 |" in text
    assert "| k2\\-a | stray | source | in\\_sync | 300 | vg\\_stray | k2\\-b | remote\\_stray |" in text
    lines = result.task(ROLE + "Print the summary")["msg"]
    assert lines[0] == ("drift report: DRIFT; 13 pairs (2 in_sync, 2 drifted, 1 missing, 1 source_missing, "
                        "1 mirror_missing, 1 mirror_drifted, 1 reversed, 2 failed_over, 2 blocked), "
                        "2 undeclared sessions; health: 5 ok, 4 not_replicating, 2 unknown; 1 RPO breach")
    assert len(lines) == 1 + 11 + 1 + 2
    assert [line.split(" (")[0] for line in lines[1:12]] == [
        "%s: %s" % (status, name) for name, status in EXPECTED.items() if status != "in_sync"]
    assert lines[12] == ("rpo breach: p-fo (k2-a -> k2-b): Not replicating: the session is suspended "
                         "(suspend_reason_code peer_failed_over).")
    assert lines[13:] == ["undeclared: stray on k2-a (source, in_sync)",
                          "undeclared: remote_stray on k2-b (target, in_sync)"]
    # Nothing secret in the reports.
    for secret in (k2sim.users["admin"]["password"], k2sim.users["monitor"]["password"]):
        assert secret not in text and secret not in json.dumps(found) and secret not in result.stdout


def test_fail_on_drift_fails_the_play_after_the_reports_are_written(k2sim, scene, report):
    result, found, _text = report(scene, fail_on_drift=True)
    assert result.rc == 2, result
    assert result.status(ROLE + "Fail on drift") == "failed"
    assert "fail_on_drift is set" in result.task(ROLE + "Fail on drift")["msg"]
    assert found["summary"]["drift"] is True
    assert_no_writes(k2sim)


def test_a_read_only_user_can_run_it_and_in_sync_arrays_pass_even_with_fail_on_drift(k2sim, report):
    with Scene(k2sim) as api:
        api.session("k2-a", "ora", "vg_oracle_prod", "k2-b", state="in_sync")
        api.session("k2-b", "rep", "vg_reports_dr", "k2-a", rpo=900, state="in_sync")
        api.transition("k2-b", "rep", "suspended")
    k2sim.clear_journal()
    topology = {"defaults": {"replication_state": "in_sync"}, "pairs": [
        {"name": "ora", "source": "k2-a", "target": "k2-b", "volume_group": "vg_oracle_prod", "rpo": 300},
        {"name": "rep", "source": "k2-b", "target": "k2-a", "volume_group": "vg_reports_dr", "rpo": 900,
         "replication_state": "suspended"},
        {"name": "old", "source": "k2-a", "target": "k2-b", "state": "absent"}]}
    result, found, text = report(topology, user="monitor", fail_on_drift=True)
    assert result.rc == 0, result
    assert {p["name"]: p["status"] for p in found["pairs"]} == {"ora": "in_sync", "rep": "in_sync", "old": "in_sync"}
    assert found["summary"]["drift"] is False and "**No drift**: 3 pairs, 3 in sync" in text
    assert result.status(ROLE + "Fail on drift") == "skipped"
    users = {e["user"] for array in ("k2-a", "k2-b") for e in k2sim.journal(array)}
    assert users == {"monitor"}
    assert_no_writes(k2sim)


def test_an_array_that_is_down_blocks_its_pairs_and_fails_the_report_unless_accepted(k2sim, scene, report):
    k2sim.down("k2-b")
    result, found, text = report(scene, k2_validate_certs=True)
    # A report that verified less than the declaration is not green: the reports are written, then
    # the play fails, saying how to accept it.
    assert result.rc == 2, result
    assert result.status(ROLE + "Fail when an array could not be read") == "failed"
    message = result.task(ROLE + "Fail when an array could not be read")["msg"]
    assert "1 array(s) could not be read" in message and "not read: k2-b: " in message
    assert "drift_report_fail_on_unread=false" in message
    pairs = pairs_of(found)
    for name in ("p-sync", "p-fo-back", "p-remove"):  # k2-b as the target, as the source, declared absent
        assert pairs[name]["status"] == "blocked" and "array k2-b not read" in pairs[name]["reason"], pairs[name]
    # Every pair of the scene has k2-b as one of its arrays: none can be judged from one half.
    assert {p["status"] for p in pairs.values()} == {"blocked"}
    [b] = [a for a in found["arrays"] if a["name"] == "k2-b"]
    assert b["read"] is False and b["error"]
    assert found["summary"]["unread"] == 1
    assert "## Arrays not read" in text and "- k2\\-b: " in text
    assert writes(k2sim, "k2-a") == []

    result, found, _text = report(scene, drift_report_fail_on_unread=False)
    assert result.rc == 0, result
    assert result.status(ROLE + "Fail when an array could not be read") == "skipped"
    assert (found["summary"]["unread"], found["summary"]["blocked"]) == (1, len(EXPECTED))


def test_as_an_awx_check_job_it_publishes_the_summary_with_set_stats(k2sim, scene, tmp_path):
    with open(k2sim.ca_path, encoding="utf-8") as handle:
        pem = handle.read()
    inputs = {"username": "monitor", "password": k2sim.users["monitor"]["password"], "ca_cert": pem}
    job = run_job(PLAYBOOK, k2_arrays_inventory(k2sim), credential_inputs=inputs, check=True,
                  extra_vars={"k2_topology": scene}, workdir=str(tmp_path / "job"))
    assert (job.rc, job.status) == (0, "successful"), job
    summary = job.artifacts["drift_report_summary"]
    assert {s: summary[s] for s in STATUSES} == COUNTS
    assert (summary["total"], summary["undeclared"], summary["drift"]) == (13, 2, True)
    # The project is the playbooks folder; the reports are in its copy's reports/ (the default),
    # named in the summary.
    assert summary["json_report"] == os.path.join(job.private_data_dir, "project", "reports", "drift_report.json")
    with open(summary["json_report"], encoding="utf-8") as handle:
        assert json.load(handle)["summary"]["drift"] is True
    assert os.path.exists(summary["markdown_report"])
    assert_no_writes(k2sim)
    assert {e["user"] for e in k2sim.journal("k2-a")} == {"monitor"}
    assert set(job.leaks(inputs["password"])) <= {job.env_record}
    # The same job with fail_on_drift fails, its summary still published.
    failed = run_job(PLAYBOOK, k2_arrays_inventory(k2sim), credential_inputs=inputs, check=True,
                     extra_vars={"k2_topology": scene, "fail_on_drift": True},
                     workdir=str(tmp_path / "job2"))
    assert (failed.rc, failed.status) == (2, "failed"), failed
    assert failed.artifacts["drift_report_summary"]["drift"] is True
