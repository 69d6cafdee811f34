"""Throughput of ``nngrade batch`` against ``nbgrader autograde`` on the same class, in one run.

A class of ``--students`` submissions (default 40) of the modules ``--modules``
(default: every module of the catalogue, the whole course): most correct, some with a classic bug, some
whose ``relu`` loops forever (graded ``timeout`` at ``--timeout`` seconds),
some hostile (SciPy imported inside ``sigmoid``); every file is the student's
own (a comment with their name), so nothing is shared through the cache.

The same code is graded three ways, in this order:

1. ``nngrade batch`` with ``--jobs 1`` (as .py modules, in the sandbox);
2. ``nngrade batch`` with ``--jobs 2``;
3. ``nngrade batch`` with ``--jobs 2`` on the notebooks of step 4 (nbgrader's ``submitted/``);
4. ``nbgrader autograde`` of the same code as notebooks (``nngrade-notebooks``
   publishes the assignment; each student's notebook carries their functions
   in its solution cells; nbgrader's per-cell limit is set to ``--timeout``).

It prints the wall time, submissions per minute and the ratios (goals: at
least 10x nbgrader's throughput, near-linear scaling with cores), and how many
students got the same total both ways. The machine is shared: rerun to see
the spread. Run: ``python benchmarks/bench_batch.py [--students 40]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._harness import machine, markdown_table  # noqa: E402

MODEL = ROOT / "solutions" / "model"
#: Kind of submission -> (share of the class, edit of activations.py).
KINDS = {
    "correct": (0.6, lambda text: text),
    "buggy": (0.2, lambda text: _sub(text, r"return \(z > 0\)\.astype", "return (z >= 0).astype")),
    "timeout": (
        0.1,
        lambda text: _sub(
            text, r"def relu\(z\):\n(    \"\"\".*?\"\"\"\n)", "def relu(z):\n\\1    while True:\n        pass\n"
        ),
    ),
    "hostile": (
        0.1,
        lambda text: _sub(
            text,
            r"def sigmoid\(z\):\n(    \"\"\".*?\"\"\"\n)",
            "def sigmoid(z):\n\\1    from scipy.special import expit\n    return expit(z)\n",
        ),
    ),
}


def _sub(text: str, pattern: str, new: str) -> str:
    out, n = re.subn(pattern, new, text, count=1, flags=re.S)
    if n != 1:
        raise SystemExit(f"bench_batch: the model answer changed, {pattern!r} not found")
    return out


def make_class(root: Path, students: int, modules: list[str]) -> dict[str, str]:
    """``root/modules/<student>/<module>.py`` and the package ``root/pkgs/<student>/``; student -> kind."""
    kinds = {}
    faulty = [
        k for kind, (share, _) in KINDS.items() if kind != "correct" for k in [kind] * max(1, round(share * students))
    ]
    names = ["correct"] * (students - len(faulty)) + faulty
    for i, kind in enumerate(names):
        student = f"s{i:03d}_{kind}"
        kinds[student] = kind
        for folder in (root / "modules" / student, root / "pkgs" / student):
            folder.mkdir(parents=True)
            for module in modules:
                text = (MODEL / f"{module}.py").read_text()
                if module == "activations":
                    text = KINDS[kind][1](text)
                (folder / f"{module}.py").write_text(text + f"# {student}'s own work\n")
        (root / "pkgs" / student / "__init__.py").write_text("")
    return kinds


def run(argv: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bench_batch: {' '.join(argv[:4])} failed:\n{proc.stdout}\n{proc.stderr}")
    return wall


def nngrade_batch(
    root: Path, source: Path, modules: list[str], jobs: int, timeout: float, out: str
) -> tuple[float, dict]:
    out = root / out
    wall = run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            *modules,
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--seed",
            "1",
            "--timeout",
            str(timeout),
            "--no-progress",
        ],
        ROOT,
    )
    with open(out / "grades.csv", newline="") as f:
        return wall, {row["student"]: row["total"] for row in csv.DictReader(f)}


def nbgrader_env(course: Path, pkgs: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(pkgs or ""), env.get("PYTHONPATH")) if p)
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")
    return env


def nbgrader_class(root: Path, students: list[str], modules: list[str], timeout: float) -> Path:
    """A course: the published assignment, and each student's notebooks in ``submitted/``."""
    import nbformat

    from grader.notebooks import Settings, write_assignment

    course = root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.course_id = 'nnfund-bench'\nc.Execute.timeout = {int(timeout)}\n"
    )
    write_assignment(Settings(source_dir=course / "source", modules=tuple(modules), exercises_dir=ROOT / "exercises"))
    run([sys.executable, "-m", "nbgrader", "generate_assignment", "nnfund", "--force"], course, nbgrader_env(course))
    sys.path.insert(0, str(root / "pkgs"))
    released = {}  # the graded notebooks only (a published lab is not autograded)
    for path in sorted((course / "release" / "nnfund").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        if any(c.get("metadata", {}).get("nbgrader", {}).get("grade") for c in nb.cells):
            released[path.name] = nb
    for student in students:
        mine = root / "nb" / student
        write_assignment(
            Settings(
                source_dir=mine, modules=tuple(modules), exercises_dir=ROOT / "exercises", solutions_package=student
            )
        )
        for name, release in released.items():
            own = {
                c.id: c.source
                for c in nbformat.read(str(mine / "nnfund" / name), as_version=4).cells
                if c.get("metadata", {}).get("nbgrader", {}).get("solution")
            }
            submitted = nbformat.from_dict(release)
            for cell in submitted.cells:
                if cell.id in own:  # each cell marked as the student's own: no two notebooks are alike
                    cell.source = own[cell.id] + f"\n# {student}'s own work"
            folder = course / "submitted" / student / "nnfund"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(submitted, str(folder / name))
    return course


def nbgrader_scores(course: Path) -> dict[str, str]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: f"{s.score:g}" for s in gb.assignment_submissions("nnfund")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--modules", default=None, help="comma-separated modules (default: all)")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--keep", action="store_true", help="keep the class folder and print where it is")
    args = p.parse_args()
    from grader.catalogue import MODULES

    modules = [m for m in args.modules.split(",") if m] if args.modules else list(MODULES)
    if "activations" not in modules:
        raise SystemExit("bench_batch: --modules must include activations (where the faults are)")
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        kinds = make_class(root, args.students, modules)
        n = len(kinds)
        mix = ", ".join(f"{sum(k == kind for k in kinds.values())} {kind}" for kind in KINDS)
        print(
            f"{machine()}\nclass: {n} submissions ({mix}); modules {', '.join(modules)}; "
            f"limit {args.timeout:g} s per exercise / per notebook cell\n"
        )
        course = nbgrader_class(root, list(kinds), modules, args.timeout)
        walls, totals = {}, {}
        for jobs in (1, 2):
            walls[f"nngrade batch --jobs {jobs}"], totals[jobs] = nngrade_batch(
                root, root / "modules", modules, jobs, args.timeout, f"out-jobs{jobs}"
            )
        walls["nngrade batch --jobs 2, the notebooks"], totals["nb"] = nngrade_batch(
            root, course, modules, 2, args.timeout, "out-notebooks"
        )
        walls["nbgrader autograde"] = run(
            [sys.executable, "-m", "nbgrader", "autograde", "nnfund", "--force"],
            course,
            nbgrader_env(course, root / "pkgs"),
        )
        nb = walls["nbgrader autograde"]
        rows = [[name, n, f"{wall:.1f}", f"{60 * n / wall:.1f}", f"{nb / wall:.1f}x"] for name, wall in walls.items()]
        print(markdown_table(["grader", "submissions", "wall s", "submissions/min", "throughput vs nbgrader"], rows))
        print(
            f"\nscaling --jobs 2 / --jobs 1: "
            f"{walls['nngrade batch --jobs 1'] / walls['nngrade batch --jobs 2']:.2f}x on {os.cpu_count()} cores"
        )
        scores = nbgrader_scores(course)
        same = [s for s in kinds if totals[2].get(s) == scores.get(s)]
        print(
            f"same total from nngrade batch and nbgrader: {len(same)} of {n}; differing: "
            + (", ".join(f"{s} ({totals[2].get(s)} vs {scores.get(s)})" for s in kinds if s not in same) or "none")
        )
        if not totals[1] == totals[2] == totals["nb"]:
            print("WARNING: --jobs 1, --jobs 2 and the notebooks gave different grades")
    finally:
        if args.keep:
            print(f"class kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
