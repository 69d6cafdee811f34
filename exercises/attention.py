"""Attention and the building blocks of the transformer.

You implement the sinusoidal positional encoding, the parameter-free self
attention of the lecture (omega = X X^T, row softmax, Z = A X), scaled
dot-product attention with an optional boolean mask (forward and backward),
multi-head self attention (forward and backward), the position-wise
feed-forward network and, putting them together, the encoder block of the
original transformer (forward and backward).

Check every backward with your ``numerical_gradient`` and ``rel_error``
(gradcheck.py; copy them into a scratch file, an exercise module must not
import another): random upstream gradient ``dout`` of the output's shape,
scalar ``sum(out * dout)``, numerical gradient of it for every input.

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

    The forward is three nodes (per leading index, all 2-D matrices)::

        S = (Q @ K^T) * scale      (Lq, Lk)     scale = 1 / sqrt(dk)
        A = softmax(S) per row     (Lq, Lk)
        out = A @ V                (Lq, dv)

    Derive the backward node by node, from out back to Q, K, V:

    1. ``out = A @ V`` is a matrix product: you know its backward from the
       affine layer (dA and dV are dout multiplied by the OTHER factor,
       transposed so the shapes fit; check them: dA is (Lq, Lk), dV (Lk, dv)).
    2. The row softmax: each row of A depends on its whole row of S. Write
       the Jacobian of one softmax row, dA_j / dS_k = A_j (delta_jk - A_k),
       and multiply it by the row of dA: the result is A times (dA minus one
       number per row). Which number? (Vectorise it over all rows at once with
       ``keepdims=True``.)
    3. ``S = Q @ K^T * scale``: the matrix-product rule again, with the scale,
       and with care for the transpose (dK has K's shape (Lk, dk)).

    Masked entries have A = 0, so step 2 gives them dS = 0 by itself, and a
    fully masked query row gets zero gradients, provided nothing is NaN.

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

    Check: ``numerical_gradient`` / ``rel_error`` (gradcheck.py) on Q (2, 3,
    4), K (2, 5, 4), V (2, 5, 2), once without a mask and once with a causal
    mask, ``L = sum(out * dout)``. If dV is right but dQ and dK are not,
    suspect step 2; if dQ and dK are off by one constant factor, step 3's scale.
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

    The forward is a chain of steps you already have backwards for::

        x --@Wq--> Q --split--> q --\
        x --@Wk--> K --split--> k ---+--> attention --> heads --merge--> concat --@Wo--> out
        x --@Wv--> V --split--> v --/

    Walk it from out back to x:

    - ``out = concat @ Wo`` is an affine map without bias applied to all N*L
      tokens: flatten the tokens to (N*L, E) rows and use the affine layer's
      backward for dconcat and dWo (the weights sum over EVERY token of every
      sequence).
    - merge and split are reshapes/transposes: their backward is the inverse
      reshape/transpose (split dconcat exactly as the forward split Q).
    - the attention of the heads: your ``scaled_dot_product_attention_backward``
      with the cache the forward kept (write its algebra here again: an
      exercise module must not import another).
    - Q, K and V are three affine maps of the SAME x: each gives a dW and a
      contribution to dx. Which rule combines the three contributions?

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

    Check: ``numerical_gradient`` / ``rel_error`` (gradcheck.py) on N = 2,
    L = 3, E = 4, num_heads = 2 with ``L_ = sum(out * dout)``, for dx and
    each dW. If only dWq and dWk are wrong, look at the scale or the head
    split; if only dx is, at how its three contributions are combined.
    """
    raise NotImplementedError("multi_head_attention_backward: your code here")


def feed_forward_forward(x, W1, b1, W2, b2):
    """The position-wise feed-forward network of the transformer lecture.

        out = ReLU(x @ W1 + b1) @ W2 + b2

    "Position-wise": the same two-layer network is applied to every token
    (every position of every sequence) on its own; ``@`` on x (..., E)
    already treats the leading axes as independent rows.

    Parameters
    ----------
    x : ndarray, shape (..., E)
        Tokens of width E, e.g. (N, L, E).
    W1 : ndarray, shape (E, F)
        The expansion (the lecture's F = 4E, "d_ff").
    b1 : ndarray, shape (F,)
    W2 : ndarray, shape (F, E)
        The projection back to the model width.
    b2 : ndarray, shape (E,)

    Returns
    -------
    out : ndarray, shape (..., E)
    cache : object
        What the backward needs (x, the weights, the hidden pre-activation).

    Notes
    -----
    A small example to try by hand: E = 2, F = 3, one token
    x = [1, -1], W1 = [[1, 0, -1], [0, 1, 1]], b1 = 0, W2 = [[1, 0], [0, 1],
    [1, 1]], b2 = [0.5, 0]: the hidden layer is ReLU([1, -1, -2]) = [1, 0, 0]
    and out = [1.5, 0].
    """
    raise NotImplementedError("feed_forward_forward: your code here")


