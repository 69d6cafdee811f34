"""Exercise: convolutional layers (cross-correlation, conv2d, max and average pooling).

A convolutional layer slides a small kernel over an image and, at every
position, takes the sum of the elementwise product of the kernel and the
window of the image under it. What deep-learning libraries call
"convolution" is, mathematically, CROSS-CORRELATION: the kernel is used as
given, NOT flipped (a true convolution would flip it by 180 degrees first).
Everything in this module is cross-correlation, exactly like
``torch.nn.functional.conv2d``.

Conventions:

- Images are NCHW: x has shape (N, C, H, W) = (batch, channels, rows, columns).
- ``stride`` and ``padding`` accept an int or a pair (h, w); an int means the
  same value for rows and columns. stride[0] / padding[0] act on rows (H),
  stride[1] / padding[1] on columns (W).
- ``padding = p`` adds p rows of zeros at the top AND p at the bottom (and
  likewise p columns on the left AND on the right).
- The output size along one axis is  (size + 2*p - k) // s + 1.
- Layers follow the CS231n contract: ``*_forward(...) -> (out, cache)``,
  ``*_backward(dout, cache)`` returns the gradients of the loss with respect
  to the forward's array inputs, each with the shape of that input.
- Never modify an input array (np.pad returns a new array; ``x += ...`` on an
  input does not).
- Check every backward with your ``numerical_gradient`` and ``rel_error``
  (gradcheck.py; copy them into a scratch file): random ``dout`` of the
  output's shape, scalar ``sum(out * dout)``, its numerical gradient.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax. The module must be
self-contained: do not import another exercise module.
"""

import numpy as np


