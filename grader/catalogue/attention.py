"""Cases and hints for ``attention.py`` (positional encodings, attention, multi-head attention,
the feed-forward network and the post-norm encoder block)."""

from __future__ import annotations

import functools
import importlib

import numpy as np

from grader.catalogue._cases import label, randn, upstream_for
from grader.catalogue._hints import matches_variant, non_finite, reference, replace_args, scaled_by, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="attention")

MISSING_SQRT = "the scores were not divided by sqrt(dk): softmax(Q K^T / sqrt(dk)) V."
BY_DK = "the scores were divided by dk; the scale is sqrt(dk)."
WRONG_AXIS = "softmax was taken over the queries (axis -2): each query's row of scores sums to 1."
MASKED_ROW = (
    "NaN or inf where a query row is fully masked: such a row gives zeros (and zero "
    "gradients); guard the division by the row sum."
)


def _softmax(s: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# -- positional_encoding ----------------------------------------------------------


def pe_cases(rng: np.random.Generator) -> list[Case]:
    sizes = [(4, 4), (6, 5), (1, 6), (3, 1), (50, 16), (10, 7)]
    extra = (int(rng.integers(2, 30)), int(rng.integers(2, 20)))
    return [
        Case(f"n_positions={n} d_model={d}" + (" (odd d_model)" if d % 2 else ""), args=(n, d))
        for n, d in sizes + [extra]
    ]


def _pe(case: Case, *, exponent_of, even=np.sin, odd=np.cos) -> np.ndarray:
    n, d = case.args
    pos, col = np.arange(n)[:, None], np.arange(d)[None, :]
    angle = pos / 10000.0 ** (exponent_of(col) / d)
    return np.where(col % 2 == 0, even(angle), odd(angle))


def _pe_halves(case: Case):
    n, d = case.args
    if d % 2:
        return None
    pos, i = np.arange(n)[:, None], np.arange(d // 2)[None, :]
    angle = pos / 10000.0 ** (2 * i / d)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


_even_index = lambda col: col - col % 2  # noqa: E731  (2i for columns 2i and 2i+1)
_ref_pe = reference("attention", "positional_encoding")
positional_encoding = Ex(
    name="positional_encoding",
    points=1,
    kind="function",
    cases=pe_cases,
    hints=(
        matches_variant(
            _ref_pe,
            functools.partial(_pe, exponent_of=lambda col: col),
            "the exponent of column j must use the pair's even index 2i, not j itself (column 3 uses 2/d_model).",
        ),
        matches_variant(
            _ref_pe,
            functools.partial(_pe, exponent_of=_even_index, even=np.cos, odd=np.sin),
            "sin and cos are swapped: even columns are sin, odd columns cos.",
        ),
        matches_variant(
            _ref_pe, _pe_halves, "sin and cos columns must alternate (sin, cos pairs), not form two halves."
        ),
    ),
    description="Sinusoidal positional encodings (n_positions, d_model), odd d_model allowed",
)


# -- self_attention_basic -----------------------------------------------------------


def basic_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case("small example: X = [[1, 0], [0, 1], [1, 1]]", args=(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),))
    ]
    for n, d in ((4, 3), (1, 5), (6, 2), (3, 7)):
        X = randn(rng, n, d)
        cases.append(Case(label("random", {"X": X}), args=(X,)))
    X = randn(rng, 3, 4, scale=40.0)
    cases.append(Case(label("large scores (|omega| in the thousands)", {"X": X}), args=(X,)))
    return cases


def _basic(case: Case, *, axis: int = -1, scale: float | None = None):
    X = np.asarray(case.args[0], dtype=np.float64)
    omega = X @ X.T / (scale or 1.0)
    return _softmax(omega, axis) @ X


