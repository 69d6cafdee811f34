"""The conv references (solutions.conv) and model answers (solutions.model.conv) are right.

Oracles: the API document's worked example, a direct loop over output
positions written from the definition, PyTorch (forward and autograd),
central differences, and hand-computed max-pooling cases for ties and
overlapping windows.
"""

import importlib
import warnings

import numpy as np
import pytest
import torch

from grader.catalogue import EXERCISES
from tests.solutions.convcommon import assert_close, pair
from tests.solutions.gradcheck import numerical_gradient

MODULES = ["solutions.conv", "solutions.model.conv"]
API = [name for name, ex in EXERCISES.items() if ex.module == "conv"]

#: The worked example of the API document (input and kernel reconstructed from its two outputs).
X_EXAMPLE = np.array([[2, 7, 1, 0, 3], [4, 5, 0, 1, 0], [9, 5, 2, 3, 8], [0, 9, 3, 5, 1]])
K_EXAMPLE = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])

#: (x shape, w shape, stride, padding): square and non-square, int and pair geometries,
#: overlapping and gapped windows, leftover rows/columns, 1x1 kernels, a kernel as large as
#: the input, padding as large as the kernel.
CONV_GEOMETRIES = [
    ((2, 3, 5, 7), (4, 3, 2, 3), 1, 0),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0)),
    ((1, 2, 6, 6), (3, 2, 3, 3), 1, 1),
    ((2, 1, 7, 5), (2, 1, 2, 4), 2, (0, 2)),
    ((3, 2, 4, 4), (2, 2, 1, 1), 1, 0),
    ((1, 3, 5, 6), (1, 3, 5, 6), 1, 0),
    ((2, 2, 8, 9), (3, 2, 2, 2), 3, 1),
    ((1, 2, 4, 5), (2, 2, 2, 3), (1, 2), 3),
]
IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in CONV_GEOMETRIES]
#: Smaller geometries of the same kinds for the central differences (two calls per entry).
GRAD_GEOMETRIES = [
    ((2, 2, 4, 5), (3, 2, 2, 3), 1, 0),
    ((1, 2, 6, 5), (2, 2, 3, 2), (2, 1), (1, 0)),
    ((1, 1, 7, 5), (2, 1, 2, 4), 2, (0, 2)),
    ((1, 2, 6, 7), (2, 2, 2, 2), 3, 1),
    ((1, 2, 3, 4), (2, 2, 2, 3), (1, 2), 3),
]
GRAD_IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in GRAD_GEOMETRIES]


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def cv(request):
    return importlib.import_module(request.param)


