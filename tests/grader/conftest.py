"""Shared helpers of the grader's end-to-end tests: submissions and graded runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from grader.catalogue import EXERCISES, MODULES
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "solutions" / "model"
STUBS_DIR = ROOT / "exercises"
#: Every catalogued module has a model answer (tests/exercises/test_stubs.py proves it).
MODEL_MODULES = tuple(MODULES)
MODEL_EXERCISES = tuple(EXERCISES)


def copy_model(dest: Path) -> Path:
    """A correct submission: the model answers copied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for module in MODEL_MODULES:
        shutil.copy(MODEL_DIR / f"{module}.py", dest / f"{module}.py")
    return dest


def grade_json(tmp: Path, *argv: str) -> tuple[int, dict]:
    """Run ``nngrade argv --format json`` in-process; (exit status, parsed report)."""
    out = tmp / f"report-{len(list(tmp.glob('report-*.json')))}.json"
    code = main([*argv, "--format", "json", "--output", str(out)])
    return int(code), json.loads(out.read_text())


def by_name(report: dict) -> dict[str, dict]:
    return {e["name"]: e for e in report["exercises"]}


def processes_mentioning(*needles: str) -> list[str]:
    """Processes (other than this one) whose command line contains any of ``needles``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmd for n in needles):
            found.append(f"{pid}: {cmd[:200]}")
    return found