_ref_basic = reference("attention", "self_attention_basic")
self_attention_basic = Ex(
    name="self_attention_basic",
    points=1,
    kind="function",
    cases=basic_cases,
    hints=(
        non_finite(_ref_basic, "NaN or inf for large scores: subtract each row's maximum before exponentiating."),
        matches_variant(
            _ref_basic,
            functools.partial(_basic, axis=0),
            "softmax was taken over columns: each ROW of omega is softmaxed.",
        ),
        matches_variant(
            _ref_basic,
            lambda c: _basic(c, scale=np.sqrt(np.shape(c.args[0])[1])),
            "this basic version has no scaling: softmax(X X^T) X, no sqrt(d).",
        ),
    ),
    description="Parameter-free self attention softmax(X X^T) X",
)


# -- scaled dot-product attention ---------------------------------------------------


def sdpa_cases(rng: np.random.Generator) -> list[Case]:
    """The smallest case (where the grader's gradient check runs) has two keys,
    so that dQ and dK are not trivially zero."""
    cases = []
    for batch, lq, lk, dk, dv, mask_kind in (
        ((), 3, 3, 4, 4, None),
        ((), 2, 5, 3, 6, None),
        ((2,), 4, 4, 5, 3, "causal"),
        ((2, 3), 3, 4, 2, 2, "random"),
        ((1,), 3, 3, 7, 2, "masked row"),
        ((2,), 4, 5, 3, 3, "key padding"),
        ((), 1, 2, 1, 1, None),
        ((1,), 1, 1, 2, 3, None),
    ):
        Q, K, V = randn(rng, *batch, lq, dk), randn(rng, *batch, lk, dk), randn(rng, *batch, lk, dv)
        kwargs, mask_label = {}, ""
        if mask_kind is not None:
            kwargs["mask"] = _mask(rng, mask_kind, batch, lq, lk)
            mask_label = f" mask={mask_kind}{kwargs['mask'].shape}"
        cases.append(Case(label("random", {"Q": Q, "K": K, "V": V}) + mask_label, args=(Q, K, V), kwargs=kwargs))
    Q, K, V = randn(rng, 3, 4, scale=30.0), randn(rng, 3, 4, scale=30.0), randn(rng, 3, 2)
    cases.append(Case(label("large scores", {"Q": Q, "K": K, "V": V}), args=(Q, K, V)))
    return cases


def _mask(rng: np.random.Generator, kind: str, batch: tuple, lq: int, lk: int) -> np.ndarray:
    if kind == "causal":
        return np.tril(np.ones((lq, lk), dtype=bool))
    if kind == "key padding":  # one row broadcast over the queries of each batch element
        mask = np.ones(batch + (1, lk), dtype=bool)
        mask[..., -2:] = False
        return mask
    mask = rng.random(batch + (lq, lk)) < 0.6
    if kind == "masked row":
        mask[..., 1, :] = False
    return mask


def _dk(case: Case) -> int:
    return np.shape(case.args[0])[-1]


def _scaled_q(factor_of):
    def transform(case: Case) -> Case:
        return replace_args(case, _0=np.asarray(case.args[0]) * factor_of(_dk(case)))

    return transform


def _sdpa_wrong_axis(case: Case):
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in case.args)
    if "mask" in case.kwargs:
        return None
    return _softmax(Q @ np.swapaxes(K, -1, -2) / np.sqrt(_dk(case)), -2) @ V


_ref_sdpa = reference("attention", "scaled_dot_product_attention", "forward")
scaled_dot_product_attention = Ex(
    name="scaled_dot_product_attention",
    points=2,
    kind="forward",
    cases=sdpa_cases,
    hints=(
        non_finite(_ref_sdpa, MASKED_ROW),
        with_inputs(_ref_sdpa, _scaled_q(np.sqrt), MISSING_SQRT),
        with_inputs(_ref_sdpa, _scaled_q(lambda dk: 1 / np.sqrt(dk)), BY_DK),
        matches_variant(_ref_sdpa, _sdpa_wrong_axis, WRONG_AXIS),
        with_inputs(
            _ref_sdpa,
            lambda c: replace_args(c, mask=~np.asarray(c.kwargs["mask"])) if "mask" in c.kwargs else None,
            "the mask is inverted: True marks a key the query MAY attend to.",
        ),
    ),
    description="softmax(Q K^T / sqrt(dk)) V with an optional boolean mask, batched",
)

