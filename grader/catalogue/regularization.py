"""Cases and hints for ``regularization.py`` (dropout, batch norm, layer norm)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from grader.catalogue._cases import label, randn, upstream_for
from grader.catalogue._hints import matches_variant, reference, replace_args, scaled_by
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="regularization")
SAME_SHAPE = lambda case: {"dout": np.shape(case.args[0])}  # noqa: E731


def _upstream(forward_cases):
    return lambda rng: upstream_for(forward_cases(rng), rng, SAME_SHAPE)


def _x(case: Case) -> np.ndarray:
    return np.asarray(case.args[0], dtype=np.float64)


# -- dropout ------------------------------------------------------------------------


def dropout_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, p, seed in (((4, 5), 0.5, None), ((3, 8), 0.2, 7), ((2, 3, 4), 0.75, 123)):
        x = randn(rng, *shape)
        kwargs = {} if seed is None else {"seed": seed}
        cases.append(Case(label("training", {"x": x}, p=p, seed=seed), args=(x, p), kwargs=kwargs))
    x = randn(rng, 3, 4)
    cases.append(Case(label("test time (train=False)", {"x": x}, p=0.5), args=(x, 0.5), kwargs={"train": False}))
    x = randn(rng, 2, 6)
    cases.append(Case(label("training with p = 0", {"x": x}), args=(x, 0.0), kwargs={"seed": 3}))
    return cases


def _keep(case: Case, below: bool = False) -> np.ndarray:
    """The kept units of the API's mask (``below``: a student keeping random < p)."""
    x, p = _x(case), case.args[1]
    draw = np.random.default_rng(case.kwargs.get("seed", 0)).random(x.shape)
    return draw < p if below else draw >= p


def _training(case: Case) -> bool:
    return case.kwargs.get("train", True) and case.args[1] > 0


def _dropout(
    case: Case,
    *,
    scale_train: bool = True,
    test_factor: Callable[[float], float] | None = None,
    below: bool = False,
    grad: bool = False,
):
    """The dropout forward (or, with ``grad``, the backward's dx) under a bug."""
    x, p = _x(case), case.args[1]
    base = np.asarray(case.upstream[0], dtype=np.float64) if grad else x
    if not _training(case):
        return None if test_factor is None else base * test_factor(p)
    if test_factor is not None:
        return None
    mask = _keep(case, below).astype(np.float64)
    return base * mask / ((1 - p) if scale_train else 1.0)


NOT_RESCALED = "the kept units were not rescaled: inverted dropout multiplies them by 1 / (1 - p) during training."
TEST_SCALED = "at test time (train=False) dropout is the identity: out equals x, no scaling."
WRONG_KEEP = "the mask keeps the units where random < p: KEEP where random >= p (p is the drop rate)."

_ref_drop = reference("regularization", "dropout_forward", "forward")
dropout_forward = Ex(
    name="dropout_forward",
    points=1,
    kind="forward",
    cases=dropout_cases,
    hints=(
        matches_variant(_ref_drop, functools.partial(_dropout, scale_train=False), NOT_RESCALED),
        matches_variant(_ref_drop, functools.partial(_dropout, test_factor=lambda p: 1 - p), TEST_SCALED),
        matches_variant(_ref_drop, functools.partial(_dropout, test_factor=lambda p: 1 / (1 - p)), TEST_SCALED),
        matches_variant(_ref_drop, functools.partial(_dropout, below=True), WRONG_KEEP),
    ),
    description="Inverted dropout with the seeded mask; the identity at test time",
)

_ref_drop_b = reference("regularization", "dropout_backward", "backward", "dropout_forward")
dropout_backward = Ex(
    name="dropout_backward",
    points=1,
    kind="backward",
    forward="dropout_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=_upstream(dropout_cases),
    hints=(
        matches_variant(
            _ref_drop_b,
            functools.partial(_dropout, scale_train=False, grad=True),
            "dx misses the 1 / (1 - p): the backward multiplies dout by the same scaled mask as the forward.",
        ),
        matches_variant(
            _ref_drop_b,
            functools.partial(_dropout, test_factor=lambda p: 1 - p, grad=True),
            "at test time the layer is the identity, so dx = dout.",
        ),
        matches_variant(
            _ref_drop_b,
            functools.partial(_dropout, test_factor=lambda p: 1 / (1 - p), grad=True),
            "at test time the layer is the identity, so dx = dout.",
        ),
    ),
    description="dx of dropout: dout times the forward's scaled mask",
)


