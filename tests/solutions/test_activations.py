"""The activation references (solutions.activations) and model answers are right."""

import importlib
import math
import warnings

import numpy as np
import pytest
import torch

from tests.solutions.gradcheck import numerical_gradient

MODULES = ["solutions.activations", "solutions.model.activations"]
API = ["sigmoid", "sigmoid_grad", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "softmax"]
#: dtype -> (rtol, atol) against an oracle computing in the same dtype.
TOL = {np.float32: (1e-5, 1e-6), np.float64: (1e-12, 1e-14)}
EXTREMES = np.array([-1e4, -1000.0, -750.0, -50.0, -1e-300, 0.0, 1e-300, 50.0, 750.0, 1000.0, 1e4])


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def act(request):
    return importlib.import_module(request.param)


def random_z(shape, dtype, seed=0):
    """Values spread over [-6, 6], kept 1e-3 away from 0 (the kinks of ReLU)."""
    z = np.random.default_rng(seed).uniform(-6, 6, size=shape)
    z[np.abs(z) < 1e-3] = 0.5
    return z.astype(dtype)


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.activations").__all__) == sorted(API)


def test_sigmoid_known_values(act):
    z = np.array([0.0, math.log(3.0), -math.log(3.0), 2.0])
    expected = np.array([0.5, 0.75, 0.25, 1 / (1 + math.exp(-2.0))])
    np.testing.assert_allclose(act.sigmoid(z), expected, rtol=1e-15)
    np.testing.assert_allclose(act.sigmoid_grad(z), expected * (1 - expected), rtol=1e-15)


def test_tanh_grad_known_values(act):
    np.testing.assert_allclose(act.tanh_grad(np.array([0.0, 1.0])), [1.0, 1 - math.tanh(1.0) ** 2], rtol=1e-15)


