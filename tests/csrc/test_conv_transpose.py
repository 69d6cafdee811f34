"""csrc.conv_transpose2d_forward / _backward against a naive scatter reference and PyTorch."""

import numpy as np
import pytest
import torch

import csrc

from . import _reference as ref
from .conftest import assert_close, assert_fresh_c_array

pytestmark = pytest.mark.usefixtures("build")  # every build of the kernels this CPU runs

# (x shape (N, C_in, H, W), w shape (C_in, C_out, KH, KW), stride, padding)
CASES = {
    "1x1_kernel": ((2, 3, 4, 5), (3, 4, 1, 1), (1, 1), (0, 0)),
    "stride_larger_than_kernel": ((2, 2, 4, 3), (2, 3, 2, 2), (3, 4), (0, 0)),
    "upsample_by_2": ((2, 4, 5, 5), (4, 3, 4, 4), (2, 2), (1, 1)),
    "non_square_input_and_kernel": ((2, 3, 3, 6), (3, 5, 2, 4), (2, 1), (0, 1)),
    "batch_1": ((1, 4, 6, 6), (4, 6, 3, 3), (1, 1), (1, 1)),
    "single_channel": ((3, 1, 5, 4), (1, 1, 3, 3), (2, 2), (0, 1)),
    "padding_kernel_minus_one": ((2, 3, 6, 5), (3, 4, 3, 4), (1, 1), (2, 3)),
    "single_pixel_input": ((2, 3, 1, 1), (3, 2, 3, 2), (2, 2), (0, 0)),
    "odd_gemm_edges": ((3, 67, 7, 5), (67, 17, 3, 2), (2, 1), (1, 0)),
    "many_images": ((19, 2, 4, 4), (2, 3, 3, 3), (2, 2), (1, 1)),
}


def _case(name, dtype, rng, bias=True):
    x_shape, w_shape, stride, padding = CASES[name]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1]).astype(dtype) if bias else None
    return x, w, b, stride, padding


@pytest.mark.parametrize("name", CASES)
def test_conv_transpose2d_forward_matches_naive_scatter(name, dtype, rng):
    x, w, b, stride, padding = _case(name, dtype, rng)
    out = csrc.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding)
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, wd = x.shape
    assert out.shape == (n, w.shape[1], (h - 1) * sh - 2 * ph + w.shape[2], (wd - 1) * sw - 2 * pw + w.shape[3])
    assert_close(out, ref.conv_transpose2d(x, w, b, stride, padding), dtype, x.shape[1] * 4)
    assert_fresh_c_array(out, x, w, b)


@pytest.mark.parametrize("name", CASES)
def test_conv_transpose2d_backward_matches_naive_gather(name, dtype, rng):
    x, w, b, stride, padding = _case(name, dtype, rng)
    out_shape = ref.conv_transpose2d(x, w, b, stride, padding).shape
    dout = rng.standard_normal(out_shape).astype(dtype)
    grads = csrc.conv_transpose2d_backward(dout, x, w, stride=stride, padding=padding)
    expected = ref.conv_transpose2d_backward(dout, x, w, stride, padding)
    n_pix = x.shape[0] * x.shape[2] * x.shape[3]
    k_dx = int(np.prod(w.shape[1:]))
    for got, want, k in zip(grads, expected, (k_dx, n_pix, int(np.prod(out_shape)))):
        assert_close(got, want, dtype, k)
        assert_fresh_c_array(got, dout, x, w)


def test_conv_transpose2d_is_the_adjoint_of_conv2d(dtype, rng):
    """<conv2d(y, w), x> == <y, conv_transpose2d(x, w)> for every y, x."""
    x = rng.standard_normal((2, 4, 5, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    y = csrc.conv_transpose2d_forward(x, w, stride=(2, 3), padding=(1, 1))
    probe = rng.standard_normal(y.shape).astype(dtype)
    lhs = np.vdot(csrc.conv2d_forward(probe, w, stride=(2, 3), padding=(1, 1)), x)
    rhs = np.vdot(probe, y)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4 if dtype == np.float32 else 1e-11)


def test_conv_transpose2d_leaves_inputs_unchanged(dtype, rng):
    x, w, b, stride, padding = _case("upsample_by_2", dtype, rng)
    out = csrc.conv_transpose2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape).astype(dtype)
    before = [a.copy() for a in (x, w, b, dout)]
    csrc.conv_transpose2d_backward(dout, x, w, stride, padding)
    for arr, arr0 in zip((x, w, b, dout), before):
        np.testing.assert_array_equal(arr, arr0)


