"""The driver checks every answer of a batch worker before it writes a grade from it."""

from __future__ import annotations

import copy
import io
import json

import pytest

from grader.batch.validate import BadAnswer, FatalAnswer, check_answer, to_report
from grader.reports import FORMATS
from grader.results import CallRecord, Report, Result, Status

POINTS = {"relu": 1, "softmax": 2}


def _report() -> Report:
    return Report(
        [
            Result(
                "relu",
                "activations",
                1,
                1,
                Status.PASSED,
                "",
                3,
                3,
                duration=0.1,
                calls=[CallRecord("case 1", "passed", 0.001)],
            ),
            Result(
                "softmax",
                "activations",
                0,
                2,
                Status.FAILED,
                "Wrong output in case 2 of 5",
                1,
                5,
                failed_case="case 2",
                hint="softmax over the wrong axis",
                duration=0.2,
                calls=[CallRecord("case 2", "failed", 0.002, "wrong values")],
            ),
        ],
        seed=7,
        submission="/tmp/x",
        grader_version="0.1.0",
        duration=0.5,
        limits={"timeout": 10.0},
    )


def _valid() -> dict:
    text = io.StringIO()
    FORMATS["json"]().write(_report(), text, False)
    return json.loads(text.getvalue())


def _answer(report, task_id=3) -> str:
    return json.dumps({"id": task_id, "report": report})


def test_a_genuine_report_is_accepted_and_rebuilds_the_same_reports():
    report = check_answer(_answer(_valid()), 3, POINTS, 7)
    rebuilt = to_report(report, "/tmp/x")
    for fmt, writer in FORMATS.items():
        a, b = io.StringIO(), io.StringIO()
        writer().write(_report(), a, False)
        writer().write(rebuilt, b, False)
        assert a.getvalue() == b.getvalue(), fmt


def _forged(change) -> dict:
    report = copy.deepcopy(_valid())
    change(report)
    return report


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda r: r["exercises"][1].update(score=2), "softmax: score does not match status"),
        (lambda r: r["exercises"][0].update(max_score=5), "relu: max_score is not the exercise's 1 points"),
        (lambda r: r["exercises"][1].update(status="excellent"), "softmax: invalid 'status'"),
        (lambda r: r["exercises"].reverse(), "expected exercise 'relu'"),
        (lambda r: r["exercises"].pop(), "the report has the wrong exercises"),
        (lambda r: r.update(score=3), "the total is not the sum of the scores"),
        (lambda r: r.update(seed=8), "the report's seed is not the one asked"),
        (lambda r: r["exercises"][0].update(message="x" * (2 << 20)), "relu: invalid 'message'"),
        (lambda r: r["exercises"][0].update(cases_passed="3"), "relu: invalid 'cases_passed'"),
        (lambda r: r["exercises"][0]["calls"].append({"case": 1}), "relu: invalid 'calls'"),
        (
            lambda r: r["exercises"][0].update(gradient_check=[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]),
            "the report nests too deep",
        ),
        (lambda r: r.update(isolation=3), "the report's isolation is malformed"),
        (lambda r: r["exercises"][1].update(credited="yes"), "softmax: invalid 'credited'"),
        (
            lambda r: r["exercises"][1].update(score=2, credited=True),
            "softmax: credited without being right once its dependencies are fixed",
        ),
    ],
)
def test_a_forged_or_broken_report_is_refused_with_its_reason(change, reason):
    with pytest.raises(BadAnswer, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        check_answer(_answer(_forged(change)), 3, POINTS, 7)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("not json", "the grading process sent an unreadable answer"),
        (None, "the grading process sent an unreadable answer"),
        ('{"id": 3, "report": {"duration": NaN}}', "the report's seed is not the one asked"),
        ("[1, 2]", "the grading process answered another request"),
        (_answer(_valid(), task_id=4), "the grading process answered another request"),
        ('{"id": 3}', "the answer holds no report"),
        ('{"id": 3, "problem": "notebook conversion failed"}', "notebook conversion failed"),
        ("[" * 100000 + "]" * 100000, "the grading process sent an unreadable answer"),
    ],
)
def test_malformed_answers_are_refused(text, reason):
    with pytest.raises(BadAnswer) as err:
        check_answer(text, 3, POINTS, 7)
    assert str(err.value).startswith(reason) and not isinstance(err.value, FatalAnswer)


def test_a_fatal_problem_stops_the_batch():
    with pytest.raises(FatalAnswer, match="no sandbox"):
        check_answer('{"id": 3, "problem": "no sandbox", "fatal": true}', 3, POINTS, 7)


def test_a_credited_exercise_is_a_grade_not_a_failure_to_grade():
    """--credit independent (the default, and the batch's): a failing exercise that is right
    once its failing dependency is fixed earns its points; that report is genuine."""

    def credit(r):
        r["exercises"][1].update(score=2, credited=True, right_once_fixed=True, blocked_by=["relu"])
        r["score"] = 3

    report = check_answer(_answer(_forged(credit)), 3, POINTS, 7)
    assert report["score"] == 3 and report["exercises"][1]["status"] == "failed"
