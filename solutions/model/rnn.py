"""Model answer for exercises/rnn.py: a vanilla RNN cell and the LSTM.

Self-contained: NumPy only, so a copy of this file is a valid submission.
The private helpers (stable sigmoid, the LSTM's elementwise gate algebra) are
shared with the kernel-backed reference :mod:`solutions.rnn`.
"""

import numpy as np

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


def _sigmoid(z):
    """Two-sided stable logistic function: exp only ever sees -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# name -> (activation, its derivative written in terms of the activation's output y)
_ACTIVATIONS = {
    "tanh": (np.tanh, lambda y: 1.0 - y * y),
    "sigmoid": (_sigmoid, lambda y: y * (1.0 - y)),
}


def _activation(name):
    """The (function, derivative-from-output) pair registered under ``name``."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, not {name!r}") from None


def rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="tanh"):
    """Model answer for exercises/rnn.py::rnn_cell_forward."""
    act, _ = _activation(activation)
    h = act(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h, activation)


def rnn_cell_backward(dh, cache):
    """Model answer for exercises/rnn.py::rnn_cell_backward."""
    x, h_prev, Wx, Wh, h, activation = cache
    _, act_grad = _activation(activation)
    da = dh * act_grad(h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _lstm_gates(a, c_prev):
    """Elementwise half of an LSTM step, from the pre-activation ``a`` (N, 4H).

    Returns h, c and the gate values (i, f, g, o, tanh(c)) the backward needs.
    """
    i, f, g, o = np.split(a, 4, axis=-1)  # torch.nn.LSTMCell's order
    i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return o * tc, c, (i, f, g, o, tc)


def _lstm_gates_backward(dh, dc, c_prev, gates):
    """Backward of :func:`_lstm_gates`: returns (da (N, 4H), dc_prev (N, H))."""
    i, f, g, o, tc = gates
    dc = dc + dh * o * (1.0 - tc * tc)  # c reaches the loss directly and through h
    da = np.concatenate(
        [
            dc * g * i * (1.0 - i),
            dc * c_prev * f * (1.0 - f),
            dc * i * (1.0 - g * g),
            dh * tc * o * (1.0 - o),
        ],
        axis=-1,
    )
    return da, dc * f


def lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b):
    """Model answer for exercises/rnn.py::lstm_cell_forward."""
    a = x @ Wx + h_prev @ Wh + b
    h, c, gates = _lstm_gates(a, c_prev)
    return h, c, (x, h_prev, c_prev, Wx, Wh, gates)


def lstm_cell_backward(dh, dc, cache):
    """Model answer for exercises/rnn.py::lstm_cell_backward."""
    x, h_prev, c_prev, Wx, Wh, gates = cache
    da, dc_prev = _lstm_gates_backward(dh, dc, c_prev, gates)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """Model answer for exercises/rnn.py::lstm_forward."""
    h, c = h0, np.zeros_like(h0)
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, c, cache = lstm_cell_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


def lstm_backward(dhs, cache):
    """Model answer for exercises/rnn.py::lstm_backward."""
    dh_next = np.zeros_like(dhs[:, 0])
    dc_next = np.zeros_like(dhs[:, 0])
    dxs, dWx, dWh, db = [], 0.0, 0.0, 0.0
    for t in reversed(range(dhs.shape[1])):
        dx, dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_cell_backward(dhs[:, t] + dh_next, dc_next, cache[t])
        dxs.append(dx)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_next, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Model answer for exercises/rnn.py::rnn_forward."""
    h, hs, caches = h0, [], []
    for t in range(x.shape[1]):
        h, cache = rnn_cell_forward(x[:, t], h, Wx, Wh, b)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), caches


def rnn_backward(dhs, cache):
    """Model answer for exercises/rnn.py::rnn_backward."""
    dh_next = np.zeros_like(dhs[:, 0])  # nothing flows back from after the last step
    dxs, dWx, dWh, db = [], 0.0, 0.0, 0.0
    for t in reversed(range(dhs.shape[1])):
        # h_t reaches the loss directly and through step t+1
        dx, dh_next, dWx_t, dWh_t, db_t = rnn_cell_backward(dhs[:, t] + dh_next, cache[t])
        dxs.append(dx)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_next, dWx, dWh, db
