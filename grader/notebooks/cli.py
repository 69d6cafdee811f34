"""``nngrade-notebooks``: set up an nbgrader course and publish the exercises into it.

``nngrade-notebooks init COURSE_DIR [--course-id ID] [--exchange DIR] [--seed N]
[--sandbox require|auto|off] [--force]`` writes the course's
``nbgrader_config.py`` (:mod:`grader.notebooks.course`).

``nngrade-notebooks SOURCE_DIR [--assignment NAME] [--modules m ...]
[--exercises DIR]`` writes ``SOURCE_DIR/<assignment>/NN-<module>.ipynb``, one
source notebook per module (:mod:`grader.notebooks.render`).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.notebooks.course import CourseError, init_course
from grader.notebooks.render import write_assignment
from grader.notebooks.sources import NotebookError, Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nngrade-notebooks",
        description="Write the exercises as an nbgrader source assignment: "
        "SOURCE_DIR/<assignment>/NN-<module>.ipynb, one notebook per module. "
        "'nngrade-notebooks init COURSE_DIR' writes the course's nbgrader_config.py.",
    )
    parser.add_argument(
        "source_dir", metavar="SOURCE_DIR", type=Path, help="nbgrader's source folder (usually <course>/source)"
    )
    parser.add_argument("--assignment", default=Settings.assignment, help="assignment name (default: %(default)s)")
    parser.add_argument(
        "--modules",
        nargs="+",
        default=(),
        metavar="MODULE",
        help="exercise modules to publish (default: all of the catalogue)",
    )
    parser.add_argument(
        "--exercises",
        type=Path,
        default=Settings.exercises_dir,
        metavar="DIR",
        help="folder of the student stubs (default: ./%(default)s)",
    )
    return parser


def build_init_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nngrade-notebooks init",
        description="Write COURSE_DIR/nbgrader_config.py: autograde with nnfund's sandboxed "
        "grader, a seed for the course, the limits.",
    )
    parser.add_argument("course_dir", metavar="COURSE_DIR", type=Path, help="the course folder")
    parser.add_argument("--course-id", help="nbgrader's course id (else add it to the file)")
    parser.add_argument("--exchange", metavar="DIR", help="the exchange folder (else add it to the file)")
    parser.add_argument("--seed", type=int, help="seed of the randomized cases (default: drawn now)")
    parser.add_argument(
        "--sandbox",
        choices=("require", "auto", "off"),
        default="require",
        help="grade only in the OS sandbox (require, the default), when it works (auto), or never (off)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing nbgrader_config.py")
    return parser


def _needs(parser: argparse.ArgumentParser, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        parser.error(f"this needs {module}: pip install 'nnfund[instructor]'")


def init_main(argv: Sequence[str]) -> int:
    parser = build_init_parser()
    args = parser.parse_args(argv)
    _needs(parser, "nbgrader")
    try:
        path = init_course(
            args.course_dir,
            seed=args.seed,
            sandbox=args.sandbox,
            course_id=args.course_id,
            exchange=args.exchange,
            force=args.force,
        )
    except CourseError as exc:
        print(f"nngrade-notebooks init: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["init"]:
        return init_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _needs(parser, "nbformat")
    settings = Settings(
        source_dir=args.source_dir,
        assignment=args.assignment,
        modules=tuple(args.modules),
        exercises_dir=args.exercises,
    )
    if not settings.exercises_dir.is_dir():
        parser.error(f"no exercises folder {settings.exercises_dir}")
    known = settings.catalogue_modules()
    unknown = [m for m in settings.modules if m not in known]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; the catalogue has {list(known)}")
    try:
        paths = write_assignment(settings)
    except NotebookError as exc:
        print(f"nngrade-notebooks: error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0
