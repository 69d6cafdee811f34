"""Reference for exercises/rnn.py.

Every matrix product runs on our Cython kernel (``csrc.matmul``, never BLAS);
the activations' derivatives and the LSTM's gate backward are the model
answer's own, imported from :mod:`solutions.model.rnn`. The forward's
elementwise work is written to take fewer NumPy calls than the model answer's
(at grading sizes each call's overhead is the cost): activations in place on the
fresh pre-activation, and one sigmoid over all four LSTM gate blocks at once.

Over a sequence, the products that do not depend on the recurrence are done
once for all N*T rows: ``x @ Wx`` in the forward, and ``dx``, ``dWx``, ``dWh``
in the backward; only ``h_prev @ Wh`` and ``da @ Wh^T`` are done per step.
"""

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.rnn import _activation, _lstm_gates_backward

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


def _sigmoid_inplace(z):
    """The logistic function of z, written into z: exp(-log(1 + exp(-z))), with np.logaddexp
    (stable: no overflow for any z) in four NumPy calls; within a few ulps of the model answer's
    two-sided form."""
    np.negative(z, out=z)
    np.logaddexp(0.0, z, out=z)
    np.negative(z, out=z)
    return np.exp(z, out=z)


#: activation name -> the activation applied in place to a fresh pre-activation (the model
#: answer's registry, _activation, names the same ones and gives their derivatives).
_ACTIVATIONS_INPLACE = {"tanh": lambda a: np.tanh(a, out=a), "sigmoid": _sigmoid_inplace}


def _lstm_gates(a, c_prev):
    """The model answer's _lstm_gates (same results, same gates tuple), overwriting the fresh
    pre-activation a (N, 4H): one sigmoid call for the i, f and o blocks together (the g block's
    sigmoid is computed and unused), views instead of np.split."""
    H = a.shape[-1] // 4
    g = np.tanh(a[..., 2 * H : 3 * H])
    s = _sigmoid_inplace(a)
    i, f, o = s[..., :H], s[..., H : 2 * H], s[..., 3 * H :]
    c = f * c_prev
    c += i * g
    tc = np.tanh(c)
    return o * tc, c, (i, f, g, o, tc)


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
    da, x, h_prev, Wx, Wh = common_float(dh * act_grad(h), x, h_prev, Wx, Wh)
    return _mm_bt(da, Wx), _mm_bt(da, Wh), _mm_t(x, da), _mm_t(h_prev, da), da.sum(axis=0)


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
    da, x, h_prev, Wx, Wh = common_float(da, x, h_prev, Wx, Wh)
    return (
        _mm_bt(da, Wx),
        _mm_bt(da, Wh),
        dc_prev,
        _mm_t(x, da),
        _mm_t(h_prev, da),
        da.sum(axis=0),
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