# -- batch norm and layer norm --------------------------------------------------------


def _norm_args(rng, shape, scale=1.0, shift=0.0):
    x = randn(rng, *shape, scale=scale) + shift
    d = shape[-1]
    return x, 1.0 + randn(rng, d, scale=0.3), randn(rng, d, scale=0.5)


def batchnorm_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    cases = [
        Case(
            "small example: x = [[1, 2], [3, 6]], gamma = [1, 1], beta = [0, 0] "
            "(mu = [2, 4], var = [1, 4]: xhat is about [[-1, -1], [1, 1]])",
            args=(x, np.ones(2), np.zeros(2)),
        )
    ]
    for shape, scale, shift, eps in (
        ((5, 3), 1.0, 0.0, None),
        ((4, 6), 3.0, 2.0, None),
        ((8, 2), 0.5, -1.0, 1e-3),
        ((3, 4), 1.0, 0.0, None),
    ):
        x, gamma, beta = _norm_args(rng, shape, scale, shift)
        kwargs = {} if eps is None else {"eps": eps}
        cases.append(Case(label("random", {"x": x}, eps=eps), args=(x, gamma, beta), kwargs=kwargs))
    x, gamma, beta = _norm_args(rng, (4, 3))
    x[:, 1] = 2.5  # a constant feature: var 0, only eps keeps it finite
    cases.append(Case(label("a constant feature (var = 0)", {"x": x}), args=(x, gamma, beta)))
    return cases


def layer_norm_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, scale, shift, eps in (
        ((3, 4), 1.0, 0.0, None),
        ((2, 3, 5), 2.0, 1.0, None),
        ((6, 3), 0.5, -2.0, 1e-3),
        ((2, 2, 2, 4), 1.0, 0.0, None),
        ((5, 7), 1.0, 0.0, None),
    ):
        x, gamma, beta = _norm_args(rng, shape, scale, shift)
        kwargs = {} if eps is None else {"eps": eps}
        cases.append(Case(label("random", {"x": x}, eps=eps), args=(x, gamma, beta), kwargs=kwargs))
    return cases


def _unbiased(axis: int, param_grads: tuple[int, ...] = ()):
    """The variance divided by n - 1 instead of n, in the forward (and, for a
    backward, consistently in both passes). Unbiased var = var * n / (n - 1), so
    out = gamma * c * xhat' + beta with c = sqrt((n - 1) / n) and xhat' the
    normalisation with eps' = eps (n - 1) / n: the reference on altered inputs;
    d(gamma) of the buggy forward is c times the reference's on those inputs."""

    def variant_of(ref):
        def variant(case: Case):
            n = np.shape(case.args[0])[axis]
            if n < 2:
                return None
            c = np.sqrt((n - 1) / n)
            eps = case.args[3] if len(case.args) > 3 else case.kwargs.get("eps", 1e-5)
            altered = replace_args(case, _1=np.asarray(case.args[1], dtype=np.float64) * c, eps=eps * (n - 1) / n)
            out = ref(altered)
            if not param_grads:
                return out
            out = list(out)
            for k in param_grads:
                out[k] = np.asarray(out[k]) * c
            return tuple(out)

        return variant

    return variant_of


UNBIASED = "the variance was divided by n - 1 (unbiased); normalisation uses the biased variance (/ n)."


def _constant_stats(axis: int):
    """A backward treating mean and variance as constants: dx = dout * gamma / sqrt(var + eps)."""

    def variant(case: Case):
        x, gamma = _x(case), np.asarray(case.args[1], dtype=np.float64)
        eps = case.kwargs.get("eps", 1e-5)
        var = x.var(axis=axis, keepdims=True)
        return (np.asarray(case.upstream[0]) * gamma / np.sqrt(var + eps),)

    return variant


