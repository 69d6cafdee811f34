"""The labs' data sets and small helpers, NumPy only (scikit-learn for the digits).

Every data set is drawn from a seeded generator, so a lab gives the same
figures on every run.
"""

from __future__ import annotations

import numpy as np

#: the four inputs of a two-input logic gate, and the gates' truth tables.
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES = {
    "OR": np.array([0, 1, 1, 1]),
    "AND": np.array([0, 0, 0, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}


def noisy_xor(n: int, noise: float = 0.2, seed: int = 0):
    """n points around the four corners of the unit square, labelled by XOR of the corner.

    Returns X (n, 2) float64 and y (n,) int in {0, 1}: each point is a corner
    of GATE_INPUTS plus Gaussian noise of standard deviation ``noise``.
    """
    rng = np.random.default_rng(seed)
    corner = rng.integers(0, 4, size=n)
    X = GATE_INPUTS[corner] + noise * rng.standard_normal((n, 2))
    return X, GATES["XOR"][corner]


def digits(seed: int = 0, val: int = 300, test: int = 300):
    """scikit-learn's 8x8 handwritten digits (1797 images, no download), split in three.

    Returns a dict with X_train, y_train, X_val, y_val, X_test, y_test: X rows
    are the 64 pixels scaled to [0, 1], y int labels 0..9. The split is a
    seeded shuffle.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    n_train = len(y) - val - test
    return {
        "X_train": X[:n_train],
        "y_train": y[:n_train],
        "X_val": X[n_train : n_train + val],
        "y_val": y[n_train : n_train + val],
        "X_test": X[n_train + val :],
        "y_test": y[n_train + val :],
    }


def minibatches(n: int, batch_size: int, rng):
    """Index arrays of one epoch's minibatches: a fresh shuffle of range(n) cut in pieces."""
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def memory_task(n: int, length: int, seed: int = 0):
    """Sequences whose label is a bit shown at the first step; the rest is noise.

    Returns x (n, length, 2) float64 and y (n,) int in {0, 1}. Channel 0 holds
    the value: +1 (label 1) or -1 (label 0) at step 0, Gaussian noise of
    standard deviation 1 at every later step. Channel 1 is the marker: 1 at
    step 0, 0 after. To answer at the last step a network must carry one bit
    across the whole sequence and ignore the noise.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = np.zeros((n, length, 2))
    x[:, :, 0] = rng.standard_normal((n, length))
    x[:, 0, 0] = 2.0 * y - 1.0
    x[:, 0, 1] = 1.0
    return x, y


def reverse_task(n: int, length: int, vocab: int, seed: int = 0):
    """Random token sequences (n, length) in 0..vocab-1 and their reversals."""
    tokens = np.random.default_rng(seed).integers(0, vocab, size=(n, length))
    return tokens, tokens[:, ::-1].copy()


def accuracy(scores, y) -> float:
    """Fraction of rows of scores (N, C) whose largest entry is at y (N,)."""
    return float(np.mean(np.argmax(scores, axis=-1) == y))
