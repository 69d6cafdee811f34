"""Root causes and fair credit for exercises that call other graded functions.

A bug in ``step`` fails ``perceptron_predict``, ``perceptron_update`` and
``perceptron_train`` too. The worker notes which of the student's graded
functions each exercise called (``grader/worker/observe.py``); from those notes
and the first verdicts, :func:`settle`:

1. finds, for every exercise that failed, the failing functions it called
   among those it declares it builds on (:func:`builds_on`; a failing call
   outside them is named and earns nothing), and among them the *root
   causes*: those that fail on their own (a function that is right once its
   own dependencies are fixed is not a root cause; its root causes are);
2. grades each such exercise once more with correct dependencies: the calls to
   its failing dependencies are answered by the grader with the reference's
   value (:func:`reference_answer`, over the worker's ask/answer pipes: plain
   data only, bounded by :class:`AskBounds`, never the exercise itself; no
   reference code or object enters the student's process). A backward whose
   forward fails on its own gets a numerical gradient check against the
   student's own forward, as a diagnostic line only (a wrong forward and a
   wrong backward can agree);
3. records the outcome (``blocked_by``, ``right_once_fixed``) and, under the
   credit policy ``independent``, gives the points of an exercise that is right
   once its dependencies are fixed, when those are in the report (so the
   mistake costs its points there, once). The exercise keeps its status (it did
   not pass), so the exit status still says the submission is not fully right.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from grader.results import Result, Status
from grader.spec import Exercise
from grader.verdicts import REFERENCE_LOCK, clean_text
from grader.worker import wire

#: ``--credit`` choices: what an exercise that is right once its dependencies
#: are fixed earns.
CREDIT_POLICIES = {
    "independent": "its points: each mistake costs the points of the function that has it, once",
    "strict": "nothing: an exercise earns its points only when it passes as submitted",
}
DEFAULT_CREDIT = "independent"

#: What a regrade returns: (right?, how: when right, a clause after "Right once ... fixed:";
#: when not, a sentence saying why).
Regrade = Callable[[Exercise, list, frozenset, bool], "tuple[bool, str]"]


def builds_on(name: str, catalogue: Mapping[str, Exercise]) -> frozenset[str]:
    """The graded functions ``name`` may legitimately build on: its declared ``uses``
    and, for a backward, its forward, and theirs in turn; never ``name`` itself.
    Only calls to these are answered in a regrade or earn credit: a function that
    merely *can* be computed from another (``relu(z) = relu_forward(z)[0]``) gets
    nothing from that other's failure."""
    found: set[str] = set()
    todo = [name]
    while todo:
        ex = catalogue.get(todo.pop())
        for dep in (*ex.uses, *((ex.forward,) if ex.forward else ())) if ex is not None else ():
            if dep != name and dep not in found:
                found.add(dep)
                todo.append(dep)
    return frozenset(found)


def substitution(failing: list[str], catalogue: Mapping[str, Exercise], exercise: str) -> frozenset[str]:
    """The functions the grader answers in the regrade of ``exercise``: its failing
    dependencies, and the forward of each failing backward among them (so the
    backward gets a cache the reference understands: the reference's own); only
    what ``exercise`` builds on, never ``exercise`` itself."""
    names = set(failing)
    for name in failing:
        ex = catalogue.get(name)
        if ex is not None and ex.kind == "backward" and ex.forward:
            names.add(ex.forward)
    return frozenset(names & builds_on(exercise, catalogue))


#: How far an ask may go beyond the exercise's own cases (see :class:`AskBounds`).
ASK_SCALE = 4
#: Asks answered per case of the exercise (perceptron_train asks for step once per
#: sample and epoch; lstm_forward for its cell once per step).
ASKS_PER_CASE = 64
#: The most an answer may hold once encoded: well under the worker server's line limit.
MAX_ANSWER_BYTES = wire.MAX_PAYLOAD // 4
MAX_ASK_STRING = 64


