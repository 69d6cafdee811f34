"""``python -m grader.scaffold``: every file of a new exercise, each failing loudly until written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grader.scaffold import main

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp: Path) -> Path:
    for folder in ("exercises", "solutions", "grader", "tests/solutions"):
        shutil.copytree(ROOT / folder, tmp / folder, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    return tmp


def _python(root: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n{code}"],
        capture_output=True,
        text=True,
        cwd=root,
    )


def test_a_new_module_is_scaffolded_registered_and_fails_until_written(tmp_path, capsys):
    root = _copy(tmp_path)
    assert (
        main(
            [
                "step_decay",
                "--module",
                "schedules",
                "--kind",
                "function",
                "--params",
                "lr, epoch, drop=0.5",
                "--points",
                "2",
                "--after",
                "optim",
                "--root",
                str(root),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for path in (
        "exercises/schedules.py",
        "solutions/schedules.py",
        "solutions/model/schedules.py",
        "grader/catalogue/schedules.py",
        "tests/solutions/test_schedules.py",
    ):
        assert path in out and (root / path).is_file()
    done = _python(
        root,
        "from grader.catalogue import EXERCISES, MODULES\n"
        "assert MODULES[MODULES.index('optim') + 1] == 'schedules', MODULES\n"
        "ex = EXERCISES['step_decay']\n"
        "assert (ex.module, ex.kind, ex.points) == ('schedules', 'function', 2)\n"
        "import numpy as np\n"
        "try:\n    ex.cases(np.random.default_rng(0))\nexcept NotImplementedError as e:\n"
        "    print(e)\n"
        "import exercises.schedules as s\n"
        "try:\n    s.step_decay(0.1, 3)\nexcept NotImplementedError:\n    print('stub raises')\n",
    )
    assert done.returncode == 0, done.stderr
    assert "scaffolded: write the cases of step_decay" in done.stdout and "stub raises" in done.stdout


def test_a_backward_in_an_existing_module_names_its_forward(tmp_path):
    root = _copy(tmp_path)
    assert (
        main(
            [
                "swish_backward",
                "--module",
                "activations",
                "--kind",
                "backward",
                "--forward",
                "swish_forward",
                "--params",
                "dout, cache",
                "--root",
                str(root),
            ]
        )
        == 0
    )
    text = (root / "grader" / "catalogue" / "activations.py").read_text()
    assert 'forward="swish_forward"' in text and "EXERCISES.append(swish_backward)" in text


def test_an_existing_exercise_or_a_backward_without_forward_is_a_clear_error(tmp_path, capsys):
    root = _copy(tmp_path)
    assert main(["relu", "--module", "activations", "--kind", "function", "--root", str(root)]) == 2
    assert "already defines relu" in capsys.readouterr().err
    assert main(["x_backward", "--module", "activations", "--kind", "backward", "--root", str(root)]) == 2
    assert "needs --forward" in capsys.readouterr().err
