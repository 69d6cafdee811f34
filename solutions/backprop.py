"""Reference for exercises/backprop.py.

The affine layer's matmuls run on our Cython kernel (``csrc.matmul``, never
BLAS); the elementwise activation layers are the model answer's own, and the
two-layer network is composed from these reference layers.
"""

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.backprop import (
    _two_layer_net_loss,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

__all__ = [
    "affine_forward",
    "affine_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "relu_forward",
    "relu_backward",
    "two_layer_net_loss",
]


def affine_forward(x, W, b):
    """out = x W + b, x (N, D), W (D, M), b (M,) -> out (N, M), cache (x, W, b)."""
    xf, Wf, bf = common_float(x, W, b)
    out = csrc.matmul(xf, Wf)
    out += bf
    return out, (xf, Wf, bf)


def affine_backward(dout, cache):
    """dout (N, M) -> dx (N, D) = dout W^T, dW (D, M) = x^T dout, db (M,)."""
    x, W, _ = cache
    if type(dout) is not np.ndarray or dout.dtype is not x.dtype:  # the cache's arrays are converted already
        dout, x, W = common_float(dout, x, W)
    dx = csrc.matmul(dout, W.T)
    dW = csrc.matmul(x.T, dout)
    return dx, dW, np.add.reduce(dout, 0)  # np.sum's Python layer is a third of a small call


def two_layer_net_loss(X, y, params, activation="tanh"):
    """Loss and gradients of the two-layer binary classifier, on the kernel-backed affine layer."""
    return _two_layer_net_loss(X, y, params, activation, affine_forward, affine_backward)