class AskBounds:
    """What a legitimate ask of one exercise can look like, from its own cases: no
    array larger than ``ASK_SCALE`` times its largest array (and no more values in all
    than ``ASK_SCALE`` times its largest case holds), no integer (stride,
    padding, size) and no axis beyond ``ASK_SCALE`` times its largest integer or
    axis, no complex numbers, at most ``ASKS_PER_CASE`` asks per case. An ask
    beyond them is refused: the reference's cost stays that of grading the case."""

    def __init__(self, cases) -> None:
        sizes, ints, totals = [1], [1], [1]
        for case in cases:
            first = len(sizes)
            for value in (*case.args, *case.kwargs.values(), *case.upstream):
                _measure(value, sizes, ints)
            totals.append(sum(sizes[first:]))
        self.max_size, self.max_int = ASK_SCALE * max(sizes), ASK_SCALE * max(ints)
        self.max_total = ASK_SCALE * max(totals)  # many arrays, each within bounds, are bounded too
        self.max_asks = ASKS_PER_CASE * max(1, len(cases))

    def admits(self, value) -> bool:
        return self._admits(value, 0, [self.max_total])

    def _admits(self, value, depth: int, budget: list) -> bool:
        if depth > wire.MAX_DEPTH:
            return False
        t = type(value)
        if t is np.ndarray:
            budget[0] -= value.size
            return (
                value.dtype.kind in "biuf"
                and value.size <= self.max_size
                and budget[0] >= 0
                and all(n <= self.max_int for n in value.shape)
            )
        if t in (list, tuple, dict):
            budget[0] -= len(value)
            items = value.values() if t is dict else value
            return budget[0] >= 0 and all(self._admits(v, depth + 1, budget) for v in items)
        if t is bool or value is None:
            return True
        if t is int or isinstance(value, np.integer):
            return abs(int(value)) <= self.max_int
        if t is float or isinstance(value, np.floating):
            return True
        if t is str:
            return len(value) <= MAX_ASK_STRING
        return False  # complex numbers, wire.Unsupported and anything else


def _measure(value, sizes: list, ints: list) -> None:
    if isinstance(value, np.ndarray):
        sizes.append(value.size)
        ints.extend(value.shape)
    elif isinstance(value, (list, tuple)):
        sizes.append(len(value))
        for v in value:
            _measure(v, sizes, ints)
    elif isinstance(value, dict):
        for v in value.values():
            _measure(v, sizes, ints)
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        ints.append(abs(int(value)))


def reference_answer(
    catalogue: Mapping[str, Exercise],
    allowed: frozenset[str],
    exercise: str,
    bounds: AskBounds,
    package: str = "solutions",
) -> Callable[[bytes], dict]:
    """The grader's side of the asks in the regrade of ``exercise``: ``{"name", "args",
    "kwargs"}`` from the child (untrusted bytes, decoded with the wire's bounds) ->
    ``{"value": ...}`` computed by the reference, or ``{"error": ...}``. Only the
    ``allowed`` names, never ``exercise`` itself, only arguments within ``bounds``,
    at most ``bounds.max_asks`` times. This is the whole trust boundary of a regrade."""
    asked = [0]

    def answer(data: bytes) -> dict:
        asked[0] += 1
        if asked[0] > bounds.max_asks:
            return {"error": "refused: too many calls"}
        try:
            doc = wire.loads(data)
            name = doc.get("name") if type(doc) is dict else None
            if type(name) is not str or name == exercise or name not in allowed or name not in catalogue:
                return {"error": "refused: not a dependency the grader answers"}
            args, kwargs = wire.decode(doc.get("args")), wire.decode(doc.get("kwargs"))
        except wire.DecodeError:
            return {"error": "refused: unreadable arguments"}
        if type(args) is not list or type(kwargs) is not dict or not bounds.admits([args, kwargs]):
            return {"error": "refused: arguments beyond what the exercise's cases need"}
        ex = catalogue[name]
        try:
            func = getattr(importlib.import_module(f"{package}.{ex.module}"), name)
            with REFERENCE_LOCK, warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = wire.encode(func(*args, **kwargs))
        except Exception as exc:
            return {"error": f"refused: the correct {name} rejected these arguments ({type(exc).__name__})"}
        if len(wire.dumps(value)) > MAX_ANSWER_BYTES:
            return {"error": "refused: the answer is too large"}
        return {"value": value}

    return answer


