"""Model answer for exercises/conv.py: cross-correlation, convolutional layers, max pooling.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.

Every convolution here is written the same way: for each kernel offset (i, j)
the input positions that offset reads form a strided slice of the padded input,
so the whole layer is a short loop over the KH * KW offsets, each one a single
vectorised product over the batch and the channels.
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


def _out_size(size, k, p, s):
    """Output length of a window of length k sliding with stride s over size + 2p."""
    out = (size + 2 * p - k) // s + 1
    if k < 1 or s < 1 or p < 0 or out < 1:
        raise ValueError(f"no output: size {size}, kernel {k}, padding {p}, stride {s}")
    return out


def _offset_view(xp, i, j, oh, ow, sh, sw):
    """The (..., oh, ow) slice of the padded input xp that kernel offset (i, j) reads."""
    return xp[..., i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]


def _pad(x, ph, pw):
    """Zero padding of the last two axes, ph rows and pw columns on each side."""
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)])


def corr2d(x, k, padding=0, stride=1):
    """Model answer for exercises/conv.py::corr2d."""
    x, k = _as_float(x, k)
    (ph, pw), (sh, sw) = _pair(padding), _pair(stride)
    (kh, kw) = k.shape
    oh, ow = _out_size(x.shape[0], kh, ph, sh), _out_size(x.shape[1], kw, pw, sw)
    xp = _pad(x, ph, pw)
    out = np.zeros((oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * _offset_view(xp, i, j, oh, ow, sh, sw)
    return out


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Model answer for exercises/conv.py::conv2d_forward."""
    x, w, b = _as_float(x, w, b)
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, c, h, wd = x.shape
    f, cw, kh, kw = w.shape
    if cw != c or b.shape != (f,):
        raise ValueError(f"x {x.shape}, w {w.shape} and b {b.shape} do not fit together")
    oh, ow = _out_size(h, kh, ph, sh), _out_size(wd, kw, pw, sw)
    xp = _pad(x, ph, pw)
    out = np.zeros((n, f, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # out[n, f] += sum_c w[f, c, i, j] * xp[n, c, shifted window positions]
            out += np.einsum("nchw,fc->nfhw", _offset_view(xp, i, j, oh, ow, sh, sw), w[:, :, i, j])
    out += b[None, :, None, None]
    return out, (x, w, b, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    """Model answer for exercises/conv.py::conv2d_backward."""
    x, w, b, (sh, sw), (ph, pw) = cache
    dout = np.asarray(dout, dtype=x.dtype)
    oh, ow = dout.shape[2:]
    kh, kw = w.shape[2:]
    xp = _pad(x, ph, pw)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, _offset_view(xp, i, j, oh, ow, sh, sw))
            # each input position collects the gradient of every output it was read by
            _offset_view(dxp, i, j, oh, ow, sh, sw)[...] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def _pool_windows(x, kh, kw, sh, sw):
    """Windows of x (N, C, H, W) as (N, C, OH, OW, KH * KW), each flattened in row-major order."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.reshape(*windows.shape[:4], kh * kw)


def max_pool2d_forward(x, kernel_size, stride=None):
    """Model answer for exercises/conv.py::max_pool2d_forward."""
    (x,) = _as_float(x)
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    _out_size(x.shape[2], kh, 0, sh)  # raise a clear error when a window does not fit
    _out_size(x.shape[3], kw, 0, sw)
    windows = _pool_windows(x, kh, kw, sh, sw)
    first_max = np.argmax(windows, axis=-1)  # argmax returns the first maximum: ties go there
    out = np.take_along_axis(windows, first_max[..., None], axis=-1)[..., 0]
    return out, (x.shape, x.dtype, first_max, (kh, kw), (sh, sw))


def max_pool2d_backward(dout, cache):
    """Model answer for exercises/conv.py::max_pool2d_backward."""
    x_shape, x_dtype, first_max, (kh, kw), (sh, sw) = cache
    dout = np.asarray(dout)
    dx = np.zeros(x_shape, dtype=np.result_type(x_dtype, dout.dtype))
    n, c, oh, ow = np.indices(first_max.shape, sparse=True)
    rows = oh * sh + first_max // kw
    cols = ow * sw + first_max % kw
    # overlapping windows (stride < kernel) may pick the same input: add, never overwrite
    np.add.at(dx, (n, c, rows, cols), dout)
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    """Model answer for exercises/conv.py::avg_pool2d_forward."""
    (x,) = _as_float(x)
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    oh, ow = _out_size(x.shape[2], kh, 0, sh), _out_size(x.shape[3], kw, 0, sw)
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += _offset_view(x, i, j, oh, ow, sh, sw)
    return out / (kh * kw), (x.shape, (kh, kw), (sh, sw))


def avg_pool2d_backward(dout, cache):
    """Model answer for exercises/conv.py::avg_pool2d_backward."""
    x_shape, (kh, kw), (sh, sw) = cache
    dout = np.asarray(dout)
    share = dout / (kh * kw)  # every input of a window gets an equal share of its gradient
    dx = np.zeros(x_shape, dtype=share.dtype)
    oh, ow = dout.shape[2:]
    for i in range(kh):
        for j in range(kw):
            _offset_view(dx, i, j, oh, ow, sh, sw)[...] += share
    return dx
