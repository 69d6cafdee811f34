"""Reference for exercises/conv.py.

Every convolution runs on our Cython kernels (``csrc.conv2d_forward`` and
``csrc.conv2d_backward``, never BLAS); ``corr2d`` is the one-image,
one-channel, one-filter case of the same kernel. Pooling (max and average) has no
kernel: it is the model answer's own.
"""

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.conv import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

__all__ = [
    "corr2d",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


def corr2d(x, k, padding=0, stride=1):
    """Cross-correlation of x (H, W) with k (KH, KW) -> (OH, OW), as a (1, 1, H, W) conv2d."""
    x, k = common_float(x, k)
    if x.ndim != 2 or k.ndim != 2:
        raise ValueError(f"corr2d: x and k must be 2-D, got shapes {x.shape} and {k.shape}")
    return csrc.conv2d_forward(x[None, None], k[None, None], None, stride, padding)[0, 0]


def conv2d_forward(x, w, b, stride=1, padding=0):
    """x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, OH, OW), cache (x, w, stride, padding)."""
    x, w, b = common_float(x, w, b)
    out = csrc.conv2d_forward(x, w, b, stride, padding)
    return out, (x, w, stride, padding)


def conv2d_backward(dout, cache):
    """dout (N, F, OH, OW) -> dx (N, C, H, W), dw (F, C, KH, KW), db (F,)."""
    x, w, stride, padding = cache
    dout = np.asarray(dout, dtype=x.dtype)
    return csrc.conv2d_backward(dout, x, w, stride, padding)