def test_relu_family_at_and_around_zero(act):
    z = np.array([-2.0, -0.0, 0.0, 3.0])
    np.testing.assert_array_equal(act.relu(z), [0.0, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(act.relu_grad(z), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(act.leaky_relu(z, alpha=0.1), [-0.2, 0.0, 0.0, 3.0], rtol=1e-15)
    np.testing.assert_array_equal(act.leaky_relu_grad(z, alpha=0.1), [0.1, 0.1, 0.1, 1.0])
    np.testing.assert_allclose(act.leaky_relu(z), [-0.02, 0.0, 0.0, 3.0], rtol=1e-15)
    np.testing.assert_array_equal(act.leaky_relu_grad(z), [0.01, 0.01, 0.01, 1.0])


def test_softmax_known_values_and_axis(act):
    z = np.array([[0.0, math.log(3.0)], [1.0, 1.0]])
    np.testing.assert_allclose(act.softmax(z), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(
        act.softmax(z, axis=0),
        [[1 / (1 + math.e), 3 / (3 + math.e)], [math.e / (1 + math.e), math.e / (3 + math.e)]],
        rtol=1e-14,
    )


def test_softmax_is_shift_invariant_and_sums_to_one(act):
    z = random_z((3, 4, 5), np.float64)
    for axis in (0, 1, -1):
        p = act.softmax(z, axis=axis)
        np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-14)
        np.testing.assert_allclose(act.softmax(z + 123.0, axis=axis), p, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sigmoid", "relu", "leaky_relu", "softmax"])
def test_functions_match_torch(act, name, dtype_pair):
    F = torch.nn.functional
    oracle = {
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.01),
        "softmax": lambda t: torch.softmax(t, dim=-1),
    }[name]
    dtype, rtol, atol = dtype_pair
    z = random_z((4, 7), dtype, seed=1)
    got = getattr(act, name)(z)
    assert got.dtype == dtype and got.shape == z.shape
    np.testing.assert_allclose(got, oracle(torch.from_numpy(z)).numpy(), rtol=rtol, atol=atol)


@pytest.mark.torch
@pytest.mark.parametrize(
    "name, torch_name",
    [("sigmoid_grad", "sigmoid"), ("tanh_grad", "tanh"), ("relu_grad", "relu"), ("leaky_relu_grad", "leaky_relu")],
)
def test_derivatives_match_torch_autograd(act, name, torch_name, dtype_pair):
    F = torch.nn.functional
    fn = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.01),
    }[torch_name]
    dtype, rtol, atol = dtype_pair
    z = random_z((5, 6), dtype, seed=2)
    z[0, :3] = 0.0  # the kink: both torch and the API say 0 (ReLU) and alpha (leaky)
    t = torch.from_numpy(z.copy()).requires_grad_(True)
    fn(t).sum().backward()
    got = getattr(act, name)(z)
    assert got.dtype == dtype and got.shape == z.shape
    np.testing.assert_allclose(got, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "name, fn", [("sigmoid_grad", "sigmoid"), ("relu_grad", "relu"), ("leaky_relu_grad", "leaky_relu")]
)
def test_derivatives_match_central_differences(act, name, fn):
    z = random_z((3, 5), np.float64, seed=3)
    numeric = numerical_gradient(lambda: getattr(act, fn)(z), z)
    np.testing.assert_allclose(getattr(act, name)(z), numeric, rtol=1e-6, atol=1e-9)


def test_tanh_grad_matches_central_differences(act):
    z = random_z((3, 5), np.float64, seed=4)
    np.testing.assert_allclose(act.tanh_grad(z), numerical_gradient(lambda: np.tanh(z), z), rtol=1e-6, atol=1e-9)


def test_softmax_jacobian_matches_central_differences(act):
    """d softmax_k / d z_j = p_k (delta_kj - p_j): checks softmax along a non-default axis."""
    z = random_z((4, 3), np.float64, seed=5)
    p = act.softmax(z, axis=0)
    df = np.random.default_rng(6).standard_normal(z.shape)
    analytic = p * (df - np.sum(df * p, axis=0, keepdims=True))
    np.testing.assert_allclose(
        numerical_gradient(lambda: act.softmax(z, axis=0), z, df=df), analytic, rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_no_warning_and_finite_values(act, dtype):
    z = EXTREMES.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid(z)
        outputs = [
            s,
            act.sigmoid_grad(z),
            act.tanh_grad(z),
            act.relu(z),
            act.relu_grad(z),
            act.leaky_relu(z),
            act.leaky_relu_grad(z),
            act.softmax(z),
            act.softmax(-z),
            act.softmax(np.stack([z, -z]), axis=0),
        ]
    for out in outputs:
        assert np.all(np.isfinite(out)) and out.dtype == dtype
    assert s[0] == 0.0 and s[-1] == 1.0 and s[5] == 0.5
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(act.softmax(z).sum(), 1.0, rtol=1e-6)
    assert act.softmax(z)[-1] == pytest.approx(1.0)


def test_sigmoid_keeps_precision_for_large_negative_inputs(act):
    """The naive 1/(1+exp(-z)) is fine here, but e/(1+e) must give exp(z), not 0, for z = -700."""
    np.testing.assert_allclose(act.sigmoid(np.array([-700.0, -40.0])), np.exp([-700.0, -40.0]), rtol=1e-12)


def test_integer_inputs_give_float64(act):
    z = np.array([-2, 0, 3])
    for name in API:
        out = getattr(act, name)(z)
        assert out.dtype == np.float64, name


def test_inputs_are_never_modified(act):
    z = random_z((3, 4), np.float64, seed=7)
    z_copy = z.copy()
    for name in API:
        getattr(act, name)(z)
        np.testing.assert_array_equal(z, z_copy, err_msg=name)


def test_reference_and_model_agree():
    ref = importlib.import_module("solutions.activations")
    model = importlib.import_module("solutions.model.activations")
    z = random_z((6, 5), np.float64, seed=8)
    for name in API:
        np.testing.assert_allclose(getattr(ref, name)(z), getattr(model, name)(z), rtol=1e-14, atol=0, err_msg=name)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype_pair(request):
    return (request.param, *TOL[request.param])
