"""The driver's side of the trust boundary: an answer is data until it checks out.

A batch worker (local or on a Dask worker) answers with a JSON line. Before
anything is written from it, :func:`check_answer` parses it strictly and
checks the report against what was asked: the exercises, in order, each with
its catalogue points, a known status, a score of 0 or all, consistent totals,
the seed; text fields are strings of bounded size. :func:`to_report` then
rebuilds the :class:`grader.results.Report` the report writers take.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping

from grader.results import CallRecord, Report, Result, Status

#: Bounds on what one answer may hold.
MAX_TEXT = 1 << 20
MAX_DEPTH = 12
STATUSES = frozenset(str(s) for s in Status)


class BadAnswer(Exception):
    """The answer is not a valid report of the request (one-line reason)."""


class FatalAnswer(BadAnswer):
    """No submission can be graded as asked (``--sandbox require`` without a sandbox)."""


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        raise BadAnswer("the report nests too deep")
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise BadAnswer(what)


def _int(value) -> bool:
    return type(value) is int


def _number(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _text(value, optional: bool = False) -> bool:
    return (value is None and optional) or (isinstance(value, str) and len(value) <= MAX_TEXT)


#: Checks of the exercise entry's fields (a field of Result not listed here must be plain JSON).
ENTRY_CHECKS = {
    "name": _text,
    "module": _text,
    "message": _text,
    "score": _int,
    "max_score": _int,
    "cases_passed": _int,
    "cases_total": _int,
    "status": lambda v: v in STATUSES,
    "failed_case": lambda v: _text(v, True),
    "hint": lambda v: _text(v, True),
    "duration": _number,
    "internal": lambda v: type(v) is bool,
    "calls": lambda v: isinstance(v, list) and all(_call(c) for c in v),
}


def _call(c) -> bool:
    return (
        isinstance(c, dict)
        and _text(c.get("case"))
        and _text(c.get("outcome"))
        and _number(c.get("duration"))
        and _text(c.get("error"), True)
    )


def _check_entry(entry, name: str, points: int) -> None:
    _need(isinstance(entry, dict), "an exercise entry is not an object")
    _need(entry.get("name") == name, f"expected exercise {name!r}, got {str(entry.get('name'))[:40]!r}")
    for key, ok in ENTRY_CHECKS.items():
        _need(key in entry and ok(entry[key]), f"{name}: invalid {key!r}")
    _need(entry["max_score"] == points, f"{name}: max_score is not the exercise's {points} points")
    passed = entry["status"] == str(Status.PASSED)
    # ``--credit independent``: an exercise right once its failing dependencies are fixed keeps
    # its status and earns its points; only such an entry (credited, right once fixed, blocked
    # by something) may carry points without having passed.
    credited = entry.get("credited", False)
    _need(type(credited) is bool, f"{name}: invalid 'credited'")
    if credited:
        _need(
            not passed and entry.get("right_once_fixed") is True and bool(entry.get("blocked_by")),
            f"{name}: credited without being right once its dependencies are fixed",
        )
    _need(
        entry["score"] in ((0, points) if passed or credited else (0,)),
        f"{name}: score does not match status",
    )


def check_answer(text: str | None, task_id: int, names: Mapping[str, int], seed: int) -> dict:
    """The validated report dict of ``text``, the answer to task ``task_id``.

    ``names``: exercise name -> points, in report order. Raises :class:`BadAnswer`,
    whose message is why the submission failed to grade.
    """
    try:
        answer = json.loads(text, parse_constant=lambda c: None)
    except (TypeError, ValueError, RecursionError):
        raise BadAnswer("the grading process sent an unreadable answer") from None
    _need(isinstance(answer, dict) and answer.get("id") == task_id, "the grading process answered another request")
    if "problem" in answer:
        _need(_text(answer["problem"]), "the grading process sent an unreadable problem")
        raise (FatalAnswer if answer.get("fatal") is True else BadAnswer)(answer["problem"][:500])
    report = answer.get("report")
    _need(isinstance(report, dict), "the answer holds no report")
    _depth(report)
    _need(_int(report.get("seed")) and report["seed"] == seed, "the report's seed is not the one asked")
    _need(
        _text(report.get("grader_version")) and _number(report.get("duration")),
        "the report lacks its version or duration",
    )
    entries = report.get("exercises")
    _need(isinstance(entries, list) and len(entries) == len(names), "the report has the wrong exercises")
    for entry, (name, points) in zip(entries, names.items()):
        _check_entry(entry, name, points)
    _need(report.get("score") == sum(e["score"] for e in entries), "the total is not the sum of the scores")
    _need(report.get("max_score") == sum(names.values()), "the maximum is not the sum of the points")
    _need(isinstance(report.get("limits"), dict), "the report lacks its limits")
    iso = report.get("isolation")
    _need(iso is None or isinstance(iso, (dict, str)), "the report's isolation is malformed")
    return report


_RESULT_FIELDS = [f.name for f in dataclasses.fields(Result)]
_REPORT_FIELDS = {f.name for f in dataclasses.fields(Report)}


def to_report(report: dict, submission: str) -> Report:
    """The :class:`Report` of a validated report dict, for the report writers."""
    results = []
    for e in report["exercises"]:
        fields = {k: e[k] for k in _RESULT_FIELDS if k in e}
        fields["status"] = Status(e["status"])
        fields["calls"] = [CallRecord(c["case"], c["outcome"], c["duration"], c.get("error")) for c in e["calls"]]
        results.append(Result(**fields))
    extra = {k: report[k] for k in ("isolation",) if k in _REPORT_FIELDS and k in report}
    return Report(
        results, report["seed"], submission, report["grader_version"], report["duration"], report["limits"], **extra
    )
