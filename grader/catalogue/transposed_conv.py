"""Cases and hints for ``transposed_conv.py`` (transposed convolution)."""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import label, pair, randn, upstream_for
from grader.catalogue._hints import flip_kernel, reference, replace_args, scaled_by, transposed, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="transposed_conv")

FLIPPED = "the kernel is flipped: each input element scales the kernel as given, out[i:i+KH, j:j+KW] += x[i, j] * k."


# -- trans_conv2d ---------------------------------------------------------------------


def trans_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "worked example: x = [[2, 0], [5, 1]], k = [[1, 2], [2, 3]]",
            args=(np.array([[2.0, 0.0], [5.0, 1.0]]), np.array([[1.0, 2.0], [2.0, 3.0]])),
        )
    ]
    for (h, w), (kh, kw) in (((3, 4), (2, 3)), ((1, 1), (3, 2)), ((5, 2), (1, 1)), ((2, 6), (4, 2))):
        x, k = randn(rng, h, w), randn(rng, kh, kw)
        cases.append(Case(label("random", {"x": x, "k": k}), args=(x, k)))
    return cases


_ref_trans = reference("transposed_conv", "trans_conv2d")
trans_conv2d = Ex(
    name="trans_conv2d",
    points=1,
    kind="function",
    cases=trans_cases,
    hints=(with_inputs(_ref_trans, flip_kernel(1), FLIPPED), transposed(_ref_trans)),
    description="Transposed convolution of one channel: shifted, scaled kernel copies summed",
)


# -- conv_transpose2d -----------------------------------------------------------------


def _geometry(case: Case) -> tuple[tuple[int, int], tuple[int, int]]:
    return pair(case.kwargs.get("stride", 1)), pair(case.kwargs.get("padding", 0))


def convt_cases(rng: np.random.Generator) -> list[Case]:
    x, w = np.array([[2.0, 0.0], [5.0, 1.0]])[None, None], np.array([[1.0, 2.0], [2.0, 3.0]])[None, None]
    cases = [
        Case(
            "worked example of trans_conv2d as x(1, 1, 2, 2) w(1, 1, 2, 2), b = [1]",
            args=(x.copy(), w.copy(), np.array([1.0])),
        )
    ]
    for (n, ci, h, wd), (co, kh, kw), stride, padding in (
        ((2, 3, 3, 4), (2, 3, 2), 1, 0),
        ((1, 2, 4, 3), (3, 3, 3), 2, 1),
        ((2, 2, 3, 5), (2, 4, 3), (2, 1), (1, 0)),
        ((1, 1, 2, 2), (2, 2, 2), 3, 0),
        ((3, 2, 3, 3), (1, 3, 3), (1, 2), (2, 1)),
    ):
        x, w, b = randn(rng, n, ci, h, wd), randn(rng, ci, co, kh, kw), randn(rng, co)
        cases.append(
            Case(
                label("random", {"x": x, "w": w}, stride=stride, padding=padding),
                args=(x, w, b),
                kwargs={"stride": stride, "padding": padding},
            )
        )
    return cases


def convt_out_shape(case: Case) -> tuple[int, int, int, int]:
    x, w = case.args[0], case.args[1]
    (sh, sw), (ph, pw) = _geometry(case)
    return (
        x.shape[0],
        w.shape[1],
        (x.shape[2] - 1) * sh - 2 * ph + w.shape[2],
        (x.shape[3] - 1) * sw - 2 * pw + w.shape[3],
    )


def _swap_channels(case: Case) -> Case | None:
    w = np.asarray(case.args[1])
    if w.shape[0] != w.shape[1] or w.shape[0] == 1:
        return None
    return replace_args(case, _1=w.transpose(1, 0, 2, 3).copy())


_ref_convt = reference("transposed_conv", "conv_transpose2d_forward", "forward")
conv_transpose2d_forward = Ex(
    name="conv_transpose2d_forward",
    points=2,
    kind="forward",
    cases=convt_cases,
    hints=(
        with_inputs(_ref_convt, flip_kernel(1), FLIPPED),
        with_inputs(
            _ref_convt,
            lambda c: replace_args(c, _2=np.zeros_like(c.args[2])),
            "the bias b is missing: add b[c_out] to every output of that channel.",
        ),
        with_inputs(
            _ref_convt,
            lambda c: replace_args(c, padding=0) if c.kwargs.get("padding") else None,
            "padding was not applied: it crops `padding` rows and columns from each side of the full output.",
        ),
        with_inputs(
            _ref_convt,
            _swap_channels,
            "the weight's channel axes are swapped: w is (C_in, C_out, KH, KW), unlike conv2d's (F, C, KH, KW).",
        ),
    ),
    description="Multi-channel transposed convolution layer with stride and padding",
)

_ref_convt_b = reference("transposed_conv", "conv_transpose2d_backward", "backward", "conv_transpose2d_forward")
conv_transpose2d_backward = Ex(
    name="conv_transpose2d_backward",
    points=2,
    kind="backward",
    forward="conv_transpose2d_forward",
    wrt=(0, 1, 2),
    outputs=("dx", "dw", "db"),
    cases=lambda rng: upstream_for(convt_cases(rng), rng, lambda c: {"dout": convt_out_shape(c)}),
    hints=(
        scaled_by(
            _ref_convt_b,
            lambda c: 1 / c.args[0].shape[0],
            "db is the expected one divided by N: sum dout over the batch and every output position.",
        ),
        with_inputs(
            _ref_convt_b,
            flip_kernel(1),
            "dx used a flipped kernel: the gradient of a transposed convolution is a "
            "plain cross-correlation of dout with w (conv2d with stride and padding).",
        ),
    ),
    description="Gradients (dx, dw, db) of conv_transpose2d_forward",
)


EXERCISES = [trans_conv2d, conv_transpose2d_forward, conv_transpose2d_backward]
