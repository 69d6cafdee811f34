"""Cases and hints for ``gradcheck.py`` (the students' own gradient checker).

``numerical_gradient(f, x, h)`` takes a function: a case cannot carry one
(cases are plain data, and the worker builds nothing but plain data from
them), so it is taught and used, not graded; ``UNGRADED`` says so, and the
notebooks give it a solution cell without a test cell. ``rel_error`` is graded.
"""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import label, randn
from grader.catalogue._hints import matches_variant, non_finite, reference
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="gradcheck", kind="function")

#: Functions of the module the catalogue does not grade, with the reason.
UNGRADED = {"numerical_gradient": "takes a function, which a graded case cannot pass to the worker"}


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


EXERCISES = [rel_error]