def conv_out_hw(h, w, kh, kw, stride, padding):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def naive_conv2d(x, w, b, stride, padding):
    """The definition, one output element at a time, in float64."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = conv_out_hw(h, wd, kh, kw, stride, padding)
    out = np.empty((n, f, oh, ow))
    for i_n, i_f, i, j in np.ndindex(out.shape):
        window = xp[i_n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
        out[i_n, i_f, i, j] = np.sum(window * w[i_f]) + b[i_f]
    return out


def conv_problem(geometry, dtype=np.float64, seed=0):
    """x, w, b, dout of a geometry, all of dtype."""
    x_shape, w_shape, stride, padding = geometry
    rng = np.random.default_rng(seed)
    oh, ow = conv_out_hw(*x_shape[2:], *w_shape[2:], stride, padding)
    arrays = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
        rng.standard_normal((x_shape[0], w_shape[0], oh, ow)),
    )
    return tuple(a.astype(dtype) for a in arrays)


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.conv").__all__) == sorted(API)


# --- corr2d ---------------------------------------------------------------------------------


@pytest.mark.parametrize("as_float", [False, True], ids=["int-input", "float-input"])
def test_corr2d_worked_example_without_padding(cv, as_float):
    x, k = (X_EXAMPLE.astype(float), K_EXAMPLE.astype(float)) if as_float else (X_EXAMPLE, K_EXAMPLE)
    out = cv.corr2d(x, k)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[4, -9, 1], [-5, -3, -4]])


@pytest.mark.parametrize("as_float", [False, True], ids=["int-input", "float-input"])
def test_corr2d_worked_example_with_padding_1_and_stride_2(cv, as_float):
    x, k = (X_EXAMPLE.astype(float), K_EXAMPLE.astype(float)) if as_float else (X_EXAMPLE, K_EXAMPLE)
    np.testing.assert_array_equal(cv.corr2d(x, k, padding=1, stride=2), [[-3, -3, 12], [27, -3, 28]])
    np.testing.assert_array_equal(cv.corr2d(x, k, padding=(1, 1), stride=(2, 2)), [[-3, -3, 12], [27, -3, 28]])


def test_corr2d_does_not_flip_the_kernel(cv):
    """Cross-correlating a unit impulse reproduces the kernel rotated by 180 degrees."""
    x = np.zeros((5, 5))
    x[2, 2] = 1.0
    k = np.arange(1.0, 7.0).reshape(2, 3)
    out = cv.corr2d(x, k)
    np.testing.assert_array_equal(out[1:3, 0:3], k[::-1, ::-1])
    assert np.count_nonzero(out) == k.size


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=IDS)
def test_corr2d_matches_the_definition(cv, geometry, dtype):
    x, w, _, _ = conv_problem(geometry, dtype, seed=1)
    _, _, stride, padding = geometry
    out = cv.corr2d(x[0, 0], w[0, 0], padding=padding, stride=stride)
    assert out.dtype == dtype
    want = naive_conv2d(x[:1, :1], w[:1, :1], np.zeros(1), stride, padding)[0, 0]
    assert_close(out, want, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=IDS)
def test_corr2d_matches_torch_conv2d(cv, geometry):
    x, w, _, _ = conv_problem(geometry, seed=2)
    _, _, stride, padding = geometry
    want = torch.nn.functional.conv2d(
        torch.from_numpy(x[:1, :1]), torch.from_numpy(w[:1, :1]), stride=stride, padding=padding
    )[0, 0].numpy()
    assert_close(cv.corr2d(x[0, 0], w[0, 0], padding=padding, stride=stride), want, np.float64)


def test_corr2d_positional_order_is_padding_then_stride(cv):
    x = np.random.default_rng(3).standard_normal((6, 7))
    k = np.ones((3, 2))
    np.testing.assert_array_equal(cv.corr2d(x, k, 1, 2), cv.corr2d(x, k, padding=1, stride=2))
    assert cv.corr2d(x, k, 1, 2).shape == (3, 4)


# --- conv2d forward / backward --------------------------------------------------------------


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=IDS)
def test_conv2d_forward_matches_the_definition(cv, geometry, dtype):
    x, w, b, _ = conv_problem(geometry, dtype, seed=4)
    _, _, stride, padding = geometry
    out, _ = cv.conv2d_forward(x, w, b, stride, padding)
    want = naive_conv2d(x, w, b, stride, padding)
    assert out.dtype == dtype and out.shape == want.shape
    assert_close(out, want, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=IDS)
def test_conv2d_matches_torch_forward_and_autograd(cv, geometry, dtype):
    x, w, b, dout = conv_problem(geometry, dtype, seed=5)
    _, _, stride, padding = geometry
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    t_out.backward(torch.tensor(dout, dtype=torch.float64))

    out, cache = cv.conv2d_forward(x, w, b, stride=stride, padding=padding)
    assert_close(out, t_out.detach().numpy(), dtype)
    dx, dw, db = cv.conv2d_backward(dout, cache)
    for got, t in ((dx, tx), (dw, tw), (db, tb)):
        assert got.dtype == dtype and got.shape == tuple(t.shape)
        assert_close(got, t.grad.numpy(), dtype)


@pytest.mark.parametrize("geometry", GRAD_GEOMETRIES, ids=GRAD_IDS)
def test_conv2d_backward_matches_central_differences(cv, geometry):
    x, w, b, dout = conv_problem(geometry, seed=6)
    _, _, stride, padding = geometry
    _, cache = cv.conv2d_forward(x, w, b, stride, padding)
    dx, dw, db = cv.conv2d_backward(dout, cache)

    def f():
        return cv.conv2d_forward(x, w, b, stride, padding)[0]

    for got, arr in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(got, numerical_gradient(f, arr, dout), rtol=1e-6, atol=1e-8)


def test_conv2d_gradient_is_zero_where_no_window_reaches(cv):
    """Stride 3 with a 2x2 kernel on 7x7 skips rows/columns 2, and 5 and 6 are left over."""
    x, w, b, dout = conv_problem(((1, 1, 7, 7), (1, 1, 2, 2), 3, 0), seed=7)
    _, cache = cv.conv2d_forward(x, w, b, stride=3)
    dx = cv.conv2d_backward(dout, cache)[0][0, 0]
    reached = np.zeros((7, 7), dtype=bool)
    reached[np.ix_([0, 1, 3, 4], [0, 1, 3, 4])] = True
    assert np.all(dx[~reached] == 0)
    assert np.all(dx[reached] != 0)


def test_conv2d_border_outputs_see_only_padding_when_padding_exceeds_the_kernel(cv):
    x = np.ones((1, 1, 2, 2))
    w = np.ones((1, 1, 2, 2))
    out, _ = cv.conv2d_forward(x, w, np.array([0.5]), padding=3)
    assert out.shape == (1, 1, 7, 7)
    np.testing.assert_array_equal(out[0, 0, 0], 0.5)
    np.testing.assert_array_equal(out[0, 0, 3], [0.5, 0.5, 2.5, 4.5, 2.5, 0.5, 0.5])


def test_conv2d_reference_and_model_agree():
    ref, model = (importlib.import_module(m) for m in MODULES)
    for seed, geometry in enumerate(CONV_GEOMETRIES):
        x, w, b, dout = conv_problem(geometry, seed=10 + seed)
        _, _, stride, padding = geometry
        (out_r, cache_r), (out_m, cache_m) = (m.conv2d_forward(x, w, b, stride, padding) for m in (ref, model))
        np.testing.assert_allclose(out_r, out_m, rtol=1e-12, atol=1e-12)
        for g_r, g_m in zip(ref.conv2d_backward(dout, cache_r), model.conv2d_backward(dout, cache_m)):
            np.testing.assert_allclose(g_r, g_m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            ref.corr2d(x[0, 0], w[0, 0], padding, stride),
            model.corr2d(x[0, 0], w[0, 0], padding, stride),
            rtol=1e-12,
            atol=1e-12,
        )


def test_conv2d_integer_inputs_give_float64(cv):
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4)
    w = np.ones((3, 2, 2, 2), dtype=np.int32)
    b = np.array([1, 0, -1])
    out, cache = cv.conv2d_forward(x, w, b)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, naive_conv2d(x, w, b, 1, 0))
    grads = cv.conv2d_backward(np.ones(out.shape, dtype=np.int64), cache)
    assert all(g.dtype == np.float64 for g in grads)


def test_conv2d_inputs_are_not_modified(cv):
    x, w, b, dout = conv_problem(CONV_GEOMETRIES[1], seed=8)
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = cv.conv2d_forward(x, w, b, stride=(2, 1), padding=(1, 0))
    cv.conv2d_backward(dout, cache)
    for a, c in zip((x, w, b, dout), copies):
        np.testing.assert_array_equal(a, c)


def test_conv2d_is_warning_free_for_large_inputs(cv, dtype):
    x, w, b, dout = conv_problem(CONV_GEOMETRIES[2], dtype, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = cv.conv2d_forward(x * 1e4, w * 1e4, b, stride=1, padding=1)
        grads = cv.conv2d_backward(dout * 1e4, cache)
    assert all(np.all(np.isfinite(a)) for a in (out, *grads))


@pytest.mark.parametrize(
    "x_shape, w_shape, padding", [((1, 1, 2, 2), (1, 1, 3, 3), 0), ((1, 1, 4, 2), (1, 1, 2, 5), 1)]
)
def test_conv2d_rejects_a_kernel_larger_than_the_padded_input(cv, x_shape, w_shape, padding):
    with pytest.raises(ValueError):
        cv.conv2d_forward(np.ones(x_shape), np.ones(w_shape), np.zeros(w_shape[0]), padding=padding)


def test_reference_conv_runs_on_the_cython_kernels(monkeypatch):
    import csrc

    ref = importlib.import_module("solutions.conv")
    calls = []
    for name in ("conv2d_forward", "conv2d_backward"):
        real = getattr(csrc, name)
        monkeypatch.setattr(csrc, name, lambda *a, _n=name, _f=real, **k: calls.append(_n) or _f(*a, **k))
    x, w, b, dout = conv_problem(CONV_GEOMETRIES[0], seed=11)
    _, cache = ref.conv2d_forward(x, w, b)
    ref.conv2d_backward(dout, cache)
    ref.corr2d(x[0, 0], w[0, 0])
    assert calls == ["conv2d_forward", "conv2d_backward", "conv2d_forward"]


# --- max pooling ----------------------------------------------------------------------------

#: Ties in the first and third windows; first maxima at (0, 1), (0, 3), (2, 0), (3, 3).
X_POOL = np.array([[1.0, 3.0, 0.0, 2.0], [3.0, 2.0, 1.0, 1.0], [4.0, 4.0, 5.0, 6.0], [4.0, 0.0, 7.0, 8.0]])[None, None]

#: (x shape, kernel_size, stride): default and explicit strides, overlapping windows,
#: non-square kernels and strides, leftover rows and columns.
POOL_GEOMETRIES = [
    ((2, 3, 6, 6), 2, None),
    ((1, 2, 5, 7), 2, None),
    ((2, 1, 5, 5), 3, 1),
    ((1, 2, 6, 8), 3, (2, 3)),
    ((2, 2, 7, 6), (2, 3), None),
    ((1, 1, 5, 6), (3, 2), (1, 2)),
    ((1, 1, 3, 4), (3, 4), None),
]
POOL_IDS = [f"x{x}-k{k}-s{s}" for x, k, s in POOL_GEOMETRIES]


def pool_out_hw(h, w, kernel_size, stride):
    (kh, kw), (sh, sw) = pair(kernel_size), pair(kernel_size if stride is None else stride)
    return (h - kh) // sh + 1, (w - kw) // sw + 1


def distinct_values(shape, seed):
    """Values at least 0.01 apart (no ties, even under a 1e-6 perturbation), in random order."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))) * 0.01 - 0.5).reshape(shape)


