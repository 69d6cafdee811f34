"""The transposed-convolution references (solutions.transposed_conv) and model answers are right.

Oracles: the API document's worked example, a scatter loop written from the
definition, PyTorch's conv_transpose2d (forward and autograd), central
differences, and the adjoint identity with conv2d.
"""

import importlib
import warnings

import numpy as np
import pytest
import torch

from tests.solutions.convcommon import assert_close, pair
from tests.solutions.gradcheck import numerical_gradient

MODULES = ["solutions.transposed_conv", "solutions.model.transposed_conv"]
API = ["trans_conv2d", "conv_transpose2d_forward", "conv_transpose2d_backward"]

#: (x shape, w shape (C_in, C_out, KH, KW), stride, padding): int and pair geometries,
#: overlapping copies (stride < kernel), gaps (stride > kernel), cropping padding, 1x1
#: kernels and inputs.
GEOMETRIES = [
    ((2, 3, 4, 5), (3, 4, 2, 3), 1, 0),
    ((2, 3, 4, 3), (3, 2, 3, 2), (2, 1), (1, 0)),
    ((1, 2, 3, 3), (2, 3, 3, 3), 2, 1),
    ((2, 1, 3, 4), (1, 2, 2, 4), 3, (0, 2)),
    ((3, 2, 4, 4), (2, 2, 1, 1), 1, 0),
    ((1, 3, 1, 1), (3, 2, 4, 3), 1, 0),
    ((2, 2, 3, 2), (2, 3, 4, 4), (1, 3), (2, 1)),
]
IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in GEOMETRIES]
#: Smaller geometries of the same kinds for the central differences.
GRAD_GEOMETRIES = [
    ((2, 2, 3, 3), (2, 3, 2, 3), 1, 0),
    ((1, 2, 3, 2), (2, 2, 3, 2), (2, 1), (1, 0)),
    ((1, 1, 3, 2), (1, 2, 2, 2), 3, (0, 1)),
    ((1, 2, 2, 2), (2, 2, 4, 4), (1, 2), (2, 1)),
]
GRAD_IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in GRAD_GEOMETRIES]


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def tc(request):
    return importlib.import_module(request.param)


