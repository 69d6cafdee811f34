"""Exercise: backpropagation through layers, and a two-layer network.

Each layer is a pair of functions (the CS231n layer contract):

- ``*_forward(inputs) -> (out, cache)``: computes the output and keeps in
  ``cache`` whatever the backward pass will need;
- ``*_backward(dout, cache)``: receives dout = dL/dout (same shape as out) and
  returns the gradients of the loss with respect to the forward's array
  inputs, in the order of the forward's parameters, each with the shape of
  that input.

A network chains forwards, then calls the backwards in reverse order: the
chain rule, one layer at a time. Batches are rows: x has shape (N, D).
Never modify an input array.

Check every backward you write with your own ``numerical_gradient`` and
``rel_error`` (gradcheck.py; copy them into a scratch file, an exercise module
must not import another). For the affine layer, with ``rng =
np.random.default_rng(0)``:

    out, cache = affine_forward(x, W, b)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = affine_backward(dout, cache)
    L = lambda _: np.sum(affine_forward(x, W, b)[0] * dout)
    rel_error(dW, numerical_gradient(L, W))   # about 1e-9 when right

(``sum(out * dout)`` is the scalar whose gradient the backward computes.)

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax. The module must be
self-contained: do not import another exercise module.
"""

import numpy as np


def affine_forward(x, W, b):
    """Fully connected (affine) layer: out = x W + b.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A batch of N inputs of D features.
    W : ndarray, shape (D, M)
        Weights.
    b : ndarray, shape (M,)
        Biases, broadcast over the N rows.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        What the backward needs: (x, W, b).
    """
    raise NotImplementedError("affine_forward: your code here")


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

        dx = dout W^T,   dW = x^T dout,   db = sum of dout over the N rows

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient dL/dout.
    cache : tuple
        The cache of ``affine_forward``: (x, W, b).

    Returns
    -------
    dx : ndarray, shape (N, D)
    dW : ndarray, shape (D, M)
    db : ndarray, shape (M,)

    Check: each gradient has the shape of what it is the gradient of.
    """
    raise NotImplementedError("affine_backward: your code here")


def sigmoid_forward(x):
    """Sigmoid layer: out = sigma(x) = 1 / (1 + exp(-x)), elementwise.

    Parameters
    ----------
    x : ndarray, any shape, e.g. (N, H)

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        Keep ``out``: the derivative is out * (1 - out).

    Pitfall: compute sigma stably (no overflow for x = -1e4): with
    e = exp(-|x|), sigma = 1/(1+e) where x >= 0 and e/(1+e) where x < 0.
    """
    raise NotImplementedError("sigmoid_forward: your code here")


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid layer: dx = dout * out * (1 - out).

    Parameters
    ----------
    dout : ndarray, same shape as the forward's out
    cache : ndarray
        The forward's out = sigma(x).

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    raise NotImplementedError("sigmoid_backward: your code here")


def tanh_forward(x):
    """Tanh layer: out = tanh(x), elementwise (np.tanh).

    Parameters
    ----------
    x : ndarray, any shape, e.g. (N, H)

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        Keep ``out``: the derivative is 1 - out**2.
    """
    raise NotImplementedError("tanh_forward: your code here")


def tanh_backward(dout, cache):
    """Backward pass of the tanh layer: dx = dout * (1 - out**2).

    Parameters
    ----------
    dout : ndarray, same shape as the forward's out
    cache : ndarray
        The forward's out = tanh(x).

    Returns
    -------
    dx : ndarray, same shape as dout
    """
    raise NotImplementedError("tanh_backward: your code here")


def relu_forward(x):
    """ReLU layer: out = max(x, 0), elementwise.

    Parameters
    ----------
    x : ndarray, any shape, e.g. (N, H)

    Returns
    -------
    out : ndarray, same shape as x
    cache : ndarray
        Keep the input ``x``: the gradient passes where x > 0.
    """
    raise NotImplementedError("relu_forward: your code here")


def relu_backward(dout, cache):
    """Backward pass of the ReLU layer: dx = dout where x > 0, else 0.

    Parameters
    ----------
    dout : ndarray, same shape as x
    cache : ndarray
        The forward's input x.

    Returns
    -------
    dx : ndarray, same shape as dout

    Pitfall: at x = 0 exactly the gradient is 0 (test x > 0, not x >= 0).
    Do not write into dout (``dout[x <= 0] = 0`` modifies the caller's array).
    """
    raise NotImplementedError("relu_backward: your code here")


def two_layer_net_loss(X, y, params, activation="tanh"):
    """Loss and gradients of a two-layer binary classifier.

    Forward pass, for a batch of N examples:

        z1     = X W1 + b1                    (N, H)   affine
        hidden = phi(z1)                      (N, H)   activation
        s      = hidden W2 + b2               (N, 1)   affine
        y_hat  = sigma(s)                     (N, 1)   sigmoid
        L      = -mean(y log y_hat + (1 - y) log(1 - y_hat))

    with phi = tanh, sigmoid or ReLU as ``activation`` says. Backward pass:
    sigmoid and binary cross-entropy together give the simple
    dL/ds = (y_hat - y) / N, shape (N, 1); then go back through the layers
    with your backward functions, in reverse order.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        N examples of D features.
    y : ndarray, shape (N,)
        Labels, 0 or 1. Mind the shapes: s is (N, 1) but y is (N,); use
        s[:, 0] (or y[:, None]) or broadcasting makes an (N, N) array.
    params : dict of ndarrays
        "W1" (D, H), "b1" (H,), "W2" (H, 1), "b2" (1,).
    activation : str
        "tanh", "sigmoid" or "relu"; anything else: ValueError. Pick the
        layer pair from a dict, e.g. {"tanh": (tanh_forward, tanh_backward),
        ...}, rather than an if/elif chain.

    Returns
    -------
    loss : float
    grads : dict of ndarrays
        Same keys and shapes as ``params``: "W1" (D, H), "b1" (H,),
        "W2" (H, 1), "b2" (1,).

    Pitfall: log(sigma(s)) is -inf once sigma(s) rounds to 0 or 1 (|s| of a
    few tens). Compute the loss from s directly, with the stable identity
    -y log sigma(s) - (1 - y) log(1 - sigma(s))
        = max(s, 0) - y s + log(1 + exp(-|s|))   (use np.log1p).
    Never modify params.
    """
    raise NotImplementedError("two_layer_net_loss: your code here")
