"""Model answer for exercises/gradcheck.py: the student's own gradient checker.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.
"""

import numpy as np

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(f, x, h=1e-5):
    """Model answer for exercises/gradcheck.py::numerical_gradient."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError("numerical_gradient: x must be a float NumPy array (it is nudged in place)")
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            plus = float(f(x))
            x[idx] = old - h
            minus = float(f(x))
        finally:
            x[idx] = old  # x is unchanged afterwards, even when f raises
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def rel_error(a, b):
    """Model answer for exercises/gradcheck.py::rel_error."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
