"""The backprop references (solutions.backprop) and model answers are right."""

import importlib
import warnings

import numpy as np
import pytest
import torch

from grader.catalogue import EXERCISES
from tests.solutions.gradcheck import numerical_gradient

MODULES = ["solutions.backprop", "solutions.model.backprop"]
API = [name for name, ex in EXERCISES.items() if ex.module == "backprop"]
#: dtype -> (rtol, atol) against an oracle computing in the same dtype.
TOL = {np.float32: (2e-5, 2e-6), np.float64: (1e-11, 1e-13)}
ACTIVATIONS = ["tanh", "sigmoid", "relu"]
#: name of an elementwise layer -> the torch function it computes.
TORCH_LAYERS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def bp(request):
    return importlib.import_module(request.param)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype_pair(request):
    return (request.param, *TOL[request.param])


def affine_inputs(N=4, D=5, M=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(
        a.astype(dtype)
        for a in (
            rng.standard_normal((N, D)),
            rng.standard_normal((D, M)),
            rng.standard_normal(M),
            rng.standard_normal((N, M)),
        )
    )


def away_from_zero(shape, seed):
    """Standard normal values at least 1e-3 away from 0 (the ReLU kink)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5
    return x


def net_problem(N=6, D=4, H=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, 2, size=N)
    params = {
        "W1": scale * rng.standard_normal((D, H)),
        "b1": scale * rng.standard_normal(H),
        "W2": scale * rng.standard_normal((H, 1)),
        "b2": scale * rng.standard_normal(1),
    }
    return X, y, params


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.backprop").__all__) == sorted(API)


# --- affine layer ---------------------------------------------------------------------------


def test_affine_small_example(bp):
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = np.array([0.5, -1.0, 0.0])
    out, cache = bp.affine_forward(x, W, b)
    np.testing.assert_array_equal(out, [[5.5, 1.0, 0.0]])
    dx, dW, db = bp.affine_backward(np.array([[1.0, 0.0, 2.0]]), cache)
    np.testing.assert_array_equal(dx, [[-1.0, 3.0]])
    np.testing.assert_array_equal(dW, [[1.0, 0.0, 2.0], [2.0, 0.0, 4.0]])
    np.testing.assert_array_equal(db, [1.0, 0.0, 2.0])


@pytest.mark.torch
def test_affine_matches_torch_forward_and_autograd(bp, dtype_pair):
    dtype, rtol, atol = dtype_pair
    x, W, b, dout = affine_inputs(N=7, D=6, M=5, dtype=dtype, seed=1)
    tx, tW, tb = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, W, b))
    t_out = tx @ tW + tb
    t_out.backward(torch.from_numpy(dout))
    out, cache = bp.affine_forward(x, W, b)
    assert out.shape == (7, 5) and out.dtype == dtype
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=rtol, atol=atol)
    grads = bp.affine_backward(dout, cache)
    for got, t in zip(grads, (tx, tW, tb)):
        assert got.shape == tuple(t.shape) and got.dtype == dtype
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 4), (2, 7, 1), (9, 4, 6)])
def test_affine_backward_matches_central_differences(bp, shape):
    x, W, b, dout = affine_inputs(*shape, seed=2)
    _, cache = bp.affine_forward(x, W, b)
    grads = bp.affine_backward(dout, cache)
    for got, wrt in zip(grads, (x, W, b)):
        numeric = numerical_gradient(lambda: bp.affine_forward(x, W, b)[0], wrt, df=dout)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-9)


def test_affine_integer_inputs_give_float64(bp):
    out, cache = bp.affine_forward(np.ones((2, 3), dtype=int), np.ones((3, 2), dtype=int), np.ones(2, dtype=int))
    np.testing.assert_array_equal(out, 4.0)
    assert np.issubdtype(out.dtype, np.floating)
    dx, dW, db = bp.affine_backward(np.ones((2, 2)), cache)
    assert dx.dtype == dW.dtype == db.dtype == np.float64


def test_reference_affine_runs_on_the_cython_kernel(monkeypatch):
    """One csrc.matmul call forward, two backward, and two_layer_net_loss is built on these layers."""
    import csrc

    ref = importlib.import_module("solutions.backprop")
    calls = []
    real = csrc.matmul
    monkeypatch.setattr(csrc, "matmul", lambda a, b: calls.append((a.shape, b.shape)) or real(a, b))
    x, W, b, dout = affine_inputs(N=4, D=5, M=3, seed=3)
    _, cache = ref.affine_forward(x, W, b)
    assert calls == [((4, 5), (5, 3))]
    ref.affine_backward(dout, cache)
    assert calls[1:] == [((4, 3), (3, 5)), ((5, 4), (4, 3))]
    calls.clear()
    X, y, params = net_problem(N=6, D=4, H=5, seed=3)
    ref.two_layer_net_loss(X, y, params)
    assert len(calls) == 6


# --- elementwise layers ---------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("layer", sorted(TORCH_LAYERS))
def test_elementwise_layers_match_torch_autograd(bp, layer, dtype_pair):
    dtype, rtol, atol = dtype_pair
    x = away_from_zero((5, 4), seed=4).astype(dtype)
    x[0, :2] = 0.0  # ReLU's kink: torch and the API both give gradient 0
    dout = np.random.default_rng(5).standard_normal((5, 4)).astype(dtype)
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    t_out = getattr(torch, TORCH_LAYERS[layer])(t)
    t_out.backward(torch.from_numpy(dout))
    out, cache = getattr(bp, f"{layer}_forward")(x)
    dx = getattr(bp, f"{layer}_backward")(dout, cache)
    assert out.dtype == dx.dtype == dtype and out.shape == dx.shape == x.shape
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("layer", sorted(TORCH_LAYERS))
def test_elementwise_backward_matches_central_differences(bp, layer):
    x = away_from_zero((3, 4), seed=6)
    dout = np.random.default_rng(7).standard_normal((3, 4))
    forward, backward = getattr(bp, f"{layer}_forward"), getattr(bp, f"{layer}_backward")
    numeric = numerical_gradient(lambda: forward(x)[0], x, df=dout)
    np.testing.assert_allclose(backward(dout, forward(x)[1]), numeric, rtol=1e-6, atol=1e-9)


def test_relu_passes_gradient_only_where_input_is_positive(bp):
    out, cache = bp.relu_forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0, 2.0]])
    dout = np.array([[5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(bp.relu_backward(dout, cache), [[0.0, 0.0, 7.0]])
    np.testing.assert_array_equal(dout, [[5.0, 6.0, 7.0]])


def test_sigmoid_layer_is_stable_for_huge_inputs(bp):
    x = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = bp.sigmoid_forward(x)
        dx = bp.sigmoid_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.5, 1.0, 1.0]])
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 0.25, 0.0, 0.0]])


# --- the two-layer network --------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_net_matches_torch_autograd(bp, activation):
    X, y, params = net_problem(N=8, D=4, H=6, seed=8)
    t = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in params.items()}
    hidden = getattr(torch, activation)(torch.from_numpy(X) @ t["W1"] + t["b1"])
    y_hat = torch.sigmoid(hidden @ t["W2"] + t["b2"])[:, 0]
    expected = torch.nn.functional.binary_cross_entropy(y_hat, torch.from_numpy(y).double())
    expected.backward()
    loss, grads = bp.two_layer_net_loss(X, y, params, activation=activation)
    assert isinstance(loss, float) and loss == pytest.approx(expected.item(), rel=1e-12)
    assert sorted(grads) == sorted(params)
    for k in params:
        assert grads[k].shape == params[k].shape, k
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=k)


def test_two_layer_net_default_activation_is_tanh(bp):
    X, y, params = net_problem(seed=9)
    loss, grads = bp.two_layer_net_loss(X, y, params)
    loss_tanh, grads_tanh = bp.two_layer_net_loss(X, y, params, activation="tanh")
    assert loss == loss_tanh
    assert loss != bp.two_layer_net_loss(X, y, params, activation="sigmoid")[0]
    for k in params:
        np.testing.assert_array_equal(grads[k], grads_tanh[k])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_net_gradients_match_central_differences(bp, activation):
    X, y, params = net_problem(N=5, D=3, H=4, seed=10)
    _, grads = bp.two_layer_net_loss(X, y, params, activation=activation)
    for k, p in params.items():
        numeric = numerical_gradient(lambda: bp.two_layer_net_loss(X, y, params, activation=activation)[0], p)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-9, err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_net_is_stable_when_the_output_saturates(bp, activation):
    """Scores of about +-1e4: finite loss and gradients, equal to torch's BCE-with-logits."""
    X, _, params = net_problem(N=6, D=3, H=4, seed=11)
    params["W2"] = params["W2"] * 1e4
    hidden = getattr(torch, activation)(torch.from_numpy(X @ params["W1"] + params["b1"]))
    scores = (hidden @ torch.from_numpy(params["W2"]) + torch.from_numpy(params["b2"]))[:, 0]
    right = (scores > 0).numpy().astype(int)
    y = np.where(np.arange(6) < 3, 1 - right, right)  # three confidently wrong, three confidently right
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads = bp.two_layer_net_loss(X, y, params, activation=activation)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())
    expected = torch.nn.functional.binary_cross_entropy_with_logits(scores, torch.from_numpy(y).double())
    assert loss == pytest.approx(expected.item(), rel=1e-10)
    assert loss > 100  # the wrong ones cost |s| each: the loss is not clamped at log(1e-12) or -100