def pool_call(cv, x, kernel_size, stride):
    kwargs = {} if stride is None else {"stride": stride}
    return cv.max_pool2d_forward(x, kernel_size, **kwargs)


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order(cv):
    out, cache = cv.max_pool2d_forward(X_POOL, 2)
    np.testing.assert_array_equal(out, [[[[3.0, 2.0], [4.0, 8.0]]]])
    dx = cv.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[0, 1, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 4]]]])


def test_max_pool_overlapping_windows_accumulate_at_a_shared_maximum(cv):
    x = np.array([[0.0, 1.0, 0.0], [1.0, 9.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    out, cache = cv.max_pool2d_forward(x, 2, stride=1)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 9.0))
    dx = cv.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    want = np.zeros((1, 1, 3, 3))
    want[0, 0, 1, 1] = 10.0
    np.testing.assert_array_equal(dx, want)


def test_max_pool_constant_input_routes_each_window_to_its_top_left(cv):
    """Every window is one big tie, so each gradient lands on the window's first element."""
    x = np.full((2, 1, 4, 5), 7.0)
    out, cache = cv.max_pool2d_forward(x, (2, 3), stride=1)
    assert out.shape == (2, 1, 3, 3)
    dout = np.arange(1.0, 19.0).reshape(out.shape)
    dx = cv.max_pool2d_backward(dout, cache)
    want = np.zeros_like(x)
    want[:, :, :3, :3] = dout
    np.testing.assert_array_equal(dx, want)


def test_max_pool_stride_defaults_to_kernel_size(cv):
    x = distinct_values((1, 2, 6, 9), seed=1)
    out_default, _ = cv.max_pool2d_forward(x, (2, 3))
    out_explicit, _ = cv.max_pool2d_forward(x, (2, 3), stride=(2, 3))
    assert out_default.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(out_default, out_explicit)
    np.testing.assert_array_equal(out_default, x.reshape(1, 2, 3, 2, 3, 3).max(axis=(3, 5)))


@pytest.mark.torch
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=POOL_IDS)
def test_max_pool_matches_torch_forward_and_autograd(cv, geometry, dtype):
    x_shape, kernel_size, stride = geometry
    x = distinct_values(x_shape, seed=2).astype(dtype)
    dout = (
        np.random.default_rng(3)
        .standard_normal((*x_shape[:2], *pool_out_hw(*x_shape[2:], kernel_size, stride)))
        .astype(dtype)
    )
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.max_pool2d(tx, kernel_size, stride)
    t_out.backward(torch.from_numpy(dout))

    out, cache = pool_call(cv, x, kernel_size, stride)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    dx = cv.max_pool2d_backward(dout, cache)
    assert dx.dtype == dtype
    assert_close(dx, tx.grad.numpy(), dtype)


