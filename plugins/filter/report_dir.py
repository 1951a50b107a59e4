# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter report_dir: the default folder of the files the playbooks write (the decision is in
plugins/plugin_utils/reports.py; documented in report_dir.yml)."""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.plugin_utils import reports


def report_dir(playbook_dir):
    """reports/ next to the playbook when it can be written, else this user's folder in the temp dir."""
    if playbook_dir is not None and not isinstance(playbook_dir, str):
        raise AnsibleFilterError("report_dir: expected the folder of the playbook (playbook_dir), got %r"
                                 % (playbook_dir,))
    return reports.default_report_dir(playbook_dir, reports.can_write, tempfile.gettempdir(), os.getuid())


class FilterModule:
    def filters(self):
        return {"report_dir": report_dir}
