"""Attention and the building blocks of the transformer.

You implement the sinusoidal positional encoding, the parameter-free self
attention of the lecture (omega = X X^T, row softmax, Z = A X), scaled
dot-product attention with an optional boolean mask (forward and backward) and
multi-head self attention (forward and backward).

Conventions (as in every exercise module):

- Inputs are float arrays; leading "batch" axes are written ``...`` and every
  function treats them as independent problems.
- ``*_forward`` / ``scaled_dot_product_attention`` return ``(out, cache)``;
  the backward takes the upstream gradient and that cache and returns the
  gradients with respect to the forward's array inputs, in order. The grader
  never looks inside a cache.
- Never modify an input array in place; return new arrays.
- Only NumPy and the standard library's math-like modules (``math``) may be
  imported. The grader forbids importing ``solutions``, ``csrc``, ``grader``,
  ``scipy``, ``torch``, ``tensorflow`` and ``jax``. Do not import another
  exercise module either: each module is graded on its own.

Softmax, everywhere in this module: subtract each row's maximum before ``exp``
(softmax is unchanged by a constant shift, and ``exp`` of a large score
overflows to inf, giving inf/inf = NaN). Scores can reach 1e8 here.
"""
import numpy as np


def positional_encoding(n_positions, d_model):
    """Sinusoidal positional encodings of "Attention is all you need".

    ``PE[pos, 2i] = sin(pos / 10000**(2i / d_model))`` and
    ``PE[pos, 2i+1] = cos(pos / 10000**(2i / d_model))``: columns come in
    (sin, cos) pairs sharing one frequency.

    Parameters
    ----------
    n_positions : int
        Number of positions, pos = 0, ..., n_positions - 1.
    d_model : int
        Width of the encoding; may be odd, in which case the last column
        (index d_model - 1, an even index) is a sin column without a partner.

    Returns
    -------
    PE : ndarray, shape (n_positions, d_model), float64

    Notes
    -----
    The exponent uses the EVEN index 2i of the pair for both columns: column 3
    uses 2/d_model, not 3/d_model. Build it vectorised (``np.arange``), not
    with a double loop.
    """
    raise NotImplementedError("positional_encoding: your code here")


def self_attention_basic(X):
    """Parameter-free self attention (the lecture's first version).

    ``omega = X @ X.T`` (dot-product similarity of every pair of rows), ``A`` =
    ``omega`` with the softmax applied to each ROW (axis -1), ``Z = A @ X``:
    each output row is a weighted average of the input rows.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        n tokens with d features each.

    Returns
    -------
    Z : ndarray, shape (n, d)

    Notes
    -----
    omega can be huge (|X| = 100 gives entries of about 1e4 * d): use the
    max-shifted softmax (see the module docstring).
    """
    raise NotImplementedError("self_attention_basic: your code here")


def scaled_dot_product_attention(Q, K, V, mask=None):
    """Scaled dot-product attention with an optional boolean mask.

    ``S = Q @ K^T / sqrt(dk)`` (K^T swaps K's LAST two axes:
    ``np.swapaxes(K, -1, -2)``), ``A = softmax(S)`` over the keys (last axis),
    ``out = A @ V``. The leading axes ``...`` are independent problems (e.g.
    batch and heads); ``@`` broadcasts over them.

    Parameters
    ----------
    Q : ndarray, shape (..., Lq, dk)
        Queries.
    K : ndarray, shape (..., Lk, dk)
        Keys (same leading axes and dk as Q, else ``ValueError``).
    V : ndarray, shape (..., Lk, dv)
        Values (same leading axes and Lk as K).
    mask : ndarray of bool or None
        Broadcastable to ``(..., Lq, Lk)`` (e.g. one ``(Lq, Lk)`` causal mask for
        every batch). ``True`` where query q MAY attend to key k. A non-boolean
        mask raises ``TypeError``. None: every query attends to every key.

    Returns
    -------
    out : ndarray, shape (..., Lq, dv)
    cache : object
        What the backward needs, e.g. ``(Q, K, V, A, scale)``; A already holds
        the mask (zeros where it is False), so the mask need not be kept.

    Notes
    -----
    - Scale by ``sqrt(dk)`` (dk = Q.shape[-1], the key width), not by dv or L.
    - Masking: set the disallowed scores to ``-inf`` before the softmax
      (``np.where(mask, S, -np.inf)``); ``exp(-inf)`` is exactly 0.
    - A query row with NO allowed key: its max is -inf and -inf - (-inf) is
      NaN. Such a row must give output zeros (and zero gradients), with no
      warning: replace a non-finite row maximum by 0, and divide by the row sum
      only where it is positive.
    """
    raise NotImplementedError("scaled_dot_product_attention: your code here")