@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=POOL_IDS)
def test_max_pool_backward_matches_central_differences(cv, geometry):
    x_shape, kernel_size, stride = geometry
    x = distinct_values(x_shape, seed=4)
    dout = np.random.default_rng(5).standard_normal((*x_shape[:2], *pool_out_hw(*x_shape[2:], kernel_size, stride)))
    _, cache = pool_call(cv, x, kernel_size, stride)
    dx = cv.max_pool2d_backward(dout, cache)
    numeric = numerical_gradient(lambda: pool_call(cv, x, kernel_size, stride)[0], x, dout)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


def test_max_pool_reference_and_model_agree_with_ties():
    ref, model = (importlib.import_module(m) for m in MODULES)
    rng = np.random.default_rng(6)
    for x_shape, kernel_size, stride in POOL_GEOMETRIES:
        x = rng.integers(0, 3, size=x_shape).astype(float)  # few values: ties everywhere
        (out_r, cache_r), (out_m, cache_m) = (pool_call(m, x, kernel_size, stride) for m in (ref, model))
        np.testing.assert_array_equal(out_r, out_m)
        dout = rng.standard_normal(out_r.shape)
        np.testing.assert_array_equal(ref.max_pool2d_backward(dout, cache_r), model.max_pool2d_backward(dout, cache_m))


