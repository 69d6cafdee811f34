"""csrc.conv2d_forward / conv2d_backward against naive NumPy references and PyTorch."""

import numpy as np
import pytest
import torch

import csrc

from . import _reference as ref
from .conftest import assert_close, assert_fresh_c_array

pytestmark = pytest.mark.usefixtures("build")  # every build of the kernels this CPU runs

# (x shape, w shape, stride, padding): the geometries the kernels must get right.
CASES = {
    "1x1_kernel": ((2, 3, 5, 6), (4, 3, 1, 1), (1, 1), (0, 0)),
    "1x1_kernel_strided_padded": ((2, 3, 5, 6), (4, 3, 1, 1), (2, 3), (1, 2)),
    "stride_larger_than_kernel": ((2, 2, 11, 13), (3, 2, 2, 2), (3, 4), (0, 0)),
    "non_square_input_and_kernel": ((2, 3, 7, 12), (5, 3, 2, 4), (1, 2), (1, 0)),
    "batch_1": ((1, 4, 8, 8), (6, 4, 3, 3), (1, 1), (1, 1)),
    "single_channel": ((3, 1, 9, 7), (2, 1, 3, 3), (2, 2), (0, 1)),
    "single_filter": ((3, 2, 6, 6), (1, 2, 3, 3), (1, 1), (0, 0)),
    "padding_kernel_minus_one": ((2, 3, 6, 5), (4, 3, 3, 4), (1, 1), (2, 3)),
    "kernel_as_large_as_input": ((2, 3, 5, 4), (2, 3, 5, 4), (1, 1), (0, 0)),
    "output_1x1_from_padding": ((1, 2, 1, 1), (3, 2, 3, 3), (1, 1), (1, 1)),
    # odd sizes whose im2col GEMM straddles the micro-tile and block edges of every build
    # (F = 67 filters: tiles of 6 or 14 rows and a bit; 156 pixels: of 8, 16 or 32 columns)
    "odd_gemm_edges": ((3, 17, 13, 11), (67, 17, 3, 2), (1, 1), (1, 1)),
    # F > KC: the input gradient's reduction over filters crosses a KC block
    "many_filters": ((2, 2, 5, 6), (260, 2, 3, 3), (1, 1), (1, 1)),
    "long_reduction": ((2, 29, 9, 9), (7, 29, 3, 3), (1, 1), (1, 1)),  # C*KH*KW = 261 > KC
    # several im2col row chunks in the forward pass, each with two KC blocks
    "long_reduction_many_rows": ((1, 30, 20, 21), (5, 30, 3, 3), (1, 1), (1, 1)),
    "many_images": ((19, 2, 5, 5), (3, 2, 3, 3), (1, 1), (1, 1)),  # more than 16 dw chunks
    # output rows wider than two micro-tiles, so whole panels lie inside one row (the forward's
    # fast im2col path), with a reduction whose second KC block starts inside a kernel window
    "wide_rows_long_reduction": ((2, 30, 4, 37), (3, 30, 3, 3), (1, 1), (1, 2)),
}


def _case(name, dtype, rng, bias=True):
    x_shape, w_shape, stride, padding = CASES[name]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return x, w, b, stride, padding


def _reduction(w):
    return int(np.prod(w.shape[1:]))


@pytest.mark.parametrize("name", CASES)
def test_conv2d_forward_matches_naive_reference(name, dtype, rng):
    x, w, b, stride, padding = _case(name, dtype, rng)
    out = csrc.conv2d_forward(x, w, b, stride=stride, padding=padding)
    assert_close(out, ref.conv2d(x, w, b, stride, padding), dtype, _reduction(w))
    assert_fresh_c_array(out, x, w, b)


@pytest.mark.parametrize("name", CASES)
def test_conv2d_backward_matches_naive_reference(name, dtype, rng):
    x, w, b, stride, padding = _case(name, dtype, rng)
    out_shape = ref.conv2d(x, w, b, stride, padding).shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    grads = csrc.conv2d_backward(dout, x, w, stride=stride, padding=padding)
    expected = ref.conv2d_backward(dout, x, w, stride, padding)
    n_pix = out_shape[0] * out_shape[2] * out_shape[3]
    for got, want, k in zip(grads, expected, (w.shape[0] * w.shape[2] * w.shape[3], n_pix, n_pix)):
        assert_close(got, want, dtype, k)
        assert_fresh_c_array(got, dout, x, w)


