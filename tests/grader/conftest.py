"""Shared helpers of the grader's end-to-end tests: submissions and graded runs."""

from __future__ import annotations

import json
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
