"""Helpers the catalogue modules share to build their cases.

Everything here produces plain data (float64 arrays, ints, tuples) from a
``numpy.random.Generator``, so a case list is a pure function of the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from grader.spec import Case


def randn(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal float64 array of ``shape`` times ``scale``."""
    return scale * rng.standard_normal(shape)


def integers(rng: np.random.Generator, *shape: int, low: int = -3, high: int = 3) -> np.ndarray:
    """Integer-valued float64 array in [low, high]: small ranges make ties certain."""
    return rng.integers(low, high, size=shape, endpoint=True).astype(np.float64)


def with_zeros(rng: np.random.Generator, z: np.ndarray, fraction: float = 0.3) -> np.ndarray:
    """A copy of ``z`` with about ``fraction`` of its entries (at least one) set to exactly 0."""
    out = np.array(z, dtype=np.float64, copy=True)
    flat = out.reshape(-1)
    k = max(1, int(round(fraction * flat.size)))
    flat[rng.choice(flat.size, size=k, replace=False)] = 0.0
    return out


def extreme(rng: np.random.Generator, *shape: int, magnitude: float = 1e4) -> np.ndarray:
    """Values of both signs with |z| up to ``magnitude`` (log-uniform), for stability cases."""
    mags = 10.0 ** rng.uniform(0.0, np.log10(magnitude), size=shape)
    signs = rng.choice([-1.0, 1.0], size=shape)
    out = signs * mags
    out.reshape(-1)[:2] = [magnitude, -magnitude] if out.size >= 2 else [magnitude]
    return out


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    """``stride``/``padding`` normalised to ``(h, w)``."""
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def shapes(**arrays: np.ndarray) -> str:
    """``"x(2, 3) w(3, 4)"`` for a label."""
    return " ".join(f"{name}{tuple(np.shape(a))}" for name, a in arrays.items())


def params(**values) -> str:
    """``"stride=2 padding=(1, 0)"`` for a label (None values left out)."""
    return " ".join(f"{k}={v!r}" for k, v in values.items() if v is not None)


def label(kind: str, arrays: dict[str, np.ndarray], **values) -> str:
    """One line: kind, the arrays' shapes, then the scalar parameters."""
    parts = [kind, shapes(**arrays), params(**values)]
    return " ".join(p for p in parts if p)


def elementwise_cases(
    rng: np.random.Generator, *, with_zero: bool = False, magnitude: float | None = None, **kwargs
) -> list[Case]:
    """Random cases for an elementwise function of ``z``: a scalar-like 1-D
    vector, a non-square matrix, a 3-D batch; optionally exact zeros and a
    large-|z| case. ``kwargs`` are passed to every call.

    The first case is the smallest and never has a zero: the grader runs its
    numerical gradient check on a backward's smallest case, and a central
    difference across the kink of step/ReLU at 0 is meaningless."""
    smooth = randn(rng, 2, 3)
    cases = [Case(label("random", {"z": smooth}, **kwargs), args=(smooth,), kwargs=dict(kwargs))]
    arrays = [randn(rng, 7), randn(rng, 3, 5, scale=3.0), randn(rng, 2, 3, 4)]
    if with_zero:
        arrays = [with_zeros(rng, a) for a in arrays]
    cases += [
        Case(
            label("random", {"z": z}, **kwargs) + (" with exact zeros" if with_zero else ""),
            args=(z,),
            kwargs=dict(kwargs),
        )
        for z in arrays
    ]
    if magnitude is not None:
        z = extreme(rng, 4, 6, magnitude=magnitude)
        cases.append(
            Case(label("large |z|", {"z": z}, **kwargs) + f" up to {magnitude:g}", args=(z,), kwargs=dict(kwargs))
        )
    return cases


def upstream_for(
    cases: Iterable[Case], rng: np.random.Generator, out_shapes: Callable[[Case], dict[str, tuple[int, ...]]]
) -> list[Case]:
    """Backward cases from forward cases: the same forward inputs plus a random
    upstream gradient for each output, ``out_shapes(case)`` mapping the
    upstream's name (``"dout"``, ``"dh"``) to its shape, in the backward's order."""
    result = []
    for case in cases:
        named = out_shapes(case)
        ups = tuple(randn(rng, *s) for s in named.values())
        up_label = " ".join(f"{name}{tuple(s)}" for name, s in named.items())
        result.append(
            Case(
                f"{case.label}, upstream {up_label}",
                args=case.args,
                kwargs=case.kwargs,
                upstream=ups,
                rtol=case.rtol,
                atol=case.atol,
            )
        )
    return result
