"""``grader.check``: the notebook's self-check, one function graded in the current process.

It prints one line when the exercise passes and returns the result, which a
notebook does not display (so a test cell shows that line and nothing else);
otherwise it raises ``AssertionError`` whose message is the head line and
nngrade's feedback, plain text. It is a self-check: the code runs in the
student's own kernel, so nothing it says is recorded; recorded grades come
from the sandboxed grader (``grader.notebooks.autograde``).
"""

from __future__ import annotations

import copy
import difflib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from grader.results import Result
from grader.runner import case_rng, gradcheck_request, reference_values
from grader.verdicts import judge
from grader.worker import protocol, wire

_GRADER_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep


#: said after every self-check, passed or not.
SELF_CHECK_NOTE = "self-check only: your grade is computed when your notebook is graded"


def head_line(result: Result) -> str:
    """``sigmoid: passed, 7/7 cases, 2/2 points``."""
    return (
        f"{result.name}: {result.status}, {result.cases_passed}/{result.cases_total} cases, "
        f"{result.score:g}/{result.max_score:g} points"
    )


@dataclass(repr=False)
class CheckResult(Result):
    """A result that a notebook does not display: ``check`` has printed its line already."""

    def __repr__(self) -> str:
        return f"<{head_line(self)}>"

    def _ipython_display_(self) -> None:
        """Display nothing (an execute_result nbgrader would try to read as a score)."""


class CheckFailed(AssertionError):
    """The self-check did not pass; a notebook shows the feedback alone, not our frames."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows these lines instead of a traceback through the grader."""
        return [f"{type(self).__name__}: {self.args[0].splitlines()[0]}", *self.args[0].splitlines()[1:]]


def _students_frame(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return not (path.startswith(_GRADER_DIR) or path.startswith(_NUMPY_DIR))


def check(name: str, func: Callable, *, seed: int = 0, forward: Callable | None = None, catalogue=None) -> Result:
    """Grade ``func`` as exercise ``name``: the same cases, comparison and feedback as nngrade.

    For a backward exercise, ``forward`` defaults to the function of the
    exercise's forward name in ``func``'s globals (the notebook's namespace).
    When the exercise passed, prints one line (``sigmoid: passed, 7/7 cases,
    2/2 points (self-check only: ...)``) and returns the result
    (:class:`CheckResult`: attributes and a dict view: name, score,
    max_score, status, message, ...). Otherwise raises :class:`CheckFailed`
    (an ``AssertionError``): that line, then the feedback, with the result as
    ``err.result``; a notebook shows that text alone, no traceback. No
    isolation: the code runs here, like any notebook cell; a self-check.
    """
    __tracebackhide__ = True  # IPython and pytest show the student's frames, not ours
    if catalogue is None:
        from grader.catalogue import EXERCISES as catalogue
    if name not in catalogue:
        close = difflib.get_close_matches(name, list(catalogue), n=3)
        raise KeyError(f"unknown exercise {name!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
    ex = catalogue[name]
    if ex.kind == "backward" and forward is None:
        forward = getattr(func, "__globals__", {}).get(ex.forward)
    cases = ex.cases(case_rng(seed, name))
    expected = reference_values(ex, cases)
    inputs = [copy.deepcopy((tuple(c.args), dict(c.kwargs), tuple(c.upstream))) for c in cases]
    records = protocol.run_cases(ex.kind, func, forward, inputs, _students_frame)
    gc = gradcheck_request(ex, cases, seed)
    encoded = None
    if gc is not None:
        c = cases[gc["case"]]
        encoded = {
            "args": wire.encode(tuple(c.args)),
            "kwargs": wire.encode(dict(c.kwargs)),
            "upstream": wire.encode(tuple(c.upstream)),
        }
    try:
        target = forward if ex.kind == "backward" and forward is not None else func
        params = list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        params = None
    doc = {
        "load": {"outcome": "ok"},
        "violations": [],
        "params": params,
        "cases": records,
        "gradcheck": protocol.run_gradcheck(func, forward, encoded, records, gc) if gc else None,
    }
    # The same plain-data round trip as a worker's answer: the same strictness.
    judged = judge(ex, cases, expected, wire.loads(wire.dumps(doc)), f"{ex.module}.py")
    result = CheckResult(**{f.name: getattr(judged, f.name) for f in fields(judged)})
    if not result.passed:
        err = CheckFailed(f"{head_line(result)} ({SELF_CHECK_NOTE})\n\n{result.message}")
        err.result = result  # type: ignore[attr-defined]
        raise err
    print(f"{head_line(result)} ({SELF_CHECK_NOTE})")
    return result
