"""Reference for exercises/rnn.py.

Every matrix product runs on our Cython kernel (``csrc.matmul``, never BLAS);
the activations' derivatives are the model answer's own, imported from
:mod:`solutions.model.rnn`. The elementwise work is written to take fewer NumPy
calls than the model answer's (at grading sizes each call's overhead is the
cost): activations in place on the fresh pre-activation, and the LSTM's four
gate blocks as one (4, N, H) array, one sigmoid and one derivative for all.

Over a sequence, the products that do not depend on the recurrence are done
once for all N*T rows: ``x @ Wx`` in the forward, and ``dx``, ``dWx``, ``dWh``
in the backward; only ``h_prev @ Wh`` and ``da @ Wh^T`` are done per step.
"""

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.rnn import _activation

__all__ = [
    "rnn_cell_forward",
    "rnn_cell_backward",
    "lstm_cell_forward",
    "lstm_cell_backward",
    "lstm_forward",
    "lstm_backward",
    "rnn_forward",
    "rnn_backward",
]


def _sigmoid_into(z, out):
    """The logistic function of z, written into out (z itself allowed): exp(-log(1 + exp(-z))),
    with np.logaddexp (stable: no overflow for any z) in four NumPy calls; within a few ulps of
    the model answer's two-sided form."""
    np.negative(z, out=out)
    np.logaddexp(0.0, out, out=out)
    np.negative(out, out=out)
    return np.exp(out, out=out)


#: activation name -> the activation applied in place to a fresh pre-activation (the model
#: answer's registry, _activation, names the same ones and gives their derivatives).
_ACTIVATIONS_INPLACE = {"tanh": lambda a: np.tanh(a, out=a), "sigmoid": lambda a: _sigmoid_into(a, a)}


def _lstm_gates(a, c_prev):
    """The model answer's _lstm_gates (same h and c) for a (N, 4H): one sigmoid call for the
    four gate blocks at once, into s (4, N, H) so that each gate is a contiguous (N, H) array
    (the g block's sigmoid is computed and unused). The gates tuple is (s, g, tanh(c)), which
    _lstm_gates_backward below takes."""
    N, H = a.shape[0], a.shape[1] // 4
    s = np.empty((4, N, H), dtype=a.dtype)
    _sigmoid_into(a.reshape(N, 4, H).transpose(1, 0, 2), s)
    g = np.tanh(a[:, 2 * H : 3 * H])
    c = s[1] * c_prev
    c += s[0] * g
    tc = np.tanh(c)
    return s[3] * tc, c, (s, g, tc)


def _lstm_gates_backward(dh, dc, c_prev, gates):
    """Backward of _lstm_gates: (da (N, 4H), dc_prev (N, H)), the model answer's formulas with
    the four blocks' derivatives taken in one pass over s."""
    s, g, tc = gates
    i, f, o = s[0], s[1], s[3]
    dc = dc + dh * o * (1.0 - tc * tc)  # c reaches the loss directly and through h
    u = np.empty(s.shape, dtype=dc.dtype)  # upstream of each block's activation
    np.multiply(dc, g, out=u[0])
    np.multiply(dc, c_prev, out=u[1])
    np.multiply(dc, i, out=u[2])
    np.multiply(dh, tc, out=u[3])
    d = 1.0 - s
    d *= s  # sigmoid' = s (1 - s) for i, f and o
    np.multiply(g, g, out=d[2])
    np.subtract(1.0, d[2], out=d[2])  # tanh' = 1 - g^2 for g
    u *= d
    return u.transpose(1, 0, 2).reshape(s.shape[1], -1), dc * f


def _with_cached(da, *cached):
    """da and the cache's arrays (converted by the forward already) in one float dtype: as they
    are when da has theirs, else all through common_float."""
    if type(da) is np.ndarray and da.dtype is cached[0].dtype:
        return (da, *cached)
    return common_float(da, *cached)


def _mm_t(a, b):
    """a^T @ b for 2-D a, b on the kernel."""
    return csrc.matmul(a.T, b)


def _mm_bt(a, b):
    """a @ b^T for 2-D a, b on the kernel."""
    return csrc.matmul(a, b.T)


def rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="tanh"):
    """h = activation(x Wx + h_prev Wh + b): x (N, D), h_prev (N, H) -> h (N, H), cache."""
    act = _ACTIVATIONS_INPLACE.get(activation) or _activation(activation)[0]  # raises for an unknown name
    x, h_prev, Wx, Wh, b = common_float(x, h_prev, Wx, Wh, b)
    a = csrc.matmul(x, Wx)
    a += csrc.matmul(h_prev, Wh)
    a += b
    h = act(a)
    return h, (x, h_prev, Wx, Wh, h, activation)


def rnn_cell_backward(dh, cache):
    """dh (N, H) -> dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,)."""
    x, h_prev, Wx, Wh, h, activation = cache
    _, act_grad = _activation(activation)
    da, x, h_prev, Wx, Wh = _with_cached(dh * act_grad(h), x, h_prev, Wx, Wh)
    return _mm_bt(da, Wx), _mm_bt(da, Wh), _mm_t(x, da), _mm_t(h_prev, da), np.add.reduce(da, 0)


def lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step (gates i, f, g, o): -> h (N, H), c (N, H), cache."""
    x, h_prev, c_prev, Wx, Wh, b = common_float(x, h_prev, c_prev, Wx, Wh, b)
    a = csrc.matmul(x, Wx)
    a += csrc.matmul(h_prev, Wh)
    a += b
    h, c, gates = _lstm_gates(a, c_prev)
    return h, c, (x, h_prev, c_prev, Wx, Wh, gates)


def lstm_cell_backward(dh, dc, cache):
    """-> dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)."""
    x, h_prev, c_prev, Wx, Wh, gates = cache
    da, dc_prev = _lstm_gates_backward(dh, dc, c_prev, gates)
    da, x, h_prev, Wx, Wh = _with_cached(da, x, h_prev, Wx, Wh)
    return (
        _mm_bt(da, Wx),
        _mm_bt(da, Wh),
        dc_prev,
        _mm_t(x, da),
        _mm_t(h_prev, da),
        np.add.reduce(da, 0),
    )


def lstm_forward(x, h0, Wx, Wh, b):
    """LSTM over x (N, T, D) from h0 (N, H) and c0 = 0 -> hs (N, T, H), cache."""
    x, h0, Wx, Wh, b = common_float(x, h0, Wx, Wh, b)
    N, T, D = x.shape
    # The input part of every step's pre-activation, in one (N*T, D) @ (D, 4H) product.
    ax = (csrc.matmul(x.reshape(N * T, D), Wx) + b).reshape(N, T, -1)
    hs = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
    h, c = h0, np.zeros_like(h0)
    steps = []
    for t in range(T):
        c_prev = c
        h, c, gates = _lstm_gates(ax[:, t] + csrc.matmul(h, Wh), c_prev)
        hs[:, t] = h
        steps.append((c_prev, gates))
    return hs, (x, h0, Wx, Wh, hs, steps)


def lstm_backward(dhs, cache):
    """dhs (N, T, H) -> dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)."""
    x, h0, Wx, Wh, hs, steps = cache
    dhs, x, h0, Wx, Wh, hs = common_float(dhs, x, h0, Wx, Wh, hs)
    N, T, D = x.shape
    da = np.empty((N, T, Wx.shape[1]), dtype=x.dtype)
    dh_next = np.zeros_like(h0)
    dc_next = np.zeros_like(h0)
    WhT = Wh.T
    for t in reversed(range(T)):
        c_prev, gates = steps[t]
        da_t, dc_next = _lstm_gates_backward(dhs[:, t] + dh_next, dc_next, c_prev, gates)
        da[:, t] = da_t
        dh_next = csrc.matmul(da_t, WhT)
    # Everything else sums over all N*T rows at once.
    da2 = da.reshape(N * T, -1)
    h_prevs = np.concatenate([h0[:, None], hs[:, :-1]], axis=1).reshape(N * T, -1)
    dx = _mm_bt(da2, Wx).reshape(N, T, D)
    return dx, dh_next, _mm_t(x.reshape(N * T, D), da2), _mm_t(h_prevs, da2), da2.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """The tanh cell over x (N, T, D) from h0 (N, H) -> hs (N, T, H), cache."""
    x, h0, Wx, Wh, b = common_float(x, h0, Wx, Wh, b)
    N, T, D = x.shape
    # The input part of every step's pre-activation, in one (N*T, D) @ (D, H) product.
    ax = (csrc.matmul(x.reshape(N * T, D), Wx) + b).reshape(N, T, -1)
    hs = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
    h = h0
    for t in range(T):
        h = np.tanh(ax[:, t] + csrc.matmul(h, Wh))
        hs[:, t] = h
    return hs, (x, h0, Wx, Wh, hs)


def rnn_backward(dhs, cache):
    """Backpropagation through time: dhs (N, T, H) -> dx (N, T, D), dh0 (N, H), dWx, dWh, db."""
    x, h0, Wx, Wh, hs = cache
    dhs, x, h0, Wx, Wh, hs = common_float(dhs, x, h0, Wx, Wh, hs)
    N, T, D = x.shape
    da = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    WhT = np.ascontiguousarray(Wh.T)
    for t in reversed(range(T)):
        da[:, t] = (dhs[:, t] + dh_next) * (1.0 - hs[:, t] * hs[:, t])
        dh_next = csrc.matmul(np.ascontiguousarray(da[:, t]), WhT)
    # Everything else sums over all N*T rows at once.
    da2 = da.reshape(N * T, -1)
    h_prevs = np.concatenate([h0[:, None], hs[:, :-1]], axis=1).reshape(N * T, -1)
    dx = _mm_bt(da2, Wx).reshape(N, T, D)
    return dx, dh_next, _mm_t(x.reshape(N * T, D), da2), _mm_t(h_prevs, da2), da2.sum(axis=0)
