"""Exercise: the perceptron learning rule.

A perceptron is one linear unit followed by a hard threshold:

    y_hat = step(x . w + b)

It learns from its mistakes only: whenever an example is misclassified, the
weights move towards (or away from) that example. Here you write the step
function, the prediction, one update, and the training loop.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax. Never modify an input array:
return new arrays.
"""

import numpy as np


def step(z):
    """Heaviside step function, elementwise: 1 where z > 0, else 0.

    Parameters
    ----------
    z : ndarray of any shape (or a scalar)
        Net inputs z = X w + b.

    Returns
    -------
    out : ndarray of integers, same shape as z
        1 where z > 0 and 0 elsewhere.

    Pitfall: at exactly z = 0 the output is 0 (z > 0, not z >= 0). The
    perceptron's worked example depends on it.
    """
    raise NotImplementedError("step: your code here")


def perceptron_predict(w, b, X):
    """Predicted labels y_hat = step(X w + b).

    Parameters
    ----------
    w : ndarray, shape (m,)
        Weights, one per input feature.
    b : float
        Bias.
    X : ndarray, shape (m,) or (n, m)
        One example (a vector of m features) or a batch of n examples, one
        per row.

    Returns
    -------
    y_hat : int, or ndarray of integers with shape (n,)
        For one example X of shape (m,): a single integer (0 or 1), e.g.
        ``int(...)``. For a batch X of shape (n, m): an integer array of n
        labels.
    """
    raise NotImplementedError("perceptron_predict: your code here")


def perceptron_update(w, b, x, y, lr=1.0):
    """One step of the perceptron learning rule on one example.

    err = y - y_hat with y_hat = perceptron_predict(w, b, x), then

        w_new = w + lr * err * x
        b_new = b + lr * err

    err is 0 when the example is classified correctly (nothing changes), +1
    when the unit said 0 but should say 1, -1 in the opposite case.

    Parameters
    ----------
    w : ndarray, shape (m,)
        Current weights.
    b : float
        Current bias.
    x : ndarray, shape (m,)
        One example.
    y : int
        Its true label, 0 or 1.
    lr : float
        Learning rate.

    Returns
    -------
    w_new : ndarray of floats, shape (m,)
        A NEW array: never modify w in place (``w += ...`` would change the
        caller's array).
    b_new : float
    """
    raise NotImplementedError("perceptron_update: your code here")


def perceptron_train(X, y, epochs=10, lr=1.0, orders=None, seed=0):
    """Train a perceptron with the learning rule, online (one example at a time).

    Start from w = zeros (m floats) and b = 0.0. An epoch visits every example
    once; each example is classified with the CURRENT w, b and, if
    misclassified, updated at once with ``perceptron_update`` (so the next
    example already sees the new weights). Count the updates (the
    misclassified examples) of each epoch. Stop after ``epochs`` epochs, or
    earlier, right after the first epoch with no update (the data is then
    separated).

    The order of the visits:
    - ``orders`` given: epoch e visits the rows ``orders[e]`` (0-based
      indices), in that order; ``orders`` must hold at least ``epochs``
      entries, else raise ValueError.
    - ``orders`` None: make ONE generator ``rng = np.random.default_rng(seed)``
      before the first epoch, and let each epoch visit ``rng.permutation(n)``.

    Worked example (the OR gate): X = [[0, 0], [0, 1], [1, 0], [1, 1]],
    y = [0, 1, 1, 1], lr = 1, visiting the examples 3, 4, 1, 2 (1-based;
    ``orders=[[2, 3, 0, 1]]``, epochs=1):
    (1, 0): z = 0, y_hat = 0, err = +1 -> w = [1, 0], b = 1;
    (1, 1): z = 2, correct;
    (0, 0): z = 1, y_hat = 1, err = -1 -> w = [1, 0], b = 0;
    (0, 1): z = 0, y_hat = 0, err = +1 -> w = [1, 1], b = 1.
    After epoch 1: w = [1, 1], b = 1, updates = [3].

    Parameters
    ----------
    X : ndarray, shape (n, m)
        n training examples of m features.
    y : ndarray of ints, shape (n,)
        Labels, 0 or 1.
    epochs : int
        Maximum number of epochs.
    lr : float
        Learning rate.
    orders : sequence of sequences of ints, or None
        ``orders[e]``: the visiting order of epoch e (0-based row indices).
    seed : int
        Seed of the shuffles when orders is None.

    Returns
    -------
    w : ndarray of floats, shape (m,)
    b : float
    updates : list of int
        The number of updates of each epoch run, in order; when training
        converged, the last entry is 0.
    """
    raise NotImplementedError("perceptron_train: your code here")
