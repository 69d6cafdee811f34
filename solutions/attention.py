"""Reference for exercises/attention.py.

Every matrix product runs on our Cython kernel (``csrc.matmul``, never BLAS):
a batched product over the leading axes is one kernel call, and the projections
of multi-head attention are single (N*L, E) x (E, 3E) products. The elementwise
parts (masked softmax and its backward, head splitting, shape checks) and the
positional encoding (no product at all) are the model answer's own.
"""

import math

import numpy as np

import csrc
from solutions._common import common_float
from solutions.model.attention import (
    _check_attention_inputs,
    _check_heads,
    _masked_softmax,
    _merge_heads,
    _softmax_backward,
    _split_heads,
    positional_encoding,
)
from solutions.regularization import layer_norm_backward, layer_norm_forward

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


def _bmm(a, b, transpose_a=False, transpose_b=False):
    """Batched a @ b in one kernel call: a (..., m, k), b (..., k, n), leading axes broadcast.

    ``transpose_a`` / ``transpose_b`` use the transpose of the last two axes instead (a
    strided view: the kernel packs it without a copy).
    """
    if transpose_a:
        a = a.swapaxes(-1, -2)
    if transpose_b:
        b = b.swapaxes(-1, -2)
    return csrc.matmul(a, b)


def _rows_mm(x, W):
    """x (..., E) @ W (E, M) as one (rows, E) x (E, M) kernel product (reshape copies x only
    when its rows cannot be viewed as one matrix; the kernel reads a strided W as it is)."""
    if x.ndim == 2:
        return csrc.matmul(x, W)
    return csrc.matmul(x.reshape(-1, x.shape[-1]), W).reshape(x.shape[:-1] + (W.shape[1],))


def self_attention_basic(X):
    """Z = softmax_rows(X X^T) X for X (n, d) -> Z (n, d)."""
    (X,) = common_float(X)
    A = _masked_softmax(csrc.matmul(X, X.T))
    return csrc.matmul(A, X)


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(dk), masked) V: -> out (..., Lq, dv), cache (Q, K, V, A, scale)."""
    Q, K, V = common_float(Q, K, V)
    mask = _check_attention_inputs(Q, K, V, mask)
    scale = 1.0 / math.sqrt(Q.shape[-1])
    A = _masked_softmax(_bmm(Q, K, transpose_b=True) * scale, mask)
    return _bmm(A, V), (Q, K, V, A, scale)


def scaled_dot_product_attention_backward(dout, cache):
    """dout (..., Lq, dv) -> dQ (..., Lq, dk), dK (..., Lk, dk), dV (..., Lk, dv)."""
    Q, K, V, A, scale = cache
    dout, Q, K, V, A = common_float(dout, Q, K, V, A)
    dV = _bmm(A, dout, transpose_a=True)
    dS = _softmax_backward(A, _bmm(dout, V, transpose_b=True)) * scale
    return _bmm(dS, K), _bmm(dS, Q, transpose_a=True), dV


def multi_head_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Multi-head self attention, x (N, L, E), W* (E, E) -> out (N, L, E), cache."""
    x, Wq, Wk, Wv, Wo = common_float(x, Wq, Wk, Wv, Wo)
    E = x.shape[-1]
    _check_heads(E, num_heads)
    W_qkv = np.concatenate([Wq, Wk, Wv], axis=1)  # (E, 3E): one product for all three
    qkv = _rows_mm(x, W_qkv)
    q, k, v = (_split_heads(qkv[..., j * E : (j + 1) * E], num_heads) for j in range(3))
    heads, attn_cache = scaled_dot_product_attention(q, k, v, mask)
    concat = _merge_heads(heads)
    return _rows_mm(concat, Wo), (x, W_qkv, Wo, num_heads, concat, attn_cache)


