"""Exercise: checking gradients, your own tool for every backward pass.

Every backward pass you write from here on is a claim: "this is the derivative
of my forward pass". A derivative can be checked without knowing it, from its
definition:

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2h)

(e_i is the i-th unit vector). This central difference has an error of order
h**2, so with h = 1e-5 it agrees with a right analytic gradient to about
1e-10 in float64, while a wrong gradient is usually off by 1e-2 or more.

You write the two functions of the check here; the later modules' docstrings
(backprop, regularization, conv, rnn, attention) tell you to run them on your
backward passes, like this:

    out, cache = layer_forward(x, w)
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dx, dw = layer_backward(dout, cache)
    # the scalar whose gradient dx is: L(x) = sum(layer_forward(x, w)[0] * dout)
    num_dx = numerical_gradient(lambda x_: np.sum(layer_forward(x_, w)[0] * dout), x)
    print(rel_error(dx, num_dx))   # about 1e-8 or less: right; 1e-2: a bug

Conventions: float64 everywhere (float32 has too few digits for a central
difference). Never leave an input modified.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax; do not import another exercise
module either.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by central differences.

    For every index i of ``x`` (any shape: use ``np.ndindex(*x.shape)`` or
    ``np.nditer``): set ``x[i] = old + h``, evaluate ``f(x)``, set
    ``x[i] = old - h``, evaluate again, RESTORE ``x[i] = old``, and store
    ``(f_plus - f_minus) / (2 * h)`` in ``grad[i]``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``: a scalar function of the array. It is called with
        the (temporarily nudged) array ``x`` itself.
    x : ndarray of float, any shape, e.g. (N, D)
        The point where the gradient is taken. It is nudged in place, one entry
        at a time, and must hold exactly its original values when you return
        (restore each entry right after its two evaluations, also when ``f``
        raises: ``try``/``finally``).
    h : float
        The step of the central difference.

    Returns
    -------
    grad : ndarray of float64, same shape as x
        ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h)``.

    Notes
    -----
    - Nudge ``x`` itself, not a copy: ``f`` usually closes over ``x`` (it may
      ignore its argument), so only an in-place nudge is seen.
    - 2 * x.size calls of ``f``: fine for the small arrays you check, never
      for training.
    """
    raise NotImplementedError("numerical_gradient: your code here")


def rel_error(a, b):
    """The largest relative difference between two arrays (or numbers).

    ``max(|a - b| / max(1e-8, |a| + |b|))`` over all entries: the ``1e-8``
    floor keeps entries where both are (near) zero from dividing by zero.

    Parameters
    ----------
    a : ndarray or float, any shape, e.g. (N, D)
        One gradient (e.g. your analytic one).
    b : ndarray or float, same shape as a
        The other (e.g. the numerical one).

    Returns
    -------
    error : float
        A Python float. Below about 1e-7: the gradients agree; above 1e-3:
        something is wrong (look at WHICH entries differ: one row, one gate,
        one parameter?).
    """
    raise NotImplementedError("rel_error: your code here")
