"""Cases and hints for ``losses.py`` (losses, one sigmoid unit trained by gradient descent)."""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import extreme, label, randn
from grader.catalogue._hints import matches_variant, non_finite, reference, scaled_by
from grader.catalogue.activations import STABLE_SIGMOID
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="losses", kind="function")

GATE_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
OR_Y = np.array([0.0, 1.0, 1.0, 1.0])
SUM_NOT_MEAN = "{factor} times the expected value: a sum where the mean (division by n) is needed."
SIGN = "the sign is flipped: the gradient is d loss / d y_hat, e.g. (y_hat - y), not (y - y_hat)."


def _n(case: Case) -> int:
    """Number of examples: the first dimension of the first argument."""
    return int(np.shape(case.args[0])[0])


def _size(case: Case) -> int:
    return int(np.size(case.args[0]))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z)))


# -- mse_loss ------------------------------------------------------------------


def mse_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("small example: y_hat = [1, 2, 3], y = [1, 1, 1]", args=(np.array([1.0, 2.0, 3.0]), np.ones(3)))]
    for shape in ((6,), (4, 3), (1,)):
        y_hat, y = randn(rng, *shape), randn(rng, *shape)
        cases.append(Case(label("random", {"y_hat": y_hat, "y": y}), args=(y_hat, y)))
    return cases


_ref_mse = reference("losses", "mse_loss")
mse_loss = Ex(
    name="mse_loss",
    points=1,
    cases=mse_cases,
    outputs=("loss", "dy_hat"),
    hints=(
        scaled_by(_ref_mse, 2, "twice the expected value: the loss is mean((y_hat - y)**2) / 2."),
        scaled_by(_ref_mse, _size, SUM_NOT_MEAN),
        scaled_by(_ref_mse, -1, SIGN),
    ),
    description="Mean squared error mean((y_hat - y)**2) / 2 and its gradient",
)


# -- binary_cross_entropy ------------------------------------------------------


def bce_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: y_hat = [0.9, 0.2, 0.6], y = [1, 0, 0]",
            args=(np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 0.0])),
        )
    ]
    for n in (8, 1):
        y_hat, y = rng.uniform(0.02, 0.98, n), rng.integers(0, 2, n).astype(np.float64)
        cases.append(Case(label("random", {"y_hat": y_hat, "y": y}), args=(y_hat, y)))
    y_hat = np.array([1e-8, 1 - 1e-8, 1e-8, 1 - 1e-8, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    cases.append(Case("y_hat within 1e-8 of 0 and 1, right and wrong labels", args=(y_hat, y)))
    return cases


def _bce_wrt_logits(case: Case):
    y_hat, y = (np.asarray(a, dtype=np.float64) for a in case.args)
    return (_ref_bce(case)[0], (y_hat - y) / y_hat.shape[0])


def _bce_clipped(case: Case, eps: float = 1e-7):
    """Loss and gradient with y_hat clipped to [eps, 1 - eps] (Keras' default eps)."""
    y_hat, y = (np.asarray(a, dtype=np.float64) for a in case.args)
    p = np.clip(y_hat, eps, 1 - eps)
    if np.array_equal(p, y_hat):
        return None
    n = y.shape[0]
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return (loss, (-(y / p) + (1 - y) / (1 - p)) / n)


_ref_bce = reference("losses", "binary_cross_entropy")
binary_cross_entropy = Ex(
    name="binary_cross_entropy",
    points=1,
    cases=bce_cases,
    outputs=("loss", "dy_hat"),
    hints=(
        scaled_by(_ref_bce, _n, SUM_NOT_MEAN),
        scaled_by(_ref_bce, -1, SIGN),
        matches_variant(
            _ref_bce,
            _bce_wrt_logits,
            "(y_hat - y) / n is the gradient with respect to the logit; this one "
            "is with respect to y_hat: (y_hat - y) / (y_hat (1 - y_hat) n).",
        ),
        matches_variant(
            _ref_bce,
            _bce_clipped,
            "y_hat was clipped (to 1e-7 from 0 and 1): y_hat is strictly inside (0, 1), use it as given.",
        ),
    ),
    description="Mean binary cross-entropy and its gradient with respect to y_hat",
)


# -- softmax_cross_entropy -----------------------------------------------------


def sce_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("small example: logits = [[2, 1, 0.1]], y = [0]", args=(np.array([[2.0, 1.0, 0.1]]), np.array([0])))]
    for n, c, scale in ((5, 4, 1.0), (1, 3, 1.0), (8, 10, 3.0)):
        logits, y = randn(rng, n, c, scale=scale), rng.integers(0, c, n)
        cases.append(Case(label("random", {"logits": logits}, classes=c), args=(logits, y)))
    logits = extreme(rng, 4, 5)
    cases.append(Case(label("large |logits| up to 1e4", {"logits": logits}), args=(logits, rng.integers(0, 5, 4))))
    return cases


def _sce_softmax_axis0(case: Case):
    logits, y = np.asarray(case.args[0], dtype=np.float64), np.asarray(case.args[1])
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    rows = np.arange(len(y))
    loss = -np.mean(np.log(p[rows, y]))
    d = p.copy()
    d[rows, y] -= 1
    return loss, d / len(y)


_ref_sce = reference("losses", "softmax_cross_entropy")
softmax_cross_entropy = Ex(
    name="softmax_cross_entropy",
    points=2,
    cases=sce_cases,
    outputs=("loss", "dlogits"),
    stable=(
        "exp overflows for large logits: use log-sum-exp with each row's maximum m subtracted, "
        "log p = z - m - log(sum(exp(z - m))), and softmax as exp(z - m) / sum(exp(z - m))."
    ),
    hints=(
        non_finite(
            _ref_sce,
            "NaN or inf for large logits: subtract each row's maximum (or use log-sum-exp) before exponentiating.",
        ),
        scaled_by(_ref_sce, _n, SUM_NOT_MEAN),
        matches_variant(
            _ref_sce, _sce_softmax_axis0, "softmax was taken over the batch axis: normalise each row (axis=1)."
        ),
    ),
    description="Mean softmax cross-entropy of logits (N, C) with int labels, and dlogits",
)


# -- sigmoid_unit_mse_grad and gradient_descent_step ---------------------------

WORKED_UNIT = (GATE_X, OR_Y, np.array([0.2, 0.1]), -0.1)


def unit_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("worked example: OR inputs, y = [0, 1, 1, 1], w = [0.2, 0.1], b = -0.1", args=WORKED_UNIT)]
    for n, m in ((6, 3), (1, 2), (10, 4)):
        X, y = randn(rng, n, m), rng.integers(0, 2, n).astype(np.float64)
        w, b = randn(rng, m), float(randn(rng))
        cases.append(Case(label("random", {"X": X, "w": w}, b=round(b, 3)), args=(X, y, w, b)))
    return cases


