"""``nngrade-notebooks init COURSE_DIR``: the course's nbgrader_config.py."""

from __future__ import annotations

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from grader.notebooks import main
from grader.notebooks.course import CONFIG_NAME


def load(course: Path):
    return PyFileConfigLoader(CONFIG_NAME, path=str(course)).load_config()


def test_init_replaces_nbgraders_execute_by_the_sandboxed_grader(tmp_path, capsys):
    from nbgrader.converters import Autograde

    assert main(["init", str(tmp_path / "course"), "--seed", "42"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "course" / CONFIG_NAME)
    config = load(tmp_path / "course")
    from nbgrader.preprocessors import Execute
    from traitlets.utils.importstring import import_item

    steps = list(config.Autograde.autograde_preprocessors)
    defaults = Autograde.autograde_preprocessors.default()
    assert steps[0] == "grader.notebooks.autograde.SandboxGrades"
    # nbgrader's other steps, in order, by their public names
    assert [import_item(step) for step in steps[1:]] == defaults[1:] and defaults[0] is Execute
    assert all(step.count(".") == 2 for step in steps[1:]), steps
    assert (config.SandboxGrades.seed, config.SandboxGrades.sandbox) == (42, "require")
    assert "course_id" not in config.CourseDirectory  # left to the instructor, shown commented
    text = (tmp_path / "course" / CONFIG_NAME).read_text()
    assert '# c.CourseDirectory.course_id = "nnfund"' in text and "# c.Exchange.root" in text


def test_init_writes_the_course_id_exchange_and_sandbox_when_given(tmp_path):
    assert main(["init", str(tmp_path), "--course-id", "nn101", "--exchange", "/srv/ex", "--sandbox", "auto"]) == 0
    config = load(tmp_path)
    assert config.CourseDirectory.course_id == "nn101" and config.Exchange.root == "/srv/ex"
    assert config.SandboxGrades.sandbox == "auto"
    assert 0 <= config.SandboxGrades.seed < 2**31  # drawn once, written down


def test_init_keeps_an_existing_config_unless_forced(tmp_path, capsys):
    (tmp_path / CONFIG_NAME).write_text("c = get_config()\n")
    assert main(["init", str(tmp_path)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / CONFIG_NAME).read_text() == "c = get_config()\n"
    assert main(["init", str(tmp_path), "--force", "--seed", "3"]) == 0
    assert load(tmp_path).SandboxGrades.seed == 3


def test_the_preprocessor_loads_its_settings_from_that_config(tmp_path):
    from grader.notebooks.autograde import SandboxGrades

    assert main(["init", str(tmp_path), "--seed", "9", "--sandbox", "off"]) == 0
    grades = SandboxGrades(config=load(tmp_path))
    assert (grades.seed, grades.sandbox, grades.enabled) == (9, "off", True)


def test_the_readme_shows_the_round_trip_in_order():
    import re

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The instructor (nbgrader)", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    steps = [line.split("#")[0].split()[:2] for line in block.splitlines() if line.strip()]
    assert [s[1] if s[0] in ("nbgrader", "nngrade-notebooks") else s[0] for s in steps] == [
        "pip",
        "init",
        "cd",
        "source",
        "generate_assignment",
        "release_assignment",
        "collect",
        "autograde",
        "export",
        "generate_feedback",
    ]
