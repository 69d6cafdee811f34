"""tests/conftest.py: a skip not excused by the hardware fails the whole session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("reason, status", [("torch is not installed", 1), ("hardware: no AVX-512", 0)])
def test_a_skip_fails_the_session_unless_the_hardware_excuses_it(tmp_path, reason, status):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_one.py").write_text(
        f"import pytest\n\ndef test_ok():\n    pass\n\ndef test_skipped():\n    pytest.skip({reason!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == status, done.stdout
    assert ("skips not excused by the hardware" in done.stdout) == bool(status)
