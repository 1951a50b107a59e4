# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failover and failback job templates of the AWX guide, run the way AWX runs them
(harness/awx.py: ansible_runner, the "Kaminario K2" credential's injected environment, the CA as a
file, survey answers as extra vars): the set_stats artifacts carry the summaries, and the password
shows nowhere but in ansible-runner's record of the job environment."""

import os

from harness.awx import k2_arrays_inventory, run_job
from harness.dr import FAILBACK, FAILOVER, converge_example, example_topology, sessions_on, snapshot_all


def test_failover_then_failback_as_awx_jobs(k2sim, tmp_path):
    converge_example(k2sim, str(tmp_path / "converge"))
    snapshot_all(k2sim)
    with open(k2sim.ca_path, encoding="utf-8") as handle:
        inputs = {"username": "admin", "password": k2sim.users["admin"]["password"], "ca_cert": handle.read()}
    inventory = k2_arrays_inventory(k2sim, host_vars={"k2-a": {"k2_topology": example_topology()},
                                                      "k2-b": {"k2_topology": example_topology()}})
    k2sim.down("k2-a")
    # A "Text" survey answer: a comma-separated list of pair names.
    job = run_job(FAILOVER, inventory, credential_inputs=inputs, workdir=str(tmp_path / "failover"),
                  extra_vars={"k2_failover_pairs": "oracle_prod, sql_prod"})
    assert (job.rc, job.status) == (0, "successful"), job
    summary = job.artifacts["k2_failover"]
    assert summary["failed_over"] == 2 and {p["array"] for p in summary["pairs"]} == {"k2-b"}
    assert job.host_stats("k2-a")["changed"] == 0

    k2sim.up("k2-a")
    k2sim.clear_journal()
    job = run_job(FAILBACK, inventory, credential_inputs=inputs, workdir=str(tmp_path / "failback"),
                  extra_vars={"k2_failback_source": "k2-a"})
    assert (job.rc, job.status) == (0, "successful"), job
    assert job.artifacts["k2_failback"]["completed"] == 2
    for name in ("oracle_prod", "sql_prod"):
        a, b = sessions_on(k2sim, "k2-a")[name], sessions_on(k2sim, "k2-b")["remote_" + name]
        assert (a["current_role"], a["state"], b["current_role"], b["state"]) == ("source", "in_sync", "target", "in_sync")
    # The snapshots of step sync went through the injected account and CA file too.
    posts = [e for e in k2sim.journal("k2-b") if e["method"] == "POST" and e["path"].endswith("/snapshots")]
    assert len(posts) == 2 and {(e["user"], e["status"]) for e in posts} == {("admin", 201)}
    assert set(job.leaks(inputs["password"])) <= {job.env_record}, job.leaks(inputs["password"])
    assert os.path.isfile(os.path.join(job.private_data_dir, job.env_record))
