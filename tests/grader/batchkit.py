"""Classes of submissions for the ``nngrade batch`` tests (few exercises: fast)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from grader.catalogue import EXERCISES
from tests.grader.conftest import MODEL_DIR

#: The exercises the batch tests grade (one module, three exercises).
NAMES = ("sigmoid", "relu", "relu_grad")  # in catalogue order
MODEL = (MODEL_DIR / "activations.py").read_text()


def _replace(pattern: str, new: str) -> str:
    text, n = re.subn(pattern, new, MODEL, count=1)
    assert n == 1, f"the model answer changed: {pattern!r} not found"
    return text


#: Kind of submission -> the student's activations.py.
KINDS = {
    "correct": lambda: MODEL,
    # the classic relu_grad mistake (a hint): 1 at z == 0
    "buggy": lambda: _replace(r"return \(z > 0\)\.astype", "return (z >= 0).astype"),
    "stub": lambda: (Path(__file__).resolve().parents[2] / "exercises" / "activations.py").read_text(),
    # every call of relu loops forever: graded timeout at --timeout
    "slow": lambda: _replace(r"def relu\(z\):\n", "def relu(z):\n    while True:\n        pass\n"),
    # reaches for SciPy: forbidden
    "hostile": lambda: "import scipy\n" + MODEL,
}

#: The catalogue's points of NAMES, and what each kind of submission earns.
PTS = {n: EXERCISES[n].points for n in NAMES}
FULL = sum(PTS.values())
POINTS = {"correct": FULL, "buggy": FULL - PTS["relu_grad"], "stub": 0, "slow": FULL - PTS["relu"], "hostile": 0}
BUGGY = POINTS["buggy"]


def write_student(folder: Path, kind: str, own: bool = False) -> Path:
    """The student's activations.py; ``own``: with a comment that makes the file theirs alone
    (the same file as another student's is served from that student's cached result)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "activations.py").write_text(KINDS[kind]() + (f"# {folder.name}'s own\n" if own else ""))
    return folder


def make_class(root: Path, students: dict[str, str], own: bool = False) -> Path:
    """``root/<student>/activations.py`` for each student -> kind (``own``: see write_student)."""
    for student, kind in students.items():
        write_student(root / student, kind, own)
    return root


def read_grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def read_report(out: Path, student: str) -> dict:
    return json.loads((out / "reports" / f"{student}.json").read_text())


def strip_timings(value):
    """A report without what varies from run to run (durations, the submission path)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in ("duration", "submission")}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value
