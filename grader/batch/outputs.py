"""What a batch writes per student and per class: reports and ``grades.csv``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from grader.batch.sources import safe_name
from grader.batch.validate import to_report
from grader.files import write_atomic
from grader.reports import FORMATS
from grader.results import Status

#: Report format -> file name suffix of each student's report in ``DIR/reports/``.
SUFFIXES = {
    "json": ".json",
    "markdown": ".md",
    "junit": ".xml",
    "gradescope": ".gradescope.json",
    "text": ".txt",
}
STATUS_COLUMNS = [str(s) for s in Status]


@dataclass
class Outcome:
    """How one student's grading ended: a validated report, or why there is none."""

    student: str
    origin: str
    report: dict | None
    problem: str | None
    wall: float  # seconds from request to answer (when it was graded, cached or not)
    cached: bool = False

    @property
    def graded(self) -> bool:
        return self.report is not None


def report_paths(out: Path, student: str, formats: list[str]) -> dict[str, Path]:
    return {f: out / "reports" / f"{safe_name(student)}{SUFFIXES[f]}" for f in formats}


def write_reports(out: Path, outcome: Outcome, formats: list[str]) -> None:
    """The student's report in each format, written by the same writers as ``nngrade --format``."""
    report = to_report(outcome.report, outcome.origin)
    for fmt, path in report_paths(out, outcome.student, formats).items():
        text = io.StringIO()
        FORMATS[fmt]().write(report, text, False)
        write_atomic(path, text.getvalue())


def _cell(text: str) -> str:
    """A spreadsheet cell that is never a formula (names come from students)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grades_csv(outcomes: list[Outcome], exercises: list[str]) -> str:
    """One row per student: points per exercise, total, maximum, status counts, problem."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", *exercises, "total", "max_score", *STATUS_COLUMNS, "problem"])
    for o in sorted(outcomes, key=lambda o: o.student):
        if o.report is None:
            w.writerow([_cell(o.student), *[""] * (len(exercises) + 2 + len(STATUS_COLUMNS)), _cell(o.problem or "")])
            continue
        points = {e["name"]: e["score"] for e in o.report["exercises"]}
        counts = {s: 0 for s in STATUS_COLUMNS}
        for e in o.report["exercises"]:
            counts[e["status"]] += 1
        w.writerow(
            [
                _cell(o.student),
                *[points[n] for n in exercises],
                o.report["score"],
                o.report["max_score"],
                *counts.values(),
                "",
            ]
        )
    return buf.getvalue()