_ref_sdpa_b = reference(
    "attention", "scaled_dot_product_attention_backward", "backward", "scaled_dot_product_attention"
)
scaled_dot_product_attention_backward = Ex(
    name="scaled_dot_product_attention_backward",
    points=2,
    kind="backward",
    forward="scaled_dot_product_attention",
    wrt=(0, 1, 2),
    outputs=("dQ", "dK", "dV"),
    cases=lambda rng: upstream_for(
        sdpa_cases(rng), rng, lambda c: {"dout": np.shape(c.args[0])[:-1] + np.shape(c.args[2])[-1:]}
    ),
    hints=(
        non_finite(_ref_sdpa_b, MASKED_ROW),
        scaled_by(
            _ref_sdpa_b,
            lambda c: np.sqrt(_dk(c)),
            "dQ and dK miss the 1/sqrt(dk) of the scores: dS = dScaled / sqrt(dk).",
        ),
    ),
    description="Gradients (dQ, dK, dV) of scaled dot-product attention",
)


# -- multi-head attention -----------------------------------------------------------


def mha_cases(rng: np.random.Generator) -> list[Case]:
    """The smallest case (where the grader's gradient check runs) has two
    tokens, so that dWq and dWk are not trivially zero."""
    cases = []
    for n, length, e, heads, mask_kind in (
        (2, 4, 6, 2, None),
        (1, 5, 8, 4, "causal"),
        (2, 3, 6, 3, None),
        (3, 4, 4, 1, "causal"),
        (2, 3, 5, 5, "per sequence"),
        (1, 2, 4, 2, None),
        (1, 1, 6, 3, None),
    ):
        x = randn(rng, n, length, e)
        Ws = tuple(randn(rng, e, e, scale=1 / np.sqrt(e)) for _ in range(4))
        kwargs = {}
        if mask_kind == "causal":
            kwargs["mask"] = np.tril(np.ones((length, length), dtype=bool))
        elif mask_kind == "per sequence":
            mask = rng.random((n, 1, length, length)) < 0.7
            mask[0, 0, 0, :] = False  # one fully masked query row
            kwargs["mask"] = mask
        cases.append(
            Case(label("random", {"x": x}, num_heads=heads, mask=mask_kind), args=(x,) + Ws + (heads,), kwargs=kwargs)
        )
    return cases


def _heads_permuted(perm_of):
    """The reference with the projection columns (and Wo's rows) permuted: a
    student whose head j takes columns ``perm[j*dh:(j+1)*dh]``."""

    def transform(case: Case) -> Case | None:
        x, Wq, Wk, Wv, Wo, heads = case.args
        e = np.shape(Wq)[0]
        if heads in (1, e):
            return None
        perm = perm_of(e, heads)
        return replace_args(case, _1=Wq[:, perm], _2=Wk[:, perm], _3=Wv[:, perm], _4=Wo[perm, :])

    return transform


