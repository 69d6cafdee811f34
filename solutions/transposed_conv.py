"""Reference for exercises/transposed_conv.py.

The transposed convolutions run on our Cython kernels
(``csrc.conv_transpose2d_forward`` / ``_backward``, never BLAS);
``trans_conv2d`` is their one-image, one-channel case with stride 1 and no
padding.
"""

import numpy as np

import csrc
from solutions._common import common_float

__all__ = [
    "trans_conv2d",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
]


def trans_conv2d(x, k):
    """Transposed convolution of x (H, W) with k (KH, KW) -> (H + KH - 1, W + KW - 1)."""
    x, k = common_float(x, k)
    if x.ndim != 2 or k.ndim != 2:
        raise ValueError(f"trans_conv2d: x and k must be 2-D, got shapes {x.shape} and {k.shape}")
    return csrc.conv_transpose2d_forward(x[None, None], k[None, None])[0, 0]


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """x (N, C_in, H, W), w (C_in, C_out, KH, KW), b (C_out,) -> out (N, C_out, OH, OW), cache."""
    x, w, b = common_float(x, w, b)
    out = csrc.conv_transpose2d_forward(x, w, b, stride, padding)
    return out, (x, w, stride, padding)


def conv_transpose2d_backward(dout, cache):
    """dout (N, C_out, OH, OW) -> dx (N, C_in, H, W), dw (C_in, C_out, KH, KW), db (C_out,)."""
    x, w, stride, padding = cache
    dout = np.asarray(dout, dtype=x.dtype)
    return csrc.conv_transpose2d_backward(dout, x, w, stride, padding)
