"""The attention references (solutions.attention, kernel-backed) and model answers
(solutions.model.attention).

Oracles: torch.nn.functional.scaled_dot_product_attention and
multi_head_attention_forward with autograd, the formulas written out by hand,
and central differences. Every test runs on both implementations.
"""

import importlib
import inspect
import math
import warnings

import numpy as np
import pytest
import torch as torch_module

from grader.catalogue import EXERCISES
from tests.solutions.gradcheck import numerical_gradient

IMPLEMENTATIONS = ["solutions.attention", "solutions.model.attention"]
API = [name for name, ex in EXERCISES.items() if ex.module == "attention"]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
GRADCHECK_TOL = dict(rtol=1e-5, atol=1e-7)


@pytest.fixture(params=IMPLEMENTATIONS)
def att(request):
    return importlib.import_module(request.param)


@pytest.fixture
def torch():
    return torch_module


def _assert_close(got, want, dtype):
    got = np.asarray(got)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, **TOL[dtype])


def _random_mask(rng, shape, p_allowed=0.6):
    """A random boolean mask where every query row has at least one allowed key."""
    mask = rng.random(shape) < p_allowed
    mask[..., 0] |= ~mask.any(axis=-1)
    return mask


# --------------------------------------------------------------------------- API


@pytest.mark.parametrize("name", API)
def test_signature_is_exactly_the_stubs(att, name):
    stub = importlib.import_module("exercises.attention")
    assert inspect.signature(getattr(att, name)) == inspect.signature(getattr(stub, name))


def test_all_lists_exactly_the_api(att):
    assert sorted(att.__all__) == sorted(API)


# ------------------------------------------------------------ positional encoding


