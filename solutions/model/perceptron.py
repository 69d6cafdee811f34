"""Model answer for exercises/perceptron.py: the perceptron learning rule.

Self-contained: imports only NumPy, so it works when copied alone into a
student's folder.
"""

import numpy as np


def step(z):
    """Model answer for exercises/perceptron.py::step."""
    return (np.asarray(z) > 0).astype(np.int64)


def perceptron_predict(w, b, X):
    """Model answer for exercises/perceptron.py::perceptron_predict."""
    X = np.asarray(X)
    labels = step(X @ np.asarray(w) + b)
    if X.ndim == 1:
        return int(labels)
    return labels


def perceptron_update(w, b, x, y, lr=1.0):
    """Model answer for exercises/perceptron.py::perceptron_update."""
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    err = y - perceptron_predict(w, b, x)
    return w + lr * err * x, float(b + lr * err)


def perceptron_train(X, y, epochs=10, lr=1.0, orders=None, seed=0):
    """Model answer for exercises/perceptron.py::perceptron_train."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n, m = X.shape
    if orders is not None and len(orders) < epochs:
        raise ValueError(f"orders has {len(orders)} entries, fewer than epochs={epochs}")
    rng = np.random.default_rng(seed)
    w, b = np.zeros(m), 0.0
    updates = []
    for epoch in range(epochs):
        order = rng.permutation(n) if orders is None else orders[epoch]
        count = 0
        for i in order:
            if perceptron_predict(w, b, X[i]) != y[i]:
                w, b = perceptron_update(w, b, X[i], y[i], lr)
                count += 1
        updates.append(count)
        if count == 0:
            break
    return w, b, updates
