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
    index:    first mismatching index (value mismatches; ``()`` for a single
              number), and expected / got there.
    wrong, size: how many entries are wrong, out of how many.
    max_abs:  the largest absolute error over the wrong entries (finite ones).
    max_rel:  the largest relative error over the wrong entries whose expected
              value is not 0; None when there is none (a relative error of an
              entry expected to be 0 means nothing, and entries that passed
              prove nothing about the mistake).
    """

    where: str
    problem: str
    index: tuple | None = None
    expected: object = None
    got: object = None
    max_abs: float | None = None
    max_rel: float | None = None
    wrong: int = 0
    size: int = 0

    def describe(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        text = prefix + self.problem
        if self.index is None:
            return text
        exp, got = format_pair(self.expected, self.got)
        single = self.size <= 1
        if single:
            text += f": expected {exp}, got {got}"
        else:
            text += (
                f" in {self.wrong} of {self.size} entries; first mismatch at index "
                f"{self.index}: expected {exp}, got {got}"
            )
        errors = _describe_errors(self.max_abs, self.max_rel, single)
        return text + (f" ({errors})" if errors else "")


def _describe_errors(max_abs, max_rel, single: bool) -> str:
    if max_abs is None:
        return ""
    word = "" if single else "max "
    parts = [f"{word}abs error {max_abs:.3g}"]
    if max_rel is not None:
        parts.append(f"{word}rel error {max_rel:.3g}")
    elif not single:  # for one value, "expected 0" is already on the line
        parts.append("every wrong entry is expected to be 0")
    return ", ".join(parts)


#: Significant digits of a value shown in feedback: at least the first, at most the last.
MIN_DIGITS, MAX_DIGITS = 6, 17


def format_pair(expected, got) -> tuple[str, str]:
    """``expected`` and ``got`` as text, with just enough digits to tell them apart.

    Two floats get the fewest significant digits (at least 6) at which their
    texts differ, plus one, so that the difference shows: ``1`` and
    ``1.0000023`` rather than ``1`` and ``1``.
    """
    if _is_real_float(expected) and _is_real_float(got):
        e, g = float(expected), float(got)
        for digits in range(MIN_DIGITS, MAX_DIGITS + 1):
            if f"{e:.{digits}g}" != f"{g:.{digits}g}":
                digits = min(digits + 1, MAX_DIGITS)
                return f"{e:.{digits}g}", f"{g:.{digits}g}"
        return repr(e), repr(g)
    return _fmt(expected), _fmt(got)


def _is_real_float(v) -> bool:
    return isinstance(v, (float, np.floating))


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
        return (
            None
            if got == expected and type(got) is type(expected)
            else Mismatch(where, f"expected {expected!r}, got {kind_name(got)}")
        )
    if _is_scalar(expected):
        if not _is_scalar(got):
            return Mismatch(where, f"expected a single number, got {kind_name(got)}")
    elif isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            return Mismatch(where, f"expected {kind_name(expected)}, got {kind_name(got)}")
        if got.shape != expected.shape:
            transposed = got.ndim == 2 and got.shape == expected.shape[::-1]
            return Mismatch(
                where,
                f"expected shape {expected.shape}, got shape {got.shape}" + (" (transposed?)" if transposed else ""),
            )
    else:  # pragma: no cover - the references return plain data
        raise TypeError(f"cannot compare a reference value of type {type(expected).__name__}")
    return _compare_values(np.asarray(expected), np.asarray(got), rtol, atol, where)


def _compare_values(exp: np.ndarray, got: np.ndarray, rtol, atol, where):
    if exp.dtype.kind in "biu":
        if got.dtype.kind not in "biu":
            return Mismatch(where, f"expected integers, got dtype {got.dtype} (use an integer dtype)")
        bad = exp != got
        if not np.any(bad):
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch(
            where, _wrong(exp.size), idx, exp[idx], got[idx], wrong=int(np.count_nonzero(bad)), size=int(exp.size)
        )
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
    bad = ~ok
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    # The errors of the wrong entries only, where both values are finite; the
    # relative one only where the expected value is not 0 (there it means nothing).
    measurable = bad & finite_exp & np.isfinite(got64)
    relative = measurable & (exp64 != 0)
    max_abs = float(np.max(abs_err[measurable])) if measurable.any() else None
    max_rel = float(np.max(rel_err[relative])) if relative.any() else None
    nonfinite = finite_exp & ~np.isfinite(got64)
    problem = "got NaN or inf where the expected values are finite" if nonfinite.any() else _wrong(exp.size)
    if nonfinite.any():
        idx = tuple(int(i) for i in np.argwhere(nonfinite)[0])
    return Mismatch(
        where, problem, idx, exp[idx], got[idx], max_abs, max_rel, wrong=int(np.count_nonzero(bad)), size=int(exp.size)
    )


def _wrong(size: int) -> str:
    return "wrong value" if size <= 1 else "wrong values"


def inputs_modified(before, after) -> list[str]:
    """Paths (``"x"``, ``"params['W1']"``) of inputs that differ after the call."""
    changed: list[str] = []

    def walk(b, a, path):
        if isinstance(b, np.ndarray):
            if not (
                isinstance(a, np.ndarray)
                and a.shape == b.shape
                and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=b.dtype.kind in "fc")
            ):
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
