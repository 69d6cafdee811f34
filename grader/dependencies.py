"""Root causes and fair credit for exercises that call other graded functions.

A bug in ``step`` fails ``perceptron_predict``, ``perceptron_update`` and
``perceptron_train`` too. The worker notes which of the student's graded
functions each exercise called (``grader/worker/observe.py``); from those notes
and the first verdicts, :func:`settle`:

1. finds, for every exercise that failed, the failing functions it called
   and among them the *root causes*: those that fail on their own (a function
   that is right once its own dependencies are fixed is not a root cause; its
   root causes are);
2. grades each such exercise once more with correct dependencies: the calls to
   its failing dependencies are answered by the grader with the reference's
   value (:func:`reference_answer`, over the worker's ask/answer pipes: plain
   data only, no reference code or object enters the student's process). A
   backward whose forward fails is judged instead by a numerical gradient
   check against the student's own forward;
3. records the outcome (``blocked_by``, ``right_once_fixed``) and, under the
   credit policy ``independent``, gives the points of an exercise that is right
   once its dependencies are fixed. The exercise keeps its status (it did not
   pass), so the exit status still says the submission is not fully right.
"""

from __future__ import annotations

import importlib
from typing import Callable, Mapping

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


def substitution(failing: list[str], catalogue: Mapping[str, Exercise]) -> frozenset[str]:
    """The functions the grader answers in a regrade: the failing dependencies, and
    the forward of each failing backward among them (so the backward gets a cache
    the reference understands: the reference's own)."""
    names = set(failing)
    for name in failing:
        ex = catalogue.get(name)
        if ex is not None and ex.kind == "backward" and ex.forward:
            names.add(ex.forward)
    return frozenset(names)


def reference_answer(catalogue: Mapping[str, Exercise], allowed: frozenset[str],
                     package: str = "solutions") -> Callable[[bytes], dict]:
    """The grader's side of a regrade's asks: ``{"name", "args", "kwargs"}`` from the
    child (untrusted bytes, decoded with the wire's bounds) -> ``{"value": ...}``
    computed by the reference, or ``{"error": ...}``. Only ``allowed`` names."""

    def answer(data: bytes) -> dict:
        try:
            doc = wire.loads(data)
            name = doc.get("name") if type(doc) is dict else None
            if type(name) is not str or name not in allowed or name not in catalogue:
                return {"error": "not a dependency the grader answers"}
            args, kwargs = wire.decode(doc.get("args")), wire.decode(doc.get("kwargs"))
        except wire.DecodeError as exc:
            return {"error": f"unreadable arguments ({str(exc)[:80]})"}
        if type(args) is not list or type(kwargs) is not dict or _has_unsupported([args, kwargs]):
            return {"error": "the arguments are not plain numeric data"}
        ex = catalogue[name]
        try:
            func = getattr(importlib.import_module(f"{package}.{ex.module}"), name)
            with REFERENCE_LOCK, np.errstate(all="ignore"):
                value = func(*args, **kwargs)
            return {"value": wire.encode(value)}
        except Exception as exc:  # noqa: BLE001 - bad arguments from student code
            return {"error": f"the correct {name} rejected these arguments ({type(exc).__name__})"}

    return answer


def _has_unsupported(value) -> bool:
    if isinstance(value, wire.Unsupported):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_unsupported(v) for v in value)
    if isinstance(value, dict):
        return any(_has_unsupported(v) for v in value.values())
    return False


def _names(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def settle(results: Mapping[str, Result], catalogue: Mapping[str, Exercise], regrade: Regrade,
           credit: str = DEFAULT_CREDIT, run=None) -> None:
    """Root causes, regrades and credit, in place on ``results`` (every exercise
    graded, including dependencies graded only to learn their verdict).

    ``regrade(ex, failing, substitute, gradcheck)`` grades ``ex`` once more;
    ``run(fn, items)`` maps ``fn`` over ``items`` (in parallel), default serial.
    """
    if credit not in CREDIT_POLICIES:
        raise ValueError(f"unknown credit policy {credit!r}")
    failing = {name for name, r in results.items() if not r.passed}
    deps = {name: [d for d in dict.fromkeys(results[name].depends_on) if d in failing and d != name]
            for name in failing}
    todo = [name for name in failing if deps[name] and name in catalogue]
    outcomes: dict[str, tuple[bool | None, str]] = {}

    def on_failing_forward(name: str) -> bool:
        ex = catalogue[name]
        return ex.kind == "backward" and ex.forward in deps[name]

    def one(name: str) -> tuple[str, bool | None, str]:
        ex = catalogue[name]
        # A backward whose forward fails on its own is judged against that forward by
        # a gradient check; one whose forward is right once *its* dependencies are
        # fixed is graded as usual, those dependencies answered by the grader.
        gradcheck = on_failing_forward(name) and outcomes.get(ex.forward, (False, ""))[0] is not True
        if gradcheck and (results[ex.forward].status is Status.NOT_IMPLEMENTED or not ex.wrt):
            return name, None, ""  # nothing to judge it against, or no way to: not graded again
        substitute = substitution([d for d in deps[name] if d != ex.forward or not on_failing_forward(name)],
                                  catalogue)
        try:
            right, how = regrade(ex, deps[name], substitute, gradcheck)
        except Exception as exc:  # noqa: BLE001 - a grader bug costs the regrade, never the run
            return name, None, f"It could not be graded again (grader problem: {type(exc).__name__})."
        return name, right, how

    # forwards (and everything else) first: a backward's regrade depends on its forward's
    for batch in ([n for n in todo if not on_failing_forward(n)], [n for n in todo if on_failing_forward(n)]):
        outcomes.update({name: (right, how) for name, right, how in (run or _serial)(one, batch)})
    own = {name: not deps[name] or not outcomes.get(name, (False, ""))[0] for name in failing}

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
        memo[name] = list(found) or list(deps.get(name, []))
        return memo[name]

    for name in failing:
        r = results[name]
        if not deps[name]:
            continue
        r.blocked_by = roots(name)
        right, how = outcomes.get(name, (False, "It could not be graded again."))
        r.right_once_fixed = right
        blockers = _names(r.blocked_by)
        first = f"Fails because your {blockers} {'fails' if len(r.blocked_by) == 1 else 'fail'}: fix {blockers} first."
        if right:
            r.credited = credit == "independent"
            if r.credited:
                r.score = r.max_score
            first += (f" Right once {blockers} {'is' if len(r.blocked_by) == 1 else 'are'} fixed: {how} "
                      + ("(credit independent: the points are yours)." if r.credited
                         else "(credit strict: no points until it passes as submitted)."))
        elif how:
            first += f" {how}"
        r.message = clean_text(first + "\n" + r.message)


def _serial(fn, items):
    return [fn(item) for item in items]
