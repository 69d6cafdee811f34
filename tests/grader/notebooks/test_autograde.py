"""The instructor's round trip with real nbgrader: grades come from the sandboxed grader.

One course, built once for the module (slow): ``nngrade-notebooks init``,
``nngrade-notebooks source``, ``nbgrader generate_assignment``, four students'
submissions, ``nbgrader autograde``, ``nbgrader export`` and ``nbgrader
generate_feedback``. The students:

- alice: honest and complete (the model answers in every solution cell);
- bob: honest, with one classic bug (``relu_grad`` is 1 at z == 0);
- carol: cheats by importing the reference solutions in the conv notebook;
- dave: cheats in the kernel: a cell replaces ``sys.modules["grader"]`` by a
  fake whose ``check`` accepts anything, and the conv notebook patches NumPy's
  comparisons; his functions are stubs or return zeros.

Alice's and Bob's grades must be exactly what ``nngrade`` gives the same code
as modules (the model answer files, Bob's with the same bug), with the same
seed; the cheats earn nothing for what they cheated on.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.catalogue import EXERCISES, MODULES
from grader.cli import main as nngrade
from grader.notebooks import main as nngrade_notebooks

REPO = Path(__file__).resolve().parents[3]
MODEL_DIR = REPO / "solutions" / "model"
ASSIGNMENT = "nnfund"
#: the modules of the round trip: a plain one and one with forward/backward pairs.
ROUND_TRIP = ("activations", "conv")
SEED = 20240611
#: Bob's bug, applied alike to his notebook and to the module nngrade grades.
BUG = ("return (z > 0).astype(z.dtype)", "return (z >= 0).astype(z.dtype)")
BUGGY = "relu_grad"

pytestmark = pytest.mark.slow


def notebook_file(module: str) -> str:
    return f"{MODULES.index(module) + 1:02d}-{module}.ipynb"


def points(module: str) -> int:
    return sum(ex.points for ex in EXERCISES.values() if ex.module == module)


def run(course: Path, *args: str) -> subprocess.CompletedProcess:
    """One nbgrader command in the course folder, as the instructor runs it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")  # no user-level nbgrader config
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def solution_cells(nb) -> dict:
    return {c.id: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def new_code(source: str):
    return nbformat.v4.new_code_cell(source)


# -- the students --------------------------------------------------------------------


def honest(module: str, source, release):
    """The release with the model answers of the source notebook in its solution cells."""
    nb = nbformat.from_dict(release)
    answers = solution_cells(source)
    for cell_id, cell in solution_cells(nb).items():
        cell.source = answers[cell_id].source
    return nb


def buggy(module: str, source, release):
    nb = honest(module, source, release)
    cells = solution_cells(nb)
    if f"{BUGGY}-solution" in cells:
        cell = cells[f"{BUGGY}-solution"]
        assert BUG[0] in cell.source
        cell.source = cell.source.replace(*BUG)
    return nb


def imports_solutions(module: str, source, release):
    """Honest outside conv; in conv every answer is the reference's (the issue's cheat)."""
    if module != "conv":
        return honest(module, source, release)
    nb = nbformat.from_dict(release)
    cells = solution_cells(nb)
    for name, params in (
        ("corr2d", "x, k, padding=0, stride=1"),
        ("conv2d_forward", "x, w, b, stride=1, padding=0"),
        ("conv2d_backward", "dout, cache"),
    ):
        args = ", ".join(p.split("=")[0] for p in params.split(", "))
        cells[
            f"{name}-solution"
        ].source = (
            f"from solutions.model.conv import {name} as _{name}\n\ndef {name}({params}):\n    return _{name}({args})\n"
        )
    return nb


def fakes_the_grader(module: str, source, release):
    """Stubs left as released; a cell fakes grader.check, another patches NumPy's comparisons."""
    nb = nbformat.from_dict(release)
    if module == "activations":
        nb.cells.insert(
            2,
            new_code(
                "import sys, types\n\n"
                "sys.modules['grader'] = types.SimpleNamespace(check=lambda *args, **kwargs: None)\n"
            ),
        )
    else:
        nb.cells.insert(
            2,
            new_code(
                "np.allclose = lambda *args, **kwargs: True\n"
                "np.array_equal = lambda *args, **kwargs: True\n"
                "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
            ),
        )
        cells = solution_cells(nb)
        cells["corr2d-solution"].source = "def corr2d(x, k, padding=0, stride=1):\n    return np.zeros((1, 1))\n"
    return nb


STUDENTS = {"alice": honest, "bob": buggy, "carol": imports_solutions, "dave": fakes_the_grader}


def module_submission(dest: Path, bug: bool) -> Path:
    """The same code as modules: the model answer files (with Bob's bug when asked)."""
    dest.mkdir(parents=True)
    for module in ROUND_TRIP:
        text = (MODEL_DIR / f"{module}.py").read_text()
        if bug and module == EXERCISES[BUGGY].module:
            assert BUG[0] in text
            text = text.replace(*BUG)
        (dest / f"{module}.py").write_text(text)
    return dest


# -- the course ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The whole round trip, once: returns the course folder and what to compare with."""
    root = tmp_path_factory.mktemp("round-trip")
    course = root / "course"
    # init's defaults, the sandbox required: the grading must run in bubblewrap
    assert nngrade_notebooks(["init", str(course), "--course-id", "nnfund-test", "--seed", str(SEED)]) == 0
    assert (
        nngrade_notebooks([str(course / "source"), "--modules", *ROUND_TRIP, "--exercises", str(REPO / "exercises")])
        == 0
    )
    run(course, "generate_assignment", ASSIGNMENT, "--force")
    for student, make in STUDENTS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for module in ROUND_TRIP:
            name = notebook_file(module)
            source = nbformat.read(str(course / "source" / ASSIGNMENT / name), as_version=4)
            release = nbformat.read(str(course / "release" / ASSIGNMENT / name), as_version=4)
            nbformat.write(make(module, source, release), str(folder / name))
    autograde = run(course, "autograde", ASSIGNMENT)
    run(course, "export")
    run(course, "generate_feedback", ASSIGNMENT)
    reports = {}
    for student, bug in (("alice", False), ("bob", True)):
        modules = module_submission(root / "modules" / student, bug)
        out = root / f"{student}.json"
        nngrade(
            ["--submission", str(modules), "--seed", str(SEED), "--format", "json", "--output", str(out), *ROUND_TRIP]
        )
        reports[student] = {e["name"]: e for e in json.loads(out.read_text())["exercises"]}
    return course, reports, autograde.stdout + autograde.stderr


def grades_csv(course: Path) -> dict[str, dict]:
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def cell_scores(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for module in ROUND_TRIP:
            for name, ex in EXERCISES.items():
                if ex.module == module:
                    grade = gb.find_grade(f"test_{name}", notebook_file(module)[:-6], ASSIGNMENT, student)
                    scores[name] = grade.score
    return scores


def test_every_notebook_was_graded_in_the_sandbox(course):
    _, _, log = course
    lines = [line for line in log.splitlines() if "graded " in line and " exercises, " in line]
    assert len(lines) == len(STUDENTS) * len(ROUND_TRIP)
    assert all("Isolation: bubblewrap" in line for line in lines), lines


def test_grades_csv_totals_honest_and_cheating_students(course):
    path, _, _ = course
    rows = grades_csv(path)
    total = sum(points(m) for m in ROUND_TRIP)
    expected = {"alice": total, "bob": total - EXERCISES[BUGGY].points, "carol": points("activations"), "dave": 0}
    assert {s: float(rows[s]["score"]) for s in STUDENTS} == expected
    assert {float(rows[s]["max_score"]) for s in STUDENTS} == {total}


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_an_honest_notebook_gets_exactly_nngrades_points_for_the_same_code(course, student):
    path, reports, _ = course
    assert cell_scores(path, student) == {n: e["score"] for n, e in reports[student].items()}


def test_importing_the_solutions_scores_zero_on_that_notebook(course):
    path, _, _ = course
    scores = cell_scores(path, "carol")
    for name, score in scores.items():
        expected = 0 if EXERCISES[name].module == "conv" else EXERCISES[name].points
        assert score == expected, name
    feedback = (path / "autograded" / "carol" / ASSIGNMENT / notebook_file("conv")).read_text()
    assert "forbidden" in feedback


def test_faking_grader_check_or_patching_numpy_earns_nothing(course):
    path, _, _ = course
    assert set(cell_scores(path, "dave").values()) == {0}


def test_the_notebooks_are_not_executed_by_autograde(course):
    """No solution or setup cell has outputs or an execution count: nothing of it ran."""
    path, _, _ = course
    for module in ROUND_TRIP:
        nb = nbformat.read(str(path / "autograded" / "alice" / ASSIGNMENT / notebook_file(module)), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.metadata["nbgrader"].get("grade"):
                assert cell.outputs == [] and cell.execution_count is None


def test_feedback_shows_nngrades_feedback_and_the_points(course):
    path, reports, _ = course
    page = path / "feedback" / "bob" / ASSIGNMENT / f"{notebook_file('activations')[:-6]}.html"
    text = html.unescape(page.read_text())
    failed = reports["bob"][BUGGY]
    assert failed["status"] == "failed" and failed["message"]
    n = failed["cases_total"]
    assert (f"{BUGGY}: failed, {failed['cases_passed']}/{n} cases, 0/{EXERCISES[BUGGY].points} points") in text
    assert failed["message"] in text
    passed = reports["bob"]["relu"]
    assert f"relu: passed, {passed['cases_total']}/{passed['cases_total']} cases" in text
    assert "\x1b" not in text


def test_nngrade_grades_the_submitted_folder_like_autograde(course, tmp_path):
    """nngrade --submission on nbgrader's submitted/<student>/<assignment>/ (and on submitted/<student>/)."""
    path, reports, _ = course
    for folder in (path / "submitted" / "bob" / ASSIGNMENT, path / "submitted" / "bob"):
        out = tmp_path / f"{folder.name}.json"
        code = nngrade(
            ["--submission", str(folder), "--seed", str(SEED), "--format", "json", "--output", str(out), *ROUND_TRIP]
        )
        report = json.loads(out.read_text())
        assert code == 1
        assert report["submission"] == str(folder.resolve())
        assert {e["name"]: e["score"] for e in report["exercises"]} == {
            n: e["score"] for n, e in reports["bob"].items()
        }
        assert {e["name"]: e["message"] for e in report["exercises"]}[BUGGY] == reports["bob"][BUGGY]["message"]


def test_the_students_self_check_prints_one_line_or_the_feedback(course, tmp_path):
    """Bob runs his notebook in a real kernel: passing checks print one line, his bug raises."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError  # noqa: F401 - allow_errors below

    path, reports, _ = course
    name = notebook_file("activations")
    nb = nbformat.read(str(path / "submitted" / "bob" / ASSIGNMENT / name), as_version=4)
    shutil.copy(path / "submitted" / "bob" / ASSIGNMENT / name, tmp_path / name)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    tests = {c.id[: -len("-test")]: c for c in nb.cells if c.id.endswith("-test")}
    for exercise, cell in tests.items():
        if exercise == BUGGY:
            (error,) = [o for o in cell.outputs if o.output_type == "error"]
            assert error.ename == "CheckFailed"  # an AssertionError
            n = reports["bob"][BUGGY]["cases_total"]
            shown = "\n".join(error.traceback)  # what the notebook shows: the feedback, no frames
            assert shown.startswith(f"CheckFailed: {BUGGY}: failed, ")
            assert f"/{n} cases, 0/{EXERCISES[BUGGY].points} points (self-check only" in shown
            assert shown.endswith("\n\n" + reports["bob"][BUGGY]["message"])
            assert "\x1b" not in shown and "File " not in shown
            continue
        assert [o.output_type for o in cell.outputs] == ["stream"], exercise
        (line,) = cell.outputs[0].text.splitlines()
        n = reports["bob"][exercise]["cases_total"]
        pts = EXERCISES[exercise].points
        assert line == (
            f"{exercise}: passed, {n}/{n} cases, {pts}/{pts} points "
            "(self-check only: your grade is computed when your notebook is graded)"
        )
