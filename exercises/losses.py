"""Exercise: loss functions, and gradient descent for one sigmoid unit.

A loss L(y_hat, y) measures how far predictions y_hat are from targets y;
training minimises it by gradient descent, w <- w - lr * dL/dw. Each loss here
returns the loss value AND its gradient with respect to its first argument, so
it can start backpropagation.

All losses are means over the examples, so the gradients carry a factor 1/n.
They must be numerically stable: no warning, no inf/NaN for inputs up to 1e4
in absolute value. Never modify an input array.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax. The module must be
self-contained: write the (stable) sigmoid you need here, do not import
another exercise module.
"""

import numpy as np


def mse_loss(y_hat, y):
    """Half mean squared error: L = mean((y_hat - y)**2) / 2.

    Parameters
    ----------
    y_hat : ndarray, any shape, e.g. (N,)
        Predictions.
    y : ndarray, same shape as y_hat
        Targets.

    Returns
    -------
    loss : float
    dy_hat : ndarray, same shape as y_hat
        dL/dy_hat = (y_hat - y) / n, where n = y_hat.size (the factor 1/2
        cancels the 2 of the square).
    """
    raise NotImplementedError("mse_loss: your code here")


def binary_cross_entropy(y_hat, y):
    """Binary cross-entropy, averaged over the n examples:

        L = -mean(y * log(y_hat) + (1 - y) * log(1 - y_hat))

    Parameters
    ----------
    y_hat : ndarray, shape (N,)
        Predicted probabilities of class 1, in (0, 1) (e.g. sigmoid outputs).
    y : ndarray, shape (N,)
        Targets, 0 or 1.

    Returns
    -------
    loss : float
    dy_hat : ndarray, shape (N,)
        dL/dy_hat = (y_hat - y) / (y_hat * (1 - y_hat)) / n.

    Pitfall: a saturated sigmoid returns y_hat exactly 0.0 or 1.0, and log(0)
    is -inf (with a warning). Stay finite the way PyTorch's BCELoss does:
    clamp each log term at -100 (np.maximum(np.log(p), -100), computing the
    log under ``np.errstate(divide="ignore")``), and in the gradient divide by
    max(y_hat * (1 - y_hat), 1e-12).
    """
    raise NotImplementedError("binary_cross_entropy: your code here")


def softmax_cross_entropy(logits, y):
    """Softmax followed by cross-entropy, averaged over the batch:

        L = mean_i( -log softmax(logits_i)[y_i] )
          = mean_i( log(sum_c exp(logits_ic)) - logits_i,y_i )

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Unnormalised class scores, one row per example.
    y : ndarray of ints, shape (N,)
        The true class of each example, in 0 .. C-1.

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, C)
        dL/dlogits = (softmax(logits) - onehot(y)) / N.

    Pitfall: never take log(softmax(...)): a probability that underflows to 0
    gives -inf. Use log-sum-exp with the row maximum m_i subtracted first:
    log(sum_c exp(l_ic)) = m_i + log(sum_c exp(l_ic - m_i)).
    Select the true-class scores with fancy indexing:
    ``logits[np.arange(N), y]``.
    """
    raise NotImplementedError("softmax_cross_entropy: your code here")


def sigmoid_unit_mse_grad(X, y, w, b):
    """Loss and gradient of one sigmoid unit under the squared error.

        z = X w + b,  y_hat = sigma(z),  L = sum((y_hat - y)**2) / (2n)

    Chain rule, with sigma'(z) = y_hat * (1 - y_hat):

        delta = (y_hat - y) * y_hat * (1 - y_hat) / n     (shape (n,))
        dL/dw = X^T delta,   dL/db = sum(delta)

    Worked example: X = [[0, 0], [0, 1], [1, 0], [1, 1]] (the OR inputs),
    y = [0, 1, 1, 1], w = [0.2, 0.1], b = -0.1 gives
    loss = 0.1130, grad_w = [-0.0575, -0.0591], grad_b = -0.0591.

    Parameters
    ----------
    X : ndarray, shape (n, m)
        n examples of m features.
    y : ndarray, shape (n,)
        Targets in [0, 1].
    w : ndarray, shape (m,)
    b : float

    Returns
    -------
    loss : float
    grad_w : ndarray, shape (m,)
    grad_b : float

    Pitfall: use a stable sigmoid (see activations.sigmoid); write it in this
    module.
    """
    raise NotImplementedError("sigmoid_unit_mse_grad: your code here")


def gradient_descent_step(X, y, w, b, lr):
    """One full-batch gradient descent step of the sigmoid unit above:

        w_new = w - lr * dL/dw,   b_new = b - lr * dL/db

    with the gradients of ``sigmoid_unit_mse_grad``.

    Worked example: the example of ``sigmoid_unit_mse_grad`` with lr = 0.1
    gives w_new = [0.2057, 0.1059], b_new = -0.0941.

    Parameters
    ----------
    X : ndarray, shape (n, m)
    y : ndarray, shape (n,)
    w : ndarray, shape (m,)
    b : float
    lr : float
        Learning rate.

    Returns
    -------
    w_new : ndarray, shape (m,)
        A new array; w itself is left unchanged (no ``w -= ...``).
    b_new : float
    """
    raise NotImplementedError("gradient_descent_step: your code here")


def sigmoid_unit_bce_grad(X, y, w, b):
    """Logistic regression: one sigmoid unit under the binary cross-entropy.

    Vectorised over the n examples, as in the logistic-regression lecture:

        z = X @ w + b                      (n,)
        a = sigmoid(z)                     (n,)
        loss = mean(-(y * log(a) + (1 - y) * log(1 - a)))
        dz = a - y                         (n,)
        grad_w = X.T @ dz / n              (m,)
        grad_b = mean(dz)

    Compare with ``sigmoid_unit_mse_grad``: there the chain rule keeps the
    sigmoid's derivative a * (1 - a); here it cancels against the
    cross-entropy's 1 / (a (1 - a)), and dL/dz is simply (a - y) / n. That is
    why a sigmoid output is trained with the cross-entropy.

    Parameters
    ----------
    X : ndarray, shape (n, m)
        n examples with m features.
    y : ndarray, shape (n,)
        Labels, 0 or 1.
    w : ndarray, shape (m,)
        Weights.
    b : float
        Bias.

    Returns
    -------
    loss : float
    grad_w : ndarray, shape (m,)
    grad_b : float

    Notes
    -----
    Stable for |X @ w + b| up to 1e4: a saturated sigmoid gives a = 1.0
    exactly, and log(1 - a) = log(0) = -inf. Compute the loss from z instead:
    -log(sigmoid(z)) = log(1 + exp(-z)) and -log(1 - sigmoid(z)) =
    log(1 + exp(z)), and ``np.logaddexp(0, z)`` is log(1 + exp(z)) without
    overflow. So loss = mean(logaddexp(0, z) - y * z). The gradient needs only
    the stable sigmoid (see ``binary_cross_entropy``).
    """
    raise NotImplementedError("sigmoid_unit_bce_grad: your code here")
