"""Reference for exercises/attention.py.

Every matrix product runs on our Cython kernel (``csrc.matmul``, never BLAS):
a batched product over the leading axes is one kernel call, and the projections
of multi-head attention are single (N*L, E) x (E, 3E) products. The shape checks,
head splitting and the positional encoding (no product at all) are the model
answer's own.

The elementwise work is arranged to cost less than the model answer's, which
grading-size inputs (a few dozen numbers) make a matter of NumPy calls, and
attention-size inputs (an (L, L) matrix per head) a matter of passes over
memory:

- the softmax works in place on the fresh score matrix, with no guard unless a
  mask can empty a row;
- 1/sqrt(dk) scales Q (L x dk) rather than the scores (L x L), and dout in the
  backward, where dS = A * (dA - rowsum(dout * out)): the row sums of dA * A
  equal those of dout * out, an (L, dv) product instead of an (L, L) one
  (the forward keeps ``out`` in its cache for it);
- multi-head attention and the encoder block call unchecked inner functions,
  their inputs already converted once.
"""

import math

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.attention import (
    _check_attention_inputs,
    _check_heads,
    _merge_heads,
    positional_encoding,
)
from solutions.model.regularization import _normalize, _normalize_backward

__all__ = [
    "positional_encoding",
    "self_attention_basic",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "multi_head_attention_forward",
    "multi_head_attention_backward",
    "feed_forward_forward",
    "feed_forward_backward",
    "transformer_block_forward",
    "transformer_block_backward",
]

#: eps of the transformer block's layer norms (torch.nn.TransformerEncoderLayer's default).
LN_EPS = 1e-5

#: The most negative finite value of each dtype: a fully masked row's maximum (-inf) is raised
#: to it, so that its entries (all -inf) stay -inf after the shift instead of becoming NaN.
_LOWEST = {np.dtype(t): np.finfo(t).min for t in (np.float32, np.float64)}

# The ufuncs' reductions, called directly: ndarray.max and .sum add a Python layer, which is most
# of the time on a grading-size row.
_row_max, _row_sum = np.maximum.reduce, np.add.reduce


def _softmax_inplace(S, mask=None):
    """Row softmax of S over its last axis, written into S (a fresh array of the caller's), the
    entries where the boolean ``mask`` (broadcastable to S) is False excluded; a row with no
    allowed entry becomes zeros. Values equal those of the model answer's _masked_softmax.

    Under a mask, exp runs only on the allowed entries and the others are set to 0 after it:
    NumPy's exp takes a slow path for -inf (a causal mask's half of the matrix), which costs
    more than the extra pass."""
    if mask is None:
        np.subtract(S, _row_max(S, -1, keepdims=True), out=S)
        np.exp(S, out=S)
    else:
        excluded = ~mask
        np.copyto(S, -np.inf, where=excluded)
        row_max = _row_max(S, -1, keepdims=True)
        np.maximum(row_max, _LOWEST[S.dtype], out=row_max)  # an empty row: -inf - (-inf) is NaN
        np.subtract(S, row_max, out=S)
        np.exp(S, out=S, where=mask)
        np.copyto(S, 0.0, where=excluded)
    total = _row_sum(S, -1, keepdims=True)
    if mask is not None:  # a row with an allowed entry sums to at least exp(0) = 1; an empty one to 0
        np.maximum(total, 1.0, out=total)
    np.divide(S, total, out=S)
    return S


def _matched(dout, cache):
    """dout as an array of the cache's float dtype, and the cache; both widened to float64 when
    dout is wider than the forward's arrays (as the forward widens mixed inputs)."""
    (dout,) = common_float(dout)
    dtype = _cache_dtype(cache)
    if dout.dtype is dtype:
        return dout, cache
    wide = np.result_type(dout, dtype)
    return dout.astype(wide, copy=False), _as_dtype(cache, wide)


def _cache_dtype(cache):
    """The float dtype of a cache's first array (depth-first)."""
    for item in cache:
        if isinstance(item, np.ndarray):
            return item.dtype
        if isinstance(item, tuple):
            return _cache_dtype(item)
    raise ValueError("the cache holds no array")


def _as_dtype(tree, dtype):
    """A cache (nested tuples) with every float array cast to dtype."""
    if isinstance(tree, tuple):
        return tuple(_as_dtype(item, dtype) for item in tree)
    if isinstance(tree, np.ndarray) and tree.dtype.kind == "f":
        return tree.astype(dtype, copy=False)
    return tree


