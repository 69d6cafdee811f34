"""Central-difference numerical gradients, shared by the backward-pass tests."""

import numpy as np


def numerical_gradient(f, x, df=None, h=1e-6):
    """Numerical gradient of ``sum(f() * df)`` with respect to the array ``x``.

    Parameters
    ----------
    f : callable
        Takes no arguments and returns an array (or scalar) computed from
        ``x``; it must read ``x`` at call time, since ``x`` is perturbed in
        place.
    x : ndarray, float
        The array to differentiate with respect to; any shape. Each entry is
        perturbed in place by +-h and restored afterwards, so ``x`` is
        unchanged when this function returns (also if ``f`` raises).
    df : ndarray or None
        Upstream gradient, same shape as ``f()``. None means all ones, i.e.
        the gradient of ``sum(f())`` (for a scalar loss: its gradient).
    h : float
        Step of the central difference.

    Returns
    -------
    grad : ndarray, same shape and dtype as ``x``
        ``(sum(f(x + h e_i) * df) - sum(f(x - h e_i) * df)) / (2h)`` per entry.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError("numerical_gradient: x must be a NumPy array (perturbed in place)")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"numerical_gradient: x must be a float array (float64 for accuracy), not {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        try:
            x[idx] = old + h
            plus = np.asarray(f(), dtype=np.float64)
            x[idx] = old - h
            minus = np.asarray(f(), dtype=np.float64)
        finally:
            x[idx] = old
        weights = np.ones_like(plus) if df is None else np.asarray(df, dtype=np.float64)
        grad[idx] = np.sum((plus - minus) * weights) / (2.0 * h)
        it.iternext()
    return grad
