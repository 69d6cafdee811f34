"""Run a lab notebook headless, as a student would, in a folder of one's choosing.

``course_folder`` builds a course root holding ``exercises/`` (copies of the
model answers, or of the real stubs) and ``exercises/labs/``; ``run_lab``
executes one notebook there with nbclient and returns the executed notebook
and its lab_results JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
LABS = REPO / "exercises" / "labs"
MODEL = REPO / "solutions" / "model"
STUBS = REPO / "exercises"
#: per-cell limit while testing; a whole lab must finish within 60 s on a 2-core machine.
CELL_TIMEOUT = 120


def course_folder(root: Path, answers: Path) -> Path:
    """root/exercises/ = answers/*.py (the student's modules), root/exercises/labs/ = the labs."""
    exercises = root / "exercises"
    exercises.mkdir(parents=True)
    for module in answers.glob("*.py"):
        if module.name != "__init__.py":
            shutil.copy(module, exercises / module.name)
    shutil.copytree(LABS, exercises / "labs", ignore=shutil.ignore_patterns(
        "__pycache__", "lab_results", "figures", ".ipynb_checkpoints"))
    return root


def run_lab(root: Path, lab: str, *, allow_errors: bool = False, expect_error: bool = False,
            cwd: Path | None = None, env: dict | None = None):
    """Execute root/exercises/labs/<lab>.ipynb in the working folder cwd (default root).

    With expect_error, the CellExecutionError that stops the run is swallowed
    (the executed notebook shows where). Returns (executed notebook, the
    results dict from cwd/lab_results/<lab>.json or None, seconds).
    """
    cwd = cwd or root
    nb = nbformat.read(root / "exercises" / "labs" / f"{lab}.ipynb", as_version=4)
    saved = dict(os.environ)
    os.environ.update({"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", **(env or {})})
    if "NNFUND_EXERCISES" not in (env or {}):
        os.environ.pop("NNFUND_EXERCISES", None)
    try:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}},
                                allow_errors=allow_errors)
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError:
            if not expect_error:
                raise
        seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    path = cwd / "lab_results" / f"{lab}.json"
    results = json.loads(path.read_text()) if path.is_file() else None
    return nb, results, seconds


def errors(nb) -> list[dict]:
    """The error outputs of an executed notebook, in cell order, with their cell index."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append({"cell": index, **output})
    return found
