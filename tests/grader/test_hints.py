"""The catalogue's hints (grader/catalogue/*.py, machinery in _hints.py): each
one is silent on the right answer and is the first to fire on the output of the
classic mistake it names, built here with plain NumPy."""

from __future__ import annotations

import functools
import importlib
import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest

from grader.catalogue import EXERCISES
from grader.catalogue._cases import pair
from grader.catalogue._hints import close, leaves, matches_leafwise, scaled_by, transposed
from grader.compare import compare
from grader.runner import case_rng, reference_values
from grader.spec import Case
from grader.worker.wire import plain
from tests.grader import bugs_second_edition

SEED = 7


@functools.cache
def cases_of(name: str) -> tuple[Case, ...]:
    """An exercise's cases, built once (nothing here modifies them)."""
    return tuple(EXERCISES[name].cases(case_rng(SEED, name)))


@functools.cache
def _expected(name: str) -> tuple:
    return tuple(reference_values(EXERCISES[name], list(cases_of(name))))


def expected_of(name: str) -> tuple:
    """The reference's outputs on ``cases_of(name)``, computed once."""
    module = EXERCISES[name].module
    try:
        importlib.import_module(f"solutions.{module}")
    except ImportError as exc:
        pytest.fail(
            f"solutions.{module} cannot be imported ({exc}); are the kernels built? pip install -e . compiles them"
        )
    return _expected(name)


def first_hint(name: str, case: Case, got) -> str | None:
    """What the student would read: the first hint that fires."""
    for hint in EXERCISES[name].hints:
        text = hint(case, got)
        if text:
            return text
    return None


# -- plain NumPy building blocks of the buggy outputs --------------------------------