def _rows_mm(x, W):
    """x (..., E) @ W (E, M) as one (rows, E) x (E, M) kernel product (reshape copies x only
    when its rows cannot be viewed as one matrix; the kernel reads a strided W as it is)."""
    if x.ndim == 2:
        return csrc.matmul(x, W)
    return csrc.matmul(x.reshape(-1, x.shape[-1]), W).reshape(x.shape[:-1] + (W.shape[1],))


def self_attention_basic(X):
    """Z = softmax_rows(X X^T) X for X (n, d) -> Z (n, d)."""
    (X,) = common_float(X)
    return csrc.matmul(_softmax_inplace(csrc.matmul(X, X.T)), X)


def _attend(Q, K, V, mask):
    """Attention of checked arrays of one float dtype, mask None or boolean -> out, cache."""
    scale = 1.0 / math.sqrt(Q.shape[-1])
    S = csrc.matmul(Q * scale, K.swapaxes(-1, -2))
    if mask is None:
        A = _softmax_inplace(S)
    else:
        try:
            A = _softmax_inplace(S, mask)
        except ValueError:  # the mask does not broadcast: the model answer's check says how
            _check_attention_inputs(Q, K, V, mask)
            raise
    out = csrc.matmul(A, V)
    return out, (Q, K, V, A, out, scale)


def _attend_backward(dout, cache):
    """(dQ, dK, dV) of _attend, dout of the forward's dtype."""
    Q, K, V, A, out, scale = cache
    dout_s = dout * scale
    dV = csrc.matmul(A.swapaxes(-1, -2), dout)
    dS = csrc.matmul(dout_s, V.swapaxes(-1, -2))  # scale * dA
    # softmax backward: dS = A * (dA - rowsum(dA * A)), and rowsum(dA * A) = rowsum(dout * out)
    np.subtract(dS, _row_sum(dout_s * out, -1, keepdims=True), out=dS)
    np.multiply(dS, A, out=dS)  # the gradient w.r.t. the scaled scores, times scale
    return csrc.matmul(dS, K), csrc.matmul(dS.swapaxes(-1, -2), Q), dV


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(dk), masked) V: -> out (..., Lq, dv), cache."""
    Q, K, V = common_float(Q, K, V)
    if mask is None:
        _check_attention_inputs(Q, K, V, None)
    else:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            _check_attention_inputs(Q, K, V, mask)  # raises: the model answer's message
        _check_attention_inputs(Q, K, V, None)
    return _attend(Q, K, V, mask)


def scaled_dot_product_attention_backward(dout, cache):
    """dout (..., Lq, dv) -> dQ (..., Lq, dk), dK (..., Lk, dk), dV (..., Lk, dv)."""
    return _attend_backward(*_matched(dout, cache))


def _mha_forward(x, Wq, Wk, Wv, Wo, num_heads, mask):
    """Multi-head attention of checked arrays of one float dtype -> out, cache."""
    N, L, E = x.shape
    _check_heads(E, num_heads)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"mask must be boolean (True = may attend), not {mask.dtype}")
    W_qkv = np.concatenate((Wq, Wk, Wv), axis=1)  # (E, 3E): one product for all three
    qkv = csrc.matmul(x.reshape(N * L, E), W_qkv)
    # (N*L, 3E) -> (3, N, heads, L, dh): q, k and v split into contiguous column blocks per head
    q, k, v = qkv.reshape(N, L, 3, num_heads, E // num_heads).transpose(2, 0, 3, 1, 4)
    heads, attn_cache = _attend(q, k, v, mask)
    concat = _merge_heads(heads).reshape(N * L, E)
    return csrc.matmul(concat, Wo).reshape(N, L, E), (x, W_qkv, Wo, num_heads, concat, attn_cache)


def _mha_backward(dout, cache):
    """(dx, dWq, dWk, dWv, dWo) of _mha_forward, dout of the forward's dtype."""
    x, W_qkv, Wo, num_heads, concat, attn_cache = cache
    N, L, E = x.shape
    dout2 = dout.reshape(N * L, E)
    dWo = csrc.matmul(concat.T, dout2)
    dheads = csrc.matmul(dout2, Wo.T).reshape(N, L, num_heads, E // num_heads).transpose(0, 2, 1, 3)
    # (3, N, heads, L, dh) -> (N*L, 3E), the layout of the forward's qkv
    dq, dk, dv = _attend_backward(dheads, attn_cache)
    dqkv = np.concatenate((dq[None], dk[None], dv[None])).transpose(1, 3, 0, 2, 4).reshape(N * L, 3 * E)
    dx = csrc.matmul(dqkv, W_qkv.T).reshape(N, L, E)
    dW = csrc.matmul(x.reshape(N * L, E).T, dqkv)  # (E, 3E) = [dWq dWk dWv]
    dWq, dWk, dWv = np.ascontiguousarray(dW.reshape(E, 3, E).transpose(1, 0, 2))
    return dx, dWq, dWk, dWv, dWo


def multi_head_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Multi-head self attention, x (N, L, E), W* (E, E) -> out (N, L, E), cache."""
    return _mha_forward(*common_float(x, Wq, Wk, Wv, Wo), num_heads, mask)


def multi_head_attention_backward(dout, cache):
    """dout (N, L, E) -> dx (N, L, E), dWq, dWk, dWv, dWo (E, E)."""
    return _mha_backward(*_matched(dout, cache))


def _ffn_forward(x, W1, b1, W2, b2):
    """The feed-forward network on arrays of one float dtype -> out, cache (ReLU's output r
    alone: r > 0 exactly where x W1 + b1 > 0). x (..., E) of two or more axes is one kernel
    call as it is (each leading index a product sharing W)."""
    r = csrc.matmul(x, W1) if x.ndim > 1 else _rows_mm(x, W1)
    r += b1
    np.maximum(r, 0.0, out=r)
    out = csrc.matmul(r, W2) if r.ndim > 1 else _rows_mm(r, W2)
    out += b2
    return out, (x, W1, W2, r)


def _ffn_backward(dout, cache):
    """(dx, dW1, db1, dW2, db2) of _ffn_forward, dout of the forward's dtype."""
    x, W1, W2, r = cache
    E, F = W1.shape
    dout2 = dout.reshape(-1, E)
    r2 = r.reshape(-1, F)
    dW2 = csrc.matmul(r2.T, dout2)
    da = csrc.matmul(dout2, W2.T)
    da *= r2 > 0
    dW1 = csrc.matmul(x.reshape(-1, E).T, da)
    dx = csrc.matmul(da, W1.T).reshape(x.shape)
    return dx, dW1, da.sum(axis=0), dW2, dout2.sum(axis=0)


def feed_forward_forward(x, W1, b1, W2, b2):
    """Position-wise FFN ReLU(x W1 + b1) W2 + b2: x (..., E) -> out (..., E), cache."""
    return _ffn_forward(*common_float(x, W1, b1, W2, b2))


def feed_forward_backward(dout, cache):
    """dout (..., E) -> dx (..., E), dW1 (E, F), db1 (F,), dW2 (F, E), db2 (E,)."""
    return _ffn_backward(*_matched(dout, cache))


#: The block's parameters, in the order of the API document.
BLOCK_PARAMS = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "gamma1", "beta1", "gamma2", "beta2")