def test_two_layer_net_rejects_unknown_activation(bp):
    X, y, params = net_problem(seed=12)
    with pytest.raises(ValueError, match="activation"):
        bp.two_layer_net_loss(X, y, params, activation="softplus")


def test_two_layer_net_single_example_single_hidden_unit(bp):
    X = np.array([[2.0]])
    params = {"W1": np.array([[0.5]]), "b1": np.array([0.0]), "W2": np.array([[1.0]]), "b2": np.array([0.0])}
    loss, grads = bp.two_layer_net_loss(X, np.array([1]), params, activation="relu")
    # hidden = 1, s = 1, y_hat = sigma(1): loss = log(1 + e^-1), dL/ds = sigma(1) - 1
    assert loss == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-14)
    ds = 1 / (1 + np.exp(-1.0)) - 1
    np.testing.assert_allclose(grads["b2"], [ds], rtol=1e-14)
    np.testing.assert_allclose(grads["W2"], [[ds]], rtol=1e-14)
    np.testing.assert_allclose(grads["W1"], [[2 * ds]], rtol=1e-14)


# --- inputs and agreement -------------------------------------------------------------------


def test_inputs_are_never_modified(bp):
    x, W, b, dout = affine_inputs(seed=13)
    X, y, params = net_problem(seed=13)
    arrays = [x, W, b, dout, X, y, *params.values()]
    copies = [a.copy() for a in arrays]
    _, cache = bp.affine_forward(x, W, b)
    bp.affine_backward(dout, cache)
    for layer in TORCH_LAYERS:
        _, c = getattr(bp, f"{layer}_forward")(x)
        getattr(bp, f"{layer}_backward")(x, c)
    for activation in ACTIVATIONS:
        bp.two_layer_net_loss(X, y, params, activation=activation)
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_and_model_agree(activation):
    ref = importlib.import_module("solutions.backprop")
    model = importlib.import_module("solutions.model.backprop")
    X, y, params = net_problem(N=7, D=5, H=3, seed=14)
    loss_r, grads_r = ref.two_layer_net_loss(X, y, params, activation=activation)
    loss_m, grads_m = model.two_layer_net_loss(X, y, params, activation=activation)
    assert loss_r == pytest.approx(loss_m, rel=1e-13)
    for k in params:
        np.testing.assert_allclose(grads_r[k], grads_m[k], rtol=1e-12, atol=1e-15, err_msg=k)
    x, W, b, dout = affine_inputs(seed=14)
    (out_r, cache_r), (out_m, cache_m) = ref.affine_forward(x, W, b), model.affine_forward(x, W, b)
    np.testing.assert_allclose(out_r, out_m, rtol=1e-13)
    for a, m in zip(ref.affine_backward(dout, cache_r), model.affine_backward(dout, cache_m)):
        np.testing.assert_allclose(a, m, rtol=1e-12, atol=1e-15)
