# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the playbooks write their files when the user names no folder: reports/ next to the
playbook when files can be written there, else this user's folder in the controller's temporary
folder (a read-only collection in an execution environment); and the filter that gives it."""

from __future__ import annotations

import os
import tempfile

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaminario.k2.plugins.filter.report_dir import report_dir
from ansible_collections.kaminario.k2.plugins.plugin_utils import reports


class FakeTree:
    """A file system of folders (name -> writable) and files, for can_write."""

    def __init__(self, folders, files=()):
        self.folders = dict(folders)
        self.files = set(files)
        self.asked = []

    def exists(self, path):
        return path in self.folders or path in self.files

    def isdir(self, path):
        return path in self.folders

    def access(self, path, mode):
        self.asked.append((path, mode))
        return self.folders[path]

    def can_write(self, path):
        return reports.can_write(path, self.exists, self.isdir, self.access)


def test_a_writable_folder_can_be_written():
    tree = FakeTree({"/": False, "/p": True, "/p/reports": True})
    assert tree.can_write("/p/reports") is True
    assert tree.asked == [("/p/reports", os.W_OK | os.X_OK)]


def test_a_read_only_folder_cannot():
    tree = FakeTree({"/": False, "/coll/playbooks": True, "/coll/playbooks/reports": False})
    assert tree.can_write("/coll/playbooks/reports") is False


def test_a_missing_folder_is_judged_by_the_nearest_existing_one_above_it():
    writable = FakeTree({"/": False, "/p": True})
    assert writable.can_write("/p/reports/deeper") is True
    assert writable.asked == [("/p", os.W_OK | os.X_OK)]
    read_only = FakeTree({"/": True, "/coll": False})
    assert read_only.can_write("/coll/playbooks/reports") is False
    assert read_only.asked == [("/coll", os.W_OK | os.X_OK)]


def test_a_file_in_the_way_cannot_be_written_into():
    tree = FakeTree({"/": True, "/p": True}, files={"/p/reports"})
    assert tree.can_write("/p/reports") is False
    assert tree.can_write("/p/reports/x") is False
    assert tree.asked == []


def test_nothing_exists_at_all():
    assert FakeTree({}).can_write("/a/b") is False


def test_a_relative_path_is_taken_from_the_working_folder():
    cwd = os.getcwd()
    tree = FakeTree({cwd: True})
    assert tree.can_write("new-folder") is True
    assert tree.asked == [(cwd, os.W_OK | os.X_OK)]


def test_reports_next_to_the_playbook_when_they_can_be_written_there():
    asked = []

    def writable(path):
        asked.append(path)
        return True

    assert reports.default_report_dir("/proj/playbooks", writable, "/tmp", 1000) == "/proj/playbooks/reports"
    assert asked == ["/proj/playbooks/reports"]


def test_else_this_users_folder_in_the_temporary_folder():
    chosen = reports.default_report_dir("/usr/share/ansible/collections/ansible_collections/kaminario/k2/playbooks",
                                        lambda path: False, "/tmp", 1000)
    assert chosen == "/tmp/kaminario.k2-reports-1000"
    assert reports.default_report_dir("/ro", lambda path: False, "/var/tmp", 0) == "/var/tmp/kaminario.k2-reports-0"


@pytest.mark.parametrize("playbook_dir", [None, ""])
def test_no_playbook_folder_means_the_temporary_folder(playbook_dir):
    def writable(path):
        raise AssertionError("nothing to probe, got %s" % path)

    assert reports.default_report_dir(playbook_dir, writable, "/tmp", 7) == "/tmp/kaminario.k2-reports-7"


def test_the_filter_probes_the_real_file_system(tmp_path):
    # A folder this process can write: reports/ there (whether it exists yet or not).
    assert report_dir(str(tmp_path)) == str(tmp_path / "reports")
    (tmp_path / "reports").mkdir()
    assert report_dir(str(tmp_path)) == str(tmp_path / "reports")
    # A file named reports in the way: the temporary folder instead.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "reports").write_text("", encoding="utf-8")
    assert report_dir(str(tmp_path / "other")) == os.path.join(tempfile.gettempdir(),
                                                               "kaminario.k2-reports-%d" % os.getuid())


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a folder without the write permission")
def test_the_filter_sees_a_read_only_folder(tmp_path):
    (tmp_path / "playbooks").mkdir()
    os.chmod(tmp_path / "playbooks", 0o555)
    try:
        assert report_dir(str(tmp_path / "playbooks")) == os.path.join(tempfile.gettempdir(),
                                                                       "kaminario.k2-reports-%d" % os.getuid())
    finally:
        os.chmod(tmp_path / "playbooks", 0o755)


@pytest.mark.parametrize("value", [5, ["/p"], {"dir": "/p"}])
def test_the_filter_wants_a_folder_name(value):
    with pytest.raises(AnsibleFilterError, match="report_dir: expected the folder of the playbook"):
        report_dir(value)
