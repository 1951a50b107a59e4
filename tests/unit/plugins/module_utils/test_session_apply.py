# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's Job as its callers see it outside the modules' results: its state before a run, and
after a check-mode run (the plan counted as done, nothing left to send). Every HTTP call asserted."""

from __future__ import annotations

from ansible_collections.kaminario.k2.plugins.module_utils.api import K2Api
from ansible_collections.kaminario.k2.plugins.module_utils.session_apply import Job, SessionApplier
from ansible_collections.kaminario.k2.plugins.module_utils.session_planner import Action
from ansible_collections.kaminario.k2.plugins.module_utils.transport import K2Transport
from ansible_collections.kaminario.k2.tests.unit.helpers import (
    HOST, PASSWORD, USERNAME, ExpectedCalls, RecordingTime)

SESSIONS = "/replication/sessions"
SESSION = {"id": 7, "name": "s1", "state": "in_sync", "current_role": "source", "rpo": 600,
           "replication_peer_k2array": {"ref": "/replication/peer_k2arrays/1"},
           "local_volume_group": {"ref": "/volume_groups/5"}}


def test_a_job_before_its_run_has_read_nothing_and_has_nothing_to_do():
    job = Job({"name": "s1", "rpo": 300})
    assert (job.name, job.pruned, job.actual, job.session) == ("s1", False, None, None)
    assert (job.pending, job.done, job.wait, job.doubt) == ([], [], None, None)
    assert (job.error, job.refused, job.raced, job.unknown) == (None, False, False, 0)
    assert (job.active, job.status) == (False, "ok")


def test_a_check_mode_run_counts_the_plan_as_done_and_leaves_nothing_to_send():
    clock = RecordingTime()
    applier = SessionApplier(K2Api(K2Transport(HOST, USERNAME, PASSWORD)), sleep=clock.sleep, clock=clock.monotonic)
    with ExpectedCalls() as calls:
        calls.add("GET", SESSIONS, query={"name": "s1"}, json={"hits": [SESSION], "total": 1})
        [job] = applier.run([Job({"name": "s1", "rpo": 300, "replication_state": "suspended"})], check_mode=True)
    assert job.done == [Action("update", "PATCH", SESSIONS + "/7", {"rpo": 300}, None),
                        Action("transition", "PATCH", SESSIONS + "/7", {"state": "suspended"}, "suspended")]
    assert (job.pending, job.active, job.status) == ([], False, "changed")
    assert (job.session["rpo"], job.session["state"]) == (300, "suspended")
    assert clock.sleeps == []