def sig(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def corr2d_np(x, k, padding=0, stride=1, pad_widths=None):
    """Plain-loop cross-correlation of one channel."""
    (ph, pw), (sh, sw) = pair(padding), pair(stride)
    xp = np.pad(x, pad_widths if pad_widths is not None else ((ph, ph), (pw, pw)))
    kh, kw = k.shape
    oh, ow = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
    return np.array(
        [[np.sum(xp[i * sh : i * sh + kh, j * sw : j * sw + kw] * k) for j in range(ow)] for i in range(oh)]
    )


def conv2d_np(x, w, b, stride=1, padding=0, **corr):
    return np.array(
        [
            [
                sum(corr2d_np(x[n, c], w[f, c], padding, stride, **corr) for c in range(x.shape[1])) + b[f]
                for f in range(w.shape[0])
            ]
            for n in range(x.shape[0])
        ]
    )


def trans_np(x, k):
    out = np.zeros((x.shape[0] + k.shape[0] - 1, x.shape[1] + k.shape[1] - 1))
    for i, j in np.ndindex(*x.shape):
        out[i : i + k.shape[0], j : j + k.shape[1]] += x[i, j] * k
    return out


def convt_np(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, ci, h, wd = x.shape
    co, kh, kw = w.shape[1:]
    full = np.zeros((n, co, (h - 1) * sh + kh, (wd - 1) * sw + kw))
    for s, c, i, j in np.ndindex(n, ci, h, wd):
        full[s, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += x[s, c, i, j] * w[c]
    out = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return out + b[None, :, None, None]


def lstm_cell_np(x, h, c, Wx, Wh, b, order="ifgo"):
    a = x @ Wx + h @ Wh + b
    blocks = dict(zip(order, np.split(a, 4, axis=1)))
    i, f, g, o = sig(blocks["i"]), sig(blocks["f"]), np.tanh(blocks["g"]), sig(blocks["o"])
    c = f * c + i * g
    return o * np.tanh(c), c


def lstm_np(x, h0, Wx, Wh, b, order="ifgo"):
    h, c, hs = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = lstm_cell_np(x[:, t], h, c, Wx, Wh, b, order)
        hs.append(h)
    return np.stack(hs, axis=1)


def _csig(z):
    return 1.0 / (1.0 + np.exp(-z))  # complex-safe (no clip): used with complex steps


def _lstm_step(x, h, c, Wx, Wh, b, order):
    blocks = dict(zip(order, np.split(x @ Wx + h @ Wh + b, 4, axis=-1)))
    c = _csig(blocks["f"]) * c + _csig(blocks["i"]) * np.tanh(blocks["g"])
    return _csig(blocks["o"]) * np.tanh(c), c


def complex_step_gradients(loss, args, wrt, h=1e-30):
    """Exact-to-round-off gradients of the real ``loss(*args)`` with respect to
    ``args[i]`` for i in ``wrt``, by complex steps (no subtraction error)."""
    args = [np.array(a, dtype=complex) if isinstance(a, np.ndarray) else a for a in args]
    grads = []
    for index in wrt:
        x, grad = args[index], np.zeros(np.shape(args[index]))
        for pos in np.ndindex(*x.shape):
            x[pos] += 1j * h
            grad[pos] = loss(*args).imag / h
            x[pos] -= 1j * h
        grads.append(grad)
    return tuple(grads)


def lstm_backward_consistent(order, sequence):
    """What a student with the gates in ``order`` in BOTH passes returns: the
    true gradients of their own (wrong) forward."""

    def build(case, expected):
        def loss(*args):
            if sequence:
                x, h, Wx, Wh, b = args
                c, total = np.zeros_like(h), 0.0
                for t in range(x.shape[1]):
                    h, c = _lstm_step(x[:, t], h, c, Wx, Wh, b, order)
                    total = total + np.sum(h * case.upstream[0][:, t])
                return total
            h, c = _lstm_step(*args, order)
            return np.sum(h * case.upstream[0]) + np.sum(c * case.upstream[1])

        return complex_step_gradients(loss, case.args, range(len(case.args)))

    return build


def sdpa_np(Q, K, V, mask=None, scale=None, axis=-1, guard=True):
    s = Q @ np.swapaxes(K, -1, -2) / (np.sqrt(Q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    with np.errstate(all="ignore"):
        e = np.exp(s - s.max(axis=axis, keepdims=True))
        a = e / e.sum(axis=axis, keepdims=True)
    if guard and mask is not None:
        a = np.where(np.isnan(a), 0.0, a)
    return a @ V


def mha_np(x, Wq, Wk, Wv, Wo, heads, mask=None, split="contiguous", scale_of=np.sqrt):
    n, length, e = x.shape
    dh = e // heads

    def to_heads(m):
        if split == "contiguous":
            return m.reshape(n, length, heads, dh).transpose(0, 2, 1, 3)
        if split == "interleaved":
            return m.reshape(n, length, dh, heads).transpose(0, 3, 1, 2)
        return m.reshape(n, heads, length, dh)  # "straight"

    q, k, v = (to_heads(x @ W) for W in (Wq, Wk, Wv))
    z = sdpa_np(q, k, v, mask, scale=scale_of(dh) if scale_of else 1.0)
    if split == "contiguous":
        z = z.transpose(0, 2, 1, 3).reshape(n, length, e)
    elif split == "interleaved":
        z = z.transpose(0, 2, 3, 1).reshape(n, length, e)
    else:
        z = z.reshape(n, length, e)
    return z @ Wo


def train_np(X, y, epochs=10, lr=1.0, orders=None, seed=0, early_stop=True, order_of=None):
    w, b, updates = np.zeros(X.shape[1]), 0.0, []
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = (
            orders[epoch] if orders is not None else (order_of(len(y), seed) if order_of else rng.permutation(len(y)))
        )
        count = 0
        for i in order:
            err = y[i] - int(X[i] @ w + b > 0)
            if err:
                w, b, count = w + lr * err * X[i], b + lr * err, count + 1
        updates.append(count)
        if early_stop and count == 0:
            break
    return w, b, updates


def two_layer_np(X, y, params, activation="tanh", reduce="mean", sign=1.0, broadcast_loss=False):
    act = {
        "tanh": (np.tanh, lambda h: 1 - h**2),
        "sigmoid": (sig, lambda h: h * (1 - h)),
        "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(float)),
    }[activation]
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h = act[0](X @ W1 + b1)
    y_hat = sig(h @ W2 + b2)[:, 0]
    n = 1.0 if reduce == "sum" else len(y)
    loss = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)) / n
    if broadcast_loss:  # y_hat kept as (N, 1) against y (N,): an (N, N) mean
        loss = -np.mean(y * np.log(y_hat[:, None]) + (1 - y) * np.log(1 - y_hat[:, None]))
    ds = sign * ((y_hat - y) / n)[:, None]
    dh = ds @ W2.T * act[1](h)
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}


def pool_np(x, k, stride):
    (kh, kw), (sh, sw) = pair(k), pair(stride)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return np.array(
        [
            [
                [[x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw].max() for j in range(ow)] for i in range(oh)]
                for c in range(x.shape[1])
            ]
            for n in range(x.shape[0])
        ]
    )


def pool_backward_np(x, dout, k, stride, pick):
    (kh, kw), (sh, sw) = pair(k), pair(stride)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        win = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        rows, cols = np.nonzero(win == win.max())  # row-major order
        pick(dx[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw], rows, cols, dout[n, c, i, j])
    return dx


def _to_all(view, rows, cols, g):
    view[rows, cols] += g


def _split(view, rows, cols, g):
    view[rows, cols] += g / len(rows)


def _to_last(view, rows, cols, g):
    view[rows[-1], cols[-1]] += g


def _overwrite_first(view, rows, cols, g):
    view[rows[0], cols[0]] = g


def pe_np(n, d, *, exponent="pair", swap=False, halves=False):
    pos = np.arange(n)[:, None]
    if halves:
        angle = pos / 10000.0 ** (2 * np.arange(d // 2)[None, :] / d)
        return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
    col = np.arange(d)[None, :]
    angle = pos / 10000.0 ** ((col - col % 2 if exponent == "pair" else col) / d)
    first, second = (np.cos, np.sin) if swap else (np.sin, np.cos)
    return np.where(col % 2 == 0, first(angle), second(angle))


# -- the mistakes -----------------------------------------------------------------------

WRONG_GATE_ORDERS = ["".join(p) for p in itertools.permutations("ifgo") if "".join(p) != "ifgo"]


class Bug(NamedTuple):
    exercise: str
    what: str
    build: Callable  # (case, expected) -> the buggy output, or None when not applicable
    says: str  # a phrase of the hint that must be shown
    unstable: bool = False  # the bug is NaN/inf itself (else such outputs are left out)


def A(case):
    return tuple(np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in case.args)


def K(case, key, default=None):
    return case.kwargs.get(key, default)


def scale_leaf(index, factor_of):
    """The expected output with its ``index``-th array scaled (a db summed wrong)."""

    def build(case, expected):
        out = list(expected)
        out[index] = np.asarray(out[index]) * factor_of(case)
        return tuple(out)

    return build


def nan_where_row_masked(index=None):
    def build(case, expected):
        mask = K(case, "mask")
        if mask is None or np.all(np.any(mask, axis=-1)):
            return None
        outs = list(expected) if index is not None else [expected]
        target = np.array(outs[index or 0], dtype=np.float64)
        target.reshape(-1)[0] = np.nan
        outs[index or 0] = target
        return tuple(outs) if index is not None else outs[0]

    return build


def first_arg_n(case):
    return 1.0 / case.args[0].shape[0]


def mse_bug(loss_factor, grad_of):
    def build(case, expected):
        y_hat, y = A(case)
        return (np.mean((y_hat - y) ** 2) / 2 * loss_factor(y_hat), grad_of(y_hat, y))

    return build


def bce_parts(y_hat, y):
    return -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)), (-(y / y_hat) + (1 - y) / (1 - y_hat))


def unit_bug(loss_scale, grad_scale, sigmoid_derivative=True):
    def build(case, expected):
        X, y, w, b = A(case)
        y_hat = sig(X @ w + b)
        r = (y_hat - y) * (y_hat * (1 - y_hat) if sigmoid_derivative else 1.0)
        n = len(y)
        return (
            np.sum((y_hat - y) ** 2) / (2 * n) * loss_scale(n),
            X.T @ r / n * grad_scale(n),
            np.sum(r) / n * grad_scale(n),
        )

    return build


def sce_bug(axis=1, reduce="mean", naive=False):
    def build(case, expected):
        logits, y = np.asarray(case.args[0], dtype=np.float64), case.args[1]
        with np.errstate(all="ignore"):
            e = np.exp(logits) if naive else np.exp(logits - logits.max(axis=axis, keepdims=True))
            p = e / e.sum(axis=axis, keepdims=True)
        rows = np.arange(len(y))
        n = 1.0 if reduce == "sum" else len(y)
        d = p.copy()
        d[rows, y] -= 1
        return -np.sum(np.log(p[rows, y])) / n, d / n

    return build


def update_with(err_of):
    """A perceptron update whose error is ``err_of(y, z)`` (z = x @ w + b)."""

    def build(case, expected):
        w, b, x, y = A(case)
        lr = K(case, "lr", 1.0)
        err = err_of(y, float(x @ w + b))
        return w + lr * err * x, b + lr * err

    return build


def conv_dx_unflipped(case, expected):
    """conv2d_backward whose dx correlates the padded dout with w unflipped
    (stride 1 only); dw and db right."""
    x, w, b = A(case)
    if pair(K(case, "stride", 1)) != (1, 1):
        return None
    (ph, pw), (kh, kw) = pair(K(case, "padding", 0)), w.shape[2:]
    dout = np.asarray(case.upstream[0])
    full = np.array(
        [
            [
                sum(corr2d_np(dout[n, f], w[f, c], padding=(kh - 1, kw - 1)) for f in range(w.shape[0]))
                for c in range(x.shape[1])
            ]
            for n in range(x.shape[0])
        ]
    )
    dx = full[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    return (dx, expected[1], expected[2])


def convt_dx_flipped(case, expected):
    """conv_transpose2d_backward whose dx correlates dout with the flipped kernel."""
    x, w, b = A(case)
    dout = np.asarray(case.upstream[0])
    s, p = K(case, "stride", 1), K(case, "padding", 0)
    dx = np.array(
        [
            [
                sum(corr2d_np(dout[n, co], w[c, co, ::-1, ::-1], padding=p, stride=s) for co in range(w.shape[1]))
                for c in range(x.shape[1])
            ]
            for n in range(x.shape[0])
        ]
    )
    return (dx, expected[1], expected[2])


def with_kw(fn, **overrides):
    """``fn`` on the case's args with some keyword arguments overridden."""

    def build(case, expected):
        kwargs = {**case.kwargs, **overrides}
        return fn(*A(case), **kwargs)

    return build


def unstable_sigmoid(z):
    with np.errstate(all="ignore"):
        return np.exp(z) / (1 + np.exp(z))


BUGS = [
    # perceptron
    Bug("step", "z >= 0", lambda c, e: (A(c)[0] >= 0).astype(np.int64), "z > 0"),
    Bug(
        "perceptron_predict",
        "z >= 0",
        lambda c, e: (np.asarray(A(c)[2]) @ A(c)[0] + A(c)[1] >= 0).astype(np.int64),
        "z > 0",
    ),
    Bug(
        "perceptron_update", "err = prediction - y", lambda c, e: (2 * A(c)[0] - e[0], 2 * A(c)[1] - e[1]), "wrong sign"
    ),
    Bug(
        "perceptron_update",
        "always w + lr*y*x",
        lambda c, e: (A(c)[0] + K(c, "lr", 1.0) * A(c)[3] * A(c)[2], A(c)[1] + K(c, "lr", 1.0) * A(c)[3]),
        "prediction was right",
    ),
    Bug("perceptron_update", "predict with z >= 0", update_with(lambda y, z: y - int(z >= 0)), "step(0)"),
    Bug("perceptron_update", "err = y - z", update_with(lambda y, z: y - z), "raw score"),
    Bug(
        "perceptron_train",
        "no early stop",
        lambda c, e: train_np(*A(c), **c.kwargs, early_stop=False),
        "stop after the first epoch",
    ),
    Bug(
        "perceptron_train",
        "no shuffle",
        lambda c, e: (
            None if "orders" in c.kwargs else train_np(*A(c), **c.kwargs, order_of=lambda n, seed: np.arange(n))
        ),
        "index order",
    ),
    Bug(
        "perceptron_train",
        "generator re-created every epoch",
        lambda c, e: (
            None
            if "orders" in c.kwargs
            else train_np(*A(c), **c.kwargs, order_of=lambda n, seed: np.random.default_rng(seed).permutation(n))
        ),
        "same order",
    ),
    # activations
    Bug("sigmoid", "exp(z) / (1 + exp(z))", lambda c, e: unstable_sigmoid(A(c)[0]), "stable", True),
    Bug("sigmoid_grad", "z * (1 - z)", lambda c, e: A(c)[0] * (1 - A(c)[0]), "applied to z"),
    Bug(
        "sigmoid_grad",
        "unstable sigmoid",
        lambda c, e: unstable_sigmoid(A(c)[0]) * (1 - unstable_sigmoid(A(c)[0])),
        "stable",
        True,
    ),
    Bug("tanh_grad", "1 - z**2", lambda c, e: 1 - A(c)[0] ** 2, "applied to z"),
    Bug("tanh_grad", "1 - tanh(z)", lambda c, e: 1 - np.tanh(A(c)[0]), "square is missing"),
    Bug("relu_grad", "z >= 0", lambda c, e: (A(c)[0] >= 0).astype(np.float64), "z > 0"),
    Bug("leaky_relu", "alpha ignored", lambda c, e: np.where(A(c)[0] > 0, A(c)[0], 0.01 * A(c)[0]), "alpha"),
    Bug("leaky_relu_grad", "z >= 0", lambda c, e: np.where(A(c)[0] >= 0, 1.0, K(c, "alpha", 0.01)), "z > 0"),
    Bug("leaky_relu_grad", "alpha ignored", lambda c, e: np.where(A(c)[0] > 0, 1.0, 0.01), "alpha"),
    Bug(
        "softmax",
        "over axis 0 / the last axis",
        lambda c, e: (
            None if A(c)[0].ndim < 2 else softmax(A(c)[0], axis=0 if K(c, "axis", -1) % A(c)[0].ndim != 0 else -1)
        ),
        "wrong axis",
    ),
    Bug(
        "softmax",
        "whole array normalised",
        lambda c, e: softmax(A(c)[0].reshape(-1)).reshape(A(c)[0].shape),
        "whole array",
    ),
    Bug(
        "softmax",
        "no max subtracted",
        lambda c, e: (lambda ez: ez / ez.sum(axis=K(c, "axis", -1), keepdims=True))(
            np.exp(np.clip(A(c)[0], None, 800))
        ),
        "subtract the maximum",
        True,
    ),
    # losses
    Bug(
        "mse_loss",
        "no 1/2",
        mse_bug(lambda y_hat: 2, lambda y_hat, y: 2 * (y_hat - y) / y_hat.size),
        "mean((y_hat - y)**2) / 2",
    ),
    Bug(
        "mse_loss",
        "sum instead of mean",
        mse_bug(lambda y_hat: y_hat.size, lambda y_hat, y: y_hat - y),
        "a sum where the mean",
    ),
    Bug(
        "mse_loss", "y - y_hat", mse_bug(lambda y_hat: 1, lambda y_hat, y: (y - y_hat) / y_hat.size), "sign is flipped"
    ),
    Bug(
        "binary_cross_entropy",
        "sum instead of mean",
        lambda c, e: tuple(np.sum(p) if i == 0 else p for i, p in enumerate(bce_parts(*A(c)))),
        "a sum where the mean",
    ),
    Bug(
        "binary_cross_entropy",
        "gradient with respect to the logit",
        lambda c, e: (e[0], (A(c)[0] - A(c)[1]) / len(A(c)[1])),
        "with respect to the logit",
    ),
    Bug(
        "binary_cross_entropy",
        "y - y_hat sign",
        lambda c, e: (e[0], -bce_parts(*A(c))[1] / len(A(c)[1])),
        "sign is flipped",
    ),
    Bug(
        "binary_cross_entropy",
        "y_hat clipped to [1e-7, 1 - 1e-7] in the loss",
        lambda c, e: (np.mean(bce_parts(np.clip(A(c)[0], 1e-7, 1 - 1e-7), A(c)[1])[0]), e[1]),
        "clipped",
    ),
    Bug("softmax_cross_entropy", "sum over the batch", sce_bug(reduce="sum"), "a sum where the mean"),
    Bug("softmax_cross_entropy", "softmax over the batch", sce_bug(axis=0), "batch axis"),
    Bug("softmax_cross_entropy", "no max subtracted", sce_bug(naive=True), "maximum", True),
    Bug("sigmoid_unit_mse_grad", "sum instead of mean", unit_bug(lambda n: n, lambda n: n), "a sum where the mean"),
    Bug("sigmoid_unit_mse_grad", "no 1/2", unit_bug(lambda n: 2, lambda n: 2), "1/(2n)"),
    Bug(
        "sigmoid_unit_mse_grad",
        "sigmoid derivative forgotten",
        unit_bug(lambda n: 1, lambda n: 1, sigmoid_derivative=False),
        "derivative",
    ),
    Bug(
        "gradient_descent_step",
        "w + lr * grad",
        lambda c, e: (
            lambda X, y, w, b, lr: (lambda _, gw, gb: (w + lr * gw, b + lr * gb))(
                *unit_bug(lambda n: 1, lambda n: 1)(Case("", args=(X, y, w, b)), None)
            )
        )(*A(c)),
        "uphill",
    ),
    # backprop
    Bug("affine_forward", "bias forgotten", lambda c, e: A(c)[0] @ A(c)[1], "bias"),
    Bug("affine_forward", "transposed", lambda c, e: (A(c)[0] @ A(c)[1] + A(c)[2]).T, "transposed"),
    Bug("affine_backward", "db averaged", scale_leaf(2, first_arg_n), "sum dout over the batch"),
    Bug("affine_backward", "dW transposed", lambda c, e: (e[0], (A(c)[0].T @ c.upstream[0]).T, e[2]), "transposed"),
    Bug("sigmoid_backward", "dout forgotten", lambda c, e: sig(A(c)[0]) * (1 - sig(A(c)[0])), "chain rule"),
    Bug("sigmoid_backward", "formula on x", lambda c, e: c.upstream[0] * A(c)[0] * (1 - A(c)[0]), "input x"),
    Bug("tanh_backward", "dout forgotten", lambda c, e: 1 - np.tanh(A(c)[0]) ** 2, "chain rule"),
    Bug("tanh_backward", "formula on x", lambda c, e: c.upstream[0] * (1 - A(c)[0] ** 2), "input x"),
    Bug("relu_backward", "x >= 0", lambda c, e: c.upstream[0] * (A(c)[0] >= 0), "x > 0"),
    Bug("relu_backward", "dout forgotten", lambda c, e: (A(c)[0] > 0).astype(np.float64), "chain rule"),
    Bug("two_layer_net_loss", "sums over the batch", with_kw(two_layer_np, reduce="sum"), "average"),
    Bug("two_layer_net_loss", "y - y_hat", with_kw(two_layer_np, sign=-1.0), "wrong sign"),
    Bug("two_layer_net_loss", "(N, 1) - (N,) broadcast", with_kw(two_layer_np, broadcast_loss=True), "broadcasts"),
    # conv
    Bug(
        "corr2d",
        "true convolution",
        lambda c, e: corr2d_np(A(c)[0], A(c)[1][::-1, ::-1], K(c, "padding", 0), K(c, "stride", 1)),
        "true convolution",
    ),
    Bug(
        "corr2d",
        "padding on one side",
        lambda c, e: (
            None
            if pair(K(c, "padding", 0)) == (0, 0)
            else corr2d_np(
                A(c)[0],
                A(c)[1],
                0,
                K(c, "stride", 1),
                pad_widths=((pair(K(c, "padding"))[0], 0), (pair(K(c, "padding"))[1], 0)),
            )
        ),
        "one side",
    ),
    Bug(
        "corr2d",
        "(h, w) swapped",
        lambda c, e: corr2d_np(A(c)[0], A(c)[1], pair(K(c, "padding", 0))[::-1], pair(K(c, "stride", 1))[::-1]),
        "wrong order",
    ),
    Bug(
        "conv2d_forward",
        "true convolution",
        lambda c, e: conv2d_np(A(c)[0], A(c)[1][..., ::-1, ::-1], A(c)[2], **c.kwargs),
        "true convolution",
    ),
    Bug("conv2d_forward", "bias forgotten", lambda c, e: conv2d_np(A(c)[0], A(c)[1], 0 * A(c)[2], **c.kwargs), "bias"),
    Bug(
        "conv2d_forward",
        "padding on one side",
        lambda c, e: (
            None
            if pair(K(c, "padding", 0)) == (0, 0)
            else conv2d_np(
                A(c)[0],
                A(c)[1],
                A(c)[2],
                K(c, "stride", 1),
                0,
                pad_widths=((pair(K(c, "padding"))[0], 0), (pair(K(c, "padding"))[1], 0)),
            )
        ),
        "one side",
    ),
    Bug(
        "conv2d_forward",
        "(h, w) swapped",
        lambda c, e: conv2d_np(
            A(c)[0], A(c)[1], A(c)[2], pair(K(c, "stride", 1))[::-1], pair(K(c, "padding", 0))[::-1]
        ),
        "wrong order",
    ),
    Bug("conv2d_backward", "db averaged over the batch", scale_leaf(2, first_arg_n), "sum dout"),
    Bug("conv2d_backward", "dx without the kernel flip", conv_dx_unflipped, "flipped"),
    Bug(
        "max_pool2d_forward",
        "stride 1 by default",
        lambda c, e: None if "stride" in c.kwargs else pool_np(A(c)[0], A(c)[1], 1),
        "stride is kernel_size",
    ),
    Bug(
        "max_pool2d_backward",
        "to every tied maximum",
        lambda c, e: pool_backward_np(A(c)[0], c.upstream[0], A(c)[1], K(c, "stride") or A(c)[1], _to_all),
        "every tied maximum",
    ),
    Bug(
        "max_pool2d_backward",
        "split among ties",
        lambda c, e: pool_backward_np(A(c)[0], c.upstream[0], A(c)[1], K(c, "stride") or A(c)[1], _split),
        "split among tied",
    ),
    Bug(
        "max_pool2d_backward",
        "to the last maximum",
        lambda c, e: pool_backward_np(A(c)[0], c.upstream[0], A(c)[1], K(c, "stride") or A(c)[1], _to_last),
        "last tied maximum",
    ),
    Bug(
        "max_pool2d_backward",
        "overlapping windows overwrite",
        lambda c, e: pool_backward_np(A(c)[0], c.upstream[0], A(c)[1], K(c, "stride") or A(c)[1], _overwrite_first),
        "add up",
    ),
    # transposed convolution
    Bug("trans_conv2d", "flipped kernel", lambda c, e: trans_np(A(c)[0], A(c)[1][::-1, ::-1]), "flipped"),
    Bug("trans_conv2d", "transposed", lambda c, e: trans_np(A(c)[0], A(c)[1]).T, "transposed"),
    Bug(
        "conv_transpose2d_forward",
        "flipped kernel",
        lambda c, e: convt_np(A(c)[0], A(c)[1][..., ::-1, ::-1], A(c)[2], **c.kwargs),
        "flipped",
    ),
    Bug(
        "conv_transpose2d_forward",
        "bias forgotten",
        lambda c, e: convt_np(A(c)[0], A(c)[1], 0 * A(c)[2], **c.kwargs),
        "bias",
    ),
    Bug(
        "conv_transpose2d_forward",
        "padding not cropped",
        lambda c, e: convt_np(A(c)[0], A(c)[1], A(c)[2], K(c, "stride", 1), 0),
        "crops",
    ),
    Bug(
        "conv_transpose2d_forward",
        "channel axes swapped",
        lambda c, e: (
            None
            if A(c)[1].shape[0] != A(c)[1].shape[1]
            else convt_np(A(c)[0], A(c)[1].transpose(1, 0, 2, 3), A(c)[2], **c.kwargs)
        ),
        "channel axes",
    ),
    Bug("conv_transpose2d_backward", "db averaged over the batch", scale_leaf(2, first_arg_n), "sum dout"),
    Bug("conv_transpose2d_backward", "dx with a flipped kernel", convt_dx_flipped, "flipped kernel"),
    # rnn
    Bug(
        "rnn_cell_forward",
        "bias forgotten",
        lambda c, e: {"tanh": np.tanh, "sigmoid": sig}[K(c, "activation", "tanh")](
            A(c)[0] @ A(c)[2] + A(c)[1] @ A(c)[3]
        ),
        "bias",
    ),
    Bug(
        "rnn_cell_forward",
        "always tanh",
        lambda c, e: np.tanh(A(c)[0] @ A(c)[2] + A(c)[1] @ A(c)[3] + A(c)[4]),
        "tanh was used",
    ),
    Bug(
        "rnn_cell_forward",
        "h_prev forgotten",
        lambda c, e: {"tanh": np.tanh, "sigmoid": sig}[K(c, "activation", "tanh")](A(c)[0] @ A(c)[2] + A(c)[4]),
        "h_prev @ Wh",
    ),
    Bug("rnn_cell_backward", "db averaged", scale_leaf(4, first_arg_n), "sum over the batch"),
    *[
        Bug(
            "lstm_cell_forward",
            f"gates {order}",
            lambda c, e, order=order: lstm_cell_np(*A(c), order=order),
            f"order {', '.join(order)};",
        )
        for order in WRONG_GATE_ORDERS
    ],
    Bug("lstm_cell_backward", "db averaged", scale_leaf(5, first_arg_n), "sum over the batch"),
    *[
        Bug(
            "lstm_forward",
            f"gates {order}",
            lambda c, e, order=order: lstm_np(*A(c), order=order),
            f"order {', '.join(order)};",
        )
        for order in WRONG_GATE_ORDERS
    ],
    Bug("lstm_backward", "db averaged", scale_leaf(4, first_arg_n), "sum over the batch"),
    *[
        Bug(
            "lstm_cell_backward",
            f"gates {order} in both passes",
            lstm_backward_consistent(order, False),
            f"order {', '.join(order)};",
        )
        for order in WRONG_GATE_ORDERS
    ],
    *[
        Bug(
            "lstm_backward",
            f"gates {order} in both passes",
            lstm_backward_consistent(order, True),
            f"order {', '.join(order)};",
        )
        for order in WRONG_GATE_ORDERS
    ],
    # attention
    Bug("positional_encoding", "exponent j/d", lambda c, e: pe_np(*c.args, exponent="column"), "even index"),
    Bug("positional_encoding", "sin/cos swapped", lambda c, e: pe_np(*c.args, swap=True), "swapped"),
    Bug(
        "positional_encoding",
        "two halves",
        lambda c, e: None if c.args[1] % 2 else pe_np(*c.args, halves=True),
        "two halves",
    ),
    Bug(
        "self_attention_basic",
        "softmax over columns",
        lambda c, e: softmax(A(c)[0] @ A(c)[0].T, axis=0) @ A(c)[0],
        "over columns",
    ),
    Bug(
        "self_attention_basic",
        "scaled by sqrt(d)",
        lambda c, e: softmax(A(c)[0] @ A(c)[0].T / np.sqrt(A(c)[0].shape[1])) @ A(c)[0],
        "no scaling",
    ),
    Bug(
        "self_attention_basic",
        "no max subtracted",
        lambda c, e: (
            (lambda ez: ez / ez.sum(axis=1, keepdims=True))(np.exp(np.clip(A(c)[0] @ A(c)[0].T, None, 800))) @ A(c)[0]
        ),
        "maximum",
        True,
    ),
    Bug("scaled_dot_product_attention", "no sqrt(dk)", with_kw(sdpa_np, scale=1.0), "sqrt(dk)"),
    Bug(
        "scaled_dot_product_attention",
        "divided by dk",
        lambda c, e: sdpa_np(*A(c), K(c, "mask"), scale=A(c)[0].shape[-1]),
        "divided by dk",
    ),
    Bug(
        "scaled_dot_product_attention",
        "softmax over the queries",
        lambda c, e: None if "mask" in c.kwargs else sdpa_np(*A(c), axis=-2),
        "over the queries",
    ),
    Bug(
        "scaled_dot_product_attention",
        "mask inverted",
        lambda c, e: None if "mask" not in c.kwargs else sdpa_np(*A(c), ~K(c, "mask")),
        "inverted",
    ),
    Bug(
        "scaled_dot_product_attention",
        "NaN in a fully masked row",
        lambda c, e: None if "mask" not in c.kwargs else sdpa_np(*A(c), K(c, "mask"), guard=False),
        "fully masked",
        True,
    ),
    Bug(
        "scaled_dot_product_attention_backward",
        "NaN gradients in a fully masked row",
        nan_where_row_masked(0),
        "fully masked",
        True,
    ),
    Bug(
        "scaled_dot_product_attention_backward",
        "dQ, dK without 1/sqrt(dk)",
        lambda c, e: (e[0] * np.sqrt(c.args[0].shape[-1]), e[1] * np.sqrt(c.args[0].shape[-1]), e[2]),
        "1/sqrt(dk)",
    ),
    Bug(
        "multi_head_attention_forward",
        "scaled by sqrt(E)",
        lambda c, e: mha_np(*A(c), K(c, "mask"), scale_of=lambda dh: np.sqrt(c.args[0].shape[-1])),
        "sqrt(E)",
    ),
    Bug(
        "multi_head_attention_forward",
        "no scaling",
        lambda c, e: mha_np(*A(c), K(c, "mask"), scale_of=None),
        "sqrt(dk)",
    ),
    Bug(
        "multi_head_attention_forward",
        "interleaved heads",
        lambda c, e: mha_np(*A(c), K(c, "mask"), split="interleaved"),
        "interleaved",
    ),
    Bug(
        "multi_head_attention_forward",
        "reshaped straight to heads",
        lambda c, e: mha_np(*A(c), K(c, "mask"), split="straight"),
        "reshaped straight",
    ),
    Bug("multi_head_attention_forward", "NaN in a fully masked row", nan_where_row_masked(), "fully masked", True),
    Bug(
        "multi_head_attention_backward",
        "NaN gradients in a fully masked row",
        nan_where_row_masked(0),
        "fully masked",
        True,
    ),
    # the second edition (optim, regularization, gradcheck, and the additions elsewhere)
    *[Bug(*bug) for bug in bugs_second_edition.BUGS],
]


def _differs(expected, got, ex) -> bool:
    return compare(expected, plain(got), ex.rtol, ex.atol, ex.outputs) is not None


def _revealing(bug: Bug):
    """(case, buggy output) for the cases on which the bug shows: the output
    differs from the reference's (and is finite, unless NaN/inf is the bug)."""
    cases = cases_of(bug.exercise)
    ex = EXERCISES[bug.exercise]
    for case, exp in zip(cases, expected_of(bug.exercise)):
        with np.errstate(all="ignore"):
            got = bug.build(case, exp)
        if got is None or not _differs(exp, got, ex):
            continue
        if not bug.unstable and not all(np.all(np.isfinite(leaf.astype(np.float64))) for leaf in leaves(got)):
            continue
        yield case, plain(got)


@pytest.mark.parametrize("bug", BUGS, ids=[f"{b.exercise}-{b.what}" for b in BUGS])
def test_hint_names_the_mistake_on_the_buggy_output(bug):
    shown = 0
    for case, got in _revealing(bug):
        hint = first_hint(bug.exercise, case, got)
        assert hint is not None and bug.says in hint, f"{case.label}: {hint!r}"
        shown += 1
    assert shown, "no case reveals this mistake"


def test_every_hint_is_the_one_shown_for_some_bug():
    """No hint is dead code: each fires on one of the bugs above."""
    shown = set()
    for bug in BUGS:
        hints = EXERCISES[bug.exercise].hints
        for case, got in _revealing(bug):
            shown.update(id(h) for h in hints if h(case, got))
            break
    missing = [(name, i) for name, ex in EXERCISES.items() for i, h in enumerate(ex.hints) if id(h) not in shown]
    assert not missing


@pytest.mark.parametrize("name", list(EXERCISES))
def test_hints_are_silent_on_the_right_answer(name):
    cases = cases_of(name)
    for case, exp in zip(cases, expected_of(name)):
        assert first_hint(name, case, exp) is None, case.label


@pytest.mark.parametrize("name", list(EXERCISES))
def test_hints_are_silent_on_an_unrelated_wrong_answer(name):
    """Random noise of the right shape is a failure no hint should explain."""
    rng = np.random.default_rng(0)
    cases = cases_of(name)
    for case, exp in zip(cases, expected_of(name)):
        noise = _map(exp, lambda a: a + rng.standard_normal(a.shape) * (1 + np.abs(a)))
        assert first_hint(name, case, noise) is None, case.label


def _map(x, fn):
    if isinstance(x, dict):
        return {k: _map(v, fn) for k, v in x.items()}
    if isinstance(x, (tuple, list)) and not all(isinstance(v, (int, np.integer)) for v in x):
        return type(x)(_map(v, fn) for v in x)
    arr = np.asarray(x)
    return fn(arr.astype(np.float64)) if arr.dtype.kind == "f" else x


# -- the machinery -----------------------------------------------------------------------


def test_leafwise_match_needs_every_wrong_array_to_be_the_variants():
    expected = (np.ones(3), np.zeros(2))
    variant = (np.ones(3), np.full(2, 5.0))
    assert matches_leafwise((np.ones(3), np.full(2, 5.0)), expected, variant)
    assert not matches_leafwise((np.ones(3) * 2, np.full(2, 5.0)), expected, variant)
    assert not matches_leafwise(expected, expected, variant), "a right answer matches no bug"
    assert not matches_leafwise((np.ones(3),), expected, variant), "structure must agree"


def test_close_requires_equal_shapes_and_rejects_nan():
    assert close(np.eye(2), np.eye(2) * (1 + 1e-9))
    assert not close(np.ones((2, 3)), np.ones((3, 2)))
    assert not close(np.array([np.nan]), np.array([np.nan]))
    assert leaves({"b": 1.0, "a": (np.ones(2), [1, 2])})[0].shape == (2,)


def test_factories_never_raise_and_say_nothing_when_they_cannot_apply():
    def broken_ref(case):
        raise RuntimeError("reference unavailable")

    case = Case("x", args=(np.ones(2),))
    assert scaled_by(broken_ref, 2, "twice")(case, np.ones(2)) is None
    assert transposed(broken_ref)(case, "not an array") is None


def test_scaled_by_formats_a_case_dependent_factor():
    def ref(case):
        return np.arange(1.0, 4.0)

    hint = scaled_by(ref, lambda case: 3, "{factor} times")
    assert hint(Case("x"), np.arange(1.0, 4.0) * 3) == "3 times"
    assert hint(Case("x"), np.arange(1.0, 4.0) * 2) is None
