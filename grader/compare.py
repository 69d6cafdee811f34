"""Judging a student's (decoded, plain) output against the reference's.

Everything here runs in the grader process on plain data: NumPy arrays with
numeric dtypes, Python/NumPy scalars, and tuples / lists / dicts of those, as
:func:`grader.worker.wire.decode` produces them. No student object ever gets here.

:func:`compare` returns ``None`` when ``got`` matches ``expected`` and a
:class:`Mismatch` otherwise; ``Mismatch.describe()`` is the feedback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.worker.wire import Unsupported

SCALAR_TYPES = (bool, int, float, complex, np.generic)


@dataclass
class Mismatch:
    """Why ``got`` is not ``expected``: the first difference found.

    where:    which output (``"dw"``, ``"output 2"``, ``""`` for the only one).
    problem:  one sentence (type, shape, dtype, non-finite or value mismatch).
    index:    first mismatching index (value mismatches), expected / got there,
    max_abs, max_rel: the largest absolute and relative errors over the output
              (relative: over the entries whose expected value is not 0).
    """

    where: str
    problem: str
    index: tuple | None = None
    expected: object = None
    got: object = None
    max_abs: float | None = None
    max_rel: float | None = None

    def describe(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        text = prefix + self.problem
        if self.index is not None:
            at = f" at index {self.index}" if self.index != () else ""
            text += f"; first mismatch{at}: expected {_fmt(self.expected)}, got {_fmt(self.got)}"
        if self.max_abs is not None:
            rel = f", max rel error {self.max_rel:.3g}" if self.max_rel is not None else ""
            text += f" (max abs error {self.max_abs:.3g}{rel})"
        return text


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.10g}"
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return repr(v)


def kind_name(v) -> str:
    """How a value is described to a student: 'a NumPy array of shape (2, 3)', 'a tuple of 3'."""
    if isinstance(v, Unsupported):
        return f"an object of type {v.type_name}" + (f" ({v.reason})" if v.reason else "")
    if isinstance(v, np.ndarray):
        return f"a NumPy array of shape {v.shape} and dtype {v.dtype}"
    if isinstance(v, (tuple, list)):
        return f"a {type(v).__name__} of {len(v)} items"
    if isinstance(v, dict):
        return f"a dict with keys {sorted(v)}"
    if v is None:
        return "None"
    if isinstance(v, str):
        return "a string"
    return f"a {type(v).__name__} scalar" if isinstance(v, np.generic) else f"a {type(v).__name__}"


def _is_scalar(v) -> bool:
    return isinstance(v, SCALAR_TYPES) or (isinstance(v, np.ndarray) and v.ndim == 0)


def compare(expected, got, rtol: float, atol: float, names: tuple[str, ...] = (), where: str = ""):
    """``None`` when ``got`` matches ``expected`` within ``atol + rtol*|expected|``."""
    if isinstance(got, Unsupported):
        return Mismatch(where, f"returned {kind_name(got)}, which is not plain numeric data")
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return Mismatch(where, f"expected a tuple of {len(expected)} items, got {kind_name(got)}")
        if len(got) != len(expected):
            return Mismatch(where, f"expected a tuple of {len(expected)} items, got {len(got)}")
        for i, (e, g) in enumerate(zip(expected, got)):
            label = names[i] if i < len(names) else f"output {i + 1}"
            found = compare(e, g, rtol, atol, (), f"{where}[{i}]" if where else label)
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return Mismatch(where, f"expected a dict with keys {sorted(expected)}, got {kind_name(got)}")
        if set(got) != set(expected):
            return Mismatch(where, f"expected the keys {sorted(expected)}, got {sorted(got)}")
        for key in expected:
            found = compare(expected[key], got[key], rtol, atol, (), f"{where}[{key!r}]" if where else key)
            if found:
                return found
        return None
    if expected is None or isinstance(expected, str):
        return None if got == expected and type(got) is type(expected) else \
            Mismatch(where, f"expected {expected!r}, got {kind_name(got)}")
    if _is_scalar(expected):
        if not _is_scalar(got):
            return Mismatch(where, f"expected a single number, got {kind_name(got)}")
    elif isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            return Mismatch(where, f"expected {kind_name(expected)}, got {kind_name(got)}")
        if got.shape != expected.shape:
            transposed = got.ndim == 2 and got.shape == expected.shape[::-1]
            return Mismatch(where, f"expected shape {expected.shape}, got shape {got.shape}"
                            + (" (transposed?)" if transposed else ""))
    else:  # pragma: no cover - the references return plain data
        raise TypeError(f"cannot compare a reference value of type {type(expected).__name__}")
    return _compare_values(np.asarray(expected), np.asarray(got), rtol, atol, where)


def _compare_values(exp: np.ndarray, got: np.ndarray, rtol, atol, where):
    if exp.dtype.kind in "biu":
        if got.dtype.kind not in "biu":
            return Mismatch(where, f"expected integers, got dtype {got.dtype} (use an integer dtype)")
        bad = exp != got
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return Mismatch(where, "wrong values", idx, exp[idx], got[idx])
        return None
    accepted = "fc" if exp.dtype.kind == "c" else "f"
    if got.dtype.kind not in accepted:
        return Mismatch(where, f"expected floating-point values (dtype {exp.dtype}), got dtype {got.dtype}")
    if got.dtype.itemsize < exp.dtype.itemsize:
        return Mismatch(where, f"expected dtype {exp.dtype}, got the less precise {got.dtype}")
    exp64 = exp.astype(np.complex128 if exp.dtype.kind == "c" else np.float64)
    got64 = got.astype(np.complex128 if got.dtype.kind == "c" else np.float64)
    finite_exp = np.isfinite(exp64)
    with np.errstate(all="ignore"):
        abs_err = np.abs(got64 - exp64)
        rel_err = abs_err / np.where(exp64 != 0, np.abs(exp64), 1.0)
        ok = abs_err <= atol + rtol * np.abs(exp64)
    # Where the reference is not finite, the student must give the same value.
    ok = np.where(finite_exp, ok & np.isfinite(got64), (got64 == exp64) | (np.isnan(exp64) & np.isnan(got64)))
    if ok.all():
        return None
    idx = tuple(int(i) for i in np.argwhere(~ok)[0])
    both = finite_exp & np.isfinite(got64)
    errs = np.where(both, abs_err, np.inf)
    # relative errors where the expected value is not 0 (there it means nothing)
    rels = np.where(both, rel_err, np.inf)[exp64 != 0]
    nonfinite = finite_exp & ~np.isfinite(got64)
    problem = "got NaN or inf where the expected values are finite" if nonfinite.any() else "wrong values"
    if nonfinite.any():
        idx = tuple(int(i) for i in np.argwhere(nonfinite)[0])
    return Mismatch(where, problem, idx, exp[idx], got[idx], float(np.max(errs)),
                    float(np.max(rels)) if rels.size else None)


def inputs_modified(before, after) -> list[str]:
    """Paths (``"x"``, ``"params['W1']"``) of inputs that differ after the call."""
    changed: list[str] = []

    def walk(b, a, path):
        if isinstance(b, np.ndarray):
            if not (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                    and np.array_equal(a, b, equal_nan=b.dtype.kind in "fc")):
                changed.append(path)
        elif isinstance(b, dict):
            if not isinstance(a, dict) or set(a) != set(b):
                changed.append(path)
            else:
                for k in b:
                    walk(b[k], a[k], f"{path}[{k!r}]")
        elif isinstance(b, (list, tuple)):
            if not isinstance(a, (list, tuple)) or len(a) != len(b):
                changed.append(path)
            else:
                for i, (x, y) in enumerate(zip(b, a)):
                    walk(x, y, f"{path}[{i}]")

    walk(before, after, "")
    return changed


def same_value(a, b, rtol=1e-6, atol=1e-9) -> bool:
    """True when two plain values match (for hints: 'is got what bug X gives?')."""
    try:
        return compare(a, b, rtol, atol) is None
    except TypeError:
        return False
