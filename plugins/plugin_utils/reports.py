# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the playbooks write their files (the drift report, the exported declaration) when the user
names no folder.

`reports/` next to the playbook, as in a source checkout; but a playbook run by its name
(`kaminario.k2.drift_report`, or `import_playbook` of it in a project) lives in the installed
collection, which an execution environment holds read-only (the image's files belong to another
user than the one the job runs as). There the files go to a folder of this user in the controller's
temporary folder, which every execution environment can write; a job hands their content on as
set_stats artifacts, since the files do not outlive the job's container.

The decision is pure: the file system is only probed through the functions given to it (the filter
`kaminario.k2.report_dir` gives the real ones). No Ansible import."""

from __future__ import annotations

import os

FOLDER = "reports"
TEMP_PREFIX = "kaminario.k2-reports-"


def can_write(path, exists=os.path.exists, isdir=os.path.isdir, access=os.access):
    """Files can be written in folder `path`: it is a folder this process may write and enter, or it
    does not exist and the nearest existing folder above it is one (so it can be made)."""
    path = os.path.abspath(path)
    while not exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return isdir(path) and access(path, os.W_OK | os.X_OK)


def temp_report_dir(temp_dir, uid):
    """This user's reports folder under the controller's temporary folder (one per user id, so two
    accounts on one controller never share it)."""
    return os.path.join(temp_dir, "%s%s" % (TEMP_PREFIX, uid))


def default_report_dir(playbook_dir, writable, temp_dir, uid):
    """`reports/` next to the playbook when that folder can be written (or made), else this user's
    folder in the controller's temporary folder. `writable(path)` says whether files can be
    written in `path` (see can_write)."""
    if playbook_dir:
        candidate = os.path.join(str(playbook_dir), FOLDER)
        if writable(candidate):
            return candidate
    return temp_report_dir(temp_dir, uid)