def corr2d(x, k, padding=0, stride=1):
    """2-D cross-correlation of one single-channel image with one kernel.

        out[i, j] = sum_{a, b} xp[i*sh + a, j*sw + b] * k[a, b]

    where xp is x padded with zeros (ph rows on top and bottom, pw columns on
    the left and right), a runs over 0..KH-1 and b over 0..KW-1.

    Parameters
    ----------
    x : ndarray, shape (H, W)
        The image (one channel).
    k : ndarray, shape (KH, KW)
        The kernel, used as given (do NOT flip it: this is cross-correlation).
    padding : int or pair (ph, pw), default 0
        Zeros added on EACH side: ph rows above and below, pw columns left and
        right.
    stride : int or pair (sh, sw), default 1
        Step of the window: sh rows down, sw columns right.

    Returns
    -------
    out : ndarray of floats, shape (OH, OW)
        OH = (H + 2*ph - KH) // sh + 1,  OW = (W + 2*pw - KW) // sw + 1.

    Worked example (the edge-detecting Laplacian kernel):

        x = [[2, 7, 1, 0, 3],          k = [[ 0, -1,  0],
             [4, 5, 0, 1, 0],               [-1,  4, -1],
             [9, 5, 2, 3, 8],               [ 0, -1,  0]]
             [0, 9, 3, 5, 1]]

        corr2d(x, k)                       -> [[ 4, -9,  1],
                                               [-5, -3, -4]]
        corr2d(x, k, padding=1, stride=2)  -> [[-3, -3, 12],
                                               [27, -3, 28]]

    e.g. out[0, 0] = 4*5 - 7 - 4 - 0 - 5 = 4 (the centre 5 times 4, minus its
    four neighbours). With padding 1 the window starts on the padding zeros.

    The Laplacian looks the same turned by 180 degrees, so it cannot show
    whether you flipped the kernel; this asymmetric kernel does:

        k2 = [[1, 0, -1],
              [2, 1,  0]]

        corr2d(x, k2)                      -> [[14, 17, -1],
                                               [27, 16,  7],
                                               [16, 23,  5]]

    out[0, 0] = 2*1 + 7*0 + 1*(-1) + 4*2 + 5*1 + 0*0 = 14 (a flipped kernel,
    i.e. a true convolution, gives 5 there).

    Pitfalls: pad first, then slide; the window at output (i, j) starts at
    row i*sh, column j*sw of the PADDED image; integer inputs should still
    give a float result (convert with ``np.asarray(x, dtype=float)``).
    """
    raise NotImplementedError("corr2d: your code here")


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Forward pass of a convolutional layer (multi-channel cross-correlation).

        out[n, f, i, j] = b[f] + sum_{c, a, d} xp[n, c, i*sh + a, j*sw + d] * w[f, c, a, d]

    Every filter f sees ALL C input channels: it has one KH x KW kernel per
    input channel, and the C per-channel cross-correlations are summed (then
    b[f] is added). xp is x zero-padded on the two spatial axes only (never
    pad N or C).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        A batch of N images with C channels.
    w : ndarray, shape (F, C, KH, KW)
        F filters, each with C channels of KH x KW weights.
    b : ndarray, shape (F,)
        One bias per filter.
    stride : int or pair (sh, sw), default 1
    padding : int or pair (ph, pw), default 0
        Zeros added on EACH side of the H and W axes.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        OH = (H + 2*ph - KH) // sh + 1,  OW = (W + 2*pw - KW) // sw + 1;
        the same as ``torch.nn.functional.conv2d(x, w, b, stride, padding)``.
    cache : tuple
        What the backward needs, e.g. (x, w, b, stride, padding).

    Hints: loop over the output positions (i, j) and compute all N x F values
    of one position at once, e.g. with
    ``np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))`` where window =
    xp[:, :, i*sh:i*sh+KH, j*sw:j*sw+KW] has shape (N, C, KH, KW). Faster:
    loop over the KH*KW kernel offsets (a, d) instead, each one a strided
    slice of xp. Don't flip the kernel.
    """
    raise NotImplementedError("conv2d_forward: your code here")


def conv2d_backward(dout, cache):
    """Backward pass of the convolutional layer.

    With the window of output (n, f, i, j) being
    xp[n, :, i*sh:i*sh+KH, j*sw:j*sw+KW] (xp the padded input):

        db[f]      = sum_{n, i, j} dout[n, f, i, j]
        dw[f]     += dout[n, f, i, j] * window          (summed over n, i, j)
        dxp[n, :, window position] += dout[n, f, i, j] * w[f]   (summed over f, i, j)

    then dx is dxp with the padding cut off: dx = dxp[:, :, ph:ph+H, pw:pw+W].

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient dL/dout.
    cache : tuple
        The cache of ``conv2d_forward``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)

    Pitfalls: windows overlap when the stride is smaller than the kernel, so
    dxp must ACCUMULATE (+=), never overwrite; input positions that no window
    reaches (e.g. stride > kernel) get gradient 0; db sums over the batch too
    (do not average).
    """
    raise NotImplementedError("conv2d_backward: your code here")


def max_pool2d_forward(x, kernel_size, stride=None):
    """Forward pass of 2-D max pooling, channel by channel (no padding).

        out[n, c, i, j] = max of x[n, c, i*sh:i*sh+KH, j*sw:j*sw+KW]

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or pair (KH, KW)
        Size of the pooling window.
    stride : int or pair (sh, sw), or None
        None (the default) means stride = kernel_size: non-overlapping
        windows. A stride smaller than the kernel gives overlapping windows.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        OH = (H - KH) // sh + 1,  OW = (W - KW) // sw + 1; like
        ``torch.nn.functional.max_pool2d(x, kernel_size, stride)``.
    cache : tuple
        What the backward needs: e.g. x's shape, the position of the maximum
        of every window, kernel_size and stride.

    Hint: flatten each window in row-major order (``window.reshape(-1)``);
    ``np.argmax`` then gives the index of its FIRST maximum, r = idx // KW,
    q = idx % KW inside the window.
    """
    raise NotImplementedError("max_pool2d_forward: your code here")


def max_pool2d_backward(dout, cache):
    """Backward pass of max pooling.

    The max passes only its winner through, so each dout[n, c, i, j] goes to
    the input position that was the maximum of window (i, j); every other
    input position of the window gets nothing.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
        Upstream gradient dL/dout.
    cache : tuple
        The cache of ``max_pool2d_forward``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Zero except at the maxima.

    Pitfalls:
    - Ties: when a window holds its maximum more than once, route the WHOLE
      gradient to the FIRST maximum in row-major order (what np.argmax on the
      flattened window returns); not to all of them, not split.
    - Overlapping windows (stride < kernel) can pick the same input position:
      ADD their gradients (``dx[...] += ...`` in a loop, or ``np.add.at``;
      fancy-index assignment ``dx[idx] += v`` silently keeps only one of
      repeated indices).
    """
    raise NotImplementedError("max_pool2d_backward: your code here")


def avg_pool2d_forward(x, kernel_size, stride=None):
    """Average pooling: the mean of each window, channel by channel.

    Like ``torch.nn.functional.avg_pool2d(x, kernel_size, stride)`` (no
    padding): windows of ``kernel_size`` slide with ``stride`` (default:
    ``kernel_size``, non-overlapping windows) over each of the N * C images,
    and ``out[n, c, i, j]`` is the mean of the window at row ``i * sh``,
    column ``j * sw``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size : int or (int, int)
        Window size (kh, kw).
    stride : int or (int, int) or None
        Step (sh, sw); None means kernel_size.

    Returns
    -------
    out : ndarray, shape (N, C, (H - kh) // sh + 1, (W - kw) // sw + 1)
    cache : object
        What ``avg_pool2d_backward`` needs (the input's shape and the geometry
        suffice: the mean needs no values).

    Notes
    -----
    The loop over kernel offsets of ``conv2d_forward`` works here too: for
    each offset (i, j) the inputs it reads form one strided slice, so the
    sum of the windows is kh * kw slice additions.
    """
    raise NotImplementedError("avg_pool2d_forward: your code here")


def avg_pool2d_backward(dout, cache):
    """Backward pass of :func:`avg_pool2d_forward`.

    Forward: ``out[n, c, i, j] = (1 / (kh*kw)) * sum of x over window (i, j)``.
    Every input in the window has the same local derivative, so each output's
    gradient is shared out EQUALLY over its window (max pooling instead routed
    it all to one input). Where windows overlap (stride < kernel_size), an
    input collects the shares of every window it belongs to; inputs in no
    window (cut off at the border) get 0.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
        Gradient of the loss with respect to out.
    cache : object
        The cache returned by ``avg_pool2d_forward``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)

    Check: with your ``numerical_gradient`` and ``rel_error`` (gradcheck.py),
    on x of shape (1, 2, 5, 5), kernel 3, stride 2 (overlapping windows and a
    cut-off border): ``L = lambda _: np.sum(avg_pool2d_forward(x, 3, 2)[0] *
    dout)``, then ``rel_error(dx, numerical_gradient(L, x))`` is ~1e-10.
    Also: ``dx.sum() == dout.sum()`` for non-overlapping windows covering x.
    """
    raise NotImplementedError("avg_pool2d_backward: your code here")
