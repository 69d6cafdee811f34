"""``nngrade batch`` on notebooks: nbgrader's ``submitted/<student>/<assignment>/*.ipynb``."""

from __future__ import annotations

import json
from pathlib import Path

from grader.cli import main
from tests.grader.batchkit import BUGGY, FULL, KINDS, NAMES, read_grades, read_report, strip_timings, write_student
from tests.grader.conftest import grade_json


def _cell(cell_id: str, source: str, **nbgrader) -> dict:
    return {
        "cell_type": "code",
        "id": cell_id,
        "execution_count": None,
        "outputs": [],
        "source": source,
        "metadata": {
            "nbgrader": {
                "schema_version": 3,
                "grade_id": cell_id,
                "locked": False,
                "solution": False,
                "grade": False,
                **nbgrader,
            }
        },
    }


def write_notebook(folder: Path, kind: str) -> Path:
    """``folder/02-activations.ipynb``: the student's module as a solution cell, a test cell per exercise."""
    cells = [_cell("activations", KINDS[kind](), solution=True)]
    cells += [_cell(f"test_{n}", f"grader.check({n!r}, {n})", grade=True, locked=True, points=1) for n in NAMES]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "02-activations.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_nbgrader_notebooks_are_graded_like_the_same_code_as_modules(tmp_path):
    course = tmp_path / "course"
    for student, kind in (("ann", "correct"), ("ben", "buggy"), ("eve", "hostile")):
        write_notebook(course / "submitted" / student / "ps1", kind)
        (course / "submitted" / student / "ps1" / "timestamp.txt").write_text("2026-12-01 10:00:00")
        write_student(tmp_path / "modules" / student, kind)
    (course / "submitted" / "zed" / "ps1").mkdir(parents=True)
    (course / "submitted" / "zed" / "ps1" / "02-activations.ipynb").write_text("{not json")
    out = tmp_path / "out"
    assert main(["batch", str(course), *NAMES, "--out", str(out), "--seed", "6", "--no-progress"]) == 1
    grades = read_grades(out)
    assert [grades[s]["total"] for s in ("ann", "ben", "eve")] == [str(FULL), str(BUGGY), "0"]
    assert "cannot read the notebook 02-activations.ipynb" in grades["zed"]["problem"]
    for student in ("ann", "ben", "eve"):
        folder = course / "submitted" / student / "ps1"
        graded = read_report(out, student)
        _, alone = grade_json(tmp_path, "--submission", str(folder), "--seed", "6", *NAMES)
        assert strip_timings(graded) == strip_timings(alone)  # exactly what nngrade says of the notebooks
        _, as_modules = grade_json(tmp_path, "--submission", str(tmp_path / "modules" / student), "--seed", "6", *NAMES)
        assert [(e["name"], e["status"], e["score"]) for e in graded["exercises"]] == [
            (e["name"], e["status"], e["score"]) for e in as_modules["exercises"]
        ]
        assert graded["submission"] == str(folder)
