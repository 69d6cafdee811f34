"""Cases and hints for ``gradcheck.py`` (the students' own gradient checker).

``numerical_gradient(f, x, h)`` takes a function, and a case is plain data: its
first argument is the *description* of a scalar function of ``x`` (a name of
``grader/worker/scalar_functions.py`` and plain arrays), which the worker
turns into the callable the student's code gets, and the grader into the one
the reference gets (the ``"higher_order"`` protocol of ``grader/spec.py``).
The expected gradients are the reference's central differences of that same
function, computed in the grader process.

``x`` is always a float64 array, C-contiguous (arrays cross the wire so): the
stub's docstring promises float, and an integer array cannot be nudged by h
in place (the model answer raises ``TypeError``). Shapes 1-D to 3-D; the
default step and explicit ones, by keyword and by position; integer values;
one ``f`` that reads ``x`` itself and ignores its argument, as a loss closing
over a layer's input does (the stub says: nudge ``x`` itself, not a copy).

Tolerances: the defaults (rtol 1e-6, atol 1e-9). A right answer evaluates f
at the grader's very points, so it agrees to rounding: only the way
``x[i] +- h`` is formed may move a point by an ulp of ``x``, about 1e-11 of the
gradient at h = 1e-5. The slips are far outside: a one-sided difference is
off by h f''/2 (1e-5 on the worked example, whose gradient is 1 to 4); at
h = 0.01 the exact derivative, and a difference with any other step, are off
by h**2 f'''/6 (1e-4 for sum(x**3), a hundred times the tolerance).
tests/grader/test_catalogue.py measures these margins on every case.
``rel_error`` is graded as a plain function.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from grader.catalogue._cases import integers, label, randn
from grader.catalogue._hints import matches_variant, non_finite, reference, scaled_by, transposed
from grader.spec import Case, Exercise
from grader.worker.scalar_functions import SCALAR_FUNCTIONS, build, describe

Ex = functools.partial(Exercise, module="gradcheck", kind="function")

#: The step numerical_gradient takes when the caller gives none (the contract's default).
DEFAULT_H = 1e-5


# -- numerical_gradient ----------------------------------------------------------------


def _case(kind: str, spec: dict, x: np.ndarray, h: float | None = None, positional: bool = False) -> Case:
    reads = " read from x itself (f ignores its argument)" if spec["reads_x"] else ""
    step = "default h" if h is None else f"h={h:g}" + (" (positional)" if positional else "")
    text = f"{label(kind, {'x': x})} f = {SCALAR_FUNCTIONS[spec['name']].formula}{reads}, {step}"
    args = (spec, x, h) if positional else (spec, x)
    return Case(text, args=args, kwargs={"h": h} if h is not None and not positional else {})


def numerical_gradient_cases(rng: np.random.Generator) -> list[Case]:
    worked = np.array([1.0, -2.0, 0.5])
    cases = [
        Case(
            "worked example: f = sum(x**2) at x = [1, -2, 0.5], default h (gradient 2x = [2, -4, 1])",
            args=(describe("sum_of_squares"), worked),
        ),
        _case("random", describe("sum_of_cubes"), randn(rng, 7), h=1e-2),
        _case("random", describe("weighted_tanh", {"w": randn(rng, 3, 4)}), randn(rng, 3, 4)),
        _case("random square", describe("weighted_tanh", {"w": randn(rng, 4, 4)}), randn(rng, 4, 4), h=1e-2),
        _case("random", describe("sin_exp"), randn(rng, 2, 3, 4), h=1e-2),
        _case("random", describe("sin_exp"), randn(rng, 4, 5)),
        _case(
            "random scores",
            describe("softmax_loss", {"labels": rng.integers(0, 3, size=5)}),
            randn(rng, 5, 3, scale=2.0),
        ),
        _case(
            "random scores",
            describe("softmax_loss", {"labels": rng.integers(0, 4, size=(2, 3))}),
            randn(rng, 2, 3, 4),
            h=1e-2,
            positional=True,
        ),
        _case("random", describe("sum_of_cubes", reads_x=True), randn(rng, 2, 3), h=1e-2),
        _case("integer-valued", describe("sum_of_squares"), integers(rng, 2, 2, 3)),
    ]
    return cases


def _step(case: Case) -> float:
    """The h of a case: by keyword, by position, else the default."""
    if "h" in case.kwargs:
        return float(case.kwargs["h"])
    return float(case.args[2]) if len(case.args) > 2 else DEFAULT_H


def _by_entry(case: Case, difference) -> np.ndarray:
    """What an implementation returns that takes ``difference(f, x, idx, h)`` for each
    entry of (a copy of) x, in order; ``difference`` may leave x changed (a slip)."""
    x = np.array(case.args[1], dtype=np.float64)
    f = build(case.args[0], x)
    h = _step(case)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        grad[idx] = difference(f, x, idx, h)
    return grad


def _central(f, x, idx, h):
    old = x[idx]
    x[idx] = old + h
    plus = f(x)
    x[idx] = old - h
    minus = f(x)
    x[idx] = old
    return (plus - minus) / (2 * h)


def _forward(f, x, idx, h):
    old = x[idx]
    x[idx] = old + h
    plus = f(x)
    x[idx] = old
    return (plus - f(x)) / h


def _left_at_minus_h(f, x, idx, h):
    old = x[idx]
    x[idx] = old + h
    plus = f(x)
    x[idx] = old - h
    return (plus - f(x)) / (2 * h)  # x[idx] stays at old - h for every later entry


def _default_step(case: Case):
    """The central difference with the default step (also the exact derivative, within 1e-10)."""
    return None if _step(case) == DEFAULT_H else _by_entry(case, lambda f, x, idx, h: _central(f, x, idx, DEFAULT_H))


_model = reference("gradcheck", "numerical_gradient", kind="higher_order")


def _ref_numgrad(case: Case):
    """The model answer on a copy of x (it nudges x in place; the case's own array stays untouched)."""
    return _model(dataclasses.replace(case, args=(case.args[0], np.array(case.args[1]), *case.args[2:])))


numerical_gradient = Ex(
    name="numerical_gradient",
    kind="higher_order",
    points=2,
    cases=numerical_gradient_cases,
    hints=(
        matches_variant(
            _ref_numgrad,
            lambda case: np.zeros(np.shape(case.args[1])),
            "the gradient is (nearly) 0 where f does change with x: each nudge must reach f: "
            "nudge x itself in place and call f(x) (f may read x rather than its argument, like a "
            "loss closing over a layer's input, so a nudged copy changes nothing), and divide by "
            "(2 * h) in brackets (/ 2 * h multiplies by h).",
        ),
        scaled_by(
            _ref_numgrad,
            2,
            "twice the central difference: f(x + h e_i) and f(x - h e_i) are 2h apart, so divide by (2 * h), not by h.",
        ),
        scaled_by(
            _ref_numgrad,
            lambda case: _step(case) ** 2,
            "h**2 times the central difference: (f_plus - f_minus) / 2 * h multiplies by h; divide by (2 * h).",
        ),
        matches_variant(
            _ref_numgrad,
            lambda case: _by_entry(case, _forward),
            "a one-sided difference (f(x + h e_i) - f(x)) / h, whose error is of order h: take the central "
            "difference (f(x + h e_i) - f(x - h e_i)) / (2h), accurate to order h**2.",
        ),
        matches_variant(
            _ref_numgrad,
            _default_step,
            "the result is the exact derivative, or a difference with another step than the h passed in: "
            "numerical_gradient returns the central difference with the given h, which differs from the "
            "derivative by about h**2 f'''/6 (1e-4 at h = 0.01 for sum(x**3)); use the argument h.",
        ),
        matches_variant(
            _ref_numgrad,
            lambda case: _by_entry(case, _left_at_minus_h),
            "x[i] is not restored after its two evaluations, so every later entry is taken at a moved point: "
            "save old = x[i], and set x[i] = old again right after computing f(x + h e_i) and f(x - h e_i).",
        ),
        matches_variant(
            _ref_numgrad,
            lambda case: np.ravel(_ref_numgrad(case)),
            "the right numbers in a flat array: return the gradient in x's shape "
            "(grad = np.zeros_like(x), indexed like x, e.g. by np.ndindex(*x.shape)).",
        ),
        transposed(
            _ref_numgrad,
            "the gradient is transposed: grad[i] is the derivative with respect to x[i], at the same index.",
        ),
    ),
    description="Central differences (f(x + h e_i) - f(x - h e_i)) / 2h of a scalar f; x restored",
    modified_advice="x must hold exactly its original values when numerical_gradient returns: save old = x[i] "
    "and restore x[i] = old right after each entry's two evaluations of f (x[i] + h - h is not always "
    "x[i] in floating point).",
)


# -- rel_error ---------------------------------------------------------------------------


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


def rel_error_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: a = [1, 2, 0], b = [1, 2.2, 0] (0 / 0 floored by 1e-8)",
            args=(np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.2, 0.0])),
        )
    ]
    for shape, noise in (((4, 3), 1e-6), ((7,), 1e-2), ((2, 3, 4), 1e-4)):
        a = randn(rng, *shape)
        b = a * (1 + noise * randn(rng, *shape))
        cases.append(Case(label("random", {"a": a, "b": b}) + f" relative noise {noise:g}", args=(a, b)))
    a = randn(rng, 3, 4)
    a.reshape(-1)[:3] = 0.0
    b = a.copy()
    b.reshape(-1)[:2] = 1e-12  # differences next to zero: only the floor keeps them small
    cases.append(Case(label("exact zeros and near-zero differences", {"a": a, "b": b}), args=(a, b)))
    a, b = randn(rng, 5), randn(rng, 5)
    cases.append(Case(label("unrelated arrays", {"a": a, "b": b}), args=(a, b)))
    return cases


def _mean_not_max(case: Case):
    a, b = _pair(*case.args)
    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _one_sided(case: Case):
    a, b = _pair(*case.args)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(b))))


_ref_rel = reference("gradcheck", "rel_error")
rel_error = Ex(
    name="rel_error",
    points=1,
    cases=rel_error_cases,
    atol=1e-18,
    hints=(
        non_finite(
            _ref_rel,
            "NaN or inf where a and b are both 0: the denominator is max(1e-8, |a| + |b|), floored so it is never 0.",
        ),
        matches_variant(
            _ref_rel,
            _mean_not_max,
            "the mean of the relative errors: rel_error is their MAXIMUM (one bad entry must show).",
        ),
        matches_variant(_ref_rel, _one_sided, "the denominator is |a| + |b| (symmetric in a and b), not |b| alone."),
    ),
    description="The largest relative difference max(|a - b| / max(1e-8, |a| + |b|))",
)


EXERCISES = [numerical_gradient, rel_error]
