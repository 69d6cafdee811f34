"""Model answer for exercises/backprop.py: layers and a two-layer network.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.
"""

import numpy as np


def _as_float(a):
    """a as a floating array: float inputs keep their dtype, others become float64."""
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def affine_forward(x, W, b):
    """Model answer for exercises/backprop.py::affine_forward."""
    x, W, b = _as_float(x), _as_float(W), _as_float(b)
    out = x @ W + b
    return out, (x, W, b)


def affine_backward(dout, cache):
    """Model answer for exercises/backprop.py::affine_backward."""
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.sum(dout, axis=0)


def _sigmoid(z):
    """Two-sided stable logistic function."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x):
    """Model answer for exercises/backprop.py::sigmoid_forward."""
    out = _sigmoid(_as_float(x))
    return out, out


def sigmoid_backward(dout, cache):
    """Model answer for exercises/backprop.py::sigmoid_backward."""
    out = cache
    return dout * out * (1 - out)


def tanh_forward(x):
    """Model answer for exercises/backprop.py::tanh_forward."""
    out = np.tanh(_as_float(x))
    return out, out


def tanh_backward(dout, cache):
    """Model answer for exercises/backprop.py::tanh_backward."""
    out = cache
    return dout * (1 - out**2)


def relu_forward(x):
    """Model answer for exercises/backprop.py::relu_forward."""
    x = _as_float(x)
    return np.where(x > 0, x, 0), x


def relu_backward(dout, cache):
    """Model answer for exercises/backprop.py::relu_backward."""
    x = cache
    return np.where(x > 0, dout, 0)


#: activation name -> (forward, backward) of its layer.
ACTIVATIONS = {
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "relu": (relu_forward, relu_backward),
}


def _bce_with_logits(scores, y):
    """Mean binary cross-entropy of sigmoid(scores) against y, and d loss / d scores.

    scores (N,), y (N,) in {0, 1}. Computed from the scores, never from
    log(sigmoid): log(1 + exp(s)) - y*s = max(s, 0) + log1p(exp(-|s|)) - y*s.
    """
    n = scores.shape[0]
    loss = np.mean(np.maximum(scores, 0) + np.log1p(np.exp(-np.abs(scores))) - y * scores)
    dscores = (_sigmoid(scores) - y) / n
    return float(loss), dscores.astype(scores.dtype, copy=False)


def two_layer_net_loss(X, y, params, activation="tanh"):
    """Model answer for exercises/backprop.py::two_layer_net_loss."""
    return _two_layer_net_loss(X, y, params, activation, affine_forward, affine_backward)


def _two_layer_net_loss(X, y, params, activation, affine_fwd, affine_bwd):
    """two_layer_net_loss built on the given affine layer (the reference passes its own)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
    act_forward, act_backward = ACTIVATIONS[activation]
    z1, cache1 = affine_fwd(X, params["W1"], params["b1"])
    hidden, cache_act = act_forward(z1)
    scores, cache2 = affine_fwd(hidden, params["W2"], params["b2"])
    loss, dscores = _bce_with_logits(scores[:, 0], y)
    dhidden, dW2, db2 = affine_bwd(dscores[:, None], cache2)
    dz1 = act_backward(dhidden, cache_act)
    _, dW1, db1 = affine_bwd(dz1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
