"""The classic mistakes of the second edition's exercises, built independently
of the catalogue (plain NumPy, and torch autograd for the encoder block's
backward): what a student making each one returns.

``BUGS`` holds ``(exercise, what, build, says, unstable)`` tuples for
tests/grader/test_hints.py: ``build(case, expected)`` returns the buggy output
(or None where the bug makes no difference), ``says`` is a phrase the hint
shown must contain, ``unstable`` marks bugs whose output is NaN/inf itself.
"""

from __future__ import annotations

import numpy as np

from grader.catalogue._cases import pair
from grader.worker.scalar_functions import build


def A(case):
    return tuple(np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in case.args)


def K(case, key, default=None):
    return case.kwargs.get(key, default)


def up(case):
    return np.asarray(case.upstream[0], dtype=np.float64)


def sig(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


# -- losses: logistic regression ------------------------------------------------------


def bce_unit(case, *, reduce="mean", sign=1.0, sigmoid_derivative=False, naive=False):
    X, y, w, b = A(case)
    z = X @ w + b
    a = sig(z)
    n = 1.0 if reduce == "sum" else len(y)
    with np.errstate(all="ignore"):
        terms = -(y * np.log(a) + (1 - y) * np.log(1 - a)) if naive else np.logaddexp(0, z) - y * z
    dz = sign * (a - y) * (a * (1 - a) if sigmoid_derivative else 1.0)
    return np.sum(terms) / n, X.T @ dz / n, np.sum(dz) / n


# -- gradcheck -----------------------------------------------------------------------------


def rel_error_np(case, *, reduce=np.max, floor=1e-8, denominator="both"):
    a, b = A(case)
    denom = np.abs(a) + np.abs(b) if denominator == "both" else np.abs(b)
    with np.errstate(all="ignore"):
        return float(reduce(np.abs(a - b) / (np.maximum(floor, denom) if floor else denom)))


def numgrad_np(case, *, step=None, one_sided=False, divide="(2 * h)", restore=True, nudge_copy=False, layout=""):
    """A student's numerical_gradient with one slip, on a copy of the case's x (by flat index)."""
    x = np.array(case.args[1], dtype=np.float64)
    f = build(case.args[0], x)
    h = step if step is not None else K(case, "h", case.args[2] if len(case.args) > 2 else 1e-5)
    grad = np.zeros_like(x)
    for i in range(x.size):
        idx = np.unravel_index(i, x.shape)
        target = x.copy() if nudge_copy else x
        old = target[idx]
        target[idx] = old + h
        plus = f(target)
        target[idx] = old if one_sided else old - h
        minus = f(target)
        if restore:
            target[idx] = old
        diff = plus - minus
        grad[idx] = diff / h if one_sided or divide == "h" else diff / 2 * h if divide == "/ 2 * h" else diff / (2 * h)
    if layout == "flat":
        return grad.reshape(-1)
    if layout == "transposed":
        return np.swapaxes(grad, -1, -2) if grad.ndim >= 2 else None
    return grad


def exact_derivative(case):
    """The analytic gradient of each scalar test function (what numerical_gradient approximates)."""
    spec, x = case.args[0], A(case)[1]
    params = spec["params"]
    if spec["name"] == "sum_of_squares":
        return 2 * x
    if spec["name"] == "sum_of_cubes":
        return 3 * x**2
    if spec["name"] == "sin_exp":
        e = np.exp(np.mean(x))
        return np.cos(x) * e + np.sum(np.sin(x)) * e / x.size
    if spec["name"] == "weighted_tanh":
        return params["w"] * (1 - np.tanh(x) ** 2)
    if spec["name"] == "softmax_loss":
        labels = params["labels"][..., None]
        p = np.exp(x - x.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        np.put_along_axis(p, labels, np.take_along_axis(p, labels, -1) - 1, -1)
        return p / labels.size
    return None


# -- optim ----------------------------------------------------------------------------------


def momentum_np(case, *, lr_twice=False, torch_form=False, gamma=None):
    w, dw, m, lr = A(case)[:4]
    g = K(case, "gamma", 0.9) if gamma is None else gamma
    if torch_form:
        m_new = g * m + dw
        return w - lr * m_new, m_new
    m_new = g * m + lr * dw
    return (w - lr * m_new if lr_twice else w - m_new), m_new


def rmsprop_np(case, *, eps_inside=False, old_s=False, eps=None):
    w, dw, s, lr = A(case)[:4]
    alpha, e = K(case, "alpha", 0.99), (K(case, "eps", 1e-8) if eps is None else eps)
    s_new = alpha * s + (1 - alpha) * dw**2
    used = s if old_s else s_new
    with np.errstate(all="ignore"):
        return w - lr * dw / (np.sqrt(used + e) if eps_inside else np.sqrt(used) + e), s_new


def adam_np(case, *, correct=True, t_of=lambda t: t):
    w, dw, m, v, t = A(case)
    lr, b1, b2, eps = K(case, "lr", 1e-3), K(case, "beta1", 0.9), K(case, "beta2", 0.999), K(case, "eps", 1e-8)
    m_new, v_new = b1 * m + (1 - b1) * dw, b2 * v + (1 - b2) * dw**2
    tt = t_of(t)
    with np.errstate(all="ignore"):
        m_hat = m_new / (1 - b1**tt) if correct else m_new
        v_hat = v_new / (1 - b2**tt) if correct else v_new
        return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


# -- regularization -----------------------------------------------------------------------


def dropout_np(case, *, rescale=True, test_factor=1.0, keep_below=False, grad=False):
    x, p = A(case)[:2]
    base = up(case) if grad else x
    if not K(case, "train", True) or p == 0:
        return base * test_factor
    r = np.random.default_rng(K(case, "seed", 0)).random(x.shape)
    keep = (r < p) if keep_below else (r >= p)
    return base * keep / ((1 - p) if rescale else 1.0)


def norm_np(x, gamma, beta, eps, axis, ddof=0):
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def norm_backward_np(case, axis, ddof=0, constant_stats=False, param_reduce=np.sum):
    """(dx, dgamma, dbeta) of ``norm_np`` over ``axis``, derived by hand for a
    variance divided by n - ddof (or with the statistics held constant)."""
    x, gamma, beta = A(case)[:3]
    eps, dout = K(case, "eps", 1e-5), up(case)
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    s = 1 / np.sqrt(x.var(axis=axis, keepdims=True, ddof=ddof) + eps)
    xhat = (x - mu) * s
    lead = tuple(range(x.ndim - 1))
    dgamma, dbeta = param_reduce(dout * xhat, axis=lead), param_reduce(dout, axis=lead)
    g = dout * gamma
    if constant_stats:
        return g * s, dgamma, dbeta
    dx = s * (g - g.mean(axis=axis, keepdims=True) - xhat * (g * xhat).sum(axis=axis, keepdims=True) / (n - ddof))
    return dx, dgamma, dbeta


def norm_fwd(axis, ddof=0):
    def build(case, expected):
        x, gamma, beta = A(case)[:3]
        if x.ndim != 2 and axis != -1:
            return None
        return norm_np(x, gamma, beta, K(case, "eps", 1e-5), axis, ddof)

    return build


def norm_bwd(axis, **options):
    def build(case, expected):
        if A(case)[0].ndim != 2 and axis != -1:
            return None
        return norm_backward_np(case, axis, **options)

    return build


# -- conv: average pooling ---------------------------------------------------------------


def avg_pool_np(x, k, stride, reduce=np.mean):
    (kh, kw), (sh, sw) = pair(k), pair(stride)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return np.array(
        [
            [
                [[reduce(x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]) for j in range(ow)] for i in range(oh)]
                for c in range(x.shape[1])
            ]
            for n in range(x.shape[0])
        ]
    )


def avg_pool_backward_np(case, *, divide=True, overwrite=False):
    x, k = A(case)[:2]
    (kh, kw), (sh, sw) = pair(k), pair(K(case, "stride") or k)
    if overwrite and (sh, sw) == (kh, kw):
        return None
    dout, dx = up(case), np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        share = dout[n, c, i, j] / (kh * kw if divide else 1)
        window = dx[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        window[...] = share if overwrite else window + share
    return dx


# -- rnn: the sequence ---------------------------------------------------------------------


def rnn_np(case, *, carry=True, use_h0=True, bias=True):
    x, h0, Wx, Wh, b = A(case)
    start = h0 if use_h0 else np.zeros_like(h0)
    h, hs = start, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + (h if carry else start) @ Wh + (b if bias else 0))
        hs.append(h)
    return np.stack(hs, axis=1)


def bptt_np(case, *, later_steps=True, db_mean=False):
    x, h0, Wx, Wh, b = A(case)
    hs, dhs = rnn_np(case), up(case)
    n, steps = x.shape[:2]
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(steps)):
        h_prev = h0 if t == 0 else hs[:, t - 1]
        da = (dhs[:, t] + (dh_next if later_steps else 0)) * (1 - hs[:, t] ** 2)
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += h_prev.T @ da
        db += da.mean(axis=0) if db_mean else da.sum(axis=0)
        dh_next = da @ Wh.T
    return dx, dh_next, dWx, dWh, db