def _mha_scale(factor_of):
    """The reference with Wq scaled: a student scaling the scores by the wrong amount."""

    def transform(case: Case) -> Case:
        e, heads = np.shape(case.args[1])[0], case.args[5]
        return replace_args(case, _1=np.asarray(case.args[1]) * factor_of(e, e // heads))

    return transform


def _mha_reshape_straight(case: Case):
    """A student reshaping (N, L, E) straight to (N, heads, L, dh)."""
    x, Wq, Wk, Wv, Wo, heads = case.args
    n, length, e = np.shape(x)
    dh = e // heads
    if heads == 1 or length == 1:
        return None
    sdpa = importlib.import_module("solutions.model.attention").scaled_dot_product_attention
    split = [(x @ W).reshape(n, heads, length, dh) for W in (Wq, Wk, Wv)]
    out = sdpa(*split, mask=case.kwargs.get("mask"))[0]
    return out.reshape(n, length, e) @ Wo


_ref_mha = reference("attention", "multi_head_attention_forward", "forward")
multi_head_attention_forward = Ex(
    name="multi_head_attention_forward",
    points=1,
    kind="forward",
    cases=mha_cases,
    uses=("scaled_dot_product_attention",),
    hints=(
        non_finite(_ref_mha, MASKED_ROW),
        with_inputs(
            _ref_mha,
            _mha_scale(lambda e, dh: np.sqrt(dh / e)),
            "the scores were scaled by sqrt(E); each head scales by sqrt(dh), dh = E // num_heads.",
        ),
        with_inputs(_ref_mha, _mha_scale(lambda e, dh: np.sqrt(dh)), MISSING_SQRT),
        with_inputs(
            _ref_mha,
            _heads_permuted(lambda e, h: np.arange(e).reshape(e // h, h).T.reshape(-1)),
            "the heads were interleaved: head j owns the contiguous columns j*dh:(j+1)*dh.",
        ),
        matches_variant(
            _ref_mha,
            _mha_reshape_straight,
            "(N, L, E) was reshaped straight to (N, heads, L, dh): reshape to "
            "(N, L, heads, dh) first, then move the head axis.",
        ),
    ),
    description="Multi-head self attention (contiguous heads, no biases), optional mask",
)

_ref_mha_b = reference("attention", "multi_head_attention_backward", "backward", "multi_head_attention_forward")
multi_head_attention_backward = Ex(
    name="multi_head_attention_backward",
    points=3,
    kind="backward",
    uses=("scaled_dot_product_attention_backward", "scaled_dot_product_attention"),
    forward="multi_head_attention_forward",
    wrt=(0, 1, 2, 3, 4),
    outputs=("dx", "dWq", "dWk", "dWv", "dWo"),
    cases=lambda rng: upstream_for(mha_cases(rng), rng, lambda c: {"dout": np.shape(c.args[0])}),
    hints=(non_finite(_ref_mha_b, MASKED_ROW),),
    description="Gradients (dx, dWq, dWk, dWv, dWo) of multi-head attention",
)


# -- the position-wise feed-forward network -----------------------------------------------


def ffn_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: x = [[1, -1]], W1 = [[1, 0, -1], [0, 1, 1]], b1 = 0, "
            "W2 = [[1, 0], [0, 1], [1, 1]], b2 = [0.5, 0] (hidden [1, 0, 0], out [[1.5, 0]])",
            args=(
                np.array([[1.0, -1.0]]),
                np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]]),
                np.zeros(3),
                np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                np.array([0.5, 0.0]),
            ),
        )
    ]
    for lead, e, f in (((2, 3), 4, 6), ((5,), 3, 8), ((1, 4), 6, 4), ((2, 2, 2), 2, 5)):
        x = randn(rng, *lead, e)
        params = (
            randn(rng, e, f, scale=1 / np.sqrt(e)),
            randn(rng, f, scale=0.5),
            randn(rng, f, e, scale=1 / np.sqrt(f)),
            randn(rng, e, scale=0.5),
        )
        cases.append(Case(label("random", {"x": x, "W1": params[0]}), args=(x,) + params))
    return cases


def _ffn(case: Case, *, relu=True, b1_after=False):
    x, W1, b1, W2, b2 = (np.asarray(a, dtype=np.float64) for a in case.args)
    a = x @ W1 + (0 if b1_after else b1)
    r = np.maximum(a, 0) if relu else a
    return (r + (b1 if b1_after else 0)) @ W2 + b2


def _rows(case: Case) -> int:
    return int(np.prod(np.shape(case.args[0])[:-1]))


_ref_ffn = reference("attention", "feed_forward_forward", "forward")
feed_forward_forward = Ex(
    name="feed_forward_forward",
    points=1,
    kind="forward",
    cases=ffn_cases,
    hints=(
        matches_variant(
            _ref_ffn, functools.partial(_ffn, relu=False), "the ReLU is missing: out = ReLU(x @ W1 + b1) @ W2 + b2."
        ),
        matches_variant(
            _ref_ffn,
            functools.partial(_ffn, b1_after=True),
            "b1 was added after the ReLU: it belongs inside, ReLU(x @ W1 + b1).",
        ),
    ),
    description="Position-wise feed-forward network ReLU(x @ W1 + b1) @ W2 + b2",
)


