"""Exercise: dropout, batch normalisation and layer normalisation.

Three layers that change how a network trains, not what it can represent:

- dropout switches off a random fraction p of the units at every training
  step, so that no unit can rely on any particular other one;
- batch normalisation standardises every feature over the BATCH (mean 0,
  variance 1), then rescales it with learned gamma and beta;
- layer normalisation does the same over the FEATURES of each example (the
  transformer's normalisation: it does not depend on the other examples).

Conventions (as in every layer module):

- Batches are rows: ``x`` has shape ``(N, D)`` (layer norm: ``(..., D)``).
- ``*_forward`` returns ``(out, cache)``; ``*_backward(dout, cache)`` returns
  the gradients of the loss with respect to the forward's array inputs, in the
  order of the forward's parameters. Put in the cache what the backward needs;
  the grader never looks inside it.
- Never modify an input array in place; return new arrays.

Check every backward with your own tools from ``gradcheck.py`` (copy
``numerical_gradient`` and ``rel_error`` into a scratch cell or file: an
exercise module must not import another one). The recipe, for a forward
``layer_forward(x, gamma, beta)``:

    out, cache = layer_forward(x, gamma, beta)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = layer_backward(dout, cache)
    L = lambda _: np.sum(layer_forward(x, gamma, beta)[0] * dout)
    rel_error(dx, numerical_gradient(L, x))           # ~1e-8: right
    rel_error(dgamma, numerical_gradient(L, gamma))

(``L`` reads x, gamma and beta when called, so nudging them in place is seen.)

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax; do not import another exercise
module either.
"""

import numpy as np


