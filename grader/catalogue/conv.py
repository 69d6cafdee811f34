"""Cases and hints for ``conv.py`` (cross-correlation, conv2d, max and average pooling)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from grader.catalogue._cases import integers, label, pair, randn, upstream_for
from grader.catalogue._hints import flip_kernel, matches_variant, reference, replace_args, scaled_by, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="conv")

#: The convolution chapter's worked example (exercises/conv.py, corr2d): the
#: 4x5 input and the edge-detecting Laplacian kernel; the document's results
#: are checked against the reference in tests/grader/test_catalogue.py.
WORKED_X = np.array(
    [[2.0, 7.0, 1.0, 0.0, 3.0], [4.0, 5.0, 0.0, 1.0, 0.0], [9.0, 5.0, 2.0, 3.0, 8.0], [0.0, 9.0, 3.0, 5.0, 1.0]]
)
WORKED_K = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])

FLIPPED = (
    "this is a true convolution (the kernel is flipped): the exercise asks for "
    "cross-correlation, out[i, j] = sum(window * k) with k as given."
)
ONE_SIDED = "the padding was added on one side only: pad `padding` zeros on each side (top and bottom, left and right)."
SWAPPED_PAIR = "the (h, w) pairs were read in the wrong order: stride[0] and padding[0] act on rows."
MISSING_BIAS = "the bias b is missing: add b[f] to every output of filter f."


def _out_size(size: int, k: int, p: int, s: int) -> int:
    return (size + 2 * p - k) // s + 1


def _hw(case: Case, name: str, index: int, default):
    """A stride/padding parameter as a pair, whether passed by position or keyword."""
    value = case.args[index] if len(case.args) > index else case.kwargs.get(name, default)
    return pair(value)


def _pad_one_side(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    widths = [(0, 0)] * (x.ndim - 2) + [(ph, 0), (pw, 0)]
    return np.pad(x, widths)


def _geometry_hints(ref, x_index: int, k_index: int, stride_index: int, padding_index: int):
    """Hints shared by corr2d and conv2d_forward: a flipped kernel, one-sided
    padding, (h, w) pairs swapped."""

    def one_sided(case: Case) -> Case | None:
        ph, pw = _hw(case, "padding", padding_index, 0)
        if ph == pw == 0:
            return None
        x = _pad_one_side(np.asarray(case.args[x_index]), ph, pw)
        return _with_params(
            replace_args(case, **{f"_{x_index}": x}),
            stride_index,
            padding_index,
            stride=_hw(case, "stride", stride_index, 1),
            padding=0,
        )

    def swapped(case: Case) -> Case | None:
        s, p = _hw(case, "stride", stride_index, 1), _hw(case, "padding", padding_index, 0)
        if s[0] == s[1] and p[0] == p[1]:
            return None
        return _with_params(case, stride_index, padding_index, stride=s[::-1], padding=p[::-1])

    return (
        with_inputs(ref, flip_kernel(k_index), FLIPPED),
        with_inputs(ref, one_sided, ONE_SIDED),
        with_inputs(ref, swapped, SWAPPED_PAIR),
    )


def _with_params(case: Case, stride_index: int, padding_index: int, *, stride, padding) -> Case:
    """``case`` with stride and padding set, as keywords (positional copies dropped)."""
    args = case.args[: min(stride_index, padding_index)]
    kwargs = {k: v for k, v in case.kwargs.items() if k not in ("stride", "padding")}
    kwargs.update(stride=stride, padding=padding)
    return dataclasses.replace(case, args=args, kwargs=kwargs)


# -- corr2d -------------------------------------------------------------------------

#: The second worked example's kernel (exercises/conv.py, corr2d): the Laplacian
#: equals itself turned by 180 degrees, so it cannot tell cross-correlation from
#: convolution; this one can (flipped, it gives another result at every place
#: but one), and it is not square.
WORKED_K_ASYMMETRIC = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])


def corr2d_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "worked example: the chapter's 4x5 input and Laplacian edge kernel, padding 0",
            args=(WORKED_X.copy(), WORKED_K.copy()),
        ),
        Case(
            "worked example: the chapter's 4x5 input and Laplacian edge kernel, padding 1, stride 2",
            args=(WORKED_X.copy(), WORKED_K.copy()),
            kwargs={"padding": 1, "stride": 2},
        ),
        Case(
            "worked example: the chapter's 4x5 input and the asymmetric kernel [[1, 0, -1], [2, 1, 0]], padding 0",
            args=(WORKED_X.copy(), WORKED_K_ASYMMETRIC.copy()),
        ),
    ]
    for (h, w), (kh, kw), padding, stride in (
        ((5, 7), (2, 3), 0, 1),
        ((6, 5), (3, 1), (1, 0), (2, 1)),
        ((7, 8), (3, 3), 2, 3),
        ((3, 4), (3, 4), 0, 1),
        ((4, 6), (1, 2), (0, 2), (1, 2)),
    ):
        x, k = randn(rng, h, w), randn(rng, kh, kw)
        cases.append(
            Case(
                label("random", {"x": x, "k": k}, padding=padding, stride=stride),
                args=(x, k),
                kwargs={"padding": padding, "stride": stride},
            )
        )
    return cases


_ref_corr2d = reference("conv", "corr2d")
corr2d = Ex(
    name="corr2d",
    points=2,
    kind="function",
    cases=corr2d_cases,
    hints=_geometry_hints(_ref_corr2d, 0, 1, 3, 2),
    description="2-D cross-correlation of one channel with padding and stride",
)


# -- conv2d -------------------------------------------------------------------------


def conv_cases(rng: np.random.Generator) -> list[Case]:
    x, w = WORKED_X[None, None].copy(), WORKED_K[None, None].copy()
    cases = [
        Case(
            "worked example: the chapter's input and edge kernel as x(1, 1, 4, 5) w(1, 1, 3, 3), "
            "b = [0.5], padding 1, stride 2",
            args=(x, w, np.array([0.5])),
            kwargs={"stride": 2, "padding": 1},
        )
    ]
    for (n, c, h, wd), (f, kh, kw), stride, padding in (
        ((2, 3, 5, 7), (4, 3, 2), (2, 1), (1, 0)),
        ((1, 2, 6, 6), (3, 3, 3), 1, 1),
        ((2, 1, 7, 5), (2, 2, 4), 2, (0, 2)),
        ((3, 2, 4, 4), (2, 1, 1), 1, 0),
        ((1, 3, 5, 6), (1, 5, 6), 1, 0),
    ):
        x, w, b = randn(rng, n, c, h, wd), randn(rng, f, c, kh, kw), randn(rng, f)
        cases.append(
            Case(
                label("random", {"x": x, "w": w}, stride=stride, padding=padding),
                args=(x, w, b),
                kwargs={"stride": stride, "padding": padding},
            )
        )
    return cases


def conv_out_shape(case: Case) -> tuple[int, int, int, int]:
    x, w = case.args[0], case.args[1]
    (sh, sw), (ph, pw) = _hw(case, "stride", 3, 1), _hw(case, "padding", 4, 0)
    return (
        x.shape[0],
        w.shape[0],
        _out_size(x.shape[2], w.shape[2], ph, sh),
        _out_size(x.shape[3], w.shape[3], pw, sw),
    )


_ref_conv = reference("conv", "conv2d_forward", "forward")
conv2d_forward = Ex(
    name="conv2d_forward",
    points=3,
    kind="forward",
    cases=conv_cases,
    hints=_geometry_hints(_ref_conv, 0, 1, 3, 4)
    + (with_inputs(_ref_conv, lambda c: replace_args(c, _2=np.zeros_like(c.args[2])), MISSING_BIAS),),
    description="Multi-channel 2-D cross-correlation layer (N, C, H, W) -> (N, F, OH, OW)",
)

_ref_conv_b = reference("conv", "conv2d_backward", "backward", "conv2d_forward")
conv2d_backward = Ex(
    name="conv2d_backward",
    points=3,
    kind="backward",
    forward="conv2d_forward",
    wrt=(0, 1, 2),
    outputs=("dx", "dw", "db"),
    cases=lambda rng: upstream_for(conv_cases(rng), rng, lambda c: {"dout": conv_out_shape(c)}),
    hints=(
        scaled_by(
            _ref_conv_b,
            lambda c: 1 / c.args[0].shape[0],
            "db is the expected one divided by N: sum dout over the batch and every output position.",
        ),
        with_inputs(
            _ref_conv_b,
            flip_kernel(1),
            "dx needs the kernel flipped: it is the full convolution of dout with w "
            "(a transposed convolution), not a cross-correlation.",
        ),
    ),
    description="Gradients (dx, dw, db) of conv2d_forward",
)


# -- max pooling ---------------------------------------------------------------------


def pool_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([[[[1.0, 3.0, 0.0, 2.0], [3.0, 2.0, 1.0, 1.0], [4.0, 4.0, 5.0, 6.0], [4.0, 0.0, 7.0, 8.0]]]])
    cases = [
        Case(
            "small example: x = [[1, 3, 0, 2], [3, 2, 1, 1], [4, 4, 5, 6], [4, 0, 7, 8]] "
            "as (1, 1, 4, 4), kernel 2 (ties in two windows)",
            args=(x, 2),
        )
    ]
    # the smallest case, where the grader's numerical gradient check runs: no ties
    x = randn(rng, 1, 1, 2, 3)
    cases.append(Case(label("random (no ties)", {"x": x}, kernel_size=2), args=(x, 2)))
    for shape, k, stride in (
        ((2, 3, 6, 6), 2, None),
        ((1, 2, 5, 7), 2, None),
        ((2, 1, 6, 7), (2, 3), None),
        ((2, 1, 5, 5), 3, 1),
        ((1, 2, 6, 8), 3, (2, 3)),
        ((3, 1, 4, 6), 2, 1),
    ):
        x = integers(rng, *shape, low=0, high=3)  # few distinct values: ties everywhere
        kwargs = {} if stride is None else {"stride": stride}
        cases.append(
            Case(label("random integers (ties)", {"x": x}, kernel_size=k, stride=stride), args=(x, k), kwargs=kwargs)
        )
    x = randn(rng, 2, 2, 4, 6)
    cases.append(Case(label("random", {"x": x}, kernel_size=2), args=(x, 2)))
    return cases


def _pool_geometry(case: Case):
    k = pair(case.args[1])
    s = pair(case.kwargs.get("stride") or case.args[1])
    return k, s


def pool_out_shape(case: Case) -> tuple[int, int, int, int]:
    x = case.args[0]
    (kh, kw), (sh, sw) = _pool_geometry(case)
    return (x.shape[0], x.shape[1], _out_size(x.shape[2], kh, 0, sh), _out_size(x.shape[3], kw, 0, sw))


def _pool_backward(case: Case, policy: str, accumulate: bool = True) -> np.ndarray:
    """dx under a tie policy: "first", "last", "split" (dout / count to each
    maximum) or "all" (dout to each maximum); ``accumulate=False`` overwrites
    where overlapping windows meet instead of adding."""
    x, dout = np.asarray(case.args[0]), np.asarray(case.upstream[0])
    (kh, kw), (sh, sw) = _pool_geometry(case)
    dx = np.zeros_like(x, dtype=np.float64)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        hits = np.flatnonzero(window.reshape(-1) == window.max())
        chosen = {"first": hits[:1], "last": hits[-1:], "split": hits, "all": hits}[policy]
        share = dout[n, c, i, j] / (len(hits) if policy == "split" else 1)
        for flat in chosen:
            r, q = divmod(int(flat), kw)
            target = (n, c, i * sh + r, j * sw + q)
            dx[target] = dx[target] + share if accumulate else share
    return dx


_ref_pool = reference("conv", "max_pool2d_forward", "forward")
max_pool2d_forward = Ex(
    name="max_pool2d_forward",
    points=1,
    kind="forward",
    cases=pool_cases,
    hints=(
        with_inputs(
            _ref_pool,
            lambda c: None if "stride" in c.kwargs else replace_args(c, stride=1),
            "without a stride argument the stride is kernel_size (non-overlapping windows), not 1.",
        ),
    ),
    description="Max pooling with stride defaulting to kernel_size",
)

_ref_pool_b = reference("conv", "max_pool2d_backward", "backward", "max_pool2d_forward")
max_pool2d_backward = Ex(
    name="max_pool2d_backward",
    points=2,
    kind="backward",
    forward="max_pool2d_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=lambda rng: upstream_for(pool_cases(rng), rng, lambda c: {"dout": pool_out_shape(c)}),
    hints=(
        matches_variant(
            _ref_pool_b,
            lambda c: _pool_backward(c, "all"),
            "every tied maximum got the gradient: route it to the first maximum "
            "of the window only (row-major order, e.g. np.argmax).",
        ),
        matches_variant(
            _ref_pool_b,
            lambda c: _pool_backward(c, "split"),
            "the gradient was split among tied maxima: route all of it to the first one.",
        ),
        matches_variant(
            _ref_pool_b,
            lambda c: _pool_backward(c, "last"),
            "the gradient went to the last tied maximum: route it to the first one in row-major order.",
        ),
        matches_variant(
            _ref_pool_b,
            lambda c: _pool_backward(c, "first", accumulate=False),
            "where overlapping windows share a maximum, the gradients must add up (dx[...] += ..., not =).",
        ),
    ),
    description="dx of max pooling: each gradient to the first maximum of its window",
)


# -- average pooling -------------------------------------------------------------------


def avg_pool_cases(rng: np.random.Generator) -> list[Case]:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cases = [Case("small example: x = 0..15 as (1, 1, 4, 4), kernel 2 (out = [[2.5, 4.5], [10.5, 12.5]])", args=(x, 2))]
    for shape, k, stride in (
        ((2, 3, 6, 6), 2, None),
        ((1, 2, 5, 7), 3, 2),
        ((2, 1, 6, 7), (2, 3), None),
        ((1, 2, 5, 5), 3, 1),
        ((2, 1, 6, 8), (3, 2), (2, 3)),
        ((1, 1, 2, 3), 2, 1),
    ):
        x = randn(rng, *shape)
        kwargs = {} if stride is None else {"stride": stride}
        cases.append(Case(label("random", {"x": x}, kernel_size=k, stride=stride), args=(x, k), kwargs=kwargs))
    return cases


def _window_size(case: Case) -> int:
    kh, kw = pair(case.args[1])
    return kh * kw


def _avg_backward_overwrite(case: Case) -> np.ndarray:
    """dx where overlapping windows overwrite each other's share instead of adding."""
    x, dout = np.asarray(case.args[0]), np.asarray(case.upstream[0], dtype=np.float64)
    (kh, kw), (sh, sw) = _pool_geometry(case)
    if (sh, sw) == (kh, kw):
        return None
    dx = np.zeros(x.shape)
    for i, j in np.ndindex(*dout.shape[2:]):
        dx[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] = (dout[:, :, i, j] / (kh * kw))[:, :, None, None]
    return dx