def out_hw(h, w, kh, kw, stride, padding):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    return (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw


def naive_conv_transpose2d(x, w, b, stride, padding):
    """The definition, one input element at a time: scatter the scaled kernel, crop, add b."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    full = np.zeros((n, c_out, (h - 1) * sh + kh, (wd - 1) * sw + kw))
    for i_n, c, i, j in np.ndindex(x.shape):
        full[i_n, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += x[i_n, c, i, j] * w[c]
    oh, ow = out_hw(h, wd, kh, kw, stride, padding)
    return full[:, :, ph : ph + oh, pw : pw + ow] + b[None, :, None, None]


def problem(geometry, dtype=np.float64, seed=0):
    """x, w, b, dout of a geometry, all of dtype."""
    x_shape, w_shape, stride, padding = geometry
    rng = np.random.default_rng(seed)
    oh, ow = out_hw(*x_shape[2:], *w_shape[2:], stride, padding)
    arrays = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[1]),
        rng.standard_normal((x_shape[0], w_shape[1], oh, ow)),
    )
    return tuple(a.astype(dtype) for a in arrays)


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.transposed_conv").__all__) == sorted(API)


# --- trans_conv2d ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_float", [False, True], ids=["int-input", "float-input"])
def test_trans_conv2d_worked_example(tc, as_float):
    x, k = np.array([[2, 0], [5, 1]]), np.array([[1, 2], [2, 3]])
    if as_float:
        x, k = x.astype(float), k.astype(float)
    out = tc.trans_conv2d(x, k)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[2, 4, 0], [9, 17, 2], [10, 17, 3]])


def test_trans_conv2d_of_an_impulse_places_the_unflipped_kernel(tc):
    x = np.zeros((3, 4))
    x[1, 2] = 2.0
    k = np.arange(1.0, 7.0).reshape(3, 2)
    out = tc.trans_conv2d(x, k)
    assert out.shape == (5, 5)
    want = np.zeros((5, 5))
    want[1:4, 2:4] = 2.0 * k
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("x_shape, k_shape", [((3, 4), (2, 3)), ((1, 1), (3, 2)), ((4, 2), (1, 1)), ((5, 3), (4, 4))])
def test_trans_conv2d_matches_the_definition(tc, x_shape, k_shape, dtype):
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(k_shape).astype(dtype)
    out = tc.trans_conv2d(x, k)
    assert out.dtype == dtype
    want = naive_conv_transpose2d(x[None, None], k[None, None], np.zeros(1), 1, 0)[0, 0]
    assert_close(out, want, dtype)


@pytest.mark.torch
def test_trans_conv2d_matches_torch(tc):
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((4, 5)), rng.standard_normal((3, 2))
    want = torch.nn.functional.conv_transpose2d(torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None])[
        0, 0
    ].numpy()
    assert_close(tc.trans_conv2d(x, k), want, np.float64)


# --- conv_transpose2d forward / backward ----------------------------------------------------


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_conv_transpose2d_forward_matches_the_definition(tc, geometry, dtype):
    x, w, b, _ = problem(geometry, dtype, seed=3)
    _, _, stride, padding = geometry
    out, _ = tc.conv_transpose2d_forward(x, w, b, stride, padding)
    want = naive_conv_transpose2d(x, w, b, stride, padding)
    assert out.dtype == dtype and out.shape == want.shape
    assert_close(out, want, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_conv_transpose2d_matches_torch_forward_and_autograd(tc, geometry, dtype):
    x, w, b, dout = problem(geometry, dtype, seed=4)
    _, _, stride, padding = geometry
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.conv_transpose2d(tx, tw, tb, stride=stride, padding=padding)
    t_out.backward(torch.tensor(dout, dtype=torch.float64))

    out, cache = tc.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding)
    assert out.shape == tuple(t_out.shape)
    assert_close(out, t_out.detach().numpy(), dtype)
    dx, dw, db = tc.conv_transpose2d_backward(dout, cache)
    for got, t in ((dx, tx), (dw, tw), (db, tb)):
        assert got.dtype == dtype and got.shape == tuple(t.shape)
        assert_close(got, t.grad.numpy(), dtype)


@pytest.mark.parametrize("geometry", GRAD_GEOMETRIES, ids=GRAD_IDS)
def test_conv_transpose2d_backward_matches_central_differences(tc, geometry):
    x, w, b, dout = problem(geometry, seed=5)
    _, _, stride, padding = geometry
    _, cache = tc.conv_transpose2d_forward(x, w, b, stride, padding)
    dx, dw, db = tc.conv_transpose2d_backward(dout, cache)

    def f():
        return tc.conv_transpose2d_forward(x, w, b, stride, padding)[0]

    for got, arr in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(got, numerical_gradient(f, arr, dout), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "geometry",
    [
        ((2, 3, 6, 7), (4, 3, 2, 3), 1, 0),
        ((1, 2, 7, 5), (3, 2, 3, 3), 2, 1),
        ((2, 2, 8, 9), (2, 2, 2, 3), (3, 2), (0, 1)),
    ],
)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(tc, geometry):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same w and geometry."""
    conv = importlib.import_module(tc.__name__.replace("transposed_conv", "conv"))
    x_shape, w_shape, stride, padding = geometry
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y_conv, _ = conv.conv2d_forward(x, w, np.zeros(w_shape[0]), stride, padding)
    y = rng.standard_normal(y_conv.shape)
    x_back, _ = tc.conv_transpose2d_forward(y, w, np.zeros(w_shape[1]), stride, padding)
    assert x_back.shape == x.shape  # every geometry above has (H + 2p - K) % s == 0
    np.testing.assert_allclose(np.sum(y_conv * y), np.sum(x * x_back), rtol=1e-10)


def test_conv_transpose2d_padding_crops_the_full_output(tc):
    x, w, b, _ = problem(((1, 2, 3, 3), (2, 2, 3, 3), 2, 0), seed=7)
    full, _ = tc.conv_transpose2d_forward(x, w, b, stride=2)
    cropped, _ = tc.conv_transpose2d_forward(x, w, b, stride=2, padding=(1, 2))
    assert full.shape == (1, 2, 7, 7) and cropped.shape == (1, 2, 5, 3)
    np.testing.assert_allclose(cropped, full[:, :, 1:6, 2:5], rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_reference_and_model_agree():
    ref, model = (importlib.import_module(m) for m in MODULES)
    for seed, geometry in enumerate(GEOMETRIES):
        x, w, b, dout = problem(geometry, seed=10 + seed)
        _, _, stride, padding = geometry
        (out_r, cache_r), (out_m, cache_m) = (
            m.conv_transpose2d_forward(x, w, b, stride, padding) for m in (ref, model)
        )
        np.testing.assert_allclose(out_r, out_m, rtol=1e-12, atol=1e-12)
        for g_r, g_m in zip(
            ref.conv_transpose2d_backward(dout, cache_r), model.conv_transpose2d_backward(dout, cache_m)
        ):
            np.testing.assert_allclose(g_r, g_m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            ref.trans_conv2d(x[0, 0], w[0, 0]), model.trans_conv2d(x[0, 0], w[0, 0]), rtol=1e-12, atol=1e-12
        )


def test_conv_transpose2d_integer_inputs_give_float64(tc):
    x = np.arange(2 * 2 * 3 * 3).reshape(2, 2, 3, 3)
    w = np.ones((2, 3, 2, 2), dtype=np.int32)
    b = np.array([1, 0, -1])
    out, cache = tc.conv_transpose2d_forward(x, w, b, stride=2)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, naive_conv_transpose2d(x, w, b, 2, 0))
    grads = tc.conv_transpose2d_backward(np.ones(out.shape, dtype=np.int64), cache)
    assert all(g.dtype == np.float64 for g in grads)


def test_conv_transpose2d_inputs_are_not_modified(tc):
    x, w, b, dout = problem(GEOMETRIES[1], seed=8)
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = tc.conv_transpose2d_forward(x, w, b, stride=(2, 1), padding=(1, 0))
    tc.conv_transpose2d_backward(dout, cache)
    for a, c in zip((x, w, b, dout), copies):
        np.testing.assert_array_equal(a, c)


def test_conv_transpose2d_is_warning_free_for_large_inputs(tc, dtype):
    x, w, b, dout = problem(GEOMETRIES[2], dtype, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = tc.conv_transpose2d_forward(x * 1e4, w * 1e4, b, stride=2, padding=1)
        grads = tc.conv_transpose2d_backward(dout * 1e4, cache)
    assert all(np.all(np.isfinite(a)) for a in (out, *grads))


def test_conv_transpose2d_rejects_padding_that_leaves_no_output(tc):
    with pytest.raises(ValueError):
        tc.conv_transpose2d_forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), np.zeros(1), padding=2)


def test_reference_conv_transpose_runs_on_the_cython_kernels(monkeypatch):
    import csrc

    ref = importlib.import_module("solutions.transposed_conv")
    calls = []
    for name in ("conv_transpose2d_forward", "conv_transpose2d_backward"):
        real = getattr(csrc, name)
        monkeypatch.setattr(csrc, name, lambda *a, _n=name, _f=real, **k: calls.append(_n) or _f(*a, **k))
    x, w, b, dout = problem(GEOMETRIES[0], seed=11)
    _, cache = ref.conv_transpose2d_forward(x, w, b)
    ref.conv_transpose2d_backward(dout, cache)
    ref.trans_conv2d(x[0, 0], w[0, 0])
    assert calls == ["conv_transpose2d_forward", "conv_transpose2d_backward", "conv_transpose2d_forward"]
