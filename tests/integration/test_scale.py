# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""6,000 pairs on two arrays: the topology applies (a no-op over pairs that exist), the drift report
reports them in sync and the export writes them, each with every read batched - at most 100 names and
a request line well under 8 KB per request, read from both arrays' journals. Runs once (newest core):
a few minutes of a 2-core machine. The ratio of 3,000 pairs to 1,000 is `make bench`'s (bench_roles)."""

import json
import os
from urllib.parse import urlencode

import pytest
import yaml
from harness import REPO_ROOT, arrays_inventory, run_playbook, start_simulator

PAIRS = 6000
REQUEST_LINE = 8192 // 2  # well under the 8 KB a server or proxy commonly allows
pytestmark = pytest.mark.newest


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    seed = folder / "seed.json"
    seed.write_text(json.dumps({"k2-a": {
        "volume_groups": [{"name": "vg-%05d" % i, "quota": 0} for i in range(PAIRS)],
        "replication/sessions": [{"name": "pair-%05d" % i, "replication_peer_k2array": "k2-b",
                                  "local_volume_group": "vg-%05d" % i, "rpo": 300, "state": "in_sync"}
                                 for i in range(PAIRS)]}}), encoding="utf-8")
    # Replication rounds at a crawl: the data holds still while the playbooks read it.
    with start_simulator(transition_delay=0.05, seed=str(seed), startup_timeout=600.0, time_scale=0.001) as sim:
        yield sim


def declaration():
    return {"k2_topology": {"defaults": {"rpo": 300, "replication_state": "in_sync"}, "pairs": [
        {"name": "pair-%05d" % i, "source": "k2-a", "target": "k2-b", "volume_group": "vg-%05d" % i}
        for i in range(PAIRS)]}}


def run(sim, playbook, tmp_path, **extra):
    sim.clear_journal()
    extra_vars = dict(declaration(), **extra)
    result = run_playbook(sim, os.path.join(REPO_ROOT, "playbooks", playbook), inventory=arrays_inventory(sim),
                          extra_vars=extra_vars, workdir=str(tmp_path / playbook), timeout=3600)
    assert result.rc == 0, result
    journal = [e for array in ("k2-a", "k2-b") for e in sim.journal(array)]
    assert journal and not [e for e in journal if e["method"] != "GET"], playbook
    for entry in journal:
        line = "GET %s?%s HTTP/1.1" % (entry["path"], urlencode(entry["query"] or {}))
        assert len(line) < REQUEST_LINE, (playbook, line[:200], len(line))
        for key, value in (entry["query"] or {}).items():
            if key.endswith("__in"):
                assert len(str(value).split(",")) <= 100, (playbook, key)
    return result, journal


def test_six_thousand_pairs_apply_report_and_export_in_batches(big, tmp_path):
    _result, journal = run(big, "topology.yml", tmp_path)
    # Each array's sessions read by name, 100 a request (and a check-mode converge on the source).
    reads = [e for e in journal if e["path"].endswith("/replication/sessions") and "name__in" in (e["query"] or {})]
    assert len(reads) >= 2 * PAIRS // 100

    report_dir = tmp_path / "reports"
    run(big, "drift_report.yml", tmp_path, drift_report_dir=str(report_dir))
    report = json.loads((report_dir / "drift_report.json").read_text(encoding="utf-8"))
    assert report["summary"]["total"] == PAIRS and report["summary"]["in_sync"] == PAIRS

    path = tmp_path / "k2_topology.yml"
    run(big, "export_topology.yml", tmp_path, export_topology_path=str(path))
    exported = yaml.safe_load(path.read_text(encoding="utf-8").replace("!unsafe ", ""))
    assert len(exported["k2_topology"]["pairs"]) == PAIRS
