"""``nngrade-notebooks init COURSE_DIR``: the course's ``nbgrader_config.py``.

The file makes nbgrader's autograde step grade with :class:`SandboxGrades`
(in place of ``Execute``, nbgrader's other autograde preprocessors kept in
their order), with a seed drawn once for the course (so re-autograding gives
the same cases) and the sandbox required. The instructor adds the course id
and the exchange folder, or passes them here.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from grader.runner import Limits

CONFIG_NAME = "nbgrader_config.py"
SANDBOX_GRADES = "grader.notebooks.autograde.SandboxGrades"


class CourseError(Exception):
    """The course folder cannot be set up (one sentence)."""


def _dotted(item) -> str:
    """A class's import path, through the shallowest package that exports it (its public name)."""
    if isinstance(item, str):
        return item
    import importlib

    parts = item.__module__.split(".")
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        if getattr(importlib.import_module(package), item.__qualname__, None) is item:
            return f"{package}.{item.__qualname__}"
    return f"{item.__module__}.{item.__qualname__}"


def autograde_preprocessors() -> list[str]:
    """nbgrader's default autograde preprocessors with SandboxGrades in place of Execute."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    defaults = [_dotted(p) for p in Autograde.autograde_preprocessors.default()]
    if _dotted(Execute) not in defaults:
        raise CourseError(
            f"this nbgrader autogrades without {_dotted(Execute)}; nngrade-notebooks does not know where to grade"
        )
    return [SANDBOX_GRADES if p == _dotted(Execute) else p for p in defaults]


def config_text(*, seed: int, sandbox: str, course_id: str | None, exchange: str | None) -> str:
    course = (
        f"c.CourseDirectory.course_id = {course_id!r}"
        if course_id
        else '# c.CourseDirectory.course_id = "nnfund"        # your course id'
    )
    exch = (
        f"c.Exchange.root = {exchange!r}"
        if exchange
        else '# c.Exchange.root = "/srv/nbgrader/exchange"    # the exchange folder'
    )
    steps = "".join(f"    {p!r},\n" for p in autograde_preprocessors())
    return f"""\
# nbgrader configuration of an nnfund course (written by `nngrade-notebooks init`).
c = get_config()  # noqa: F821 - nbgrader provides it

{course}
{exch}

# Autograde grades each notebook's code cells with nnfund's grader, in its
# sandboxed workers, instead of executing the notebook: the student's kernel
# never decides a grade. SandboxGrades takes the place of nbgrader's Execute.
c.Autograde.autograde_preprocessors = [
{steps}]
# The seed of the randomized cases, drawn once for this course: every student
# gets the same cases, and autograding again gives the same grades.
c.SandboxGrades.seed = {seed}
# "require": refuse to grade without the OS sandbox; "auto": use it when it works.
c.SandboxGrades.sandbox = {sandbox!r}
c.SandboxGrades.timeout = {Limits.timeout!r}    # seconds per exercise
c.SandboxGrades.memory_mb = {Limits.memory_mb!r}   # address-space limit per exercise
"""


def init_course(
    course_dir: Path,
    *,
    seed: int | None = None,
    sandbox: str = "require",
    course_id: str | None = None,
    exchange: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``course_dir/nbgrader_config.py``; returns its path."""
    path = course_dir / CONFIG_NAME
    if path.exists() and not force:
        raise CourseError(f"{path} exists; pass --force to replace it")
    text = config_text(
        seed=secrets.randbelow(2**31) if seed is None else seed, sandbox=sandbox, course_id=course_id, exchange=exchange
    )
    try:
        course_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CourseError(f"cannot write {path}: {exc.strerror}") from None
    return path