def scaled_dot_product_attention_backward(dout, cache):
    """Backward pass of :func:`scaled_dot_product_attention`.

    With ``A``, ``scale = 1/sqrt(dk)`` from the cache:

    - ``dV = A^T @ dout`` and ``dA = dout @ V^T``;
    - the softmax backward, row by row:
      ``dS = A * (dA - sum(dA * A, axis=-1, keepdims=True))``;
    - ``dQ = dS @ K * scale`` and ``dK = dS^T @ Q * scale``.

    Masked entries have A = 0, so their dS is 0 automatically, and a fully
    masked query row gets zero gradients.

    Parameters
    ----------
    dout : ndarray, shape (..., Lq, dv)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``scaled_dot_product_attention``.

    Returns
    -------
    dQ : ndarray, shape (..., Lq, dk)
    dK : ndarray, shape (..., Lk, dk)
    dV : ndarray, shape (..., Lk, dv)
    """
    raise NotImplementedError("scaled_dot_product_attention_backward: your code here")


def multi_head_attention_forward(x, Wq, Wk, Wv, Wo, num_heads, mask=None):
    """Multi-head self attention (no biases).

    1. Project: ``Q = x @ Wq``, ``K = x @ Wk``, ``V = x @ Wv``, each (N, L, E).
    2. Split into heads: head j owns the CONTIGUOUS columns
       ``j*dh:(j+1)*dh`` with ``dh = E // num_heads``: reshape (N, L, E) to
       (N, L, num_heads, dh), then move the head axis forward to get
       (N, num_heads, L, dh).
    3. Attend: ``scaled_dot_product_attention`` on the heads (so the scale is
       ``sqrt(dh)``, the HEAD width), with the mask.
    4. Concatenate the heads back to (N, L, E) (the inverse of step 2) and
       project: ``out = concat @ Wo``.

    Parameters
    ----------
    x : ndarray, shape (N, L, E)
        N sequences of L tokens of width E.
    Wq, Wk, Wv, Wo : ndarray, shape (E, E)
        Projections, each applied as ``x @ W``.
    num_heads : int
        Must divide E, else ``ValueError``.
    mask : ndarray of bool or None
        Broadcastable to the scores' shape ``(N, num_heads, L, L)``, True where
        a query may attend to a key: e.g. ``(L, L)`` for one mask shared by all
        sequences and heads, ``(N, 1, L, L)`` for one mask per sequence.

    Returns
    -------
    out : ndarray, shape (N, L, E)
    cache : object
        What the backward needs (x, the weights, num_heads, the concatenated
        heads and the attention's cache).

    Notes
    -----
    Do not reshape (N, L, E) straight to (N, num_heads, L, dh): that mixes
    tokens and columns. Reshape to (N, L, num_heads, dh) first, then transpose.
    """
    raise NotImplementedError("multi_head_attention_forward: your code here")


def multi_head_attention_backward(dout, cache):
    """Backward pass of :func:`multi_head_attention_forward`.

    Undo the steps in reverse order:

    - ``dWo = concat^T @ dout`` summed over all N*L tokens (flatten both to
      (N*L, E) first), ``dconcat = dout @ Wo.T``;
    - split dconcat into heads exactly as in the forward and run
      ``scaled_dot_product_attention_backward`` to get the heads' dQ, dK, dV;
      merge each back to (N, L, E);
    - ``dWq = x^T @ dQ`` (again over all N*L tokens), likewise dWk, dWv;
    - x was used three times, so ``dx = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T``.

    Parameters
    ----------
    dout : ndarray, shape (N, L, E)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``multi_head_attention_forward``.

    Returns
    -------
    dx : ndarray, shape (N, L, E)
    dWq, dWk, dWv, dWo : ndarray, shape (E, E)
    """
    raise NotImplementedError("multi_head_attention_backward: your code here")
