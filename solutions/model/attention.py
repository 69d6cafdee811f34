"""Model answer for exercises/attention.py: attention and the transformer's pieces.

Self-contained: NumPy and math only, so a copy of this file is a valid
submission. The private helpers (masked softmax and its backward, shape and
mask checks, head splitting) are shared with the kernel-backed reference
:mod:`solutions.attention`.
"""

import math

import numpy as np

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


def positional_encoding(n_positions, d_model):
    """Model answer for exercises/attention.py::positional_encoding."""
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    two_i = (np.arange(d_model) // 2) * 2  # column 2i and column 2i+1 share 2i
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = np.empty((n_positions, d_model))
    pe[:, 0::2] = np.sin(angle[:, 0::2])
    pe[:, 1::2] = np.cos(angle[:, 1::2])
    return pe


def _masked_softmax(scores, mask=None):
    """Softmax over the last axis, restricted to the entries where ``mask`` is True.

    Max-shifted, so it never overflows; a row with no allowed entry is all zeros.
    """
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # fully masked rows
    e = np.exp(scores - row_max)  # exp(-inf) = 0 for the masked entries
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def _softmax_backward(A, dA):
    """Gradient w.r.t. the scores of a row softmax A, given dA (rows of zeros stay zero)."""
    return A * (dA - (dA * A).sum(axis=-1, keepdims=True))


def _check_attention_inputs(Q, K, V, mask):
    """Validate the shapes; return the mask broadcast to (..., Lq, Lk) (or None)."""
    if not Q.shape[:-2] == K.shape[:-2] == V.shape[:-2]:
        raise ValueError(f"Q, K and V need the same leading dimensions, got {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError(f"incompatible Q {Q.shape}, K {K.shape}, V {V.shape}")
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be boolean (True = may attend), not {mask.dtype}")
    return np.broadcast_to(mask, Q.shape[:-1] + K.shape[-2:-1])


def _split_heads(t, num_heads):
    """(N, L, E) -> (N, num_heads, L, E // num_heads): contiguous column blocks."""
    N, L, E = t.shape
    return t.reshape(N, L, num_heads, E // num_heads).transpose(0, 2, 1, 3)


def _merge_heads(t):
    """(N, num_heads, L, d) -> (N, L, num_heads * d): inverse of :func:`_split_heads`."""
    N, num_heads, L, d = t.shape
    return t.transpose(0, 2, 1, 3).reshape(N, L, num_heads * d)


def _check_heads(E, num_heads):
    if num_heads < 1 or E % num_heads:
        raise ValueError(f"E = {E} is not divisible into num_heads = {num_heads} heads")


def self_attention_basic(X):
    """Model answer for exercises/attention.py::self_attention_basic."""
    A = _masked_softmax(X @ X.T)
    return A @ X


def scaled_dot_product_attention(Q, K, V, mask=None):
    """Model answer for exercises/attention.py::scaled_dot_product_attention."""
    mask = _check_attention_inputs(Q, K, V, mask)
    scale = 1.0 / math.sqrt(Q.shape[-1])
    A = _masked_softmax(Q @ np.swapaxes(K, -1, -2) * scale, mask)
    return A @ V, (Q, K, V, A, scale)


def scaled_dot_product_attention_backward(dout, cache):
    """Model answer for exercises/attention.py::scaled_dot_product_attention_backward."""
    Q, K, V, A, scale = cache
    dV = np.swapaxes(A, -1, -2) @ dout
    dS = _softmax_backward(A, dout @ np.swapaxes(V, -1, -2)) * scale
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


def multi_head_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Model answer for exercises/attention.py::multi_head_attention_forward."""
    _check_heads(x.shape[-1], num_heads)
    q, k, v = (_split_heads(x @ W, num_heads) for W in (Wq, Wk, Wv))
    heads, attn_cache = scaled_dot_product_attention(q, k, v, mask)
    concat = _merge_heads(heads)
    return concat @ Wo, (x, Wq, Wk, Wv, Wo, num_heads, concat, attn_cache)


def multi_head_attention_backward(dout, cache):
    """Model answer for exercises/attention.py::multi_head_attention_backward."""
    x, Wq, Wk, Wv, Wo, num_heads, concat, attn_cache = cache
    E = x.shape[-1]
    dWo = concat.reshape(-1, E).T @ dout.reshape(-1, E)
    dq, dk, dv = scaled_dot_product_attention_backward(_split_heads(dout @ Wo.T, num_heads), attn_cache)
    dQ, dK, dV = _merge_heads(dq), _merge_heads(dk), _merge_heads(dv)
    x2 = x.reshape(-1, E)
    dWq, dWk, dWv = (x2.T @ d.reshape(-1, E) for d in (dQ, dK, dV))
    dx = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dx, dWq, dWk, dWv, dWo


def feed_forward_forward(x, W1, b1, W2, b2):
    """Model answer for exercises/attention.py::feed_forward_forward."""
    a = x @ W1 + b1
    r = np.maximum(a, 0.0)
    return r @ W2 + b2, (x, W1, W2, a, r)


def feed_forward_backward(dout, cache):
    """Model answer for exercises/attention.py::feed_forward_backward."""
    x, W1, W2, a, r = cache
    rows = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731  every position is one row
    dW2 = rows(r).T @ rows(dout)
    db2 = rows(dout).sum(axis=0)
    da = (dout @ W2.T) * (a > 0)
    dW1 = rows(x).T @ rows(da)
    db1 = rows(da).sum(axis=0)
    return da @ W1.T, dW1, db1, dW2, db2


#: eps of the transformer block's layer norms (torch.nn.TransformerEncoderLayer's default).
LN_EPS = 1e-5


def _layer_norm(x, gamma, beta, eps=LN_EPS):
    """Layer norm over the last axis (biased variance) -> out, cache."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    inv_std = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


def _layer_norm_backward(dout, cache):
    """(dx, dgamma, dbeta) of :func:`_layer_norm`."""
    xhat, gamma, inv_std = cache
    lead = tuple(range(dout.ndim - 1))
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
    return dx, (dout * xhat).sum(axis=lead), dout.sum(axis=lead)


def transformer_block_forward(x, params, num_heads, mask=None):
    """Model answer for exercises/attention.py::transformer_block_forward."""
    p = params
    attn, attn_cache = multi_head_attention_forward(x, p["Wq"], p["Wk"], p["Wv"], p["Wo"], num_heads, mask)
    h, ln1_cache = _layer_norm(x + attn, p["gamma1"], p["beta1"])  # post-norm: add, then normalise
    f, ffn_cache = feed_forward_forward(h, p["W1"], p["b1"], p["W2"], p["b2"])
    out, ln2_cache = _layer_norm(h + f, p["gamma2"], p["beta2"])
    return out, (attn_cache, ln1_cache, ffn_cache, ln2_cache)


def transformer_block_backward(dout, cache):
    """Model answer for exercises/attention.py::transformer_block_backward."""
    attn_cache, ln1_cache, ffn_cache, ln2_cache = cache
    ds2, dgamma2, dbeta2 = _layer_norm_backward(dout, ln2_cache)
    dh_ffn, dW1, db1, dW2, db2 = feed_forward_backward(ds2, ffn_cache)
    dh = ds2 + dh_ffn  # h feeds the FFN and the residual
    ds1, dgamma1, dbeta1 = _layer_norm_backward(dh, ln1_cache)
    dx_attn, dWq, dWk, dWv, dWo = multi_head_attention_backward(ds1, attn_cache)
    grads = {
        "Wq": dWq,
        "Wk": dWk,
        "Wv": dWv,
        "Wo": dWo,
        "W1": dW1,
        "b1": db1,
        "W2": dW2,
        "b2": db2,
        "gamma1": dgamma1,
        "beta1": dbeta1,
        "gamma2": dgamma2,
        "beta2": dbeta2,
    }
    return ds1 + dx_attn, grads