_ref_avg = reference("conv", "avg_pool2d_forward", "forward")
avg_pool2d_forward = Ex(
    name="avg_pool2d_forward",
    points=1,
    kind="forward",
    cases=avg_pool_cases,
    hints=(
        scaled_by(_ref_avg, _window_size, "the window SUM: average pooling divides it by kh * kw ({factor} here)."),
        with_inputs(
            _ref_avg,
            lambda c: None if "stride" in c.kwargs else replace_args(c, stride=1),
            "without a stride argument the stride is kernel_size (non-overlapping windows), not 1.",
        ),
    ),
    description="Average pooling (no padding) with stride defaulting to kernel_size",
)

_ref_avg_b = reference("conv", "avg_pool2d_backward", "backward", "avg_pool2d_forward")
avg_pool2d_backward = Ex(
    name="avg_pool2d_backward",
    points=1,
    kind="backward",
    forward="avg_pool2d_forward",
    wrt=(0,),
    outputs=("dx",),
    cases=lambda rng: upstream_for(avg_pool_cases(rng), rng, lambda c: {"dout": pool_out_shape(c)}),
    hints=(
        scaled_by(
            _ref_avg_b,
            _window_size,
            "dx is {factor} times the expected one: each input gets its window's gradient divided by kh * kw.",
        ),
        matches_variant(
            _ref_avg_b,
            _avg_backward_overwrite,
            "where overlapping windows share an input, the shares must add up (dx[...] += ..., not =).",
        ),
    ),
    description="dx of average pooling: each gradient shared equally over its window",
)


EXERCISES = [
    corr2d,
    conv2d_forward,
    conv2d_backward,
    max_pool2d_forward,
    max_pool2d_backward,
    avg_pool2d_forward,
    avg_pool2d_backward,
]