def _ffn_backward_without_relu(case: Case):
    """Gradients with the ReLU's derivative dropped (dW2 and db2 unaffected)."""
    x, W1, b1, W2, b2 = (np.asarray(a, dtype=np.float64) for a in case.args)
    dout = np.asarray(case.upstream[0], dtype=np.float64)
    e, f = W1.shape
    r = np.maximum(x @ W1 + b1, 0)
    da = dout @ W2.T
    return (
        da @ W1.T,
        x.reshape(-1, e).T @ da.reshape(-1, f),
        da.reshape(-1, f).sum(axis=0),
        r.reshape(-1, f).T @ dout.reshape(-1, e),
        dout.reshape(-1, e).sum(axis=0),
    )


_ref_ffn_b = reference("attention", "feed_forward_backward", "backward", "feed_forward_forward")
feed_forward_backward = Ex(
    name="feed_forward_backward",
    points=1,
    kind="backward",
    forward="feed_forward_forward",
    wrt=(0, 1, 2, 3, 4),
    outputs=("dx", "dW1", "db1", "dW2", "db2"),
    cases=lambda rng: upstream_for(ffn_cases(rng), rng, lambda c: {"dout": np.shape(c.args[0])}),
    hints=(
        matches_variant(
            _ref_ffn_b,
            _ffn_backward_without_relu,
            "the ReLU's derivative is missing: multiply dout @ W2.T by (x @ W1 + b1 > 0).",
        ),
        scaled_by(
            _ref_ffn_b,
            lambda c: 1 / _rows(c),
            "a bias gradient is the expected one divided by the number of tokens: sum over "
            "every position, not the mean.",
        ),
    ),
    description="Gradients (dx, dW1, db1, dW2, db2) of the feed-forward network",
)


# -- the post-norm encoder block -------------------------------------------------------------

BLOCK_KEYS = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "gamma1", "beta1", "gamma2", "beta2")


def block_cases(rng: np.random.Generator) -> list[Case]:
    """The smallest case (where the grader's gradient check runs) has two tokens."""
    cases = []
    for n, length, e, f, heads, mask_kind in (
        (1, 2, 4, 6, 2, None),
        (2, 3, 4, 8, 2, None),
        (1, 4, 6, 12, 3, "causal"),
        (2, 3, 8, 16, 4, None),
        (3, 2, 4, 4, 1, "causal"),
    ):
        x = randn(rng, n, length, e)
        shapes = {
            "Wq": (e, e),
            "Wk": (e, e),
            "Wv": (e, e),
            "Wo": (e, e),
            "W1": (e, f),
            "b1": (f,),
            "W2": (f, e),
            "b2": (e,),
        }
        params = {k: randn(rng, *s, scale=1 / np.sqrt(s[0]) if len(s) == 2 else 0.3) for k, s in shapes.items()}
        for j in (1, 2):
            params[f"gamma{j}"] = 1.0 + randn(rng, e, scale=0.2)
            params[f"beta{j}"] = randn(rng, e, scale=0.2)
        kwargs = {} if mask_kind is None else {"mask": np.tril(np.ones((length, length), dtype=bool))}
        cases.append(
            Case(
                label("random", {"x": x, "W1": params["W1"]}, num_heads=heads, mask=mask_kind),
                args=(x, {k: params[k] for k in BLOCK_KEYS}, heads),
                kwargs=kwargs,
            )
        )
    return cases


def _model():
    return importlib.import_module("solutions.model.attention")