def test_conv2d_forward_without_bias_equals_zero_bias(dtype, rng):
    x, w, b, stride, padding = _case("non_square_input_and_kernel", dtype, rng)
    np.testing.assert_array_equal(
        csrc.conv2d_forward(x, w, None, stride, padding), csrc.conv2d_forward(x, w, np.zeros_like(b), stride, padding)
    )


def test_conv2d_int_stride_and_padding_mean_both_axes(dtype, rng):
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    np.testing.assert_array_equal(
        csrc.conv2d_forward(x, w, stride=2, padding=1), csrc.conv2d_forward(x, w, stride=(2, 2), padding=(1, 1))
    )


def test_conv2d_forward_and_backward_accept_non_contiguous_inputs(dtype, rng):
    x = rng.standard_normal((3, 8, 4, 9)).astype(dtype).transpose(0, 3, 1, 2)  # (3, 9, 8, 4)
    w = rng.standard_normal((5, 9, 3, 2)).astype(dtype)[:, :, ::-1, :]
    b = rng.standard_normal(10).astype(dtype)[::2]
    out = csrc.conv2d_forward(x, w, b, stride=1, padding=1)
    assert_close(out, ref.conv2d(x, w, b, (1, 1), (1, 1)), dtype, 54)
    dout = np.asfortranarray(rng.standard_normal(out.shape).astype(dtype))
    for got, want in zip(csrc.conv2d_backward(dout, x, w, 1, 1), ref.conv2d_backward(dout, x, w, (1, 1), (1, 1))):
        assert_close(got, want, dtype, 3 * 8 * 5)


def test_conv2d_leaves_inputs_unchanged(dtype, rng):
    x, w, b, stride, padding = _case("batch_1", dtype, rng)
    dout = rng.standard_normal((1, 6, 8, 8)).astype(dtype)
    before = [a.copy() for a in (x, w, b, dout)]
    csrc.conv2d_forward(x, w, b, stride, padding)
    csrc.conv2d_backward(dout, x, w, stride, padding)
    for arr, arr0 in zip((x, w, b, dout), before):
        np.testing.assert_array_equal(arr, arr0)


def test_conv2d_results_do_not_depend_on_thread_count(dtype, rng, threads, split_small_calls):
    x = rng.standard_normal((21, 5, 12, 10)).astype(dtype)
    w = rng.standard_normal((7, 5, 3, 3)).astype(dtype)
    dout = rng.standard_normal((21, 7, 12, 10)).astype(dtype)
    results = {}
    for n in (1, 2):
        threads(n)
        results[n] = (csrc.conv2d_forward(x, w, padding=1), *csrc.conv2d_backward(dout, x, w, padding=1))
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


def test_conv2d_empty_batch_gives_empty_results(dtype):
    x = np.zeros((0, 2, 5, 5), dtype)
    w = np.ones((3, 2, 3, 3), dtype)
    out = csrc.conv2d_forward(x, w, np.ones(3, dtype))
    assert out.shape == (0, 3, 3, 3)
    dx, dw, db = csrc.conv2d_backward(out, x, w)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (3,)
    assert not dw.any() and not db.any()


# --------------------------------------------------------------------------------------------
# PyTorch as an independent oracle
# --------------------------------------------------------------------------------------------

