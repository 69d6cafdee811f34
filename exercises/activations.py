"""Exercise: activation functions and their derivatives.

An activation phi is applied elementwise to the net input z = X w + b of a
layer: a = phi(z). Backpropagation needs its derivative phi'(z) too.

Every function takes an array z of any shape and returns an array of the
same shape (softmax normalises along one axis). Float inputs keep their dtype
(float32 in, float32 out); integer inputs give float64. Never modify z.

Numerical stability matters: the functions must give no overflow warning
and no inf/NaN for |z| up to 1e4.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax.
"""

import numpy as np


def sigmoid(z):
    """Logistic sigmoid, elementwise: sigma(z) = 1 / (1 + exp(-z)).

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    s : ndarray, same shape as z, values in [0, 1]

    Pitfall: ``1 / (1 + np.exp(-z))`` overflows (exp(1e4) = inf, with a
    RuntimeWarning) for large negative z. Use the two-sided stable form: with
    e = exp(-|z|), which is always in (0, 1],
        sigma(z) = 1 / (1 + e)   where z >= 0
        sigma(z) = e / (1 + e)   where z < 0.
    """
    raise NotImplementedError("sigmoid: your code here")


def sigmoid_grad(z):
    """Derivative of the sigmoid: sigma'(z) = sigma(z) * (1 - sigma(z)).

    Parameters
    ----------
    z : ndarray, any shape
        The net input (not sigma(z)!).

    Returns
    -------
    ds : ndarray, same shape as z, values in [0, 0.25]

    Reuse your stable ``sigmoid``; the maximum 0.25 is at z = 0.
    """
    raise NotImplementedError("sigmoid_grad: your code here")


def tanh_grad(z):
    """Derivative of the hyperbolic tangent: tanh'(z) = 1 - tanh(z)**2.

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    dt : ndarray, same shape as z, values in [0, 1]

    ``np.tanh`` itself is stable for any z.
    """
    raise NotImplementedError("tanh_grad: your code here")


def relu(z):
    """Rectified linear unit, elementwise: relu(z) = max(z, 0).

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    a : ndarray, same shape and (float) dtype as z
    """
    raise NotImplementedError("relu: your code here")


def relu_grad(z):
    """Derivative of ReLU: 1 where z > 0, else 0.

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    da : ndarray of floats (0.0 or 1.0), same shape as z

    Pitfall: ReLU has no derivative at z = 0; the convention here (as in
    PyTorch) is 0 there: test z > 0, not z >= 0.
    """
    raise NotImplementedError("relu_grad: your code here")


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU, elementwise: z where z > 0, else alpha * z.

    Parameters
    ----------
    z : ndarray, any shape
    alpha : float
        Slope for the negative inputs (small and positive, e.g. 0.01).

    Returns
    -------
    a : ndarray, same shape and (float) dtype as z
    """
    raise NotImplementedError("leaky_relu: your code here")


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU: 1 where z > 0, else alpha.

    Parameters
    ----------
    z : ndarray, any shape
    alpha : float

    Returns
    -------
    da : ndarray of floats, same shape as z

    Pitfall: at exactly z = 0 the derivative is alpha (z > 0 is false).
    """
    raise NotImplementedError("leaky_relu_grad: your code here")


def softmax(z, axis=-1):
    """Softmax along ``axis``: softmax(z)_k = exp(z_k) / sum_j exp(z_j).

    Parameters
    ----------
    z : ndarray, any shape, e.g. (N, C): N rows of C class scores
    axis : int
        The axis normalised (default: the last one, one distribution per row).

    Returns
    -------
    p : ndarray, same shape as z
        Non-negative, summing to 1 along ``axis``.

    Pitfall: exp(1000) overflows to inf and inf / inf is NaN. Subtract the
    maximum along the axis first (use ``keepdims=True``): softmax(z - c) =
    softmax(z) for any constant c, and then the largest exponent is exp(0) = 1.
    """
    raise NotImplementedError("softmax: your code here")
