"""Exercise: optimisers, one update of one parameter array.

Plain gradient descent, w <- w - lr * dw, takes the same step size in every
direction and forgets every past gradient. The three optimisers of the lecture
keep a little state per parameter entry and use it to take better steps:

- momentum remembers a running direction (a velocity m), so consistent
  gradients accelerate and oscillating ones cancel;
- RMSprop remembers a running mean of the SQUARED gradient (s), and divides
  each entry's step by its root: large, noisy directions get smaller steps;
- Adam does both, and corrects the two running means for starting at zero.

Each function performs ONE step on ONE parameter array: it takes the array w,
its gradient dw and the optimiser's state, and returns the new array and the
new state. A training loop calls it once per parameter per step, passing the
state it got back the previous time (zeros before the first step):

    m = np.zeros_like(w)
    for step in range(100):
        dw = gradient_of_the_loss(w)
        w, m = sgd_momentum_step(w, dw, m, lr=0.1)

Conventions: all arrays of a call have the same shape (any shape). Return new
arrays: never update w or the state in place (w -= ... would change the
caller's array).

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax; do not import another exercise
module either.
"""

import numpy as np


def sgd_momentum_step(w, dw, m, lr, gamma=0.9):
    """One step of gradient descent with momentum (the lecture's form).

        m_new = gamma * m + lr * dw
        w_new = w - m_new

    The velocity m is a decaying sum of past steps: after k steps with the same
    gradient g it is lr * g * (1 + gamma + ... + gamma**(k-1)), up to
    lr * g / (1 - gamma), ten times the plain step for gamma = 0.9.

    Parameters
    ----------
    w : ndarray, any shape, e.g. (D,) or (D, M)
        The parameter.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to w at this step.
    m : ndarray, same shape as w
        The velocity returned by the previous step (zeros at the first step).
    lr : float
        The learning rate.
    gamma : float
        The momentum coefficient, in [0, 1).

    Returns
    -------
    w_new : ndarray, same shape as w
    m_new : ndarray, same shape as w

    Notes
    -----
    The learning rate is inside m: it multiplies dw once, when dw enters the
    velocity, and never again (w - lr * m_new would apply it twice).
    ``torch.optim.SGD(momentum=gamma)`` keeps m without lr and steps
    w - lr * m, the same thing while lr stays constant.
    """
    raise NotImplementedError("sgd_momentum_step: your code here")


def rmsprop_step(w, dw, s, lr, alpha=0.99, eps=1e-8):
    """One step of RMSprop (like ``torch.optim.RMSprop``).

        s_new = alpha * s + (1 - alpha) * dw**2
        w_new = w - lr * dw / (sqrt(s_new) + eps)

    All operations are elementwise: each entry of w gets its own step size
    lr / (sqrt(s_new) + eps).

    Parameters
    ----------
    w : ndarray, any shape, e.g. (D,) or (D, M)
        The parameter.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to w at this step.
    s : ndarray, same shape as w
        The running mean of squared gradients from the previous step (zeros at
        the first step).
    lr : float
        The learning rate.
    alpha : float
        The decay of the running mean, in [0, 1).
    eps : float
        Added to the root (not inside it) so that an entry whose gradients have
        all been 0 does not divide by 0.

    Returns
    -------
    w_new : ndarray, same shape as w
    s_new : ndarray, same shape as w
    """
    raise NotImplementedError("rmsprop_step: your code here")


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (like ``torch.optim.Adam``, no weight decay).

        m_new = beta1 * m + (1 - beta1) * dw          (first moment)
        v_new = beta2 * v + (1 - beta2) * dw**2       (second moment)
        m_hat = m_new / (1 - beta1**t)                (bias corrections)
        v_hat = v_new / (1 - beta2**t)
        w_new = w - lr * m_hat / (sqrt(v_hat) + eps)

    Why the corrections: m and v start at zero, so after the first step
    m_new = (1 - beta1) * dw, only a tenth of the gradient. Dividing by
    1 - beta1**t undoes exactly that shrinking (at t = 1 it gives m_hat = dw);
    as t grows the factor tends to 1 and the correction fades out.

    Parameters
    ----------
    w : ndarray, any shape, e.g. (D,) or (D, M)
        The parameter.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to w at this step.
    m, v : ndarray, same shape as w
        The moments returned by the previous step (zeros before the first).
    t : int
        The number of THIS step, counting from 1: the first call has t = 1
        (with t = 0 the correction divides by 1 - beta**0 = 0). Anything
        below 1 raises ``ValueError``.
    lr, beta1, beta2, eps : float
        The step size, the two decay rates, and the guard added to the root.

    Returns
    -------
    w_new : ndarray, same shape as w
    m_new, v_new : ndarray, same shape as w
        The UNcorrected moments: the next step corrects them again with its own t.
    """
    raise NotImplementedError("adam_step: your code here")
