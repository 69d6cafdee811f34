"""The regularization references (solutions.regularization) and model answers.

Oracles: torch.nn.functional (dropout's scaling, batch_norm in training mode,
layer_norm) with autograd, in float32 and float64, and central differences
for every backward.
"""

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.catalogue import EXERCISES
from tests.solutions.gradcheck import numerical_gradient

IMPLEMENTATIONS = ["solutions.regularization", "solutions.model.regularization"]
API = [name for name, ex in EXERCISES.items() if ex.module == "regularization"]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
GRADCHECK_TOL = dict(rtol=1e-5, atol=1e-7)


@pytest.fixture(params=IMPLEMENTATIONS, ids=["reference", "model"])
def reg(request):
    return importlib.import_module(request.param)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def rand(rng, *shape, dtype=np.float64, scale=1.0, shift=0.0):
    return (scale * rng.standard_normal(shape) + shift).astype(dtype)


def test_both_modules_define_the_whole_api():
    assert API == [
        "dropout_forward",
        "dropout_backward",
        "batchnorm_forward",
        "batchnorm_backward",
        "layer_norm_forward",
        "layer_norm_backward",
    ]
    for name in IMPLEMENTATIONS:
        assert all(callable(getattr(importlib.import_module(name), f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.regularization").__all__) == sorted(API)


# -- dropout -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_the_api_mask_and_scales_like_torch(reg, dtype, p):
    """Our mask is numpy's (the API fixes it); what torch's F.dropout decides is
    the scaling: the ratio out / x on kept units, and 0 elsewhere."""
    x = rand(np.random.default_rng(0), 40, 50, dtype=dtype, shift=3.0)  # no zeros in x
    out, cache = reg.dropout_forward(x, p, seed=11)
    keep = np.random.default_rng(11).random(x.shape) >= p
    np.testing.assert_array_equal(out != 0, keep)
    torch.manual_seed(0)
    t_out = F.dropout(torch.tensor(x), p=p, training=True).numpy()
    torch_ratio = np.unique(np.round(t_out[t_out != 0] / x[t_out != 0], 4 if dtype == np.float32 else 10))
    ours_ratio = np.unique(np.round(out[keep] / x[keep], 4 if dtype == np.float32 else 10))
    assert len(torch_ratio) == 1 and np.array_equal(torch_ratio, ours_ratio)
    assert out.dtype == dtype
    dout = rand(np.random.default_rng(1), 40, 50, dtype=dtype)
    t_x = torch.tensor(x, requires_grad=True)
    torch.manual_seed(0)
    F.dropout(t_x, p=p, training=True).backward(torch.tensor(dout))
    t_grad = t_x.grad.numpy()
    np.testing.assert_allclose(
        reg.dropout_backward(dout, cache)[keep] / dout[keep],
        np.full(keep.sum(), (t_grad[t_grad != 0] / dout[t_grad != 0])[0]),
        **TOL[dtype],
    )
    assert np.all(reg.dropout_backward(dout, cache)[~keep] == 0)


@pytest.mark.parametrize("p, train", [(0.5, False), (0.0, True), (0.0, False)])
def test_dropout_is_the_identity_at_test_time_or_with_p_zero_like_torch(reg, p, train):
    x = rand(np.random.default_rng(2), 6, 7)
    out, cache = reg.dropout_forward(x, p, train=train)
    np.testing.assert_array_equal(out, F.dropout(torch.tensor(x), p=p, training=train).numpy())
    np.testing.assert_array_equal(out, x)
    dout = rand(np.random.default_rng(3), 6, 7)
    np.testing.assert_array_equal(reg.dropout_backward(dout, cache), dout)


def test_dropout_refuses_p_outside_0_1(reg):
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="p"):
            reg.dropout_forward(np.ones(3), p)


def test_dropout_backward_matches_the_numerical_gradient(reg):
    x = rand(np.random.default_rng(4), 3, 5)
    dout = rand(np.random.default_rng(5), 3, 5)
    dx = reg.dropout_backward(dout, reg.dropout_forward(x, 0.4, seed=9)[1])
    num = numerical_gradient(lambda: reg.dropout_forward(x, 0.4, seed=9)[0], x, dout)
    np.testing.assert_allclose(dx, num, **GRADCHECK_TOL)


# -- batch norm and layer norm ------------------------------------------------------------------


def torch_norm(kind, x, gamma, beta, dout, eps):
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    if kind == "batch":
        out = F.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    else:
        out = F.layer_norm(tx, (x.shape[-1],), tg, tb, eps=eps)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()


NORMS = {"batch": ("batchnorm_forward", "batchnorm_backward"), "layer": ("layer_norm_forward", "layer_norm_backward")}


@pytest.mark.parametrize(
    "kind, shape, eps",
    [
        ("batch", (8, 5), 1e-5),
        ("batch", (3, 7), 1e-3),
        ("batch", (2, 4), 1e-5),
        ("layer", (6, 5), 1e-5),
        ("layer", (2, 3, 8), 1e-5),
        ("layer", (2, 2, 3, 4), 1e-3),
    ],
)
def test_normalisation_and_its_gradients_match_torch(reg, dtype, kind, shape, eps):
    rng = np.random.default_rng(6)
    x = rand(rng, *shape, dtype=dtype, scale=2.0, shift=1.5)
    gamma, beta = rand(rng, shape[-1], dtype=dtype, shift=1.0), rand(rng, shape[-1], dtype=dtype)
    dout = rand(rng, *shape, dtype=dtype)
    forward, backward = (getattr(reg, f) for f in NORMS[kind])
    out, cache = forward(x, gamma, beta, eps=eps)
    grads = backward(dout, cache)
    want = torch_norm(kind, x, gamma, beta, dout, eps)
    for got, expected in zip((out,) + tuple(grads), want):
        assert got.dtype == dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOL[dtype])


@pytest.mark.parametrize("kind, shape", [("batch", (4, 3)), ("layer", (3, 4)), ("layer", (2, 3, 4))])
def test_normalisation_backward_matches_the_numerical_gradient(reg, kind, shape):
    rng = np.random.default_rng(7)
    x, gamma, beta = rand(rng, *shape), rand(rng, shape[-1], shift=1.0), rand(rng, shape[-1])
    dout = rand(rng, *shape)
    forward, backward = (getattr(reg, f) for f in NORMS[kind])
    grads = backward(dout, forward(x, gamma, beta)[1])
    for arr, grad in zip((x, gamma, beta), grads):
        num = numerical_gradient(lambda: forward(x, gamma, beta)[0], arr, dout)
        np.testing.assert_allclose(grad, num, **GRADCHECK_TOL)


def test_batchnorm_small_example_and_a_constant_feature(reg):
    out, _ = reg.batchnorm_forward(np.array([[1.0, 2.0], [3.0, 6.0]]), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(out, [[-1, -1], [1, 1]], atol=1e-5)
    x = np.array([[1.0, 2.5], [3.0, 2.5], [5.0, 2.5]])
    out, cache = reg.batchnorm_forward(x, np.ones(2), np.full(2, 0.25))
    assert np.all(np.isfinite(out)) and np.all(out[:, 1] == 0.25)
    assert np.all(np.isfinite(reg.batchnorm_backward(np.ones_like(x), cache)[0]))


def test_batchnorm_refuses_anything_but_a_matrix(reg):
    with pytest.raises(ValueError, match="N, D"):
        reg.batchnorm_forward(np.ones((2, 3, 4)), np.ones(4), np.zeros(4))


@pytest.mark.parametrize("name", ["dropout_forward", "batchnorm_forward", "layer_norm_forward"])
def test_forward_and_backward_leave_their_inputs_unchanged(reg, name):
    rng = np.random.default_rng(8)
    x, gamma, beta = rand(rng, 4, 3), rand(rng, 3), rand(rng, 3)
    args = (x, 0.5) if name == "dropout_forward" else (x, gamma, beta)
    before = [np.copy(a) for a in args]
    out, cache = getattr(reg, name)(*args)
    dout = rand(rng, *out.shape)
    dout_before = dout.copy()
    getattr(reg, name.replace("forward", "backward"))(dout, cache)
    assert all(np.array_equal(a, b) for a, b in zip(args, before)) and np.array_equal(dout, dout_before)