def _ln(t, gamma, beta, eps=1e-5):
    mu = t.mean(axis=-1, keepdims=True)
    var = ((t - mu) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (t - mu) / np.sqrt(var + eps) + beta


def _block(case: Case, *, order: str):
    """The block with its sub-layers wired the wrong way: ``order`` is
    "norm_then_add" (x + LN(MHA(x))), "pre_norm" (x + MHA(LN(x))) or
    "no_residual" (LN(MHA(x)))."""
    m = _model()
    x, p, heads = case.args
    mask = case.kwargs.get("mask")

    def mha(t):
        return m.multi_head_attention_forward(t, p["Wq"], p["Wk"], p["Wv"], p["Wo"], heads, mask)[0]

    def ffn(t):
        return m.feed_forward_forward(t, p["W1"], p["b1"], p["W2"], p["b2"])[0]

    g1, b1, g2, b2 = p["gamma1"], p["beta1"], p["gamma2"], p["beta2"]
    if order == "norm_then_add":
        h = x + _ln(mha(x), g1, b1)
        return h + _ln(ffn(h), g2, b2)
    if order == "pre_norm":
        h = x + mha(_ln(x, g1, b1))
        return h + ffn(_ln(h, g2, b2))
    h = _ln(mha(x), g1, b1)
    return _ln(ffn(h), g2, b2)


def _block_backward_without_residuals(case: Case):
    """The right forward's backward with the residual paths dropped in the
    backward only (dx and the gradients of everything before LN2 change)."""
    m = _model()
    x, p, heads = case.args
    _, (attn_cache, ln1_cache, ffn_cache, ln2_cache) = m.transformer_block_forward(x, p, heads, case.kwargs.get("mask"))
    ds2, dgamma2, dbeta2 = m._layer_norm_backward(case.upstream[0], ln2_cache)
    dh, dW1, db1, dW2, db2 = m.feed_forward_backward(ds2, ffn_cache)
    ds1, dgamma1, dbeta1 = m._layer_norm_backward(dh, ln1_cache)
    dx, dWq, dWk, dWv, dWo = m.multi_head_attention_backward(ds1, attn_cache)
    return dx, dict(zip(BLOCK_KEYS, (dWq, dWk, dWv, dWo, dW1, db1, dW2, db2, dgamma1, dbeta1, dgamma2, dbeta2)))


_ref_block = reference("attention", "transformer_block_forward", "forward")
transformer_block_forward = Ex(
    name="transformer_block_forward",
    points=1,
    kind="forward",
    cases=block_cases,
    uses=("multi_head_attention_forward", "feed_forward_forward", "layer_norm_forward"),
    hints=(
        matches_variant(
            _ref_block,
            functools.partial(_block, order="norm_then_add"),
            "each sub-layer's output was normalised before the residual sum: the "
            "post-norm block adds first, h = layer_norm(x + MHA(x)).",
        ),
        matches_variant(
            _ref_block,
            functools.partial(_block, order="pre_norm"),
            "this is the pre-norm block x + MHA(layer_norm(x)); the exercise is the "
            "original post-norm block, h = layer_norm(x + MHA(x)).",
        ),
        matches_variant(
            _ref_block,
            functools.partial(_block, order="no_residual"),
            "the residual connections are missing: each sub-layer adds its input "
            "back before the layer norm, layer_norm(x + MHA(x)).",
        ),
    ),
    description="Post-norm transformer encoder block LN(h + FFN(h)), h = LN(x + MHA(x))",
)

_ref_block_b = reference("attention", "transformer_block_backward", "backward", "transformer_block_forward")
transformer_block_backward = Ex(
    name="transformer_block_backward",
    points=3,
    kind="backward",
    forward="transformer_block_forward",
    uses=("multi_head_attention_backward", "feed_forward_backward", "layer_norm_backward"),
    outputs=("dx", "grads"),  # no wrt: the parameters' gradients are a dict, which the worker's check cannot walk
    cases=lambda rng: upstream_for(block_cases(rng), rng, lambda c: {"dout": np.shape(c.args[0])}),
    hints=(
        matches_variant(
            _ref_block_b,
            _block_backward_without_residuals,
            "the residual paths are missing in the backward: a sum passes its gradient "
            "to both terms, so x and h each collect the gradient of their two uses.",
        ),
    ),
    description="Gradients (dx, dict of parameter gradients) of the encoder block",
)


EXERCISES = [
    positional_encoding,
    self_attention_basic,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    multi_head_attention_forward,
    multi_head_attention_backward,
    feed_forward_forward,
    feed_forward_backward,
    transformer_block_forward,
    transformer_block_backward,
]
