"""Regenerate the labs' pictures shown in the README (exercises/labs/figures/*.png).

Runs the labs that draw them, headless, in a temporary course folder whose
exercises/ holds the given answers (default: the course repository's model
answers, solutions/model/), with NNFUND_LAB_FIGURES set so that the labs'
own plotting code saves its figures; then keeps the ones listed in FIGURES.

    python exercises/labs/make_figures.py [--answers DIR] [--out DIR]

Needs nbclient (it comes with nbgrader, or pip install nbclient) and the
labs' extras. Also the labs' test helper: course_folder and execute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: figure name (lab.show's name) -> the lab that draws it.
FIGURES = {
    "noisy_xor": "02_noisy_xor",
    "rnn_lstm_memory": "07_rnn_lstm",
}


def course_folder(root: Path, answers: Path) -> Path:
    """root/exercises/ = answers/*.py (as a student's modules), root/exercises/labs/ = these labs."""
    exercises = root / "exercises"
    exercises.mkdir(parents=True)
    for module in Path(answers).glob("*.py"):
        if module.name != "__init__.py":
            shutil.copy(module, exercises / module.name)
    shutil.copytree(
        HERE,
        exercises / "labs",
        ignore=shutil.ignore_patterns("__pycache__", "lab_results", "figures", ".ipynb_checkpoints"),
    )
    return root


def execute(notebook: Path, cwd: Path, *, env: dict | None = None, timeout: int = 120):
    """Run a notebook headless in the working folder cwd; returns (executed notebook, seconds).

    Raises nbclient's CellExecutionError at the first failing cell, with the
    executed notebook as its ``notebook`` attribute. env is added to the
    kernel's environment (MPLBACKEND=Agg always).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    saved = dict(os.environ)
    os.environ.update({"MPLBACKEND": "Agg", **(env or {})})
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            error.notebook = nb
            raise
        return nb, time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model = HERE.parents[1] / "solutions" / "model"
    parser.add_argument(
        "--answers",
        type=Path,
        default=model if model.is_dir() else HERE.parent,
        help="folder of the exercise modules to run the labs with (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "figures", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = course_folder(Path(tmp) / "course", args.answers)
        drawn = Path(tmp) / "figures"
        for lab in sorted(set(FIGURES.values())):
            _, seconds = execute(
                root / "exercises" / "labs" / f"{lab}.ipynb",
                root,
                env={"NNFUND_LAB_FIGURES": str(drawn), "NNFUND_EXERCISES": ""},
            )
            print(f"ran {lab} in {seconds:.1f} s")
        args.out.mkdir(parents=True, exist_ok=True)
        for name in FIGURES:
            shutil.copy(drawn / f"{name}.png", args.out / f"{name}.png")
            print(f"wrote {args.out / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