def transformer_block_forward(x, params, num_heads, mask=None):
    """Post-norm encoder block: h = LN(x + MHA(x)), out = LN(h + FFN(h)); x (N, L, E)."""
    missing = [k for k in BLOCK_PARAMS if k not in params]
    if missing:
        raise KeyError(f"transformer_block_forward: params lacks {missing}")
    x, Wq, Wk, Wv, Wo, W1, b1, W2, b2, g1, be1, g2, be2 = common_float(x, *(params[k] for k in BLOCK_PARAMS))
    attn, attn_cache = _mha_forward(x, Wq, Wk, Wv, Wo, num_heads, mask)
    attn += x
    h, ln1_cache = _normalize(attn, g1, be1, LN_EPS, axis=-1)
    f, ffn_cache = _ffn_forward(h, W1, b1, W2, b2)
    f += h
    out, ln2_cache = _normalize(f, g2, be2, LN_EPS, axis=-1)
    return out, (attn_cache, ln1_cache, ffn_cache, ln2_cache)


def transformer_block_backward(dout, cache):
    """dout (N, L, E) -> dx (N, L, E), grads (dict with the keys of params)."""
    dout, cache = _matched(dout, cache)
    attn_cache, ln1_cache, ffn_cache, ln2_cache = cache
    ds2, dgamma2, dbeta2 = _normalize_backward(dout, ln2_cache)
    dh_ffn, dW1, db1, dW2, db2 = _ffn_backward(ds2, ffn_cache)
    dh_ffn += ds2
    ds1, dgamma1, dbeta1 = _normalize_backward(dh_ffn, ln1_cache)
    dx, dWq, dWk, dWv, dWo = _mha_backward(ds1, attn_cache)
    dx += ds1
    grads = dict(zip(BLOCK_PARAMS, (dWq, dWk, dWv, dWo, dW1, db1, dW2, db2, dgamma1, dbeta1, dgamma2, dbeta2)))
    return dx, grads
