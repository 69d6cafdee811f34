"""Model answer for exercises/optim.py: one update of one parameter array.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder. Each step returns new arrays and leaves its inputs alone.
"""

import numpy as np

__all__ = ["sgd_momentum_step", "rmsprop_step", "adam_step"]


def _as_float(*arrays):
    """The arrays in one floating dtype: float32 when all are float32, else float64."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64
    return [a.astype(dtype, copy=False) for a in arrays]


def sgd_momentum_step(w, dw, m, lr, gamma=0.9):
    """Model answer for exercises/optim.py::sgd_momentum_step."""
    w, dw, m = _as_float(w, dw, m)
    m_new = gamma * m + lr * dw
    return w - m_new, m_new


def rmsprop_step(w, dw, s, lr, alpha=0.99, eps=1e-8):
    """Model answer for exercises/optim.py::rmsprop_step."""
    w, dw, s = _as_float(w, dw, s)
    s_new = alpha * s + (1 - alpha) * dw * dw
    return w - lr * dw / (np.sqrt(s_new) + eps), s_new


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Model answer for exercises/optim.py::adam_step."""
    if t < 1:
        raise ValueError(f"adam_step: t counts steps from 1, got {t}")
    w, dw, m, v = _as_float(w, dw, m, v)
    m_new = beta1 * m + (1 - beta1) * dw
    v_new = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new
