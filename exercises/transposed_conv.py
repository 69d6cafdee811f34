"""Exercise: transposed convolution (upsampling layers).

A convolution gathers: each output is a weighted sum of a window of inputs.
A transposed convolution scatters: each INPUT element multiplies the whole
kernel, and the scaled copy is added into the output at the input element's
position (times the stride). Where copies overlap, they add up. The output is
therefore LARGER than the input, which is why decoders and generators use it
to upsample. Its forward pass is exactly the backward pass (the input
gradient) of a convolution with the same weights, hence the name.

Conventions:

- Images are NCHW: x has shape (N, C_in, H, W).
- The weights of ``conv_transpose2d_forward`` have shape
  (C_in, C_out, KH, KW): input channels FIRST (the transpose of a conv2d's
  (F, C, KH, KW)), like ``torch.nn.functional.conv_transpose2d``.
- ``stride`` and ``padding`` accept an int or a pair (h, w). Here padding
  REMOVES rows/columns: the full scattered output is cropped by ph rows at
  the top and at the bottom and pw columns on the left and on the right.
- Output size along one axis: (size - 1) * s - 2*p + k.
- Layers follow the CS231n contract: ``*_forward(...) -> (out, cache)``,
  ``*_backward(dout, cache)`` returns the gradients with respect to the
  forward's array inputs. Never modify an input array.
- Check the backward with your ``numerical_gradient`` and ``rel_error``
  (gradcheck.py; copy them into a scratch file): random ``dout`` of the
  output's shape, scalar ``sum(out * dout)``, its numerical gradient.

Rules: you may import only NumPy and the standard library's math-like modules
(math, cmath, ...). The grader refuses submissions that import solutions,
csrc, grader, scipy, torch, tensorflow or jax. The module must be
self-contained: do not import another exercise module.
"""

import numpy as np


def trans_conv2d(x, k):
    """Transposed convolution of one channel, stride 1, no padding.

        out = zeros(H + KH - 1, W + KW - 1)
        for every (i, j):  out[i:i+KH, j:j+KW] += x[i, j] * k

    Parameters
    ----------
    x : ndarray, shape (H, W)
    k : ndarray, shape (KH, KW)
        The kernel, used as given (not flipped).

    Returns
    -------
    out : ndarray of floats, shape (H + KH - 1, W + KW - 1)

    Worked example:

        x = [[2, 0],    k = [[1, 2],
             [5, 1]]         [2, 3]]

        2*k at (0, 0):  [[2, 4, 0],     5*k at (1, 0):  [[0,  0, 0],
                         [4, 6, 0],                      [5, 10, 0],
                         [0, 0, 0]]                      [10, 15, 0]]
        0*k at (0, 1) adds nothing,     1*k at (1, 1) adds k to the
                                        bottom-right 2x2 block;

        the sum: [[ 2,  4, 0],
                  [ 9, 17, 2],
                  [10, 17, 3]]

    Hint: the loop over the H*W input elements is the definition; looping
    over the KH*KW kernel entries instead (out[a:a+H, b:b+W] += k[a, b] * x)
    gives the same sums with fewer, vectorised steps.
    """
    raise NotImplementedError("trans_conv2d: your code here")


def conv_transpose2d_forward(x, w, b, stride=1, padding=0):
    """Forward pass of a transposed convolutional layer.

    Scatter into the full (uncropped) output, of shape
    (N, C_out, (H-1)*sh + KH, (W-1)*sw + KW):

        full[n, :, i*sh : i*sh+KH, j*sw : j*sw+KW] += sum_c x[n, c, i, j] * w[c]

    (w[c] has shape (C_out, KH, KW)), then crop the padding and add the bias:

        out = full[:, :, ph : ph+OH, pw : pw+OW] + b[None, :, None, None]

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W)
    w : ndarray, shape (C_in, C_out, KH, KW)
        Input channels first (NOT (C_out, C_in, ...) as in conv2d).
    b : ndarray, shape (C_out,)
    stride : int or pair (sh, sw), default 1
        Distance between the positions where neighbouring input elements
        place their kernel copies.
    padding : int or pair (ph, pw), default 0
        Rows / columns cut from EACH side of the full output.

    Returns
    -------
    out : ndarray, shape (N, C_out, OH, OW)
        OH = (H - 1)*sh - 2*ph + KH,  OW = (W - 1)*sw - 2*pw + KW; the same as
        ``torch.nn.functional.conv_transpose2d(x, w, b, stride, padding)``.
    cache : tuple
        What the backward needs, e.g. (x, w, b, stride, padding).

    Pitfalls: overlapping copies ADD (+=); padding crops, it never pads; the
    bias is added after cropping, once per output element.
    """
    raise NotImplementedError("conv_transpose2d_forward: your code here")


def conv_transpose2d_backward(dout, cache):
    """Backward pass of the transposed convolutional layer.

    Put dout back into the uncropped frame (dfull: zeros, with
    dfull[:, :, ph:ph+OH, pw:pw+OW] = dout; the cropped border did not reach
    the output, so its gradient is 0). Input (n, c, i, j) wrote
    x[n, c, i, j] * w[c] onto the block dblock = dfull[n, :, i*sh:i*sh+KH,
    j*sw:j*sw+KW] of shape (C_out, KH, KW), so:

        dx[n, c, i, j] = sum(dblock * w[c])
        dw[c]         += x[n, c, i, j] * dblock        (summed over n, i, j)
        db             = dout summed over the axes (0, 2, 3)

    This is a plain convolution of dfull with w: the gather that undoes the
    scatter.

    Parameters
    ----------
    dout : ndarray, shape (N, C_out, OH, OW)
        Upstream gradient dL/dout.
    cache : tuple
        The cache of ``conv_transpose2d_forward``.

    Returns
    -------
    dx : ndarray, shape (N, C_in, H, W)
    dw : ndarray, shape (C_in, C_out, KH, KW)
    db : ndarray, shape (C_out,)
    """
    raise NotImplementedError("conv_transpose2d_backward: your code here")
