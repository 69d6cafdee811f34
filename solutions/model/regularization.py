"""Model answer for exercises/regularization.py: dropout, batch and layer normalisation.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder. Batch norm and layer norm are one idea applied along
different axes: both are written with :func:`_normalize` and its backward.
"""

import numpy as np

__all__ = [
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "layer_norm_forward",
    "layer_norm_backward",
]


def _as_float(*arrays):
    """The arrays in one floating dtype: float32 when all are float32, else float64."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64
    return [a.astype(dtype, copy=False) for a in arrays]


def dropout_forward(x, p, train=True, seed=0):
    """Model answer for exercises/regularization.py::dropout_forward."""
    (x,) = _as_float(x)
    if not 0 <= p < 1:
        raise ValueError(f"dropout_forward: p must be in [0, 1), got {p}")
    if not train or p == 0:
        return x.copy(), None  # the identity: nothing to scale, nothing dropped
    keep = np.random.default_rng(seed).random(x.shape) >= p
    mask = (keep / (1 - p)).astype(x.dtype)  # inverted dropout: kept units scaled by 1/(1-p)
    return x * mask, mask


def dropout_backward(dout, cache):
    """Model answer for exercises/regularization.py::dropout_backward."""
    dout = np.asarray(dout)
    return dout.copy() if cache is None else dout * cache


def _normalize(x, gamma, beta, eps, axis):
    """gamma * (x - mean) / sqrt(var + eps) + beta, statistics over ``axis`` (biased variance)."""
    mu = x.mean(axis=axis, keepdims=True)
    xc = x - mu
    inv_std = 1.0 / np.sqrt((xc * xc).mean(axis=axis, keepdims=True) + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std, axis)


def _normalize_backward(dout, cache):
    """(dx, dgamma, dbeta) of :func:`_normalize`; gamma and beta collect over every other axis."""
    xhat, gamma, inv_std, axis = cache
    dout = np.asarray(dout, dtype=xhat.dtype)
    param_axes = tuple(range(dout.ndim - 1))  # gamma, beta (D,) act on the last axis
    dbeta = dout.sum(axis=param_axes)
    dgamma = (dout * xhat).sum(axis=param_axes)
    dxhat = dout * gamma
    # the mean and the variance depend on every x of the group: two projections to remove
    dx = inv_std * (dxhat - dxhat.mean(axis=axis, keepdims=True) - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True))
    return dx, dgamma, dbeta


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Model answer for exercises/regularization.py::batchnorm_forward."""
    x, gamma, beta = _as_float(x, gamma, beta)
    if x.ndim != 2:
        raise ValueError(f"batchnorm_forward: x must be (N, D), got shape {x.shape}")
    return _normalize(x, gamma, beta, eps, axis=0)


def batchnorm_backward(dout, cache):
    """Model answer for exercises/regularization.py::batchnorm_backward."""
    return _normalize_backward(dout, cache)


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Model answer for exercises/regularization.py::layer_norm_forward."""
    x, gamma, beta = _as_float(x, gamma, beta)
    return _normalize(x, gamma, beta, eps, axis=-1)


def layer_norm_backward(dout, cache):
    """Model answer for exercises/regularization.py::layer_norm_backward."""
    return _normalize_backward(dout, cache)