TORCH_TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(6))
def test_conv2d_matches_torch_and_its_autograd_on_random_shapes(seed, dtype):
    rng = np.random.default_rng(seed)
    n, c, f = rng.integers(1, 5, size=3)
    kh, kw = rng.integers(1, 5, size=2)
    sh, sw = rng.integers(1, 4, size=2)
    ph, pw = rng.integers(0, kh), rng.integers(0, kw)
    h, w_ = kh + rng.integers(0, 9), kw + rng.integers(0, 9)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = rng.standard_normal((f, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = torch.nn.functional.conv2d(xt, wt, bt, stride=(sh, sw), padding=(ph, pw))
    out = csrc.conv2d_forward(x, w, b, stride=(sh, sw), padding=(ph, pw))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TORCH_TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    out_t.backward(torch.tensor(dout))
    dx, dw, db = csrc.conv2d_backward(dout, x, w, stride=(sh, sw), padding=(ph, pw))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(dw, wt.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(db, bt.grad.numpy(), **TORCH_TOL[dtype])


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------


def _ok(dtype=np.float64):
    return np.ones((2, 3, 5, 5), dtype), np.ones((4, 3, 3, 3), dtype)


def test_conv2d_rejects_channel_mismatch_naming_both_counts():
    x, _ = _ok()
    with pytest.raises(
        ValueError,
        match=r"conv2d_forward: x has 3 channels but w expects 4 "
        r"\(w.shape\[1\]\)",
    ):
        csrc.conv2d_forward(x, np.ones((2, 4, 3, 3)))


@pytest.mark.parametrize(
    "x_shape,w_shape,which", [((3, 5, 5), (4, 3, 3, 3), "x must be 4-D"), ((2, 3, 5, 5), (4, 3, 3), "w must be 4-D")]
)
def test_conv2d_rejects_wrong_ndim(x_shape, w_shape, which):
    with pytest.raises(ValueError, match=which):
        csrc.conv2d_forward(np.ones(x_shape), np.ones(w_shape))


def test_conv2d_rejects_bias_of_wrong_length():
    x, w = _ok()
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        csrc.conv2d_forward(x, w, np.ones(3))


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_conv2d_rejects_non_positive_stride(stride):
    x, w = _ok()
    with pytest.raises(ValueError, match="stride must be positive"):
        csrc.conv2d_forward(x, w, stride=stride)


@pytest.mark.parametrize("padding", [-1, (0, -2)])
def test_conv2d_rejects_negative_padding(padding):
    x, w = _ok()
    with pytest.raises(ValueError, match="padding must be non-negative"):
        csrc.conv2d_forward(x, w, padding=padding)


@pytest.mark.parametrize("stride", [1.5, "2", (1, 2, 3), True])
def test_conv2d_rejects_malformed_stride(stride):
    x, w = _ok()
    with pytest.raises((TypeError, ValueError), match="stride must be an int or a pair"):
        csrc.conv2d_forward(x, w, stride=stride)


def test_conv2d_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"output would be -2x-2.*at least 1x1.*kernel 5x5"):
        csrc.conv2d_forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)))


def test_conv2d_rejects_integer_input_naming_dtype_and_fix():
    _, w = _ok()
    with pytest.raises(TypeError, match=r"x has dtype int32.*astype"):
        csrc.conv2d_forward(np.ones((2, 3, 5, 5), np.int32), w)


def test_conv2d_rejects_mixed_dtypes():
    x, w = _ok(np.float32)
    with pytest.raises(TypeError, match=r"x is float32, w is float32, b is float64"):
        csrc.conv2d_forward(x, w, np.ones(4))


def test_conv2d_backward_rejects_dout_of_wrong_shape():
    x, w = _ok()
    with pytest.raises(
        ValueError,
        match=r"dout has shape \(2, 4, 4, 4\) but the forward output "
        r"is \(2, 4, 3, 3\)",
    ):
        csrc.conv2d_backward(np.ones((2, 4, 4, 4)), x, w)


@pytest.mark.parametrize("padding", [(0, 0), (1, 2), (2, 1)])
def test_stride_1_input_gradient_of_many_channels_runs_as_a_forward_conv_and_equals_col2im(
    padding, dtype, rng, monkeypatch
):
    """csrc computes it as the convolution of padded dout with the flipped, channel-swapped
    filters; the GEMM + col2im kernel, called directly, gives the same gradient."""
    x = rng.standard_normal((3, 9, 7, 8)).astype(dtype)  # 9 >= 8 input channels
    w = rng.standard_normal((5, 9, 3, 3)).astype(dtype)
    dout = rng.standard_normal(csrc.conv2d_forward(x, w, padding=padding).shape).astype(dtype)
    calls = []
    real = csrc._kernels

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setattr(csrc, "_kernels", Spy())
    dx = csrc.conv2d_backward(dout, x, w, padding=padding)[0]
    assert "conv2d_forward_into" in calls and "conv2d_input_grad_into" not in calls
    col2im = np.zeros_like(x)
    real.conv2d_input_grad_into(dout, w, col2im, 1, 1, *padding, 1)
    assert_close(dx, col2im.astype(np.float64), dtype, 5 * 9)
    assert_close(dx, ref.conv2d_backward(dout, x, w, (1, 1), padding)[0], dtype, 5 * 9)
