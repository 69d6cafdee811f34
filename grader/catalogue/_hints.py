"""Reusable recognisers of classic mistakes (trusted: grader process only).

A hint factory returns a :data:`grader.spec.Hint`, ``hint(case, got) -> str | None``.
Each idea is one factory:

* :func:`matches_variant` -- the student's output equals what a named bug
  would produce (the variant is computed with the model answers or NumPy);
* :func:`with_inputs` -- the bug is equivalent to the right answer on altered
  inputs (flipped kernel, zero bias, permuted LSTM gates, one-sided padding);
* :func:`scaled_by` -- a constant factor (a sum instead of a mean, 2x for a
  forgotten 1/2);
* :func:`transposed` -- the last two axes swapped;
* :func:`non_finite` -- NaN or inf where the reference is finite.

A variant "matches" leaf by leaf: the output is split into its arrays (tuples,
lists and dicts are walked), and the hint fires when at least one array is
wrong and every wrong array equals the variant's. So a backward whose ``db``
alone is summed the wrong way is recognised even though ``dx`` and ``dw`` are
right.

Hints never raise: any exception inside one (an odd shape the variant cannot
handle, a missing reference) means "no hint".
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.spec import ATOL, RTOL, Case, Hint  # a variant matches within the grading tolerances
from grader.worker.protocol import run_protocol

# -- running a reference ---------------------------------------------------


def reference(module: str, name: str, kind: str = "function", forward: str | None = None) -> Callable[[Case], Any]:
    """``ref(case)``: the model answer ``solutions.model.<module>.<name>`` run on
    ``case`` through the protocol of ``kind`` (the grader's one implementation
    of it).

    Hints use the pure-NumPy model answers rather than the kernel-backed
    references: on the catalogue's tiny inputs they are much faster (a hint
    may run the answer a couple of dozen times, e.g. once per LSTM gate
    order), and tests/grader/test_catalogue.py proves they agree with the
    references within every exercise's tolerance. The module is imported at
    the first call, so the catalogue imports without the solutions."""

    last: list = [None, None]  # (case, value): the hints of one failure share one call

    def ref(case: Case) -> Any:
        if last[0] is case:
            return last[1]
        mod = importlib.import_module(f"solutions.model.{module}")
        fwd = getattr(mod, forward) if forward else None
        value = run_protocol(kind, getattr(mod, name), fwd, case.args, dict(case.kwargs), case.upstream)
        last[:] = [case, value]
        return value

    ref.__name__ = f"ref_{name}"
    return ref


def replace_args(case: Case, **changes: Any) -> Case:
    """``case`` with positional args replaced by index (``replace_args(c, _1=w)``)
    or keyword args by name (``replace_args(c, padding=0)``)."""
    args = list(case.args)
    kwargs = dict(case.kwargs)
    for key, value in changes.items():
        if key.startswith("_") and key[1:].isdigit():
            args[int(key[1:])] = value
        else:
            kwargs[key] = value
    return dataclasses.replace(case, args=tuple(args), kwargs=kwargs)


def flip_kernel(index: int) -> Callable[[Case], Case]:
    """A case transform: positional arg ``index`` (a kernel) flipped in its
    last two axes (what a true convolution does to a cross-correlation)."""

    def transform(case: Case) -> Case:
        k = np.asarray(case.args[index])
        return replace_args(case, **{f"_{index}": k[..., ::-1, ::-1].copy()})

    return transform


# -- comparing plain outputs -----------------------------------------------


def leaves(x: Any) -> list[np.ndarray]:
    """The arrays of a plain output, in order (dicts by sorted key)."""
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in leaves(x[k])]
    if isinstance(x, (tuple, list)) and not _is_number_list(x):
        return [leaf for item in x for leaf in leaves(item)]
    return [np.asarray(x)]


def _is_number_list(x: Any) -> bool:
    """A list of plain numbers (``updates`` of the perceptron) is one leaf."""
    return isinstance(x, list) and all(isinstance(v, (int, float, np.number)) for v in x)


def close(a: Any, b: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Same shape and all values within tolerance (NaN never matches)."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def matches_leafwise(got: Any, expected: Any, alternative: Any) -> bool:
    """At least one array of ``got`` is wrong and every wrong one equals the
    alternative's (and the alternative is not itself the right answer there)."""
    g, e, a = leaves(got), leaves(expected), leaves(alternative)
    if not (len(g) == len(e) == len(a)):
        return False
    wrong = [i for i in range(len(g)) if not close(g[i], e[i])]
    return bool(wrong) and all(close(g[i], a[i]) and not close(a[i], e[i]) for i in wrong)


