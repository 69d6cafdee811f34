"""Naive NumPy references for the csrc kernels, written from the definitions (loops over the
kernel offsets, einsum over channels), computed in float64."""

import numpy as np


def matmul(a, b):
    """Row-by-column dot products, one output row at a time, in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros((a.shape[0], b.shape[1]))
    for i in range(a.shape[0]):
        out[i] = (a[i][:, None] * b).sum(axis=0)
    return out


def _window(arr, kh, kw, oh, ow, sh, sw):
    """arr[..., kh + sh*i, kw + sw*j] for i < oh, j < ow (a strided view)."""
    return arr[..., kh : kh + sh * (oh - 1) + 1 : sh, kw : kw + sw * (ow - 1) + 1 : sw]


def conv2d(x, w, b, stride, padding):
    """out[n, f, i, j] = b[f] + sum_{c,kh,kw} xpad[n, c, i*sh + kh, j*sw + kw] * w[f, c, kh, kw]."""
    x, w = np.float64(x), np.float64(w)
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, wd = x.shape
    f, _, kh_, kw_ = w.shape
    oh, ow = (h + 2 * ph - kh_) // sh + 1, (wd + 2 * pw - kw_) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, oh, ow))
    for kh in range(kh_):
        for kw in range(kw_):
            out += np.einsum("nchw,fc->nfhw", _window(xp, kh, kw, oh, ow, sh, sw), w[:, :, kh, kw])
    if b is not None:
        out += np.float64(b)[None, :, None, None]
    return out


def conv2d_backward(dout, x, w, stride, padding):
    """(dx, dw, db) of conv2d, each entry the sum over the output pixels that read it."""
    dout, x, w = np.float64(dout), np.float64(x), np.float64(w)
    (sh, sw), (ph, pw) = stride, padding
    _, _, h, wd = x.shape
    oh, ow = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for kh in range(w.shape[2]):
        for kw in range(w.shape[3]):
            _window(dxp, kh, kw, oh, ow, sh, sw)[...] += np.einsum("nfhw,fc->nchw", dout, w[:, :, kh, kw])
            dw[:, :, kh, kw] = np.einsum("nfhw,nchw->fc", dout, _window(xp, kh, kw, oh, ow, sh, sw))
    dx = dxp[:, :, ph : ph + h, pw : pw + wd]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv_transpose2d(x, w, b, stride, padding):
    """Every input pixel x[n, c, i, j] adds x * w[c, :, :, :] to the full output at
    (i*sh, j*sw); then `padding` rows/columns are cropped on each side."""
    x, w = np.float64(x), np.float64(w)
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, wd = x.shape
    _, d, kh_, kw_ = w.shape
    full = np.zeros((n, d, (h - 1) * sh + kh_, (wd - 1) * sw + kw_))
    for kh in range(kh_):
        for kw in range(kw_):
            _window(full, kh, kw, h, wd, sh, sw)[...] += np.einsum("nchw,cd->ndhw", x, w[:, :, kh, kw])
    out = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    if b is not None:
        out = out + np.float64(b)[None, :, None, None]
    return out


def conv_transpose2d_backward(dout, x, w, stride, padding):
    """(dx, dw, db) of conv_transpose2d: each input pixel's gradient gathers the output pixels
    it was scattered to."""
    dout, x, w = np.float64(dout), np.float64(x), np.float64(w)
    (sh, sw), (ph, pw) = stride, padding
    _, _, h, wd = x.shape
    dfull = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for kh in range(w.shape[2]):
        for kw in range(w.shape[3]):
            win = _window(dfull, kh, kw, h, wd, sh, sw)
            dx += np.einsum("ndhw,cd->nchw", win, w[:, :, kh, kw])
            dw[:, :, kh, kw] = np.einsum("ndhw,nchw->cd", win, x)
    return dx, dw, dout.sum(axis=(0, 2, 3))