def test_conv_transpose2d_results_do_not_depend_on_thread_count(dtype, rng, threads, split_small_calls):
    x, w, b, stride, padding = _case("many_images", dtype, rng)
    dout = rng.standard_normal((19, 3, 7, 7)).astype(dtype)
    results = {}
    for n in (1, 2):
        threads(n)
        results[n] = (
            csrc.conv_transpose2d_forward(x, w, b, stride, padding),
            *csrc.conv_transpose2d_backward(dout, x, w, stride, padding),
        )
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)


def test_conv_transpose2d_accepts_non_contiguous_inputs(dtype, rng):
    x = rng.standard_normal((2, 6, 5, 3)).astype(dtype).transpose(0, 3, 2, 1)  # (2, 3, 5, 6)
    w = rng.standard_normal((3, 2, 3, 3)).astype(dtype)[:, :, ::-1, ::-1]
    out = csrc.conv_transpose2d_forward(x, w, stride=2, padding=1)
    assert_close(out, ref.conv_transpose2d(x, w, None, (2, 2), (1, 1)), dtype, 12)


TORCH_TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(6))
def test_conv_transpose2d_matches_torch_and_its_autograd_on_random_shapes(seed, dtype):
    rng = np.random.default_rng(100 + seed)
    n, cin, cout = rng.integers(1, 5, size=3)
    kh, kw = rng.integers(1, 5, size=2)
    sh, sw = rng.integers(1, 4, size=2)
    ph, pw = rng.integers(0, kh), rng.integers(0, kw)
    h, w_ = rng.integers(1, 7, size=2)
    x = rng.standard_normal((n, cin, h, w_)).astype(dtype)
    w = rng.standard_normal((cin, cout, kh, kw)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    if (h - 1) * sh - 2 * ph + kh < 1 or (w_ - 1) * sw - 2 * pw + kw < 1:
        ph = pw = 0
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = torch.nn.functional.conv_transpose2d(xt, wt, bt, stride=(sh, sw), padding=(ph, pw))
    out = csrc.conv_transpose2d_forward(x, w, b, stride=(sh, sw), padding=(ph, pw))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TORCH_TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    out_t.backward(torch.tensor(dout))
    dx, dw, db = csrc.conv_transpose2d_backward(dout, x, w, stride=(sh, sw), padding=(ph, pw))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(dw, wt.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(db, bt.grad.numpy(), **TORCH_TOL[dtype])


def test_conv_transpose2d_rejects_channel_mismatch_naming_w_shape_0():
    with pytest.raises(
        ValueError,
        match=r"conv_transpose2d_forward: x has 3 channels but w "
        r"expects 2 \(w.shape\[0\]\)",
    ):
        csrc.conv_transpose2d_forward(np.ones((1, 3, 4, 4)), np.ones((2, 3, 3, 3)))


def test_conv_transpose2d_rejects_bias_of_wrong_length():
    with pytest.raises(ValueError, match=r"b must have shape \(5,\).*w.shape\[1\]"):
        csrc.conv_transpose2d_forward(np.ones((1, 3, 4, 4)), np.ones((3, 5, 3, 3)), np.ones(3))


def test_conv_transpose2d_rejects_padding_that_leaves_no_output():
    with pytest.raises(ValueError, match=r"output would be -1x-1.*reduce the padding"):
        csrc.conv_transpose2d_forward(np.ones((1, 1, 1, 1)), np.ones((1, 1, 3, 3)), padding=2)


def test_conv_transpose2d_rejects_non_positive_stride():
    with pytest.raises(ValueError, match="stride must be positive"):
        csrc.conv_transpose2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=0)


def test_conv_transpose2d_backward_rejects_dout_of_wrong_shape():
    with pytest.raises(
        ValueError,
        match=r"dout has shape \(1, 2, 5, 5\) but the forward output "
        r"is \(1, 2, 6, 6\)",
    ):
        csrc.conv_transpose2d_backward(np.ones((1, 2, 5, 5)), np.ones((1, 3, 4, 4)), np.ones((3, 2, 3, 3)))


def test_conv_transpose2d_rejects_mixed_dtypes():
    with pytest.raises(TypeError, match=r"dout is float64, x is float32, w is float64"):
        csrc.conv_transpose2d_backward(np.ones((1, 2, 6, 6)), np.ones((1, 3, 4, 4), np.float32), np.ones((3, 2, 3, 3)))