def _names(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def settle(
    results: Mapping[str, Result],
    catalogue: Mapping[str, Exercise],
    regrade: Regrade,
    credit: str = DEFAULT_CREDIT,
    run=None,
    reported=None,
) -> None:
    """Root causes, regrades and credit, in place on ``results`` (every exercise
    graded, including dependencies graded only to learn their verdict).

    ``regrade(ex, failing, substitute, gradcheck)`` grades ``ex`` once more;
    ``run(fn, items)`` maps ``fn`` over ``items`` (in parallel), default serial;
    ``reported``: the names in the report (default: all of ``results``). Credit
    comes only through dependencies that ``ex`` declares it builds on
    (:func:`builds_on`), that were called, fail, and are in the report: a
    mistake is paid for once, where it is, never zero times.
    """
    if credit not in CREDIT_POLICIES:
        raise ValueError(f"unknown credit policy {credit!r}")
    reported = set(results if reported is None else reported)
    failing = {name for name, r in results.items() if not r.passed}
    called = {
        name: [d for d in dict.fromkeys(results[name].depends_on) if d in failing and d != name] for name in failing
    }
    allowed = {name: builds_on(name, catalogue) for name in failing}
    deps = {name: [d for d in called[name] if d in allowed[name]] for name in failing}
    stray = {name: [d for d in called[name] if d not in allowed[name]] for name in failing}
    todo = [name for name in failing if deps[name] and name in catalogue]
    outcomes: dict[str, tuple[bool | None, str]] = {}

    def on_failing_forward(name: str) -> bool:
        ex = catalogue[name]
        return ex.kind == "backward" and ex.forward in deps[name]

    def one(name: str) -> tuple[str, bool | None, str]:
        ex = catalogue[name]
        # A backward whose forward fails on its own gets a gradient check against that
        # forward, as a diagnostic only: a wrong forward and a wrong backward can agree
        # (a constant forward, a zero backward), so it never earns anything. One whose
        # forward is right once *its* dependencies are fixed is graded as usual, those
        # dependencies answered by the grader.
        gradcheck = on_failing_forward(name) and outcomes.get(ex.forward, (False, ""))[0] is not True
        if gradcheck and (results[ex.forward].status is Status.NOT_IMPLEMENTED or not ex.wrt):
            return name, None, ""  # nothing to judge it against, or no way to: not graded again
        substitute = (
            frozenset()
            if gradcheck
            else substitution(
                [d for d in deps[name] if d != ex.forward or not on_failing_forward(name)], catalogue, name
            )
        )
        try:
            right, how = regrade(ex, deps[name], substitute, gradcheck)
        except Exception as exc:
            return name, None, f"It could not be graded again (grader problem: {type(exc).__name__})."
        if gradcheck:
            return name, None, (f"Diagnostic only, no credit: {how}." if right else f"Diagnostic: {how}")
        return name, right, how

    # forwards (and everything else) first: a backward's regrade depends on its forward's
    for batch in ([n for n in todo if not on_failing_forward(n)], [n for n in todo if on_failing_forward(n)]):
        outcomes.update({name: (right, how) for name, right, how in (run or _serial)(one, batch)})
    own = {name: not deps[name] or outcomes.get(name, (False, ""))[0] is not True for name in failing}

    memo: dict[str, list[str]] = {}

    def roots(name: str, visiting: frozenset = frozenset()) -> list[str]:
        if name in memo:
            return memo[name]
        found: dict[str, None] = {}
        for d in deps.get(name, []):
            if own.get(d, True):
                found[d] = None
            elif d not in visiting:
                found.update(dict.fromkeys(roots(d, visiting | {name})))
        memo[name] = [d for d in (list(found) or deps.get(name, [])) if d != name]
        return memo[name]

    for name in failing:
        r = results[name]
        lines = []
        if deps[name]:
            r.blocked_by = roots(name)
            right, how = outcomes.get(name, (None, "It could not be graded again."))
            r.right_once_fixed = right
            blockers = _names(r.blocked_by)
            first = (
                f"Fails because your {blockers} {'fails' if len(r.blocked_by) == 1 else 'fail'}: fix {blockers} first."
            )
            unreported = [d for d in r.blocked_by if d not in reported]
            if right:
                r.credited = credit == "independent" and not unreported
                if r.credited:
                    r.score = r.max_score
                first += f" Right once {blockers} {'is' if len(r.blocked_by) == 1 else 'are'} fixed: {how} " + (
                    "(credit independent: the points are yours)."
                    if r.credited
                    else f"(no credit: {_names(unreported)} {'is' if len(unreported) == 1 else 'are'} "
                    "not graded in this run; grade it too to earn these points)."
                    if unreported
                    else "(credit strict: no points until it passes as submitted)."
                )
            elif how:
                first += f" {how}"
            lines.append(first)
        if stray[name]:
            lines.append(
                f"It calls your failing {_names(stray[name])}, which {name} is not meant to build on: "
                "that earns it nothing."
            )
        if lines:
            r.message = clean_text("\n".join(lines + [r.message]))


def _serial(fn, items):
    return [fn(item) for item in items]
