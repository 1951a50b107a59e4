# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDA guide's own rulebook, run as written with its commands (harness/docs.py) by the real
ansible-rulebook against the simulator: the guide says that suspending a session through the
array's API shows a state_changed event at the next poll, and the rule's debug action prints it.
Needs a Java runtime >= 17, as test_eda.py: without one it is skipped with one line saying so."""

import os
import signal
import subprocess

import pytest
from harness import eventually
from harness.docs import doc_block, doc_commands, substitute
from harness.scene import Scene
from test_docs_guides import reader_env, write_block
from test_eda import JAVA_MISSING, java_home

INTERVAL = 30  # the guide's rulebook polls every 30 s
DEADLINE = 120 + 3 * INTERVAL


def test_the_guides_rulebook_prints_a_suspension(k2sim, tmp_path):
    home = java_home()
    if home is None:
        pytest.skip(JAVA_MISSING)
    work = tmp_path / "reader"
    work.mkdir()
    rulebook = substitute(doc_block("eda-rulebook").text, k2sim)
    assert "interval: %d" % INTERVAL in rulebook
    (work / "k2_events.yml").write_text(rulebook, encoding="utf-8")
    write_block("topo-inventory", work / "inventory.yml", k2sim)
    with Scene(k2sim) as scene:  # glue: a pair that replicates
        scene.session("k2-a", "oracle_prod", "vg_oracle_prod", peer="k2-b", rpo=300, state="in_sync")
    export, run = [substitute(c, k2sim) for c in doc_commands("eda-rulebook-run")]
    assert export.startswith("export K2_USERNAME=monitor ") and run.startswith("ansible-rulebook ")
    env = {k: v for k, v in reader_env(k2sim, tmp_path, JAVA_HOME=home).items() if not k.startswith("K2_")}
    log_path = tmp_path / "ansible-rulebook.log"
    k2sim.clear_journal()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(["bash", "-c", export + "\n" + run], cwd=str(work), env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output():
        return log_path.read_text(encoding="utf-8", errors="replace")

    try:
        # The first poll (the read_only account of the export line) sets what the source knows.
        assert eventually(lambda: any(e["path"] == "/api/v2/replication/sessions" for e in k2sim.journal("k2-a"))
                          or proc.poll() is not None, timeout=DEADLINE), output()
        assert proc.poll() is None, output()
        assert {e["user"] for e in k2sim.journal("k2-a")} == {"monitor"}
        with Scene(k2sim) as scene:
            scene.transition("k2-a", "oracle_prod", "suspended")
        assert eventually(lambda: "oracle_prod: in_sync -> suspended" in output() or proc.poll() is not None,
                          timeout=DEADLINE), output()
        assert proc.poll() is None, output()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = output()
    # --print-events shows the event too, with the session and its change.
    assert "'kind': 'state_changed'" in text or '"kind": "state_changed"' in text, text
    assert k2sim.users["monitor"]["password"] not in text
