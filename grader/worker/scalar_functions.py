"""Named scalar test functions: the ``f`` a graded case hands to ``numerical_gradient``.

A case is plain data (:mod:`.wire`), so it cannot carry a function: it carries
a *description* of one, ``{"name": ..., "params": {...}, "reads_x": bool}``
(a registry name and plain arrays), and :func:`build` turns it into the
callable, in the worker for the student's code and in the grader for the
reference, from this one registry (the grader's expected values are computed
in the grader process, never taken from a worker).

What :func:`build` returns is a closure over private copies of the parameter
arrays and a registry function; it reaches nothing else (this module imports
NumPy alone) and it is pure: every call reads the array it is given (or, with
``reads_x``, the case's ``x`` itself, as ``lambda _: loss(x)`` does in the
course) at that moment, so nudging ``x`` in place between calls is exactly
how it is meant to be used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class ScalarFunction(NamedTuple):
    """A registry entry: the formula a case's label shows, and the function ``fn(x, **params)``."""

    formula: str
    fn: Callable[..., float]


def _floats(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _same_shape(x, like: np.ndarray, what: str) -> np.ndarray:
    x = _floats(x)
    if x.shape != like.shape:
        raise ValueError(f"f takes an array of x's shape {like.shape} ({what}), got shape {x.shape}")
    return x


def sum_of_squares(x) -> float:
    """Quadratic: a central difference is exact (f''' = 0), a one-sided one is off by h."""
    x = _floats(x)
    return float(np.sum(x * x))


def sum_of_cubes(x) -> float:
    """f''' = 6: a central difference is off the derivative 3x**2 by exactly h**2."""
    x = _floats(x)
    return float(np.sum(x**3))


def sin_exp(x) -> float:
    """Every entry moves every partial derivative (a later entry sees an earlier one's nudge)."""
    x = _floats(x)
    return float(np.sum(np.sin(x)) * np.exp(np.mean(x)))


def weighted_tanh(x, w: np.ndarray) -> float:
    """Position-dependent (a weight per entry): a transposed or reordered gradient shows."""
    return float(np.sum(w * np.tanh(_same_shape(x, w, "one weight per entry"))))


def softmax_loss(x, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy of scores x (..., C) with integer labels of shape x.shape[:-1]."""
    x = _floats(x)
    if x.ndim < 1 or x.shape[:-1] != labels.shape:
        raise ValueError(f"f takes scores of shape {labels.shape} + (C,), got shape {x.shape}")
    top = np.max(x, axis=-1, keepdims=True)
    log_z = np.log(np.sum(np.exp(x - top), axis=-1)) + top[..., 0]
    picked = np.take_along_axis(x, labels[..., None], axis=-1)[..., 0]
    return float(np.mean(log_z - picked))


#: name -> entry; a case names one, the worker and the grader build the same function from it.
SCALAR_FUNCTIONS: dict[str, ScalarFunction] = {
    "sum_of_squares": ScalarFunction("sum(x**2)", sum_of_squares),
    "sum_of_cubes": ScalarFunction("sum(x**3)", sum_of_cubes),
    "sin_exp": ScalarFunction("sum(sin(x)) * exp(mean(x))", sin_exp),
    "weighted_tanh": ScalarFunction("sum(w * tanh(x)), w of x's shape", weighted_tanh),
    "softmax_loss": ScalarFunction("mean softmax cross-entropy of scores x with labels", softmax_loss),
}


def describe(name: str, params: dict | None = None, reads_x: bool = False) -> dict:
    """The plain description of a function, as a case carries it."""
    if name not in SCALAR_FUNCTIONS:
        raise KeyError(f"no scalar function {name!r}")
    return {"name": name, "params": dict(params or {}), "reads_x": bool(reads_x)}


def build(spec: dict, x: np.ndarray) -> Callable[[np.ndarray], float]:
    """The callable ``f(v) -> float`` a description names, at the point ``x``.

    ``reads_x``: ``f`` ignores its argument and reads ``x`` itself (only an in-place
    nudge of ``x`` moves it, as with a loss closing over a layer's input).
    """
    fn = SCALAR_FUNCTIONS[str(spec["name"])].fn
    params = {str(k): np.array(v, copy=True) for k, v in dict(spec.get("params") or {}).items()}
    point, reads_x = x, bool(spec.get("reads_x"))

    def f(v) -> float:
        return fn(point if reads_x else v, **params)

    f.__name__ = f.__qualname__ = str(spec["name"])
    return f