def feed_forward_backward(dout, cache):
    """Backward pass of :func:`feed_forward_forward`.

    The forward is three layers you know: affine (W1, b1), ReLU, affine
    (W2, b2), applied to every token. Chain their backwards. The only new
    point is the leading axes: the weights are shared by every token, so
    their gradients SUM over all of them; flattening x and dout to rows
    (``reshape(-1, E)``) makes each a single matrix product.

    Parameters
    ----------
    dout : ndarray, shape (..., E)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``feed_forward_forward``.

    Returns
    -------
    dx : ndarray, shape (..., E)
    dW1 : ndarray, shape (E, F)
    db1 : ndarray, shape (F,)
    dW2 : ndarray, shape (F, E)
    db2 : ndarray, shape (E,)

    Check: ``numerical_gradient`` / ``rel_error`` on x (2, 3, 4), F = 5,
    ``L = sum(out * dout)``, for all five gradients.
    """
    raise NotImplementedError("feed_forward_backward: your code here")


def transformer_block_forward(x, params, num_heads, mask=None):
    """The encoder block of the original ("post-norm") transformer.

        h   = layer_norm(x + MHA(x))         the attention sub-layer
        out = layer_norm(h + FFN(h))         the feed-forward sub-layer

    with your ``multi_head_attention_forward`` and ``feed_forward_forward``,
    and layer norms over the last axis with eps = 1e-5 (write the layer norm
    here again, as in regularization.py: an exercise module must not import
    another). Each sub-layer ADDS its input back (the residual connection)
    and only then normalises the sum. Like ``torch.nn.TransformerEncoderLayer(
    E, num_heads, dim_feedforward=F, dropout=0, activation="relu",
    batch_first=True, norm_first=False)`` with zero attention biases.

    Parameters
    ----------
    x : ndarray, shape (N, L, E)
    params : dict of ndarray
        ``Wq``, ``Wk``, ``Wv``, ``Wo`` (E, E): the attention's projections;
        ``W1`` (E, F), ``b1`` (F,), ``W2`` (F, E), ``b2`` (E,): the FFN;
        ``gamma1``, ``beta1`` (E,): the first layer norm; ``gamma2``,
        ``beta2`` (E,): the second.
    num_heads : int
        Must divide E.
    mask : ndarray of bool or None
        As in ``multi_head_attention_forward``.

    Returns
    -------
    out : ndarray, shape (N, L, E)
    cache : object
        The caches of the four pieces.

    Notes
    -----
    Normalising before the residual sum (x + layer_norm(MHA(x))) or the input
    of each sub-layer (x + MHA(layer_norm(x)), the later "pre-norm" block) is
    a different network: this exercise is the original post-norm block.
    """
    raise NotImplementedError("transformer_block_forward: your code here")


def transformer_block_backward(dout, cache):
    """Backward pass of :func:`transformer_block_forward`.

    The graph::

        x --+--> MHA --> (+) --> s1 --LN1--> h --+--> FFN --> (+) --> s2 --LN2--> out
            |             ^                      |             ^
            +-------------+ (residual)           +-------------+ (residual)

    Walk it backwards with the backwards you have: LN2, then the sum s2 =
    h + FFN(h) (a sum passes its gradient to BOTH terms unchanged), FFN, then
    h, which has two uses (the residual and the FFN), LN1, the sum s1, MHA,
    and x with its two uses. Every parameter gets its gradient from exactly
    one piece.

    Parameters
    ----------
    dout : ndarray, shape (N, L, E)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``transformer_block_forward``.

    Returns
    -------
    dx : ndarray, shape (N, L, E)
    grads : dict of ndarray
        The same keys as ``params``, each gradient with its parameter's shape.

    Check: ``numerical_gradient`` / ``rel_error`` on N = 2, L = 3, E = 4,
    F = 6, num_heads = 2: for dx, and for each parameter through
    ``lambda _: np.sum(transformer_block_forward(x, params, 2)[0] * dout)``
    (nudging ``params[key]`` in place is seen by the forward). If dx is wrong
    but every parameter is right, look for a missing residual path.
    """
    raise NotImplementedError("transformer_block_backward: your code here")
