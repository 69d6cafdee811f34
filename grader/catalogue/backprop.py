"""Cases and hints for ``backprop.py`` (layers and a two-layer network)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from grader.catalogue._cases import elementwise_cases, label, randn, upstream_for
from grader.catalogue._hints import matches_variant, reference, replace_args, scaled_by, transposed, with_inputs
from grader.catalogue.activations import STABLE_SIGMOID
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="backprop")
SAME_SHAPE = lambda case: {"dout": np.shape(case.args[0])}  # noqa: E731 (elementwise layers)


def _upstream(forward_cases, out_shapes):
    """Backward cases: the forward's cases plus random upstream gradients."""
    return lambda rng: upstream_for(forward_cases(rng), rng, out_shapes)


def _n(case: Case) -> int:
    return int(np.shape(case.args[0])[0])


# -- affine ------------------------------------------------------------------------


def affine_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: x = [[1, 2]], W = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0, -0.5]",
            args=(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]), np.array([0.5, 0.0, -0.5])),
        )
    ]
    for n, d, m in ((4, 3, 5), (1, 6, 2), (7, 1, 3), (3, 4, 4)):
        x, W, b = randn(rng, n, d), randn(rng, d, m), randn(rng, m)
        cases.append(Case(label("random", {"x": x, "W": W, "b": b}), args=(x, W, b)))
    return cases


_ref_affine = reference("backprop", "affine_forward", "forward")
affine_forward = Ex(
    name="affine_forward",
    points=1,
    kind="forward",
    cases=affine_cases,
    hints=(
        with_inputs(
            _ref_affine,
            lambda c: replace_args(c, _2=np.zeros_like(c.args[2])),
            "the bias b is missing: out = x @ W + b.",
        ),
        transposed(_ref_affine),
    ),
    description="Affine layer x @ W + b, returning (out, cache)",
)

_ref_affine_b = reference("backprop", "affine_backward", "backward", "affine_forward")
affine_backward = Ex(
    name="affine_backward",
    points=2,
    kind="backward",
    forward="affine_forward",
    wrt=(0, 1, 2),
    outputs=("dx", "dW", "db"),
    cases=_upstream(affine_cases, lambda c: {"dout": (_n(c), np.shape(c.args[1])[1])}),
    hints=(
        scaled_by(
            _ref_affine_b,
            lambda c: 1 / _n(c),
            "db is the expected one divided by N: sum dout over the batch, not the mean.",
        ),
        transposed(
            _ref_affine_b, "a gradient is transposed: dx = dout @ W.T and dW = x.T @ dout have the shapes of x and W."
        ),
    ),
    description="Gradients (dx, dW, db) of the affine layer",
)


# -- elementwise layers ------------------------------------------------------------


def _elementwise(magnitude=None, with_zero=False):
    def cases(rng: np.random.Generator) -> list[Case]:
        return elementwise_cases(rng, with_zero=with_zero, magnitude=magnitude)

    return cases


def _x(case: Case) -> np.ndarray:
    return np.asarray(case.args[0], dtype=np.float64)


def _dout(case: Case) -> np.ndarray:
    return np.asarray(case.upstream[0], dtype=np.float64)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


NO_DOUT = "the local derivative alone was returned: multiply it by dout (the chain rule)."
ON_INPUT = "the derivative formula was applied to the input x; it needs the layer's output (keep it in the cache)."

_sigmoid_cases, _tanh_cases = _elementwise(magnitude=1e4), _elementwise(magnitude=1e4)
_relu_cases = _elementwise(with_zero=True, magnitude=1e4)

sigmoid_forward = Ex(
    name="sigmoid_forward",
    points=1,
    kind="forward",
    cases=_sigmoid_cases,
    stable=STABLE_SIGMOID,
    description="Sigmoid layer (stable for |x| up to 1e4), returning (out, cache)",
)
_ref_sigmoid_b = reference("backprop", "sigmoid_backward", "backward", "sigmoid_forward")
sigmoid_backward = Ex(
    name="sigmoid_backward",
    points=1,
    kind="backward",
    forward="sigmoid_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=_upstream(_sigmoid_cases, SAME_SHAPE),
    hints=(
        matches_variant(_ref_sigmoid_b, lambda c: _sigmoid(_x(c)) * (1 - _sigmoid(_x(c))), NO_DOUT),
        matches_variant(_ref_sigmoid_b, lambda c: _dout(c) * _x(c) * (1 - _x(c)), ON_INPUT),
    ),
    description="dx of the sigmoid layer: dout * out * (1 - out)",
)