@pytest.mark.parametrize("n_positions, d_model", [(7, 6), (5, 7), (1, 1), (50, 16)])
def test_positional_encoding_follows_the_formula_entry_by_entry(att, n_positions, d_model):
    pe = att.positional_encoding(n_positions, d_model)
    assert pe.shape == (n_positions, d_model) and pe.dtype == np.float64
    for pos in range(n_positions):
        for j in range(d_model):
            angle = pos / 10000 ** (2 * (j // 2) / d_model)
            want = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert pe[pos, j] == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_positional_encoding_known_values(att):
    pe = att.positional_encoding(3, 4)
    np.testing.assert_allclose(pe[0], [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(pe[1], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)], rtol=1e-14)
    np.testing.assert_allclose(pe[2, :2], [0.9092974268256817, -0.4161468365471424], rtol=1e-14)


def test_positional_encoding_odd_width_ends_with_a_sin_column(att):
    pe = att.positional_encoding(4, 5)
    pos = np.arange(4)
    np.testing.assert_allclose(pe[:, 4], np.sin(pos / 10000 ** (4 / 5)), rtol=1e-14)
    np.testing.assert_allclose(pe[:, :4], att.positional_encoding(4, 5)[:, :4])


# ------------------------------------------------------------ basic self attention


def test_self_attention_basic_by_hand(att):
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # omega = X X^T = [[1, 0, 1], [0, 1, 1], [1, 1, 2]]
    e = math.e
    A = np.array([[e, 1, e], [1, e, e], [e, e, e * e]])
    A /= A.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(att.self_attention_basic(X), A @ X, rtol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_self_attention_basic_matches_torch(att, torch, dtype):
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(dtype)
    t = torch.tensor(X)
    want = torch.softmax(t @ t.T, dim=-1) @ t
    got = att.self_attention_basic(X)
    assert got.dtype == dtype
    _assert_close(got, want.numpy(), dtype)


def test_self_attention_basic_is_stable_for_huge_inputs(att):
    X = np.array([[1e4, 0.0], [0.0, 1e4], [-1e4, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = att.self_attention_basic(X)
    # Scores differ by ~1e8: row 0 attends only to itself, row 1 to rows 1 and 2
    # equally (a tie at 1e8), row 2 only to itself (2e8).
    np.testing.assert_allclose(Z, [[1e4, 0.0], [-5e3, 1e4], [-1e4, 1e4]], rtol=1e-12)


# --------------------------------------------------- scaled dot-product attention


def _qkv(rng, lead, Lq, Lk, dk, dv, dtype=np.float64):
    return [rng.standard_normal(lead + s).astype(dtype) for s in [(Lq, dk), (Lk, dk), (Lk, dv)]]


def _torch_sdpa(torch, Q, K, V, mask, dout):
    """torch's output and autograd gradients (masks in torch's convention: True = may attend)."""
    tQ, tK, tV = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
    attn_mask = None if mask is None else torch.tensor(mask)
    out = torch.nn.functional.scaled_dot_product_attention(tQ, tK, tV, attn_mask=attn_mask)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), tQ.grad.numpy(), tK.grad.numpy(), tV.grad.numpy()


SDPA_CASES = [
    # leading axes, Lq, Lk, dk, dv, mask shape (None: no mask)
    ((), 4, 4, 8, 8, None),
    ((3,), 5, 7, 4, 6, None),
    ((2, 3), 4, 6, 8, 5, None),
    ((2, 3), 4, 6, 8, 5, (4, 6)),
    ((2, 3), 5, 5, 4, 4, (2, 1, 5, 5)),
    ((2,), 3, 4, 2, 3, (2, 3, 4)),
    ((1,), 1, 1, 1, 1, (1, 1)),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead, Lq, Lk, dk, dv, mask_shape", SDPA_CASES)
def test_sdpa_forward_and_backward_match_torch(att, torch, dtype, lead, Lq, Lk, dk, dv, mask_shape):
    rng = np.random.default_rng(1)
    Q, K, V = _qkv(rng, lead, Lq, Lk, dk, dv, dtype)
    mask = None if mask_shape is None else _random_mask(rng, mask_shape)
    dout = rng.standard_normal(lead + (Lq, dv)).astype(dtype)
    out_t, dQ_t, dK_t, dV_t = _torch_sdpa(torch, Q, K, V, mask, dout)

    out, cache = att.scaled_dot_product_attention(Q, K, V, mask)
    assert out.dtype == dtype
    _assert_close(out, out_t, dtype)
    grads = att.scaled_dot_product_attention_backward(dout, cache)
    assert len(grads) == 3
    for got, want in zip(grads, (dQ_t, dK_t, dV_t)):
        assert got.dtype == dtype
        _assert_close(got, want, dtype)


def test_sdpa_causal_mask_by_hand(att):
    # One query per position, causal mask: position 0 sees only key 0, so out[0] = V[0].
    rng = np.random.default_rng(2)
    Q, K, V = _qkv(rng, (), 3, 3, 2, 2)
    out, _ = att.scaled_dot_product_attention(Q, K, V, np.tril(np.ones((3, 3), dtype=bool)))
    np.testing.assert_allclose(out[0], V[0], rtol=1e-14)
    s = Q[1] @ K[:2].T / math.sqrt(2)
    w = np.exp(s - s.max())
    np.testing.assert_allclose(out[1], (w / w.sum()) @ V[:2], rtol=1e-12)


@pytest.mark.torch
def test_sdpa_fully_masked_rows_are_zero_and_the_others_match_torch(att, torch):
    rng = np.random.default_rng(3)
    Q, K, V = _qkv(rng, (2,), 4, 5, 3, 2)
    mask = _random_mask(rng, (2, 4, 5))
    mask[0, 1] = False
    mask[1, 3] = False
    dout = rng.standard_normal((2, 4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = att.scaled_dot_product_attention(Q, K, V, mask)
        dQ, dK, dV = att.scaled_dot_product_attention_backward(dout, cache)
    for a in (out, dQ, dK, dV):
        assert np.isfinite(a).all()
    np.testing.assert_array_equal(out[0, 1], 0.0)
    np.testing.assert_array_equal(out[1, 3], 0.0)
    np.testing.assert_array_equal(dQ[0, 1], 0.0)
    np.testing.assert_array_equal(dQ[1, 3], 0.0)
    # The masked-out rows take no part, so torch on the remaining rows is the oracle.
    for n, keep in ((0, [0, 2, 3]), (1, [0, 1, 2])):
        out_t, dQ_t, dK_t, dV_t = _torch_sdpa(torch, Q[n, keep], K[n], V[n], mask[n, keep], dout[n, keep])
        _assert_close(out[n, keep], out_t, np.float64)
        _assert_close(dQ[n, keep], dQ_t, np.float64)
        _assert_close(dK[n], dK_t, np.float64)
        _assert_close(dV[n], dV_t, np.float64)


def test_sdpa_all_masked_gives_zeros_and_zero_gradients(att):
    rng = np.random.default_rng(4)
    Q, K, V = _qkv(rng, (), 3, 4, 2, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = att.scaled_dot_product_attention(Q, K, V, np.zeros((3, 4), dtype=bool))
        grads = att.scaled_dot_product_attention_backward(np.ones((3, 5)), cache)
    np.testing.assert_array_equal(out, np.zeros((3, 5)))
    for g, a in zip(grads, (Q, K, V)):
        np.testing.assert_array_equal(g, np.zeros_like(a))


def test_sdpa_all_true_mask_equals_no_mask(att):
    Q, K, V = _qkv(np.random.default_rng(5), (2,), 3, 4, 2, 5)
    with_mask, _ = att.scaled_dot_product_attention(Q, K, V, np.ones((3, 4), dtype=bool))
    without, _ = att.scaled_dot_product_attention(Q, K, V)
    np.testing.assert_array_equal(with_mask, without)


@pytest.mark.parametrize("mask_shape", [None, (4, 5)])
def test_sdpa_backward_matches_central_differences(att, mask_shape):
    rng = np.random.default_rng(6)
    Q, K, V = _qkv(rng, (2,), 4, 5, 3, 2)
    mask = None if mask_shape is None else _random_mask(rng, mask_shape)
    if mask is not None:
        mask[2] = False  # a fully masked row too
    dout = rng.standard_normal((2, 4, 2))
    _, cache = att.scaled_dot_product_attention(Q, K, V, mask)
    grads = att.scaled_dot_product_attention_backward(dout, cache)
    for got, arr in zip(grads, (Q, K, V)):
        want = numerical_gradient(lambda: att.scaled_dot_product_attention(Q, K, V, mask)[0], arr, dout)
        np.testing.assert_allclose(got, want, **GRADCHECK_TOL)


def test_sdpa_is_stable_for_huge_scores(att):
    Q = np.array([[1e4, 0.0], [-1e4, 1e4]])
    K = np.array([[1e4, 0.0], [0.0, 1e4]])
    V = np.array([[1.0, 2.0], [3.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = att.scaled_dot_product_attention(Q, K, V)
        grads = att.scaled_dot_product_attention_backward(np.ones((2, 2)), cache)
    np.testing.assert_allclose(out, V[[0, 1]], rtol=1e-14)
    assert all(np.isfinite(g).all() for g in grads)


def test_sdpa_rejects_a_non_boolean_mask(att):
    Q, K, V = _qkv(np.random.default_rng(7), (), 2, 3, 2, 2)
    with pytest.raises(TypeError, match="bool"):
        att.scaled_dot_product_attention(Q, K, V, np.ones((2, 3)))


@pytest.mark.parametrize(
    "q_shape, k_shape, v_shape, mask_shape",
    [
        ((2, 3, 4), (3, 4), (3, 4), None),  # leading axes differ
        ((3, 4), (3, 5), (3, 4), None),  # dk differs
        ((3, 4), (3, 4), (2, 4), None),  # Lk differs
        ((3, 4), (5, 4), (5, 2), (5, 3)),  # mask not broadcastable to (Lq, Lk)
        ((3, 4), (5, 4), (5, 2), (2, 3, 5)),  # mask would add a batch axis
    ],
)
def test_sdpa_rejects_incompatible_shapes(att, q_shape, k_shape, v_shape, mask_shape):
    rng = np.random.default_rng(8)
    Q, K, V = (rng.standard_normal(s) for s in (q_shape, k_shape, v_shape))
    mask = None if mask_shape is None else np.ones(mask_shape, dtype=bool)
    with pytest.raises(ValueError):
        att.scaled_dot_product_attention(Q, K, V, mask)


# ------------------------------------------------------------ multi-head attention


def _mha_inputs(rng, N, L, E, dtype=np.float64):
    x = rng.standard_normal((N, L, E)).astype(dtype)
    Ws = [(rng.standard_normal((E, E)) / math.sqrt(E)).astype(dtype) for _ in range(4)]
    return x, Ws


def _torch_mha(torch, x, Ws, num_heads, mask, dout):
    """torch's multi_head_attention_forward (zero biases) and autograd gradients."""
    F = torch.nn.functional
    N, L, E = x.shape
    tx = torch.tensor(x, requires_grad=True)
    tW = [torch.tensor(W, requires_grad=True) for W in Ws]
    Wq, Wk, Wv, Wo = tW
    attn_mask = None
    if mask is not None:  # torch: True = NOT allowed, shape (L, L) or (N * num_heads, L, L)
        full = np.broadcast_to(mask, (N, num_heads, L, L)).reshape(N * num_heads, L, L)
        attn_mask = torch.tensor(~full)
    xt = tx.transpose(0, 1)  # torch wants (L, N, E)
    zeros = torch.zeros(3 * E, dtype=tx.dtype)
    out, _ = F.multi_head_attention_forward(
        xt,
        xt,
        xt,
        E,
        num_heads,
        in_proj_weight=torch.cat([Wq.T, Wk.T, Wv.T]),
        in_proj_bias=zeros,
        bias_k=None,
        bias_v=None,
        add_zero_attn=False,
        dropout_p=0.0,
        out_proj_weight=Wo.T,
        out_proj_bias=zeros[:E],
        training=False,
        need_weights=False,
        attn_mask=attn_mask,
    )
    out = out.transpose(0, 1)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in [tx, *tW]]


MHA_CASES = [
    # N, L, E, num_heads, mask shape
    (2, 5, 8, 2, None),
    (3, 4, 12, 3, (4, 4)),
    (2, 6, 8, 4, (2, 1, 6, 6)),
    (2, 3, 6, 2, (2, 2, 3, 3)),
    (1, 1, 4, 1, None),
    (2, 4, 8, 8, None),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, L, E, num_heads, mask_shape", MHA_CASES)
def test_mha_forward_and_backward_match_torch(att, torch, dtype, N, L, E, num_heads, mask_shape):
    rng = np.random.default_rng(9)
    x, Ws = _mha_inputs(rng, N, L, E, dtype)
    mask = None if mask_shape is None else _random_mask(rng, mask_shape)
    dout = rng.standard_normal((N, L, E)).astype(dtype)
    out_t, grads_t = _torch_mha(torch, x, Ws, num_heads, mask, dout)

    out, cache = att.multi_head_attention_forward(x, *Ws, num_heads, mask)
    assert out.dtype == dtype
    _assert_close(out, out_t, dtype)
    grads = att.multi_head_attention_backward(dout, cache)
    assert len(grads) == 5
    for got, want in zip(grads, grads_t):
        assert got.dtype == dtype
        _assert_close(got, want, dtype)


def test_mha_one_head_is_attention_on_the_projections(att):
    rng = np.random.default_rng(10)
    x, (Wq, Wk, Wv, Wo) = _mha_inputs(rng, 2, 4, 6)
    out, _ = att.multi_head_attention_forward(x, Wq, Wk, Wv, Wo, 1)
    heads, _ = att.scaled_dot_product_attention(x @ Wq, x @ Wk, x @ Wv)
    np.testing.assert_allclose(out, heads @ Wo, rtol=1e-12, atol=1e-14)


def test_mha_heads_are_contiguous_column_blocks(att):
    # Two heads of width 2 on E = 4: each head's attention sees only its own columns.
    rng = np.random.default_rng(11)
    x, (Wq, Wk, Wv, _) = _mha_inputs(rng, 1, 3, 4)
    out, _ = att.multi_head_attention_forward(x, Wq, Wk, Wv, np.eye(4), 2)
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    for j in range(2):
        cols = slice(2 * j, 2 * j + 2)
        head, _ = att.scaled_dot_product_attention(Q[..., cols], K[..., cols], V[..., cols])
        np.testing.assert_allclose(out[..., cols], head, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mask_shape", [None, (4, 4)])
def test_mha_backward_matches_central_differences(att, mask_shape):
    rng = np.random.default_rng(12)
    x, Ws = _mha_inputs(rng, 2, 4, 4)
    mask = None if mask_shape is None else np.tril(np.ones(mask_shape, dtype=bool))
    dout = rng.standard_normal((2, 4, 4))
    inputs = [x, *Ws]
    _, cache = att.multi_head_attention_forward(*inputs, 2, mask)
    grads = att.multi_head_attention_backward(dout, cache)
    for got, arr in zip(grads, inputs):
        want = numerical_gradient(lambda: att.multi_head_attention_forward(*inputs, 2, mask)[0], arr, dout)
        np.testing.assert_allclose(got, want, **GRADCHECK_TOL)


@pytest.mark.parametrize("num_heads", [3, 0])
def test_mha_rejects_heads_that_do_not_divide_E(att, num_heads):
    x, Ws = _mha_inputs(np.random.default_rng(13), 1, 2, 4)
    with pytest.raises(ValueError, match="num_heads"):
        att.multi_head_attention_forward(x, *Ws, num_heads)


# ------------------------------------------------------ the reference's kernels


def test_reference_does_every_product_on_the_kernel(monkeypatch):
    """Exact kernel calls: one batched call per product of attention (all batches and heads at
    once), fused (E, 3E) projections in MHA."""
    import csrc

    ref = importlib.import_module("solutions.attention")
    calls = []
    real = csrc.matmul
    monkeypatch.setattr(csrc, "matmul", lambda a, b: calls.append((a.shape, b.shape)) or real(a, b))
    rng = np.random.default_rng(17)

    ref.positional_encoding(5, 4)
    assert calls == []
    ref.self_attention_basic(rng.standard_normal((5, 3)))
    assert calls == [((5, 3), (3, 5)), ((5, 5), (5, 3))]

    calls.clear()
    B, Lq, Lk, dk, dv = 3, 4, 6, 2, 5
    Q, K, V = _qkv(rng, (B,), Lq, Lk, dk, dv)
    out, cache = ref.scaled_dot_product_attention(Q, K, V)
    assert calls == [((B, Lq, dk), (B, dk, Lk)), ((B, Lq, Lk), (B, Lk, dv))]  # one per batch
    calls.clear()
    ref.scaled_dot_product_attention_backward(out, cache)
    assert calls == [
        ((B, Lk, Lq), (B, Lq, dv)),  # dV = A^T dout
        ((B, Lq, dv), (B, dv, Lk)),  # dA = dout V^T
        ((B, Lq, Lk), (B, Lk, dk)),  # dQ = dS K
        ((B, Lk, Lq), (B, Lq, dk)),  # dK = dS^T Q
    ]

    calls.clear()
    N, L, E, h = 2, 3, 4, 2
    x, Ws = _mha_inputs(rng, N, L, E)
    out, cache = ref.multi_head_attention_forward(x, *Ws, h)
    d = E // h
    assert calls == (
        [((N * L, E), (E, 3 * E))]
        + [((N, h, L, d), (N, h, d, L))]
        + [((N, h, L, L), (N, h, L, d))]
        + [((N * L, E), (E, E))]
    )
    calls.clear()
    ref.multi_head_attention_backward(out, cache)
    assert calls[:2] == [((E, N * L), (N * L, E)), ((N * L, E), (E, E))]
    assert len(calls) == 2 + 4 + 2
    assert calls[-2:] == [((N * L, 3 * E), (3 * E, E)), ((E, N * L), (N * L, 3 * E))]


# ------------------------------------------------ both implementations, contract


def _run_everything(att, arrays, upstream, mask):
    """Every function of the module on the given inputs, outputs flattened to a list."""
    X, Q, K, V, x, Wq, Wk, Wv, Wo = arrays
    dout_sdpa, dout_mha = upstream
    outs = [att.self_attention_basic(X)]
    out, cache = att.scaled_dot_product_attention(Q, K, V, mask)
    outs += [out, *att.scaled_dot_product_attention_backward(dout_sdpa, cache)]
    out, cache = att.multi_head_attention_forward(x, Wq, Wk, Wv, Wo, 2, mask)
    outs += [out, *att.multi_head_attention_backward(dout_mha, cache)]
    return outs


def _random_problem(rng, dtype):
    N, L, E = 2, 5, 6
    shapes = [(L, E), (N, 2, L, 3), (N, 2, L, 3), (N, 2, L, 3), (N, L, E)] + [(E, E)] * 4
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    upstream = [rng.standard_normal(s).astype(dtype) for s in [(N, 2, L, 3), (N, L, E)]]
    mask = _random_mask(rng, (N, 1, L, L))
    mask[0, 0, 1] = False  # one fully masked query row
    return arrays, upstream, mask


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_and_model_answer_agree(dtype):
    ref, model = (importlib.import_module(m) for m in IMPLEMENTATIONS)
    arrays, upstream, mask = _random_problem(np.random.default_rng(14), dtype)
    got = _run_everything(ref, arrays, upstream, mask)
    want = _run_everything(model, arrays, upstream, mask)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_allclose(g, w, **TOL[dtype])
    np.testing.assert_array_equal(ref.positional_encoding(9, 7), model.positional_encoding(9, 7))


def test_inputs_are_never_modified(att):
    arrays, upstream, mask = _random_problem(np.random.default_rng(15), np.float64)
    copies = [a.copy() for a in arrays + upstream + [mask]]
    _run_everything(att, arrays, upstream, mask)
    for a, c in zip(arrays + upstream + [mask], copies):
        np.testing.assert_array_equal(a, c)


def test_integer_inputs_give_float64(att):
    arrays, upstream, mask = _random_problem(np.random.default_rng(16), np.float64)
    as_int = [np.round(2 * a).astype(np.int64) for a in arrays]
    as_float = [a.astype(np.float64) for a in as_int]
    for got, want in zip(_run_everything(att, as_int, upstream, mask), _run_everything(att, as_float, upstream, mask)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_mixed_float32_and_float64_inputs_give_float64(att):
    # The reference widens every input before its kernel; the model answer follows NumPy's
    # promotion per operation, so a product of two float32 inputs is rounded to float32.
    tol = TOL[np.float64] if att.__name__ == IMPLEMENTATIONS[0] else TOL[np.float32]
    arrays, upstream, mask = _random_problem(np.random.default_rng(18), np.float64)
    mixed = [a.astype(np.float32) if k % 2 else a for k, a in enumerate(arrays)]
    widened = [a.astype(np.float64) for a in mixed]
    for got, want in zip(_run_everything(att, mixed, upstream, mask), _run_everything(att, widened, upstream, mask)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, **tol)


# ------------------------------------------------- the feed-forward network and the encoder block


def _rand(rng, *shape, dtype=np.float64, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead, E, F", [((2, 3), 4, 6), ((5,), 3, 8), ((2, 2, 2), 2, 5)])
def test_feed_forward_and_its_gradients_match_torch_autograd(att, torch, dtype, lead, E, F):
    rng = np.random.default_rng(40)
    args = [
        _rand(rng, *lead, E, dtype=dtype),
        _rand(rng, E, F, dtype=dtype),
        _rand(rng, F, dtype=dtype),
        _rand(rng, F, E, dtype=dtype),
        _rand(rng, E, dtype=dtype),
    ]
    out, cache = att.feed_forward_forward(*args)
    dout = _rand(rng, *out.shape, dtype=dtype)
    grads = att.feed_forward_backward(dout, cache)
    tx, tW1, tb1, tW2, tb2 = (torch.tensor(a, requires_grad=True) for a in args)
    t_out = torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(tx, tW1.T, tb1)), tW2.T, tb2)
    t_out.backward(torch.tensor(dout))
    _assert_close(out, t_out.detach().numpy(), dtype)
    for got, t in zip(grads, (tx, tW1, tb1, tW2, tb2)):
        assert got.dtype == dtype
        _assert_close(got, t.grad.numpy(), dtype)


def test_feed_forward_small_example(att):
    out, _ = att.feed_forward_forward(
        np.array([[1.0, -1.0]]),
        np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]]),
        np.zeros(3),
        np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        np.array([0.5, 0.0]),
    )
    np.testing.assert_allclose(out, [[1.5, 0.0]])


BLOCK_KEYS = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "gamma1", "beta1", "gamma2", "beta2")


def _block_problem(rng, N, L, E, F, dtype=np.float64):
    shapes = {
        "Wq": (E, E),
        "Wk": (E, E),
        "Wv": (E, E),
        "Wo": (E, E),
        "W1": (E, F),
        "b1": (F,),
        "W2": (F, E),
        "b2": (E,),
        "gamma1": (E,),
        "beta1": (E,),
        "gamma2": (E,),
        "beta2": (E,),
    }
    params = {
        k: _rand(rng, *s, dtype=dtype, scale=1 / np.sqrt(s[0]) if len(s) == 2 else 0.3) for k, s in shapes.items()
    }
    params["gamma1"] += 1
    params["gamma2"] += 1
    return _rand(rng, N, L, E, dtype=dtype), params


def _torch_block(torch, x, p, heads, mask, dout):
    """torch.nn.TransformerEncoderLayer (post-norm, ReLU, no dropout, zero attention biases)."""
    E, F = p["W1"].shape
    tdt = torch.float64 if x.dtype == np.float64 else torch.float32
    layer = torch.nn.TransformerEncoderLayer(
        E, heads, dim_feedforward=F, dropout=0.0, activation="relu", batch_first=True, norm_first=False
    ).to(tdt)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.tensor(np.concatenate([p["Wq"].T, p["Wk"].T, p["Wv"].T])))
        layer.self_attn.in_proj_bias.zero_()
        layer.self_attn.out_proj.weight.copy_(torch.tensor(p["Wo"].T))
        layer.self_attn.out_proj.bias.zero_()
        layer.linear1.weight.copy_(torch.tensor(p["W1"].T))
        layer.linear1.bias.copy_(torch.tensor(p["b1"]))
        layer.linear2.weight.copy_(torch.tensor(p["W2"].T))
        layer.linear2.bias.copy_(torch.tensor(p["b2"]))
        for j in (1, 2):
            getattr(layer, f"norm{j}").weight.copy_(torch.tensor(p[f"gamma{j}"]))
            getattr(layer, f"norm{j}").bias.copy_(torch.tensor(p[f"beta{j}"]))
    layer.train()
    tx = torch.tensor(x, requires_grad=True)
    src_mask = None if mask is None else torch.tensor(~mask)  # torch: True = NOT allowed
    out = layer(tx, src_mask=src_mask)
    out.backward(torch.tensor(dout))
    w_in = layer.self_attn.in_proj_weight.grad.numpy()
    grads = {
        "Wq": w_in[:E].T,
        "Wk": w_in[E : 2 * E].T,
        "Wv": w_in[2 * E :].T,
        "Wo": layer.self_attn.out_proj.weight.grad.numpy().T,
        "W1": layer.linear1.weight.grad.numpy().T,
        "b1": layer.linear1.bias.grad.numpy(),
        "W2": layer.linear2.weight.grad.numpy().T,
        "b2": layer.linear2.bias.grad.numpy(),
    }
    for j in (1, 2):
        grads[f"gamma{j}"] = getattr(layer, f"norm{j}").weight.grad.numpy()
        grads[f"beta{j}"] = getattr(layer, f"norm{j}").bias.grad.numpy()
    return out.detach().numpy(), tx.grad.numpy(), grads


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "N, L, E, F, heads, causal", [(2, 5, 8, 16, 2, False), (1, 4, 6, 12, 3, True), (3, 3, 4, 4, 1, False)]
)
def test_transformer_block_and_its_gradients_match_torch_encoder_layer(att, torch, dtype, N, L, E, F, heads, causal):
    rng = np.random.default_rng(41)
    x, params = _block_problem(rng, N, L, E, F, dtype)
    mask = np.tril(np.ones((L, L), dtype=bool)) if causal else None
    out, cache = att.transformer_block_forward(x, params, heads, mask=mask)
    dout = _rand(rng, N, L, E, dtype=dtype)
    dx, grads = att.transformer_block_backward(dout, cache)
    want_out, want_dx, want_grads = _torch_block(torch, x, params, heads, mask, dout)
    _assert_close(out, want_out, dtype)
    _assert_close(dx, want_dx, dtype)
    assert set(grads) == set(BLOCK_KEYS)
    for key in BLOCK_KEYS:
        assert grads[key].dtype == dtype, key
        _assert_close(grads[key], want_grads[key], dtype)


@pytest.mark.parametrize("name", ["feed_forward", "transformer_block"])
def test_ffn_and_block_backwards_match_the_numerical_gradient(att, name):
    rng = np.random.default_rng(42)
    if name == "feed_forward":
        args = [_rand(rng, 2, 3, 4), _rand(rng, 4, 5), _rand(rng, 5), _rand(rng, 5, 4), _rand(rng, 4)]
        forward = lambda: att.feed_forward_forward(*args)[0]  # noqa: E731
        dout = _rand(rng, 2, 3, 4)
        grads = att.feed_forward_backward(dout, att.feed_forward_forward(*args)[1])
        pairs = list(zip(args, grads))
    else:
        x, params = _block_problem(rng, 2, 3, 4, 6)
        mask = np.tril(np.ones((3, 3), dtype=bool))
        forward = lambda: att.transformer_block_forward(x, params, 2, mask=mask)[0]  # noqa: E731
        dout = _rand(rng, 2, 3, 4)
        dx, grads = att.transformer_block_backward(dout, att.transformer_block_forward(x, params, 2, mask=mask)[1])
        pairs = [(x, dx)] + [(params[k], grads[k]) for k in BLOCK_KEYS]
    for arr, grad in pairs:
        np.testing.assert_allclose(grad, numerical_gradient(forward, arr, dout), **GRADCHECK_TOL)


def test_block_leaves_its_inputs_unchanged_and_refuses_missing_parameters(att):
    rng = np.random.default_rng(43)
    x, params = _block_problem(rng, 2, 3, 4, 6)
    before = (x.copy(), {k: v.copy() for k, v in params.items()})
    out, cache = att.transformer_block_forward(x, params, 2)
    dout = _rand(rng, *out.shape)
    att.transformer_block_backward(dout, cache)
    assert np.array_equal(x, before[0]) and all(np.array_equal(params[k], before[1][k]) for k in params)
    if att.__name__ == "solutions.attention":
        with pytest.raises(KeyError, match="gamma2"):
            att.transformer_block_forward(x, {k: v for k, v in params.items() if k != "gamma2"}, 2)
