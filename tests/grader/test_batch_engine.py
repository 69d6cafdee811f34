"""The batch's engine: a crashing, hanging or lying batch worker costs only its own submission.

The batch worker is replaced by ``batch_fault_task.py`` (the real worker with
faults chosen by the student's name); everything else is the real command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from grader.batch import cli as batch_cli
from grader.batch import engine
from grader.cli import main
from tests.grader.batchkit import BUGGY, FULL, NAMES, make_class, read_grades, read_report

FAULTY = (sys.executable, str(Path(__file__).with_name("batch_fault_task.py")))


@pytest.fixture
def faulty_worker(monkeypatch):
    monkeypatch.setattr(engine.TaskProcess, "command", FAULTY)
    monkeypatch.setattr(batch_cli, "DEADLINE_MARGIN", 4.0)
    monkeypatch.setattr(batch_cli, "EXERCISE_MARGIN", 0.0)


def test_crashing_and_forging_workers_fail_only_their_submissions(tmp_path, faulty_worker, capsys):
    cls = make_class(
        tmp_path / "class",
        {"ann": "correct", "crash": "correct", "forge": "stub", "print": "buggy", "zoe": "buggy"},
        own=True,
    )
    out = tmp_path / "out"
    code = main(["batch", str(cls), *NAMES, "--out", str(out), "--jobs", "2", "--no-progress"])
    assert code == 1
    grades = read_grades(out)
    assert grades["ann"]["total"] == str(FULL)
    assert grades["zoe"]["total"] == grades["print"]["total"] == str(BUGGY)
    assert grades["crash"]["problem"] == "the grading process died (status 3)"
    # the forged report claims 999 points: the driver rejects it rather than record it
    assert grades["forge"]["problem"] == "sigmoid: score does not match status"
    assert grades["forge"]["total"] == "" and not (out / "reports" / "forge.json").exists()
    assert "3 graded (0 from the cache), 2 failed to grade" in capsys.readouterr().out
    failing = (out / "summary.md").read_text().split("## Submissions that failed to grade")[1]
    assert "| crash |" in failing and "| forge |" in failing and "| ann |" not in failing


def test_hanging_worker_is_killed_at_its_deadline_without_holding_up_the_rest(tmp_path, faulty_worker):
    students = {"ann": "correct", "ben": "buggy", "cid": "stub", "dan": "correct", "hang": "correct"}
    cls = make_class(tmp_path / "class", students, own=True)
    out = tmp_path / "out"
    start = time.time()
    code = main(["batch", str(cls), *NAMES, "--out", str(out), "--jobs", "2", "--timeout", "1", "--no-progress"])
    wall = time.time() - start
    assert code == 1
    deadline = batch_cli.DEADLINE_MARGIN + len(NAMES) * 1.0
    assert read_grades(out)["hang"]["problem"] == f"grading took longer than {deadline:.0f} s"
    # the other worker graded everyone else meanwhile: their reports were on disk before the deadline
    for student in ("ann", "ben", "cid", "dan"):
        assert (out / "reports" / f"{student}.json").stat().st_mtime < start + deadline
    assert wall < deadline + 30  # the hung worker was killed, not waited for


def test_a_killed_worker_is_replaced_for_the_next_submission(tmp_path, faulty_worker):
    # one worker: it crashes on "crash", and the students after it are still graded
    cls = make_class(tmp_path / "class", {"ann": "correct", "crash": "correct", "dan": "buggy"}, own=True)
    out = tmp_path / "out"
    assert main(["batch", str(cls), *NAMES, "--out", str(out), "--jobs", "1", "--no-progress"]) == 1
    assert read_report(out, "dan")["score"] == BUGGY and read_report(out, "ann")["score"] == FULL


def test_no_sandbox_under_require_stops_the_batch_with_exit_2(tmp_path, faulty_worker, capsys):
    cls = make_class(tmp_path / "class", {"nosandbox": "correct"})
    code = main(["batch", str(cls), "relu", "--out", str(tmp_path / "out"), "--sandbox", "require", "--no-progress"])
    assert code == 2
    assert capsys.readouterr().err == "nngrade batch: error: no sandbox could start: bwrap is missing\n"
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_unreachable_dask_scheduler_is_an_error_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", 2.0)
    cls = make_class(tmp_path / "class", {"ann": "correct"})
    code = main(
        ["batch", str(cls), "relu", "--out", str(tmp_path / "out"), "--dask", "tcp://127.0.0.1:9", "--no-progress"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("nngrade batch: error: ") and "Traceback" not in err