CONSTANT_STATS = (
    "dx treats the mean and the variance as constants: they depend on every x of "
    "the group, so dx has two more terms (the mu path and the var path)."
)


def _other_norm(name: str, kind: str, forward: str | None = None):
    """The other normalisation's model answer on the same case (2-D x): batch
    norm over the wrong axis is layer norm and vice versa."""
    ref = reference("regularization", name, kind, forward)

    def variant(case: Case):
        return ref(case) if np.ndim(case.args[0]) == 2 else None

    return variant


_ref_bn = reference("regularization", "batchnorm_forward", "forward")
batchnorm_forward = Ex(
    name="batchnorm_forward",
    points=2,
    kind="forward",
    cases=batchnorm_cases,
    hints=(
        matches_variant(_ref_bn, _unbiased(0)(_ref_bn), UNBIASED),
        matches_variant(
            _ref_bn,
            _other_norm("layer_norm_forward", "forward"),
            "the statistics were taken over each row (the features, axis 1): batch "
            "norm averages each feature over the BATCH, axis 0.",
        ),
    ),
    description="Batch normalisation (training mode) of x (N, D) over the batch axis",
)

_ref_bn_b = reference("regularization", "batchnorm_backward", "backward", "batchnorm_forward")
batchnorm_backward = Ex(
    name="batchnorm_backward",
    points=3,
    kind="backward",
    forward="batchnorm_forward",
    wrt=(0, 1, 2),
    outputs=("dx", "dgamma", "dbeta"),
    cases=_upstream(batchnorm_cases),
    hints=(
        matches_variant(_ref_bn_b, lambda c: _constant_stats(0)(c) + _ref_bn_b(c)[1:], CONSTANT_STATS),
        matches_variant(_ref_bn_b, _unbiased(0, (1,))(_ref_bn_b), UNBIASED),
        matches_variant(
            _ref_bn_b,
            _other_norm("layer_norm_backward", "backward", "layer_norm_forward"),
            "these are the gradients of a normalisation over each row (axis 1): "
            "batch norm's statistics are over the batch, axis 0.",
        ),
        scaled_by(
            _ref_bn_b,
            lambda c: 1 / np.shape(c.args[0])[0],
            "dgamma and dbeta are the expected ones divided by N: sum over the batch, not the mean.",
        ),
    ),
    description="Gradients (dx, dgamma, dbeta) of batch normalisation",
)

_ref_ln = reference("regularization", "layer_norm_forward", "forward")
layer_norm_forward = Ex(
    name="layer_norm_forward",
    points=1,
    kind="forward",
    cases=layer_norm_cases,
    hints=(
        matches_variant(_ref_ln, _unbiased(-1)(_ref_ln), UNBIASED),
        matches_variant(
            _ref_ln,
            _other_norm("batchnorm_forward", "forward"),
            "the statistics were taken over the batch (axis 0): layer norm "
            "normalises each example over its features, the LAST axis.",
        ),
    ),
    description="Layer normalisation over the last axis of x (..., D)",
)

_ref_ln_b = reference("regularization", "layer_norm_backward", "backward", "layer_norm_forward")
layer_norm_backward = Ex(
    name="layer_norm_backward",
    points=2,
    kind="backward",
    forward="layer_norm_forward",
    wrt=(0, 1, 2),
    outputs=("dx", "dgamma", "dbeta"),
    cases=_upstream(layer_norm_cases),
    hints=(
        matches_variant(_ref_ln_b, lambda c: _constant_stats(-1)(c) + _ref_ln_b(c)[1:], CONSTANT_STATS),
        matches_variant(_ref_ln_b, _unbiased(-1, (1,))(_ref_ln_b), UNBIASED),
        matches_variant(
            _ref_ln_b,
            _other_norm("batchnorm_backward", "backward", "batchnorm_forward"),
            "these are the gradients of a normalisation over the batch (axis 0): "
            "layer norm's statistics are over the last axis.",
        ),
    ),
    description="Gradients (dx, dgamma, dbeta) of layer normalisation",
)


EXERCISES = [
    dropout_forward,
    dropout_backward,
    batchnorm_forward,
    batchnorm_backward,
    layer_norm_forward,
    layer_norm_backward,
]
