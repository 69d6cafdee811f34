"""Shared helpers of the grader's end-to-end tests: submissions and graded runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.catalogue import EXERCISES, MODULES
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "solutions" / "model"
STUBS_DIR = ROOT / "exercises"
#: Modules whose model answer exists (all of them once every engineer has landed).
MODEL_MODULES = tuple(m for m in MODULES if (MODEL_DIR / f"{m}.py").is_file())
MODEL_EXERCISES = tuple(n for n, ex in EXERCISES.items() if ex.module in MODEL_MODULES)

needs_all_models = pytest.mark.skipif(
    len(MODEL_MODULES) < len(MODULES),
    reason="not every model answer has landed: " + ", ".join(sorted(set(MODULES) - set(MODEL_MODULES))))


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
