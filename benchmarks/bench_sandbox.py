"""What the sandbox costs: the whole catalogue graded with --sandbox require and --sandbox off.

A correct submission (the model answers) is graded end to end by the installed ``nngrade``
command, alternating the two modes so that a busy machine weighs on both alike; the best and
the median wall-clock time of each are printed with their ratio. Run:

    python benchmarks/bench_sandbox.py [--repeats 7] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def model_submission(dest: Path) -> Path:
    dest.mkdir()
    for path in (ROOT / "solutions" / "model").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copy(path, dest / path.name)
    return dest


def grade_once(submission: Path, mode: str, jobs: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "--submission",
            str(submission),
            "--sandbox",
            mode,
            "--no-progress",
            "--format",
            "json",
            "--seed",
            "1",
            *jobs,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"grading with --sandbox {mode} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    with tempfile.TemporaryDirectory() as tmp:
        sub = model_submission(Path(tmp) / "submission")
        times: dict[str, list[float]] = {"require": [], "off": []}
        grade_once(sub, "off", jobs)  # warm the file cache
        for _ in range(args.repeats):
            for mode in times:
                times[mode].append(grade_once(sub, mode, jobs))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"whole catalogue, model answers, nngrade end to end, {cores} cores, {args.repeats} runs each")
    print("| mode | best (s) | median (s) |")
    print("|---|---:|---:|")
    for mode, values in times.items():
        print(f"| --sandbox {mode} | {min(values):.2f} | {statistics.median(values):.2f} |")
    best = min(times["require"]) / min(times["off"])
    median = statistics.median(times["require"]) / statistics.median(times["off"])
    print(f"sandbox cost: {best:.2f}x (best), {median:.2f}x (median)")


if __name__ == "__main__":
    main()
