"""The README's promises that code can check: the Quick start and the points table."""

import re
from pathlib import Path

from grader.catalogue import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands_install_and_grade_then_install_and_test():
    grade, test = _quick_start_commands()
    assert grade.startswith("pip install ") and grade.endswith("nngrade")
    assert test.startswith("pip install -e ") and "pytest" in test


def test_ci_runs_the_quick_start_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quick_start_commands()[1] in ci.splitlines()


def test_readme_points_table_matches_the_catalogue():
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\d+) \|", README, re.M)
    assert {name: (module, int(points)) for module, name, points in rows} == {
        e.name: (e.module, e.points) for e in EXERCISES.values()
    }
    total = re.search(r"\| \| \*\*total\*\* \| \*\*(\d+)\*\* \|", README)
    assert int(total.group(1)) == sum(e.points for e in EXERCISES.values())
