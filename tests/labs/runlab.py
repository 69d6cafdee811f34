"""Run a lab notebook headless, as a student would, in a folder of one's choosing.

The folder building and the execution are the figures script's
(exercises/labs/make_figures.py), so the README's pictures and the tests run
the labs the same way.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
LABS = REPO / "exercises" / "labs"
MODEL = REPO / "solutions" / "model"
STUBS = REPO / "exercises"

sys.path.insert(0, str(LABS))
from make_figures import course_folder  # noqa: E402
from make_figures import execute as execute_notebook  # noqa: E402

__all__ = ["LABS", "MODEL", "STUBS", "course_folder", "execute_notebook", "run_lab", "errors"]


def run_lab(root: Path, lab: str, *, expect_error: bool = False, cwd: Path | None = None, env: dict | None = None):
    """Execute root/exercises/labs/<lab>.ipynb in the working folder cwd (default root).

    NNFUND_EXERCISES is cleared unless env sets it. With expect_error, the
    CellExecutionError that stops the run is swallowed (the notebook's outputs
    show where it stopped); without, it propagates. Returns (executed
    notebook, cwd/lab_results/<lab>.json as a dict or None, seconds).
    """
    cwd = cwd or root
    notebook = root / "exercises" / "labs" / f"{lab}.ipynb"
    env = {"NNFUND_EXERCISES": "", "OMP_NUM_THREADS": "1", **(env or {})}
    start = time.perf_counter()
    try:
        nb, seconds = execute_notebook(notebook, cwd, env=env)
    except CellExecutionError as error:
        if not expect_error:
            raise
        nb, seconds = error.notebook, time.perf_counter() - start
    path = cwd / "lab_results" / f"{lab}.json"
    return nb, (json.loads(path.read_text()) if path.is_file() else None), seconds


def errors(nb) -> list[dict]:
    """The error outputs of an executed notebook, in cell order, with their cell index."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append({"cell": index, **output})
    return found
