"""Model answer for exercises/activations.py: activation functions and their gradients.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.
"""

import numpy as np


def _as_float(z):
    """z as a floating array: float inputs keep their dtype, others become float64."""
    z = np.asarray(z)
    return z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float64)


def sigmoid(z):
    """Model answer for exercises/activations.py::sigmoid."""
    z = _as_float(z)
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z):
    """Model answer for exercises/activations.py::sigmoid_grad."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh_grad(z):
    """Model answer for exercises/activations.py::tanh_grad."""
    t = np.tanh(_as_float(z))
    return 1 - t**2


def relu(z):
    """Model answer for exercises/activations.py::relu."""
    z = _as_float(z)
    return np.where(z > 0, z, 0).astype(z.dtype)


def relu_grad(z):
    """Model answer for exercises/activations.py::relu_grad."""
    z = _as_float(z)
    return (z > 0).astype(z.dtype)


def leaky_relu(z, alpha=0.01):
    """Model answer for exercises/activations.py::leaky_relu."""
    z = _as_float(z)
    return np.where(z > 0, z, alpha * z).astype(z.dtype)


def leaky_relu_grad(z, alpha=0.01):
    """Model answer for exercises/activations.py::leaky_relu_grad."""
    z = _as_float(z)
    return np.where(z > 0, 1, alpha).astype(z.dtype)


def softmax(z, axis=-1):
    """Model answer for exercises/activations.py::softmax."""
    z = _as_float(z)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))  # shift: largest exponent is 0
    return e / np.sum(e, axis=axis, keepdims=True)
