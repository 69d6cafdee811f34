"""Model answer for exercises/losses.py: losses, and gradient descent for one sigmoid unit.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.
"""

import numpy as np

#: log(p) is clamped at this value in the binary cross-entropy (as torch does),
#: so y_hat exactly 0 or 1 gives a large finite loss, never inf.
LOG_MIN = -100.0
#: Lower bound of y_hat * (1 - y_hat) in the binary cross-entropy's gradient.
EPS = 1e-12


def _as_float(a):
    """a as a floating array: float inputs keep their dtype, others become float64."""
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def _sigmoid(z):
    """Two-sided stable logistic function."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def mse_loss(y_hat, y):
    """Model answer for exercises/losses.py::mse_loss."""
    y_hat = _as_float(y_hat)
    diff = y_hat - y
    return float(np.mean(diff**2) / 2), diff / diff.size


def binary_cross_entropy(y_hat, y):
    """Model answer for exercises/losses.py::binary_cross_entropy."""
    y_hat = _as_float(y_hat)
    with np.errstate(divide="ignore"):  # log(0) = -inf is clamped right away
        log_p = np.maximum(np.log(y_hat), LOG_MIN)
        log_q = np.maximum(np.log(1 - y_hat), LOG_MIN)
    loss = -np.mean(y * log_p + (1 - y) * log_q)
    dy_hat = (y_hat - y) / np.maximum(y_hat * (1 - y_hat), EPS) / y_hat.size
    return float(loss), dy_hat.astype(y_hat.dtype, copy=False)


def softmax_cross_entropy(logits, y):
    """Model answer for exercises/losses.py::softmax_cross_entropy."""
    logits = _as_float(logits)
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_sum_exp = np.log(np.sum(np.exp(shifted), axis=1))
    loss = np.mean(log_sum_exp - shifted[rows, y])
    dlogits = np.exp(shifted - log_sum_exp[:, None])  # the softmax
    dlogits[rows, y] -= 1
    return float(loss), dlogits / n


def sigmoid_unit_mse_grad(X, y, w, b):
    """Model answer for exercises/losses.py::sigmoid_unit_mse_grad."""
    X = _as_float(X)
    n = X.shape[0]
    y_hat = _sigmoid(X @ w + b)
    err = y_hat - y
    loss = np.sum(err**2) / (2 * n)
    dz = err * y_hat * (1 - y_hat) / n
    return float(loss), X.T @ dz, float(np.sum(dz))


def gradient_descent_step(X, y, w, b, lr):
    """Model answer for exercises/losses.py::gradient_descent_step."""
    _, grad_w, grad_b = sigmoid_unit_mse_grad(X, y, w, b)
    return w - lr * grad_w, b - lr * grad_b


def sigmoid_unit_bce_grad(X, y, w, b):
    """Model answer for exercises/losses.py::sigmoid_unit_bce_grad."""
    X = _as_float(X)
    n = X.shape[0]
    z = X @ w + b
    # -log(sigmoid(z)) = log(1 + e^-z): with log1p and exp(-|z|) nothing overflows
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    dz = _sigmoid(z) - y
    return float(loss), X.T @ dz / n, float(np.mean(dz))