def guarded(hint: Callable[[Case, Any], str | None]) -> Hint:
    """``hint`` made safe: an exception inside it means "no hint"."""

    @functools.wraps(hint)
    def safe_hint(case: Case, got: Any) -> str | None:
        try:
            with np.errstate(all="ignore"):
                return hint(case, got)
        except Exception:  # a hint that cannot apply says nothing
            return None

    return safe_hint


# -- the factories ---------------------------------------------------------


def matches_variant(ref: Callable[[Case], Any], variant: Callable[[Case], Any], why: str) -> Hint:
    """Fires when ``got`` equals ``variant(case)`` (what the bug produces) where
    it differs from ``ref(case)``. ``variant`` may return None: not applicable."""

    def hint(case: Case, got: Any) -> str | None:
        alt = variant(case)
        if alt is None:
            return None
        return why if matches_leafwise(got, ref(case), alt) else None

    return guarded(hint)


def with_inputs(ref: Callable[[Case], Any], transform: Callable[[Case], Case | None], why: str) -> Hint:
    """The bug behaves like the reference on altered inputs: ``transform(case)``
    returns the altered case (or None when the bug makes no difference)."""

    def variant(case: Case) -> Any:
        altered = transform(case)
        return None if altered is None else ref(altered)

    return matches_variant(ref, variant, why)


def scaled_by(ref: Callable[[Case], Any], factor: float | Callable[[Case], float], why: str) -> Hint:
    """An output (or one of its arrays) is ``factor`` times the expected one.
    ``factor`` may depend on the case (the batch size); ``why`` may use
    ``{factor}``."""

    def hint(case: Case, got: Any) -> str | None:
        f = factor(case) if callable(factor) else factor
        if f == 1:
            return None
        expected = ref(case)
        alt = _map_leaves(expected, lambda a: f * a)
        return why.format(factor=_fmt(f)) if matches_leafwise(got, expected, alt) else None

    return guarded(hint)


def transposed(
    ref: Callable[[Case], Any],
    why: str = "the result is transposed "
    "(its last two axes are swapped): check the order of a matrix product "
    "or a reshape.",
) -> Hint:
    """An output array has its last two axes swapped."""

    def variant(case: Case) -> Any:
        return _map_leaves(ref(case), lambda a: np.swapaxes(a, -1, -2) if a.ndim >= 2 else a)

    return matches_variant(ref, variant, why)


def non_finite(ref: Callable[[Case], Any], why: str) -> Hint:
    """NaN or inf in ``got`` where the reference is finite (an unstable formula)."""

    def hint(case: Case, got: Any) -> str | None:
        for g, e in zip(leaves(got), leaves(ref(case))):
            g = np.asarray(g, dtype=np.float64)
            e = np.asarray(e, dtype=np.float64)
            if g.shape == e.shape and np.any(~np.isfinite(g) & np.isfinite(e)):
                return why
        return None

    return guarded(hint)


def _map_leaves(x: Any, fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    if isinstance(x, dict):
        return {k: _map_leaves(v, fn) for k, v in x.items()}
    if isinstance(x, (tuple, list)) and not _is_number_list(x):
        return type(x)(_map_leaves(v, fn) for v in x)
    return fn(np.asarray(x, dtype=np.float64))


def _fmt(f: float) -> str:
    return str(int(f)) if float(f).is_integer() else f"{f:.4g}"