# -- attention: FFN and the encoder block ------------------------------------------------------


def ffn_np(case, *, relu=True, b1_after=False):
    x, W1, b1, W2, b2 = A(case)
    a = x @ W1 + (0 if b1_after else b1)
    r = np.maximum(a, 0) if relu else a
    return (r + (b1 if b1_after else 0)) @ W2 + b2


def ffn_backward_np(case, *, relu_mask=True, bias_mean=False):
    x, W1, b1, W2, b2 = A(case)
    e, f = W1.shape
    dout = up(case).reshape(-1, e)
    X = x.reshape(-1, e)
    a = X @ W1 + b1
    r = np.maximum(a, 0)
    da = dout @ W2.T * ((a > 0) if relu_mask else 1.0)
    reduce = np.mean if bias_mean else np.sum
    return ((da @ W1.T).reshape(x.shape), X.T @ da, reduce(da, axis=0), r.T @ dout, reduce(dout, axis=0))


def mha_np(x, p, heads, mask=None):
    n, length, e = x.shape
    dh = e // heads
    q, k, v = (((x @ p[w]).reshape(n, length, heads, dh)).transpose(0, 2, 1, 3) for w in ("Wq", "Wk", "Wv"))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    a = np.exp(s - s.max(axis=-1, keepdims=True))
    a /= a.sum(axis=-1, keepdims=True)
    return (a @ v).transpose(0, 2, 1, 3).reshape(n, length, e) @ p["Wo"]