def multi_head_attention_backward(dout, cache):
    """dout (N, L, E) -> dx (N, L, E), dWq, dWk, dWv, dWo (E, E)."""
    x, W_qkv, Wo, num_heads, concat, attn_cache = cache
    dout, x, W_qkv, Wo, concat = common_float(dout, x, W_qkv, Wo, concat)
    E = x.shape[-1]
    dout2 = dout.reshape(-1, E)
    dWo = csrc.matmul(concat.reshape(-1, E).T, dout2)
    dconcat = _rows_mm(dout, Wo.T)
    grads = scaled_dot_product_attention_backward(_split_heads(dconcat, num_heads), attn_cache)
    dqkv = np.concatenate([_merge_heads(g) for g in grads], axis=-1).reshape(-1, 3 * E)
    dx = csrc.matmul(dqkv, W_qkv.T).reshape(x.shape)
    dW_qkv = csrc.matmul(x.reshape(-1, E).T, dqkv)
    dWq, dWk, dWv = (np.ascontiguousarray(dW_qkv[:, j * E : (j + 1) * E]) for j in range(3))
    return dx, dWq, dWk, dWv, dWo


def feed_forward_forward(x, W1, b1, W2, b2):
    """Position-wise FFN ReLU(x W1 + b1) W2 + b2: x (..., E) -> out (..., E), cache."""
    x, W1, b1, W2, b2 = common_float(x, W1, b1, W2, b2)
    a = _rows_mm(x, W1) + b1
    r = np.maximum(a, 0.0)
    return _rows_mm(r, W2) + b2, (x, W1, W2, a, r)


def feed_forward_backward(dout, cache):
    """dout (..., E) -> dx (..., E), dW1 (E, F), db1 (F,), dW2 (F, E), db2 (E,)."""
    x, W1, W2, a, r = cache
    (dout,) = common_float(dout)
    dout = dout.astype(x.dtype, copy=False)
    rows = lambda t: np.ascontiguousarray(t).reshape(-1, t.shape[-1])  # noqa: E731
    dW2 = csrc.matmul(np.ascontiguousarray(rows(r).T), rows(dout))
    da = _rows_mm(dout, np.ascontiguousarray(W2.T)) * (a > 0)
    dW1 = csrc.matmul(np.ascontiguousarray(rows(x).T), rows(da))
    dx = _rows_mm(da, np.ascontiguousarray(W1.T))
    return dx, dW1, rows(da).sum(axis=0), dW2, rows(dout).sum(axis=0)


#: The block's parameters, in the order of the API document.
BLOCK_PARAMS = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "gamma1", "beta1", "gamma2", "beta2")


def transformer_block_forward(x, params, num_heads, mask=None):
    """Post-norm encoder block: h = LN(x + MHA(x)), out = LN(h + FFN(h)); x (N, L, E)."""
    missing = [k for k in BLOCK_PARAMS if k not in params]
    if missing:
        raise KeyError(f"transformer_block_forward: params lacks {missing}")
    p = dict(zip(BLOCK_PARAMS, common_float(x, *(params[k] for k in BLOCK_PARAMS))[1:]))
    attn, attn_cache = multi_head_attention_forward(x, p["Wq"], p["Wk"], p["Wv"], p["Wo"], num_heads, mask)
    h, ln1_cache = layer_norm_forward(attn_cache[0] + attn, p["gamma1"], p["beta1"])
    f, ffn_cache = feed_forward_forward(h, p["W1"], p["b1"], p["W2"], p["b2"])
    out, ln2_cache = layer_norm_forward(h + f, p["gamma2"], p["beta2"])
    return out, (attn_cache, ln1_cache, ffn_cache, ln2_cache)


def transformer_block_backward(dout, cache):
    """dout (N, L, E) -> dx (N, L, E), grads (dict with the keys of params)."""
    attn_cache, ln1_cache, ffn_cache, ln2_cache = cache
    ds2, dgamma2, dbeta2 = layer_norm_backward(dout, ln2_cache)
    dh_ffn, dW1, db1, dW2, db2 = feed_forward_backward(ds2, ffn_cache)
    ds1, dgamma1, dbeta1 = layer_norm_backward(ds2 + dh_ffn, ln1_cache)
    dx_attn, dWq, dWk, dWv, dWo = multi_head_attention_backward(ds1, attn_cache)
    grads = dict(zip(BLOCK_PARAMS, (dWq, dWk, dWv, dWo, dW1, db1, dW2, db2, dgamma1, dbeta1, dgamma2, dbeta2)))
    return ds1 + dx_attn, grads