def _unit_without_sigmoid_derivative(case: Case):
    X, y, w, b = case.args
    r = _sigmoid(X @ w + b) - y
    return (_ref_unit(case)[0], X.T @ r / len(y), float(np.mean(r)))


_ref_unit = reference("losses", "sigmoid_unit_mse_grad")
sigmoid_unit_mse_grad = Ex(
    name="sigmoid_unit_mse_grad",
    points=1,
    cases=unit_cases,
    outputs=("loss", "grad_w", "grad_b"),
    stable=STABLE_SIGMOID,
    hints=(
        scaled_by(_ref_unit, _n, SUM_NOT_MEAN),
        scaled_by(_ref_unit, 2, "twice the expected value: the loss has a 1/(2n), so the gradient has 1/n."),
        matches_variant(
            _ref_unit,
            _unit_without_sigmoid_derivative,
            "the sigmoid's derivative y_hat * (1 - y_hat) is missing from the chain rule.",
        ),
    ),
    description="Loss and gradients of one sigmoid unit under the squared error",
)


def step_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "worked example: OR inputs, y = [0, 1, 1, 1], w = [0.2, 0.1], b = -0.1, lr = 0.1", args=WORKED_UNIT + (0.1,)
        )
    ]
    for case, lr in zip(unit_cases(rng)[1:], (0.5, 1.0, 0.05)):
        cases.append(Case(f"{case.label} lr={lr}", args=case.args + (lr,)))
    return cases


def _ascent(case: Case):
    w, b = case.args[2], case.args[3]
    w_new, b_new = _ref_step(case)
    return (2 * np.asarray(w) - w_new, 2 * b - b_new)


_ref_step = reference("losses", "gradient_descent_step")
gradient_descent_step = Ex(
    name="gradient_descent_step",
    points=1,
    cases=step_cases,
    outputs=("w_new", "b_new"),
    uses=("sigmoid_unit_mse_grad",),
    stable=STABLE_SIGMOID,
    hints=(matches_variant(_ref_step, _ascent, "the step goes uphill: subtract lr times the gradient."),),
    description="One batch gradient-descent step of the sigmoid unit",
)


# -- sigmoid_unit_bce_grad (logistic regression) ----------------------------------


def bce_unit_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("small example: OR inputs, y = [0, 1, 1, 1], w = [0.2, 0.1], b = -0.1", args=WORKED_UNIT)]
    for n, m in ((6, 3), (1, 2), (10, 4)):
        X, y = randn(rng, n, m), rng.integers(0, 2, n).astype(np.float64)
        w, b = randn(rng, m), float(randn(rng))
        cases.append(Case(label("random", {"X": X, "w": w}, b=round(b, 3)), args=(X, y, w, b)))
    X, y = extreme(rng, 5, 2), np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    cases.append(Case(label("saturated units, |X @ w + b| up to about 1e4", {"X": X}), args=(X, y, np.ones(2), 0.0)))
    return cases


def _bce_unit_with_sigmoid_derivative(case: Case):
    """The squared error's chain rule carried over: dz = (a - y) * a * (1 - a)."""
    X, y, w, b = (np.asarray(v, dtype=np.float64) for v in case.args)
    a = _sigmoid(X @ w + b)
    dz = (a - y) * a * (1 - a)
    return (_ref_bce_unit(case)[0], X.T @ dz / len(y), float(np.mean(dz)))


_ref_bce_unit = reference("losses", "sigmoid_unit_bce_grad")
sigmoid_unit_bce_grad = Ex(
    name="sigmoid_unit_bce_grad",
    points=2,
    cases=bce_unit_cases,
    outputs=("loss", "grad_w", "grad_b"),
    hints=(
        non_finite(
            _ref_bce_unit,
            "NaN or inf for saturated units: log(sigmoid(z)) is log(0) there; "
            "compute the loss from z, mean(logaddexp(0, z) - y * z).",
        ),
        scaled_by(_ref_bce_unit, _n, SUM_NOT_MEAN),
        scaled_by(_ref_bce_unit, -1, "the sign is flipped: dz = a - y, not y - a."),
        matches_variant(
            _ref_bce_unit,
            _bce_unit_with_sigmoid_derivative,
            "with the cross-entropy the sigmoid's derivative cancels: dz = a - y, without the factor a * (1 - a).",
        ),
    ),
    description="Logistic regression: mean cross-entropy of one sigmoid unit and its gradients",
)


EXERCISES = [
    mse_loss,
    binary_cross_entropy,
    softmax_cross_entropy,
    sigmoid_unit_mse_grad,
    gradient_descent_step,
    sigmoid_unit_bce_grad,
]
