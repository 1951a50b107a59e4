# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (bench_info.py, item 3 of issue 10), not part of the collection: returns the
sessions stored in a JSON file as k2_replication_session_info returns a listing, without any HTTP.
Its `password` option is no_log, as the collection's is, so Ansible masks the result the same way.
What it costs to run through ansible-playbook is what Ansible alone spends to carry that result."""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: bench_carry
short_description: Return the sessions of a JSON file (benchmark helper)
description: Returns C(sessions), C(total) and C(truncated) read from O(path), with no request.
options:
  path:
    description: A JSON file holding a list of sessions.
    type: path
    required: true
  password:
    description: Not used; no_log, like the collection's password option.
    type: str
author: kaminario.k2 maintainers
"""


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              password=dict(type="str", no_log=True)),
                           supports_check_mode=True)
    with open(module.params["path"], encoding="utf-8") as handle:
        sessions = json.load(handle)
    module.exit_json(changed=False, sessions=sessions, total=len(sessions), truncated=False)


if __name__ == "__main__":
    main()
