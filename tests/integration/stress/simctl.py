# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive the simulator's control API from inside a playbook, between two tasks:

    - ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.pipe', simctl ~ ' ' ~ ({'fault': 'k2-a', 'kind': '503',
               'method': 'POST', 'path': '/replication/sessions'} | to_json | quote)) }}"

One JSON argument: {"fault": ARRAY, "kind": ..., "method": ..., "path": ..., ...options},
{"down": ARRAY, "mode": "refuse"} or {"up": ARRAY}. The control URL and the CA come from the
environment (K2SIM_CONTROL_URL, K2SIM_CA), set by the test that runs the playbook. Prints "ok".
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "simulator"))

from k2sim.control_client import ControlClient  # noqa: E402


def main(argv):
    spec = json.loads(argv[1])
    client = ControlClient(os.environ["K2SIM_CONTROL_URL"], os.environ["K2SIM_CA"])
    if "fault" in spec:
        array = spec.pop("fault")
        kind = spec.pop("kind")
        client.fault(array, kind, spec.pop("method", "*"), spec.pop("path", "*"), spec.pop("count", 1), **spec)
    elif "down" in spec:
        client.down(spec["down"], spec.get("mode", "refuse"))
    elif "up" in spec:
        client.up(spec["up"])
    else:
        raise SystemExit("simctl: nothing to do in %r" % spec)
    print("ok")


if __name__ == "__main__":
    main(sys.argv)
