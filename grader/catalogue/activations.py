"""Cases and hints for ``activations.py`` (activation functions and gradients)."""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import elementwise_cases, extreme, label, randn
from grader.catalogue._hints import matches_variant, non_finite, reference, replace_args, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="activations", kind="function")

SMALL_Z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
UNSTABLE = (
    "NaN or inf for large |z|: exp overflows there; use a numerically stable form "
    "(e.g. compute exp(-|z|) and treat z >= 0 and z < 0 separately)."
)
#: The stable forms named when the student's code warns (Exercise.stable).
STABLE_SIGMOID = (
    "exp(-z) overflows for large negative z, with a warning, even where the result is "
    "right: use the two-sided stable form e = np.exp(-np.abs(z)); 1 / (1 + e) where "
    "z >= 0, e / (1 + e) where z < 0."
)
STABLE_SOFTMAX = (
    "exp overflows for large z: subtract the maximum along the axis first, "
    "np.exp(z - z.max(axis=axis, keepdims=True)), which never exceeds 1."
)
GRAD_AT_ZERO = "the gradient at z == 0 must be {value}: the derivative uses z > 0, not z >= 0."


def _cases(*, with_zero: bool = False, magnitude: float | None = None, small: bool = True, **kwargs):
    """Case builder shared by the elementwise exercises: the small vector
    [-2, -1, 0, 1, 2] first, then the random kinds of ``elementwise_cases``."""

    def cases(rng: np.random.Generator) -> list[Case]:
        first = (
            [
                Case(
                    label("small example: z = [-2, -1, 0, 1, 2]", {}, **kwargs),
                    args=(SMALL_Z.copy(),),
                    kwargs=dict(kwargs),
                )
            ]
            if small
            else []
        )
        return first + elementwise_cases(rng, with_zero=with_zero, magnitude=magnitude, **kwargs)

    return cases


def _both_alphas(**options):
    """Cases with the default alpha and with alpha=0.2."""
    default, explicit = _cases(**options), _cases(small=False, alpha=0.2, **options)
    return lambda rng: default(rng) + explicit(rng)


def _z(case: Case) -> np.ndarray:
    return np.asarray(case.args[0], dtype=np.float64)


def _ignores_alpha(ref):
    return with_inputs(
        ref,
        lambda c: replace_args(c, alpha=0.01) if c.kwargs.get("alpha", 0.01) != 0.01 else None,
        "the result ignores the `alpha` argument (uses 0.01 always).",
    )


_ref = {
    name: reference("activations", name)
    for name in (
        "sigmoid",
        "sigmoid_grad",
        "tanh_grad",
        "relu",
        "relu_grad",
        "leaky_relu",
        "leaky_relu_grad",
        "softmax",
    )
}

sigmoid = Ex(
    name="sigmoid",
    points=1,
    cases=_cases(magnitude=1e4),
    hints=(non_finite(_ref["sigmoid"], UNSTABLE),),
    stable=STABLE_SIGMOID,
    description="Logistic sigmoid 1 / (1 + exp(-z)), stable for |z| up to 1e4",
)

sigmoid_grad = Ex(
    name="sigmoid_grad",
    points=1,
    cases=_cases(magnitude=1e4),
    stable=STABLE_SIGMOID,
    uses=("sigmoid",),
    hints=(
        non_finite(_ref["sigmoid_grad"], UNSTABLE),
        matches_variant(
            _ref["sigmoid_grad"],
            lambda c: _z(c) * (1 - _z(c)),
            "s * (1 - s) needs s = sigmoid(z); the formula was applied to z itself.",
        ),
    ),
    description="Derivative sigmoid(z) * (1 - sigmoid(z))",
)

tanh_grad = Ex(
    name="tanh_grad",
    points=1,
    cases=_cases(magnitude=1e4),
    hints=(
        matches_variant(
            _ref["tanh_grad"],
            lambda c: 1 - _z(c) ** 2,
            "1 - t**2 needs t = tanh(z); the formula was applied to z itself.",
        ),
        matches_variant(
            _ref["tanh_grad"],
            lambda c: 1 - np.tanh(_z(c)),
            "tanh's derivative is 1 - tanh(z)**2: the square is missing.",
        ),
    ),
    description="Derivative 1 - tanh(z)**2",
)

relu = Ex(
    name="relu", points=1, cases=_cases(with_zero=True, magnitude=1e4), description="Rectified linear unit max(z, 0)"
)

relu_grad = Ex(
    name="relu_grad",
    points=1,
    cases=_cases(with_zero=True),
    hints=(
        matches_variant(_ref["relu_grad"], lambda c: (_z(c) >= 0).astype(np.float64), GRAD_AT_ZERO.format(value=0)),
    ),
    description="ReLU derivative: 1 where z > 0, else 0",
)

leaky_relu = Ex(
    name="leaky_relu",
    points=1,
    cases=_both_alphas(with_zero=True, magnitude=1e4),
    hints=(_ignores_alpha(_ref["leaky_relu"]),),
    description="Leaky ReLU: z where z > 0, else alpha * z",
)

leaky_relu_grad = Ex(
    name="leaky_relu_grad",
    points=1,
    cases=_both_alphas(with_zero=True),
    hints=(
        matches_variant(
            _ref["leaky_relu_grad"],
            lambda c: np.where(_z(c) >= 0, 1.0, c.kwargs.get("alpha", 0.01)),
            GRAD_AT_ZERO.format(value="alpha"),
        ),
        _ignores_alpha(_ref["leaky_relu_grad"]),
    ),
    description="Leaky ReLU derivative: 1 where z > 0, else alpha",
)


def softmax_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case("small example: z = [1, 2, 3]", args=(np.array([1.0, 2.0, 3.0]),)),
        Case("small example: z = [[1, 2, 3], [1, 1, 1]]", args=(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),)),
    ]
    for shape, axis in (((4, 6), None), ((4, 6), 0), ((2, 3, 5), 1), ((1, 7), None)):
        z = randn(rng, *shape, scale=2.0)
        kwargs = {} if axis is None else {"axis": axis}
        cases.append(Case(label("random", {"z": z}, axis=axis), args=(z,), kwargs=kwargs))
    z = extreme(rng, 3, 5)
    cases.append(Case(label("large |z| up to 1e4", {"z": z}), args=(z,)))
    return cases


def _softmax_all(case: Case) -> np.ndarray:
    z = _z(case)
    e = np.exp(z - z.max())
    return e / e.sum()


def _other_axis(case: Case) -> Case | None:
    ndim = _z(case).ndim
    axis = case.kwargs.get("axis", -1) % ndim
    return None if ndim < 2 else replace_args(case, axis=0 if axis != 0 else ndim - 1)


softmax = Ex(
    name="softmax",
    points=1,
    cases=softmax_cases,
    stable=STABLE_SOFTMAX,
    hints=(
        non_finite(
            _ref["softmax"], "NaN or inf for large |z|: subtract the maximum along the axis before exponentiating."
        ),
        with_inputs(
            _ref["softmax"],
            _other_axis,
            "softmax was taken over the wrong axis: normalise along `axis` "
            "(sum and max with axis=axis, keepdims=True).",
        ),
        matches_variant(
            _ref["softmax"], _softmax_all, "the whole array was normalised at once: sum along `axis` only."
        ),
    ),
    description="Softmax along an axis, stable for |z| up to 1e4",
)


EXERCISES = [sigmoid, sigmoid_grad, tanh_grad, relu, relu_grad, leaky_relu, leaky_relu_grad, softmax]
