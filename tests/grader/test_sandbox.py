"""The sandbox: what a worker sees, how --sandbox auto|require|off decide, staging, dying with the grader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import sandbox
from grader.catalogue import EXERCISES
from grader.cli import main
from grader.runner import grade
from tests.grader.conftest import ROOT, by_name, copy_model, grade_json, processes_mentioning

#: A submission whose relu reports what its worker sees (as the exception's message).
LOOKING_AROUND = """
import numpy as np

def relu(z):
    os, sys = np._pytesttester.os, np._pytesttester.sys
    seen = {
        "root": sorted(os.listdir("/")),
        "nngrade": sorted(os.listdir("/nngrade")),
        "site": sorted(os.listdir("/nngrade/site")),
        "submission": sorted(os.listdir("/nngrade/submission")),
        "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
        "env": dict(os.environ),
        "uid": os.getuid(),
        "path": sys.path,
        "writable": [d for d in ("/", "/tmp", "/dev", "/nngrade/submission", "/usr/lib")
                     if os.access(d, os.W_OK)],
    }
    raise ValueError("SEEN" + repr(seen).replace("\\n", " "))
"""


def seen_by_a_worker(tmp_path) -> dict:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "activations.py").write_text(LOOKING_AROUND)
    (sub / "notes.txt").write_text("not a module")
    code, report = grade_json(tmp_path, "relu", "--submission", str(sub), "--sandbox", "require")
    message = by_name(report)["relu"]["message"]
    import ast

    return ast.literal_eval(message.rsplit("SEEN", 1)[1].strip())


def test_a_worker_sees_python_numpy_and_its_own_copy_only(tmp_path):
    seen = seen_by_a_worker(tmp_path)
    assert seen["nngrade"] == ["lib", "site", "submission"]
    assert seen["site"] in (["numpy"], ["numpy", "numpy.libs"])
    assert seen["submission"] == ["activations.py"]
    assert seen["processes"] == ["1", str(seen["processes"][-1])] and len(seen["processes"]) == 2
    assert set(seen["env"]) <= set(sandbox.WORKER_ENV) | {"PWD"}
    assert seen["uid"] == sandbox.SANDBOX_UID
    assert seen["writable"] == ["/tmp"]
    assert not any(str(ROOT) in p or "site-packages" in p for p in seen["path"])
    roots, _, symlinks, binds = sandbox.runtime_mounts()
    mounted = {Path(p).parts[1] for p in [*roots, binds[0][0], *(link for _, link in symlinks)]}
    assert set(seen["root"]) == mounted | {"dev", "proc", "tmp", "nngrade"}


def test_every_site_packages_under_a_mounted_folder_is_hidden():
    roots, hidden, _, binds = sandbox.runtime_mounts()
    for root in roots:
        for dirpath, dirnames, _ in os.walk(root):
            if os.path.basename(dirpath) in ("site-packages", "dist-packages"):
                assert dirpath in hidden
                dirnames[:] = []
            if dirpath.count(os.sep) - root.count(os.sep) >= 2:
                dirnames[:] = []
    assert all(dest.startswith(sandbox.SITE) for src, dest in binds[1:])


def test_off_and_a_missing_bubblewrap_say_why_there_is_no_sandbox(tmp_path, monkeypatch):
    assert sandbox.launcher("off", tmp_path).isolation == {"mechanism": "none", "reason": "--sandbox off"}
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    auto = sandbox.launcher("auto", tmp_path)
    assert auto.isolation["mechanism"] == "none" and "bubblewrap is not installed" in auto.isolation["reason"]
    with pytest.raises(sandbox.SandboxUnavailable, match="user namespaces"):
        sandbox.launcher("require", tmp_path)


@pytest.fixture
def broken_bwrap(tmp_path, monkeypatch):
    """A bubblewrap that cannot start here, as under AppArmor's user-namespace restriction."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(fake))
    return fake


def test_auto_grades_without_a_sandbox_that_cannot_start_and_warns(tmp_path, broken_bwrap, capsys):
    sub = copy_model(tmp_path / "sub")
    code = main(["relu", "--submission", str(sub), "--sandbox", "auto", "--no-progress"])
    out = capsys.readouterr()
    assert code == 0
    assert "Isolation: none (bubblewrap failed to start (bwrap: setting up uid map: Permission denied))" in " ".join(
        out.out.split()
    )
    assert "self-check, not a grade" in " ".join(out.out.split())