tanh_forward = Ex(
    name="tanh_forward", points=1, kind="forward", cases=_tanh_cases, description="Tanh layer, returning (out, cache)"
)
_ref_tanh_b = reference("backprop", "tanh_backward", "backward", "tanh_forward")
tanh_backward = Ex(
    name="tanh_backward",
    points=1,
    kind="backward",
    forward="tanh_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=_upstream(_tanh_cases, SAME_SHAPE),
    hints=(
        matches_variant(_ref_tanh_b, lambda c: 1 - np.tanh(_x(c)) ** 2, NO_DOUT),
        matches_variant(_ref_tanh_b, lambda c: _dout(c) * (1 - _x(c) ** 2), ON_INPUT),
    ),
    description="dx of the tanh layer: dout * (1 - out**2)",
)

relu_forward = Ex(
    name="relu_forward", points=1, kind="forward", cases=_relu_cases, description="ReLU layer, returning (out, cache)"
)
_ref_relu_b = reference("backprop", "relu_backward", "backward", "relu_forward")
relu_backward = Ex(
    name="relu_backward",
    points=1,
    kind="backward",
    forward="relu_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=_upstream(_relu_cases, SAME_SHAPE),
    hints=(
        matches_variant(
            _ref_relu_b,
            lambda c: _dout(c) * (_x(c) >= 0),
            "the gradient at x == 0 must be 0: pass dout where x > 0 only.",
        ),
        matches_variant(_ref_relu_b, lambda c: (_x(c) > 0).astype(np.float64), NO_DOUT),
    ),
    description="dx of the ReLU layer: dout where x > 0, else 0",
)


# -- two_layer_net_loss ------------------------------------------------------------

ACTIVATIONS = ("tanh", "sigmoid", "relu")


def net_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for activation, (n, d, h) in zip(
        ACTIVATIONS * 2, ((5, 3, 4), (6, 2, 3), (8, 4, 5), (1, 3, 2), (1, 2, 3), (3, 5, 1))
    ):
        X, y = randn(rng, n, d), rng.integers(0, 2, n).astype(np.float64)
        params = {
            "W1": randn(rng, d, h),
            "b1": randn(rng, h, scale=0.5),
            "W2": randn(rng, h, 1),
            "b2": randn(rng, 1, scale=0.5),
        }
        cases.append(
            Case(
                label("random", {"X": X, "W1": params["W1"]}, activation=activation),
                args=(X, y, params),
                kwargs={"activation": activation},
            )
        )
    return cases


_HIDDEN: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda a: np.maximum(a, 0.0),
}


def _broadcast_loss(case: Case):
    """The loss when y_hat stays (N, 1) and y is (N,): the cross-entropy terms
    broadcast to (N, N) and their mean is taken (the gradients can still be right)."""
    X, y, params = case.args
    hidden = _HIDDEN[case.kwargs.get("activation", "tanh")](X @ params["W1"] + params["b1"])
    y_hat = _sigmoid(hidden @ params["W2"] + params["b2"])  # (N, 1)
    if len(y) == 1:
        return None
    loss = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    return (loss, _ref_net(case)[1])


_ref_net = reference("backprop", "two_layer_net_loss")
two_layer_net_loss = Ex(
    name="two_layer_net_loss",
    points=3,
    kind="function",
    cases=net_cases,
    outputs=("loss", "grads"),
    uses=(
        "affine_forward",
        "affine_backward",
        "sigmoid_forward",
        "sigmoid_backward",
        "tanh_forward",
        "tanh_backward",
        "relu_forward",
        "relu_backward",
    ),
    hints=(
        scaled_by(
            _ref_net,
            _n,
            "{factor} times the expected value: average the loss and dL/ds = (y_hat - y) / N over the batch.",
        ),
        scaled_by(_ref_net, -1, "the gradients have the wrong sign: dL/ds = (y_hat - y) / N."),
        matches_variant(
            _ref_net,
            _broadcast_loss,
            "the loss averaged an (N, N) matrix: y_hat is (N, 1) but y is (N,), so "
            "y * log(y_hat) broadcasts; flatten y_hat (or use y[:, None]).",
        ),
    ),
    description="Loss and gradients (dict) of a two-layer network with a sigmoid output",
)


EXERCISES = [
    affine_forward,
    affine_backward,
    sigmoid_forward,
    sigmoid_backward,
    tanh_forward,
    tanh_backward,
    relu_forward,
    relu_backward,
    two_layer_net_loss,
]
