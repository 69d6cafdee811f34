"""The guard (the friendly first line): it reports forbidden imports, and a student cannot switch it off."""

from __future__ import annotations

import json
import os

import pytest

from grader.worker.guard import install_guard

#: A str whose __str__ would run inside the audit hook and empty the guard's rule tables.
UNGUARD = """
import numpy as np
sys = np._pytesttester.sys
class S(str):
    def __str__(self):
        frame = sys._getframe(1)
        if frame.f_code.co_name == "hook":
            frame.f_globals["DENIED_EVENTS"] = ()
            frame.f_globals["DENIED_IMPORTS"] = frozenset()
        return "math"
try:
    __import__(S("zzq_nonexistent"))  # a name whose __str__ would run inside the hook
except BaseException:
    pass
"""


def _guarded(code: str, tmp_path) -> dict | None:
    """Run ``code`` as a student file's body under the guard in a forked child; its report, or None."""
    student = tmp_path / "student.py"
    student.write_text(code)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            import ctypes  # noqa: F401 - loaded, as in a worker (its seccomp module uses it)

            install_guard(str(tmp_path), (), (), w)
            exec(compile(student.read_text(), str(student), "exec"), {"__file__": str(student)})
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


@pytest.mark.parametrize(
    "body, what",
    [
        ("import torch", "importing torch"),
        ("import ctypes", "importing ctypes"),
        ("__import__('subprocess').run(['true'])", "importing subprocess"),
    ],
)
def test_the_guard_reports_what_it_forbids(tmp_path, body, what):
    assert _guarded(body, tmp_path)["violations"] == [what]


def test_a_str_subclass_cannot_switch_the_guard_off(tmp_path):
    report = _guarded(UNGUARD + "sys.modules['ctypes'].CDLL(None)\n", tmp_path)
    assert report is not None, "the guard was switched off"
    assert report["violations"][0] in ("importing zzq_nonexistent", "ctypes.dlopen()")