def test_require_refuses_to_grade_without_a_sandbox_and_says_how_to_enable_one(tmp_path, broken_bwrap, capsys):
    sub = copy_model(tmp_path / "sub")
    code = main(["relu", "--submission", str(sub), "--sandbox", "require", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("nngrade: error: no sandbox could start") and "Traceback" not in err
    assert "apparmor_restrict_unprivileged_userns" in err and "seccomp=unconfined" in err


def test_every_report_format_states_the_isolation(tmp_path):
    sub = copy_model(tmp_path / "sub")
    report = grade(sub, {"relu": EXERCISES["relu"]}, seed=1, sandbox="require")
    import io

    from grader.reports import FORMATS

    for name, cls in FORMATS.items():
        out = io.StringIO()
        cls().write(report, out, False)
        assert "bubblewrap" in out.getvalue(), name


def test_staging_copies_regular_top_level_modules_only(tmp_path):
    sub = tmp_path / "sub"
    (sub / "pkg").mkdir(parents=True)
    (sub / "conv.py").write_text("A = 1\n")
    (sub / "alias.py").symlink_to(sub / "conv.py")  # a link inside the folder: its content
    (sub / "outside.py").symlink_to(ROOT / "solutions" / "conv.py")
    os.mkfifo(sub / "fifo.py")  # would block a naive reader
    (sub / "big.py").write_bytes(b"#" * (sandbox.MAX_MODULE_BYTES + 1))
    (sub / "not-a-module.py").write_text("B = 2\n")
    (sub / "pkg" / "inner.py").write_text("C = 3\n")
    staging = sandbox.stage(sub)
    try:
        copied = sorted(p.name for p in (staging / "submission").iterdir())
        assert copied == ["alias.py", "conv.py"]
        assert (staging / "submission" / "alias.py").read_text() == "A = 1\n"
        assert sorted(p.name for p in (staging / "lib" / "nngrade_worker").glob("*.py")) == sorted(
            p.name for p in (ROOT / "grader" / "worker").glob("*.py")
        )
    finally:
        import shutil

        shutil.rmtree(staging)


def test_the_report_file_is_replaced_whole_and_no_temporary_file_is_left(tmp_path):
    sub = copy_model(tmp_path / "sub")
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    out.write_text("an older report")
    assert main(["relu", "--submission", str(sub), "--format", "json", "--output", str(out), "--no-progress"]) == 0
    assert json.loads(out.read_text())["score"] == 1
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]


def test_an_unwritable_output_is_a_usage_error_before_any_grading(tmp_path, capsys):
    code = main(
        ["relu", "--submission", str(copy_model(tmp_path / "sub")), "--output", str(tmp_path / "missing" / "r.json")]
    )
    assert code == 2 and "its folder does not exist" in capsys.readouterr().err


def test_killing_the_grader_ends_every_sandboxed_process(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "activations.py"
    path.write_text(path.read_text() + "\n\ndef relu(z):\n    while True:\n        pass\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "relu",
            "--submission",
            str(sub),
            "--sandbox",
            "require",
            "--timeout",
            "60",
            "--no-progress",
        ],
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not processes_mentioning(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the endless loop is running in its worker
        assert processes_mentioning(str(scratch)), "no sandboxed worker was seen running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while processes_mentioning(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes_mentioning(str(scratch))
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_submission_folder_inside_the_graders_installation_is_refused(tmp_path, capsys):
    link = tmp_path / "submission"
    link.symlink_to(ROOT / "solutions" / "model")
    code = main(["step", "--submission", str(link), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "inside the grader's own installation" in err and "Traceback" not in err


def test_output_to_a_fifo_or_through_a_link_writes_where_it_points(tmp_path):
    import threading

    sub = copy_model(tmp_path / "sub")
    target = tmp_path / "target.json"
    target.write_text("")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["relu", "--submission", str(sub), "--format", "json", "--output", str(link), "--no-progress"]) == 0
    assert link.is_symlink() and json.loads(target.read_text())["score"] == 1
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    assert main(["relu", "--submission", str(sub), "--format", "json", "--output", str(fifo), "--no-progress"]) == 0
    reader.join(timeout=30)
    assert fifo.exists() and not fifo.is_file() and json.loads(got[0])["score"] == 1


def test_a_root_grader_starts_bubblewrap_as_nobody_only_where_nobody_can_reach_the_runtime(monkeypatch):
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(dir="/tmp"))  # (pytest's own folders are private to their owner)
    base.chmod(0o755)
    open_dir = base / "open" / "lib"
    open_dir.mkdir(parents=True)
    closed = base / "closed"
    (closed / "lib").mkdir(parents=True)
    closed.chmod(0o700)
    assert sandbox._reachable_by_others(str(open_dir))
    assert not sandbox._reachable_by_others(str(closed / "lib"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    for lib, expected in ((open_dir, True), (closed / "lib", False)):
        monkeypatch.setattr(sandbox, "runtime_mounts", lambda lib=lib: ([str(lib)], [], [], []))
        assert (sandbox.host_user() is not None) is expected
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert sandbox.host_user() is None
    shutil.rmtree(base)


def test_kernel_interfaces_in_proc_are_read_only_in_the_sandbox():
    masks = sandbox.PROC_MASKS()
    assert masks[:3] == ["--ro-bind", "/proc/sys", "/proc/sys"]


def test_a_hard_link_to_the_model_answers_is_not_the_students_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    os.link(ROOT / "solutions" / "model" / "activations.py", sub / "activations.py")
    code, report = grade_json(tmp_path, "relu", "--submission", str(sub), "--sandbox", "require")
    entry = by_name(report)["relu"]
    assert entry["status"] == "error" and "not a regular file of its own" in entry["message"]