def test_max_pool_integer_input_gives_float64(cv):
    out, cache = cv.max_pool2d_forward(X_POOL.astype(np.int64), 2)
    assert out.dtype == np.float64
    dx = cv.max_pool2d_backward(np.ones(out.shape, dtype=np.int64), cache)
    assert dx.dtype == np.float64
    np.testing.assert_array_equal(dx, [[[[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]]])


def test_max_pool_inputs_are_not_modified_and_no_warning(cv):
    x = distinct_values((2, 2, 5, 5), seed=7) * 1e4
    x_copy = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = cv.max_pool2d_forward(x, 3, stride=1)
        dout = np.ones_like(out)
        dx = cv.max_pool2d_backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, 1.0)
    assert np.all(np.isfinite(dx)) and dx.sum() == out.size


# -- average pooling -------------------------------------------------------------------------

POOL_GEOMETRIES = [
    ((2, 3, 6, 6), 2, None),
    ((1, 2, 5, 7), 3, 2),
    ((2, 1, 6, 7), (2, 3), None),
    ((1, 2, 5, 5), 3, 1),
    ((2, 1, 6, 8), (3, 2), (2, 3)),
]


@pytest.mark.torch
@pytest.mark.parametrize("shape, k, stride", POOL_GEOMETRIES)
def test_avg_pool_and_its_gradient_match_torch(cv, dtype, shape, k, stride):
    import torch

    rng = np.random.default_rng(30)
    x = rng.standard_normal(shape).astype(dtype)
    kwargs = {} if stride is None else {"stride": stride}
    out, cache = cv.avg_pool2d_forward(x, k, **kwargs)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = cv.avg_pool2d_backward(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.avg_pool2d(tx, k, stride)
    t_out.backward(torch.tensor(dout))
    assert out.dtype == dx.dtype == dtype
    assert_close(out, t_out.detach().numpy(), dtype)
    assert_close(dx, tx.grad.numpy(), dtype)


def test_avg_pool_backward_matches_the_numerical_gradient(cv):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((1, 2, 5, 5))
    dout = rng.standard_normal((1, 2, 2, 2))
    dx = cv.avg_pool2d_backward(dout, cv.avg_pool2d_forward(x, 3, 2)[1])
    np.testing.assert_allclose(
        dx, numerical_gradient(lambda: cv.avg_pool2d_forward(x, 3, 2)[0], x, dout), rtol=1e-6, atol=1e-8
    )


def test_avg_pool_small_example_and_untouched_inputs(cv):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = cv.avg_pool2d_forward(x, 2)
    np.testing.assert_array_equal(out, [[[[2.5, 4.5], [10.5, 12.5]]]])
    dout = np.ones_like(out)
    np.testing.assert_array_equal(cv.avg_pool2d_backward(dout, cache), np.full((1, 1, 4, 4), 0.25))
    assert np.array_equal(x, np.arange(16.0).reshape(1, 1, 4, 4)) and np.all(dout == 1)
