"""``nngrade batch``, end to end through the command line: outputs, statuses, exit codes, cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from grader.cli import main
from tests.grader.batchkit import (
    BUGGY,
    FULL,
    NAMES,
    POINTS,
    PTS,
    make_class,
    read_grades,
    read_report,
    strip_timings,
    write_student,
)
from tests.grader.conftest import ROOT, grade_json

FORMATS = "json,markdown,junit,text,gradescope"
CLASS = {"ann": "correct", "ben": "buggy", "cid": "stub", "dee": "slow", "eve": "hostile"}


def batch(*argv: str) -> int:
    return int(main(["batch", *argv, "--no-progress"]))


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """One run over a class of every kind of submission, every report format."""
    tmp = tmp_path_factory.mktemp("batch")
    cls = make_class(tmp / "class", CLASS)
    out = tmp / "out"
    code = batch(
        str(cls), *NAMES, "--out", str(out), "--seed", "5", "--jobs", "2", "--timeout", "2", "--format", FORMATS
    )
    return code, cls, out


def test_every_submission_graded_exits_0_with_grades_csv(graded_class):
    code, _, out = graded_class
    assert code == 0
    grades = read_grades(out)
    assert list(grades) == sorted(CLASS)
    header = list(next(iter(grades.values())))
    assert header == [
        "student",
        *NAMES,
        "total",
        "max_score",
        "passed",
        "failed",
        "error",
        "not_implemented",
        "timeout",
        "forbidden",
        "problem",
    ]
    for student, kind in CLASS.items():
        assert int(grades[student]["total"]) == POINTS[kind], student
        assert grades[student]["max_score"] == str(FULL) and grades[student]["problem"] == ""
    assert grades["ben"]["relu_grad"] == "0" and grades["ben"]["failed"] == "1"
    assert grades["cid"]["not_implemented"] == "3"
    assert grades["dee"]["relu"] == "0" and grades["dee"]["timeout"] == "1"
    assert grades["eve"]["forbidden"] == "3"


def test_each_report_is_what_nngrade_writes_for_that_student(graded_class, tmp_path):
    _, cls, out = graded_class
    for student in ("ann", "ben", "eve"):
        _, alone = grade_json(tmp_path, "--submission", str(cls / student), "--seed", "5", "--timeout", "2", *NAMES)
        assert strip_timings(read_report(out, student)) == strip_timings(alone)
        assert read_report(out, student)["submission"] == str(cls / student)


def test_reports_are_written_in_every_format_asked(graded_class):
    _, _, out = graded_class
    for student in CLASS:
        for suffix in (".json", ".md", ".xml", ".txt", ".gradescope.json"):
            assert (out / "reports" / f"{student}{suffix}").stat().st_size > 0
    assert "<testcase" in (out / "reports" / "ben.xml").read_text()
    assert json.loads((out / "reports" / "ben.gradescope.json").read_text())["score"] == BUGGY
    assert f"## nngrade: {BUGGY}/{FULL} points" in (out / "reports" / "ben.md").read_text()


def test_summary_gives_pass_rates_mistakes_distribution_and_slowest(graded_class):
    _, _, out = graded_class
    md = (out / "summary.md").read_text()
    assert "5 submissions (student folders): 5 graded, 0 failed to grade. Seed `5`" in md
    # relu passes for ann and ben only; sigmoid for everyone but the stub and the hostile one
    assert f"| `relu` | {PTS['relu']} | 40% | {0.4 * PTS['relu']:.2f} | 2 | 0 | 0 | 1 | 1 | 1 |" in md
    assert f"| `sigmoid` | {PTS['sigmoid']} | 60% | {0.6 * PTS['sigmoid']:.2f} | 3 | 0 | 0 | 1 | 0 | 1 |" in md
    assert "| `relu_grad` | the gradient at z == 0 must be 0" in md
    # ten ranges of 10% of the maximum: two at 0, the buggy and the slow one together, one at 100%
    tenth = int(10 * BUGGY / FULL)
    assert "| 0-10% | 2 |" in md and f"| {10 * tenth}-{10 * tenth + 10}% | 2 |" in md
    assert "| 90-100% (incl.) | 1 |" in md
    slowest = md.split("## Slowest submissions")[1].split("##")[0]
    assert slowest.index("| dee |") < slowest.index("| ann |")  # the one that timed out first
    assert "## Submissions that failed to grade\n\nNone." in md
    mechanism = read_report(out, "ann")["isolation"]["mechanism"]
    assert f"Isolation of the student code: {mechanism}" in md and "(5)." in md


def test_html_summary_is_self_contained_with_embedded_plots(graded_class):
    _, _, out = graded_class
    html = (out / "summary.html").read_text()
    assert html.count('<img alt="" src="data:image/png;base64,') == 2
    assert "http" not in html and "<script" not in html and "<link" not in html
    assert "<td>relu_grad</td><td>the gradient at z == 0 must be 0" in html


def test_rerun_grades_only_the_changed_submission(tmp_path, capsys):
    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "buggy", "cid": "stub"})
    out = tmp_path / "out"
    assert batch(str(cls), *NAMES, "--out", str(out), "--seed", "3") == 0
    first = {s: read_report(out, s) for s in ("ann", "ben", "cid")}
    assert "3 graded (0 from the cache)" in capsys.readouterr().out
    write_student(cls / "cid", "correct", own=True)
    (cls / "ann" / "notes.txt").write_text("not graded: no reason to regrade")
    assert batch(str(cls), *NAMES, "--out", str(out)) == 0  # the seed of DIR/batch.json
    assert "3 graded (2 from the cache)" in capsys.readouterr().out
    assert read_report(out, "ann") == first["ann"] and read_report(out, "ben") == first["ben"]
    assert read_report(out, "cid")["score"] == FULL and read_grades(out)["cid"]["total"] == str(FULL)
    assert batch(str(cls), *NAMES, "--out", str(out), "--regrade") == 0
    assert "(0 from the cache)" in capsys.readouterr().out


def test_identical_submissions_are_graded_once_and_each_student_gets_the_report(tmp_path, capsys):
    cls = make_class(tmp_path / "class", {"ann": "buggy", "ben": "buggy", "cid": "correct"})
    out = tmp_path / "out"
    assert batch(str(cls), *NAMES, "--out", str(out)) == 0
    assert "3 graded (0 from the cache, 1 identical to another)" in capsys.readouterr().out
    ann, ben = read_report(out, "ann"), read_report(out, "ben")
    assert ann["submission"] == str(cls / "ann") and ben["submission"] == str(cls / "ben")
    assert strip_timings(ann) == strip_timings(ben) and ann["score"] == BUGGY


def test_other_seed_or_limits_are_not_served_from_the_cache(tmp_path, capsys):
    cls = make_class(tmp_path / "class", {"ann": "correct"})
    out = tmp_path / "out"
    assert batch(str(cls), "relu", "--out", str(out), "--seed", "3") == 0
    assert batch(str(cls), "relu", "--out", str(out), "--seed", "4") == 0
    assert batch(str(cls), "relu", "--out", str(out), "--seed", "4", "--timeout", "7") == 0
    assert capsys.readouterr().out.count("(0 from the cache)") == 3
    assert read_report(out, "ann")["seed"] == 4 and read_report(out, "ann")["limits"]["timeout"] == 7


def test_without_seed_one_random_seed_for_everyone_kept_in_the_out_folder(tmp_path):
    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "buggy"})
    out = tmp_path / "out"
    assert batch(str(cls), "relu", "--out", str(out)) == 0
    seed = json.loads((out / "batch.json").read_text())["seed"]
    assert read_report(out, "ann")["seed"] == read_report(out, "ben")["seed"] == seed
    assert f"Seed `{seed}`" in (out / "summary.md").read_text()


def test_seed_per_student_differs_between_students_and_is_reproducible(tmp_path):
    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "correct"})
    seeds = []
    for out in (tmp_path / "a", tmp_path / "b"):
        assert batch(str(cls), "relu", "--out", str(out), "--seed", "9", "--seed-per-student") == 0
        seeds.append((read_report(out, "ann")["seed"], read_report(out, "ben")["seed"]))
    assert seeds[0] == seeds[1] and seeds[0][0] != seeds[0][1]


def test_unreadable_submission_fails_to_grade_exit_1_and_is_listed(tmp_path, capsys):
    cls = make_class(tmp_path / "class", {"ann": "correct"})
    (cls / "big").mkdir()
    with open(cls / "big" / "activations.py", "wb") as f:
        f.truncate(17 * 2**20)
    out = tmp_path / "out"
    assert batch(str(cls), "relu", "--out", str(out)) == 1
    grades = read_grades(out)
    assert grades["ann"]["total"] == "1" and grades["big"]["total"] == ""
    assert "activations.py is larger than 16 MiB" in grades["big"]["problem"]
    assert "| big |" in (out / "summary.md").read_text().split("failed to grade\n")[1]
    assert not (out / "reports" / "big.json").exists()
    assert "1 failed to grade" in capsys.readouterr().out


def test_out_folder_inside_the_class_is_not_graded_as_a_student(tmp_path, capsys):
    cls = make_class(tmp_path / "class", {"ann": "correct"})
    assert batch(str(cls), "relu", "--out", str(cls / "grades")) == 0
    assert batch(str(cls), "relu", "--out", str(cls / "grades")) == 0
    assert list(read_grades(cls / "grades")) == ["ann"]
    assert "1 submissions, 1 graded (1 from the cache)" in capsys.readouterr().out


def test_names_from_students_are_inert_in_csv_and_html(tmp_path):
    cls = make_class(tmp_path / "class", {"=HYPERLINK(1)": "correct", "<b>x": "buggy"})
    out = tmp_path / "out"
    assert batch(str(cls), "relu", "--out", str(out)) == 0
    assert "'=HYPERLINK(1)" in read_grades(out)
    html = (out / "summary.html").read_text()
    assert "&lt;b&gt;x" in html and "<b>x" not in html


def test_linked_module_is_forbidden_as_nngrade_grades_it(tmp_path):
    cls = make_class(tmp_path / "class", {"ann": "correct"})
    (cls / "sly").mkdir()
    (cls / "sly" / "activations.py").symlink_to(ROOT / "solutions" / "model" / "activations.py")
    out = tmp_path / "out"
    assert batch(str(cls), *NAMES, "--out", str(out), "--seed", "1") == 0
    _, alone = grade_json(tmp_path, "--submission", str(cls / "sly"), "--seed", "1", *NAMES)
    assert [e["status"] for e in alone["exercises"]] == ["forbidden"] * 3
    assert strip_timings(read_report(out, "sly")["exercises"]) == strip_timings(alone["exercises"])


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["nowhere", "--out", "{tmp}/out"], "no submissions at"),
        (["{tmp}/class", "nosuch", "--out", "{tmp}/out"], "unknown exercise 'nosuch'"),
        (["{tmp}/class", "--out", "{tmp}/out", "--format", "json,pdf"], "formats are a comma-separated list"),
        (["{tmp}/class", "--out", "{tmp}/class/ann/activations.py"], "cannot use --out"),
        (["{tmp}/class/ann", "--out", "{tmp}/out"], "holds one submission, not a class"),
        (["{tmp}/empty", "--out", "{tmp}/out"], "no submissions found"),
        (["{tmp}/class"], "--out"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, argv, phrase):
    make_class(tmp_path / "class", {"ann": "correct"})
    (tmp_path / "empty").mkdir()
    assert batch(*[a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nngrade batch: error: ") and phrase in err and err.count("\n") == 1


def test_ctrl_c_keeps_finished_results_and_the_rerun_grades_the_rest(tmp_path):
    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "buggy", "zed": "slow"})
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "grader",
        "batch",
        str(cls),
        *NAMES,
        "--out",
        str(out),
        "--jobs",
        "1",
        "--seed",
        "2",
        "--timeout",
        "30",
        "--no-progress",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 120
    while not (out / "reports" / "ben.json").exists() and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)  # zed is being graded: its relu loops for 30 s
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "interrupted; 2 of 3 results are saved" in err and "Traceback" not in err
    assert read_report(out, "ben")["score"] == BUGGY and not (out / "reports" / "zed.json").exists()
    write_student(cls / "zed", "correct", own=True)
    rerun = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0
    assert "3 graded (2 from the cache)" in rerun.stdout
    assert read_grades(out)["zed"]["total"] == str(FULL)


def test_real_command_shows_a_progress_bar_with_eta_only_on_a_terminal(tmp_path):
    import pty

    cls = make_class(tmp_path / "class", {"ann": "correct", "ben": "buggy"})
    argv = [sys.executable, "-m", "grader", "batch", str(cls), "relu", "--out", str(tmp_path / "out")]
    piped = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.startswith("nngrade batch: 2 submissions, 2 graded")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*argv, "--regrade"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "150"},
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=120) == 0
    os.close(master)
    assert b"grading the class" in shown and b"ETA" in shown and b"2/2" in shown


def test_a_credited_exercise_is_graded_in_a_batch_not_failed_to_grade(tmp_path):
    """A classic bug in ``step`` under the default --credit independent: perceptron_update is
    right once step is fixed and earns its point. The batch once refused that report ("score
    does not match status") and the student failed to grade: one honest bug cost a whole grade."""
    student = tmp_path / "class" / "fay"
    student.mkdir(parents=True)
    model = (ROOT / "solutions" / "model" / "perceptron.py").read_text()
    buggy = model.replace("(np.asarray(z) > 0)", "(np.asarray(z) >= 0)", 1)
    assert buggy != model
    (student / "perceptron.py").write_text(buggy)
    out = tmp_path / "out"
    code = batch(str(tmp_path / "class"), "step", "perceptron_update", "--out", str(out), "--seed", "5")
    grades = read_grades(out)
    assert code == 0, grades["fay"]["problem"]
    assert grades["fay"]["step"] == "0" and grades["fay"]["perceptron_update"] == "1"
    assert read_report(out, "fay")["exercises"][1]["credited"] is True
