"""grader/files.py: the one way the grader writes a file (reports, the batch's cache and tables)."""

from __future__ import annotations

import os
import stat

import pytest

from grader.files import FILE_MODE, write_atomic


def test_write_atomic_replaces_the_file_whole_with_the_mode_open_would_give(tmp_path):
    path = tmp_path / "deep" / "report.json"
    write_atomic(path, "old")
    write_atomic(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n"  # newlines as given
    assert stat.S_IMODE(os.stat(path).st_mode) == FILE_MODE
    assert os.listdir(path.parent) == ["report.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "grades.csv"
    write_atomic(path, "kept")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "\ud800")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text() == "kept" and os.listdir(tmp_path) == ["grades.csv"]
