"""Model answer for exercises/transposed_conv.py: transposed convolution.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.

A transposed convolution scatters: every input element scales the kernel and
adds the scaled copy to the output at its (strided) position. Looping over the
KH * KW kernel offsets instead of the input elements gives the same sums with
one vectorised product per offset: offset (i, j) adds x * w[..., i, j] to a
strided slice of the (uncropped) output.
"""

import numpy as np


def _pair(v):
    """An int or an (h, w) pair as a pair of ints."""
    if np.ndim(v) == 0:
        return int(v), int(v)
    h, w = v
    return int(h), int(w)


def _as_float(*arrays):
    """The arrays in one floating dtype: float32 when all are float32, else float64."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64
    return [a.astype(dtype, copy=False) for a in arrays]


def _offset_view(full, i, j, h, w, sh, sw):
    """The (..., h, w) slice of the uncropped output that kernel offset (i, j) writes to."""
    return full[..., i : i + sh * (h - 1) + 1 : sh, j : j + sw * (w - 1) + 1 : sw]


def trans_conv2d(x, k):
    """Model answer for exercises/transposed_conv.py::trans_conv2d."""
    x, k = _as_float(x, k)
    (h, w), (kh, kw) = x.shape, k.shape
    out = np.zeros((h + kh - 1, w + kw - 1), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[i : i + h, j : j + w] += k[i, j] * x
    return out


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """Model answer for exercises/transposed_conv.py::conv_transpose2d_forward."""
    x, w, b = _as_float(x, w, b)
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, c_in, h, wd = x.shape
    cw, c_out, kh, kw = w.shape
    if cw != c_in or b.shape != (c_out,):
        raise ValueError(f"x {x.shape}, w {w.shape} and b {b.shape} do not fit together")
    oh, ow = (h - 1) * sh - 2 * ph + kh, (wd - 1) * sw - 2 * pw + kw
    if min(sh, sw) < 1 or min(ph, pw) < 0 or oh < 1 or ow < 1:
        raise ValueError(f"no output: x {x.shape}, w {w.shape}, stride {stride}, padding {padding}")
    full = np.zeros((n, c_out, oh + 2 * ph, ow + 2 * pw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            _offset_view(full, i, j, h, wd, sh, sw)[...] += np.einsum("nchw,cd->ndhw", x, w[:, :, i, j])
    # padding removes rows and columns from each side of the full output
    out = full[:, :, ph : ph + oh, pw : pw + ow] + b[None, :, None, None]
    return out, (x, w, b, (sh, sw), (ph, pw))


def conv_transpose2d_backward(dout, cache):
    """Model answer for exercises/transposed_conv.py::conv_transpose2d_backward."""
    x, w, b, (sh, sw), (ph, pw) = cache
    dout = np.asarray(dout, dtype=x.dtype)
    h, wd = x.shape[2:]
    kh, kw = w.shape[2:]
    # the cropped border did not reach the output: its gradient is zero
    dfull = np.pad(dout, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            dview = _offset_view(dfull, i, j, h, wd, sh, sw)
            dx += np.einsum("ndhw,cd->nchw", dview, w[:, :, i, j])
            dw[:, :, i, j] = np.einsum("nchw,ndhw->cd", x, dview)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