def dropout_forward(x, p, train=True, seed=0):
    """Inverted dropout.

    In training (``train=True`` and ``p > 0``): draw the mask of KEPT units
    exactly as ``keep = np.random.default_rng(seed).random(x.shape) >= p``
    (each unit is dropped with probability p) and return
    ``out = x * keep / (1 - p)``.

    Why divide by 1 - p ("inverted" dropout): a unit survives with probability
    1 - p, so the expected value of ``x * keep`` is ``(1 - p) * x``. Scaling the
    survivors by 1 / (1 - p) during training keeps every unit's expected value
    equal to x, so at test time the layer is simply the identity.

    At test time (``train=False``), or when ``p == 0``: ``out`` equals ``x``
    (no mask, no scaling).

    Parameters
    ----------
    x : ndarray, any shape, e.g. (N, D)
        The activations.
    p : float
        The probability of DROPPING a unit, in [0, 1); anything else raises
        ``ValueError``.
    train : bool
        Training mode (drop and rescale) or test mode (identity).
    seed : int
        The seed of the mask's generator (the grader compares masks exactly,
        so draw it exactly as above: one call of ``.random(x.shape)``).

    Returns
    -------
    out : ndarray, same shape as x
    cache : object
        What ``dropout_backward`` needs (the scaled mask, or a note that the
        layer was the identity).
    """
    raise NotImplementedError("dropout_forward: your code here")


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`.

    Forward: ``out = x * mask`` with a FIXED mask (``keep / (1 - p)`` in
    training, all ones when the layer was the identity). The mask does not
    depend on x, so this is an elementwise product with a constant: what does
    the chain rule make of ``dout``?

    Parameters
    ----------
    dout : ndarray, same shape as the forward's x, e.g. (N, D)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``dropout_forward``.

    Returns
    -------
    dx : ndarray, same shape as dout

    Check: with the recipe of the module docstring (the same seed in every
    call of the forward, so the mask stays fixed), ``rel_error(dx, num_dx)``
    is about 1e-10.
    """
    raise NotImplementedError("dropout_backward: your code here")


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalisation in training mode (the lecture's formula).

    For every feature (column) d, over the N examples of the batch:

        mu[d]    = mean over n of x[n, d]
        var[d]   = mean over n of (x[n, d] - mu[d])**2        (BIASED: divide by N)
        xhat     = (x - mu) / sqrt(var + eps)
        out      = gamma * xhat + beta

    Like ``torch.nn.functional.batch_norm(x, None, None, gamma, beta,
    training=True, eps=eps)``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        A batch of N examples with D features; anything but 2-D raises
        ``ValueError``.
    gamma : ndarray, shape (D,)
        The learned scale of each feature.
    beta : ndarray, shape (D,)
        The learned shift of each feature.
    eps : float
        Added to the variance before the root (a constant feature has var 0).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : object
        What the backward needs, e.g. ``xhat``, ``gamma`` and ``1 /
        sqrt(var + eps)``.

    Notes
    -----
    - The statistics are over the batch axis, ``axis=0``: each COLUMN ends up
      with mean 0 and variance 1 (before gamma and beta).
    - ``np.var`` is biased by default (ddof=0), which is what is asked;
      ``ddof=1`` (N - 1) is the unbiased estimate, not the lecture's formula.
    """
    raise NotImplementedError("batchnorm_forward: your code here")


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`.

    The computational graph, per feature d (the columns never interact)::

        x --> mu --------\\
        |                 v
        +-------------> x - mu --> xhat = (x - mu) * istd --> out = gamma * xhat + beta
        |                 |          ^
        +--> var <--------+          |
              \\---> istd = 1/sqrt(var + eps)

    Work backwards through it:

    1. ``out = gamma * xhat + beta``: dbeta and dgamma collect dout (times
       xhat for gamma) over the batch, since gamma and beta are shared by all
       N examples; and dxhat = dout * gamma.
    2. The key step: every x[n, d] reaches xhat[:, d] along THREE paths,
       directly, through mu and through var (mu and var depend on the whole
       column). Find dvar (all of var's uses), then dmu (its direct use in
       x - mu AND its use inside var), then dx = direct + mu path + var
       path. Once you have it, simplify: it collapses to istd times dxhat
       minus two batch means (one per indirect path), a one-line expression.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``batchnorm_forward``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)

    Check: the recipe of the module docstring with x of shape (4, 3), for dx,
    dgamma and dbeta. Two sanity checks that need no numerics: every column of
    dx sums to 0 (adding a constant to a column of x changes nothing), and so
    does every column of dx * xhat (scaling a column changes nothing either).
    """
    raise NotImplementedError("batchnorm_backward: your code here")


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalisation: batch normalisation's formula over the LAST axis.

    For every example (every position of the leading axes), over its D
    features:

        mu   = mean(x, axis=-1, keepdims=True)
        var  = mean((x - mu)**2, axis=-1, keepdims=True)     (biased)
        out  = gamma * (x - mu) / sqrt(var + eps) + beta

    Like ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.

    Parameters
    ----------
    x : ndarray, shape (..., D)
        Any number of leading axes, e.g. (N, D) or (N, L, D) for a batch of
        sequences.
    gamma : ndarray, shape (D,)
        Scale of each feature.
    beta : ndarray, shape (D,)
        Shift of each feature.
    eps : float
        Added to the variance before the root.

    Returns
    -------
    out : ndarray, shape (..., D)
    cache : object
        What ``layer_norm_backward`` needs.

    Notes
    -----
    Each ROW is normalised (``keepdims=True`` keeps the broadcast right for any
    number of leading axes). Normalising columns instead would be batch norm.
    """
    raise NotImplementedError("layer_norm_forward: your code here")


def layer_norm_backward(dout, cache):
    """Backward pass of :func:`layer_norm_forward`.

    The graph is batch norm's with the roles of the axes swapped: the
    statistics mu and var are per ROW now, so each x reaches xhat along three
    paths within its own row (directly, through mu, through var), and rows do
    not interact. gamma and beta are shared by every row: their gradients sum
    over ALL the leading axes (for x (N, L, D): over N and L).

    If you derived batch norm's backward, reuse its form with the means taken
    over the last axis; if not, derive it here once, as in
    ``batchnorm_backward``.

    Parameters
    ----------
    dout : ndarray, shape (..., D)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``layer_norm_forward``.

    Returns
    -------
    dx : ndarray, shape (..., D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)

    Check: the recipe of the module docstring on x of shape (2, 3, 4) (three
    axes, so that the sums over the leading axes are tested too); every ROW of
    dx sums to 0.
    """
    raise NotImplementedError("layer_norm_backward: your code here")