def block_np(case, *, wiring):
    x, p, heads = case.args
    mask = K(case, "mask")

    def ln(t, j):
        return norm_np(t, p[f"gamma{j}"], p[f"beta{j}"], 1e-5, -1)

    def ffn(t):
        return np.maximum(t @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]

    if wiring == "norm_then_add":
        h = x + ln(mha_np(x, p, heads, mask), 1)
        return h + ln(ffn(h), 2)
    if wiring == "pre_norm":
        h = x + mha_np(ln(x, 1), p, heads, mask)
        return h + ffn(ln(h, 2))
    h = ln(mha_np(x, p, heads, mask), 1)
    return ln(ffn(h), 2)


def block_backward_without_residual_gradients(case, expected):
    """torch autograd of the right forward where each residual term is
    detached: its value is added, its gradient is not (the student's bug)."""
    import torch

    x, p, heads = case.args
    n, length, e = x.shape
    tx = torch.tensor(x, requires_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    dh = e // heads
    mask = K(case, "mask")

    def mha(t):
        q, k, v = ((t @ tp[w]).reshape(n, length, heads, dh).transpose(1, 2) for w in ("Wq", "Wk", "Wv"))
        s = q @ k.transpose(-1, -2) / np.sqrt(dh)
        if mask is not None:
            s = s.masked_fill(~torch.tensor(mask), float("-inf"))
        return (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(n, length, e) @ tp["Wo"]

    def ln(t, j):
        return torch.nn.functional.layer_norm(t, (e,), tp[f"gamma{j}"], tp[f"beta{j}"], 1e-5)

    h = ln(tx.detach() + mha(tx), 1)
    f = torch.relu(h @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
    out = ln(h.detach() + f, 2)
    out.backward(torch.tensor(up(case)))
    return tx.grad.numpy(), {k: t.grad.numpy() for k, t in tp.items()}


BUGS = [
    # losses
    (
        "sigmoid_unit_bce_grad",
        "log(sigmoid(z)) for saturated units",
        lambda c, e: bce_unit(c, naive=True),
        "logaddexp",
        True,
    ),
    (
        "sigmoid_unit_bce_grad",
        "sum instead of mean",
        lambda c, e: bce_unit(c, reduce="sum"),
        "a sum where the mean",
        False,
    ),
    ("sigmoid_unit_bce_grad", "y - a", lambda c, e: bce_unit(c, sign=-1.0), "sign is flipped", False),
    (
        "sigmoid_unit_bce_grad",
        "the MSE's sigmoid derivative kept",
        lambda c, e: bce_unit(c, sigmoid_derivative=True),
        "cancels",
        False,
    ),
    # gradcheck
    ("rel_error", "no 1e-8 floor", lambda c, e: rel_error_np(c, floor=None), "floored", True),
    ("rel_error", "mean of the errors", lambda c, e: rel_error_np(c, reduce=np.mean), "MAXIMUM", False),
    ("rel_error", "divided by |b|", lambda c, e: rel_error_np(c, denominator="b"), "|b| alone", False),
    ("numerical_gradient", "a forward difference", lambda c, e: numgrad_np(c, one_sided=True), "one-sided", False),
    ("numerical_gradient", "divided by h", lambda c, e: numgrad_np(c, divide="h"), "2h apart", False),
    ("numerical_gradient", "/ 2 * h", lambda c, e: numgrad_np(c, divide="/ 2 * h"), "(2 * h)", False),
    ("numerical_gradient", "x[i] not restored", lambda c, e: numgrad_np(c, restore=False), "not restored", False),
    ("numerical_gradient", "a hard-coded step", lambda c, e: numgrad_np(c, step=1e-5), "another step", False),
    ("numerical_gradient", "the exact derivative", lambda c, e: exact_derivative(c), "the exact derivative", False),
    ("numerical_gradient", "a nudged copy", lambda c, e: numgrad_np(c, nudge_copy=True), "nudged copy", False),
    ("numerical_gradient", "a flat array", lambda c, e: numgrad_np(c, layout="flat"), "flat array", False),
    ("numerical_gradient", "grad[j, i]", lambda c, e: numgrad_np(c, layout="transposed"), "transposed", False),
    # optim
    ("sgd_momentum_step", "lr applied twice", lambda c, e: momentum_np(c, lr_twice=True), "applied twice", False),
    (
        "sgd_momentum_step",
        "torch's buffer without lr",
        lambda c, e: momentum_np(c, torch_form=True),
        "torch's bookkeeping",
        False,
    ),
    ("sgd_momentum_step", "gamma ignored", lambda c, e: momentum_np(c, gamma=0.9), "gamma", False),
    ("rmsprop_step", "eps inside the root", lambda c, e: rmsprop_np(c, eps_inside=True), "inside the square", False),
    ("rmsprop_step", "the old s in the step", lambda c, e: rmsprop_np(c, old_s=True), "old s", False),
    ("rmsprop_step", "no eps", lambda c, e: rmsprop_np(c, eps=0.0), "keeps the division finite", True),
    (
        "rmsprop_step",
        "no eps, where every s_new > 0",
        lambda c, e: None if np.any(e[1] == 0) else rmsprop_np(c, eps=0.0),
        "eps is missing",
        False,
    ),
    ("adam_step", "no bias correction", lambda c, e: adam_np(c, correct=False), "bias correction is missing", False),
    (
        "adam_step",
        "t counted from 0 (t - 1 in the correction)",
        lambda c, e: adam_np(c, t_of=lambda t: t - 1),
        "counting from 1",
        False,
    ),
    (
        "adam_step",
        "t counted from 0 at the first step",
        lambda c, e: None if c.args[4] != 1 else adam_np(c, t_of=lambda t: t - 1),
        "1 - beta**0",
        True,
    ),
    ("adam_step", "t + 1 in the correction", lambda c, e: adam_np(c, t_of=lambda t: t + 1), "counting from 1", False),
    # regularization
    ("dropout_forward", "not rescaled", lambda c, e: dropout_np(c, rescale=False), "not rescaled", False),
    (
        "dropout_forward",
        "test time scaled by 1 - p",
        lambda c, e: dropout_np(c, test_factor=1 - c.args[1]),
        "identity",
        False,
    ),
    (
        "dropout_forward",
        "test time scaled by 1 / (1 - p)",
        lambda c, e: dropout_np(c, test_factor=1 / (1 - c.args[1])),
        "identity",
        False,
    ),
    ("dropout_forward", "keeps random < p", lambda c, e: dropout_np(c, keep_below=True), "KEEP where", False),
    ("dropout_backward", "not rescaled", lambda c, e: dropout_np(c, rescale=False, grad=True), "1 / (1 - p)", False),
    (
        "dropout_backward",
        "test time scaled by 1 - p",
        lambda c, e: dropout_np(c, test_factor=1 - c.args[1], grad=True),
        "dx = dout",
        False,
    ),
    (
        "dropout_backward",
        "test time scaled by 1 / (1 - p)",
        lambda c, e: dropout_np(c, test_factor=1 / (1 - c.args[1]), grad=True),
        "dx = dout",
        False,
    ),
    ("batchnorm_forward", "unbiased variance", norm_fwd(0, ddof=1), "n - 1", False),
    ("batchnorm_forward", "statistics over the features", norm_fwd(1), "over the BATCH", False),
    ("batchnorm_backward", "mean and variance held constant", norm_bwd(0, constant_stats=True), "constants", False),
    ("batchnorm_backward", "unbiased variance in both passes", norm_bwd(0, ddof=1), "n - 1", False),
    ("batchnorm_backward", "rows normalised in both passes", norm_bwd(1), "axis 1", False),
    ("batchnorm_backward", "dgamma and dbeta averaged", norm_bwd(0, param_reduce=np.mean), "not the mean", False),
    ("layer_norm_forward", "unbiased variance", norm_fwd(-1, ddof=1), "n - 1", False),
    ("layer_norm_forward", "statistics over the batch", norm_fwd(0), "LAST axis", False),
    ("layer_norm_backward", "mean and variance held constant", norm_bwd(-1, constant_stats=True), "constants", False),
    ("layer_norm_backward", "unbiased variance in both passes", norm_bwd(-1, ddof=1), "n - 1", False),
    ("layer_norm_backward", "columns normalised in both passes", norm_bwd(0), "over the last axis", False),
    # conv
    (
        "avg_pool2d_forward",
        "window sum",
        lambda c, e: avg_pool_np(A(c)[0], c.args[1], K(c, "stride") or c.args[1], np.sum),
        "SUM",
        False,
    ),
    (
        "avg_pool2d_forward",
        "stride 1 by default",
        lambda c, e: None if "stride" in c.kwargs else avg_pool_np(A(c)[0], c.args[1], 1),
        "stride is kernel_size",
        False,
    ),
    (
        "avg_pool2d_backward",
        "not divided by the window size",
        lambda c, e: avg_pool_backward_np(c, divide=False),
        "divided by kh * kw",
        False,
    ),
    (
        "avg_pool2d_backward",
        "overlapping windows overwrite",
        lambda c, e: avg_pool_backward_np(c, overwrite=True),
        "add up",
        False,
    ),
    # rnn
    ("rnn_forward", "the state is not carried", lambda c, e: rnn_np(c, carry=False), "carry the state", False),
    ("rnn_forward", "h0 ignored", lambda c, e: rnn_np(c, use_h0=False), "h0 was ignored", False),
    ("rnn_forward", "bias forgotten", lambda c, e: rnn_np(c, bias=False), "bias", False),
    ("rnn_backward", "no gradient from later steps", lambda c, e: bptt_np(c, later_steps=False), "later steps", False),
    ("rnn_backward", "db averaged over the batch", lambda c, e: bptt_np(c, db_mean=True), "sum over the batch", False),
    # attention
    ("feed_forward_forward", "no ReLU", lambda c, e: ffn_np(c, relu=False), "ReLU is missing", False),
    ("feed_forward_forward", "b1 after the ReLU", lambda c, e: ffn_np(c, b1_after=True), "after the ReLU", False),
    (
        "feed_forward_backward",
        "no ReLU derivative",
        lambda c, e: ffn_backward_np(c, relu_mask=False),
        "derivative is missing",
        False,
    ),
    (
        "feed_forward_backward",
        "bias gradients averaged over tokens",
        lambda c, e: ffn_backward_np(c, bias_mean=True),
        "sum over",
        False,
    ),
    (
        "transformer_block_forward",
        "normalised before the residual sum",
        lambda c, e: block_np(c, wiring="norm_then_add"),
        "before the residual sum",
        False,
    ),
    ("transformer_block_forward", "pre-norm", lambda c, e: block_np(c, wiring="pre_norm"), "pre-norm", False),
    (
        "transformer_block_forward",
        "no residual",
        lambda c, e: block_np(c, wiring="no_residual"),
        "residual connections are missing",
        False,
    ),
    (
        "transformer_block_backward",
        "residual gradients dropped",
        block_backward_without_residual_gradients,
        "residual paths",
        False,
    ),
]
