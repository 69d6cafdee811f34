"""The loss references (solutions.losses) and model answers are right."""

import importlib
import math
import warnings

import numpy as np
import pytest
import torch

from grader.catalogue import EXERCISES
from tests.solutions.gradcheck import numerical_gradient

MODULES = ["solutions.losses", "solutions.model.losses"]
API = [name for name, ex in EXERCISES.items() if ex.module == "losses"]
#: dtype -> (rtol, atol) against an oracle computing in the same dtype.
TOL = {np.float32: (1e-5, 1e-6), np.float64: (1e-12, 1e-14)}
OR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
OR_Y = np.array([0.0, 1.0, 1.0, 1.0])


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def lo(request):
    return importlib.import_module(request.param)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype_pair(request):
    return (request.param, *TOL[request.param])


def probabilities(n, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, size=n).astype(dtype)


def labels01(n, seed=0):
    return np.random.default_rng(seed + 100).integers(0, 2, size=n).astype(np.float64)


def sigmoid_unit_problem(seed=0, n=9, m=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, m)), rng.uniform(0, 1, n), rng.standard_normal(m), float(rng.standard_normal())


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.losses").__all__) == sorted(API)


# --- worked examples of the API document -------------------------------------------------


def test_sigmoid_unit_worked_example(lo):
    loss, grad_w, grad_b = lo.sigmoid_unit_mse_grad(OR_X, OR_Y, np.array([0.2, 0.1]), -0.1)
    assert round(loss, 4) == 0.1130
    np.testing.assert_array_equal(np.round(grad_w, 4), [-0.0575, -0.0591])
    assert round(grad_b, 4) == -0.0591
    assert grad_w.shape == (2,) and np.ndim(grad_b) == 0


def test_gradient_descent_step_worked_example(lo):
    w = np.array([0.2, 0.1])
    w_new, b_new = lo.gradient_descent_step(OR_X, OR_Y, w, -0.1, 0.1)
    np.testing.assert_array_equal(np.round(w_new, 4), [0.2057, 0.1059])
    assert round(b_new, 4) == -0.0941
    np.testing.assert_array_equal(w, [0.2, 0.1])


# --- small exact values -----------------------------------------------------------------


def test_mse_loss_small_example(lo):
    loss, d = lo.mse_loss(np.array([1.0, 2.0, 4.0, 0.0]), np.array([0.0, 2.0, 2.0, 0.0]))
    assert loss == pytest.approx((1 + 0 + 4 + 0) / 4 / 2, rel=1e-15)
    np.testing.assert_allclose(d, [0.25, 0.0, 0.5, 0.0], rtol=1e-15)


def test_binary_cross_entropy_small_example(lo):
    loss, d = lo.binary_cross_entropy(np.array([0.8, 0.25]), np.array([1.0, 0.0]))
    assert loss == pytest.approx(-(math.log(0.8) + math.log(0.75)) / 2, rel=1e-14)
    np.testing.assert_allclose(d, [-1 / 0.8 / 2, 1 / 0.75 / 2], rtol=1e-14)


def test_softmax_cross_entropy_small_example(lo):
    logits = np.array([[0.0, math.log(3.0)], [2.0, 2.0]])
    loss, d = lo.softmax_cross_entropy(logits, np.array([1, 0]))
    assert loss == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2, rel=1e-14)
    np.testing.assert_allclose(d, [[0.125, -0.125], [-0.25, 0.25]], rtol=1e-14)


# --- torch as an independent oracle -------------------------------------------------------


@pytest.mark.torch
def test_mse_loss_matches_torch(lo, dtype_pair):
    dtype, rtol, atol = dtype_pair
    rng = np.random.default_rng(1)
    y_hat, y = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    t = torch.from_numpy(y_hat.copy()).requires_grad_(True)
    expected = torch.nn.functional.mse_loss(t, torch.from_numpy(y)) / 2
    expected.backward()
    loss, d = lo.mse_loss(y_hat, y)
    assert loss == pytest.approx(expected.item(), rel=rtol, abs=atol)
    assert d.shape == y_hat.shape and d.dtype == dtype
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.torch
@pytest.mark.parametrize("extreme", [False, True], ids=["interior", "saturated"])
def test_binary_cross_entropy_matches_torch(lo, dtype_pair, extreme):
    """Also with y_hat exactly 0 and 1, where torch clamps log at -100 as the API does."""
    dtype, rtol, atol = dtype_pair
    y_hat, y = probabilities(12, dtype, seed=2), labels01(12, seed=2)
    if extreme:
        y_hat[:4] = [0.0, 1.0, 0.0, 1.0]
        y[:4] = [0.0, 1.0, 1.0, 0.0]  # two perfect, two infinitely wrong predictions
    y = y.astype(dtype)
    t = torch.from_numpy(y_hat.copy()).requires_grad_(True)
    expected = torch.nn.functional.binary_cross_entropy(t, torch.from_numpy(y))
    expected.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, d = lo.binary_cross_entropy(y_hat, y)
    assert loss == pytest.approx(expected.item(), rel=rtol, abs=atol)
    assert d.shape == y_hat.shape and d.dtype == dtype
    # torch's clamp 1e-12 of y_hat (1 - y_hat) is a float32 constant (9.99999996e-13) even in float64
    grad_rtol = max(rtol, 1e-8) if extreme else rtol
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=grad_rtol, atol=atol)


@pytest.mark.torch
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["ordinary", "huge-logits"])
def test_softmax_cross_entropy_matches_torch(lo, dtype_pair, scale):
    dtype, rtol, atol = dtype_pair
    rng = np.random.default_rng(3)
    logits = (scale * rng.standard_normal((6, 5))).astype(dtype)
    y = rng.integers(0, 5, size=6)
    t = torch.from_numpy(logits.copy()).requires_grad_(True)
    expected = torch.nn.functional.cross_entropy(t, torch.from_numpy(y))
    expected.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, d = lo.softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(expected.item(), rel=rtol, abs=atol)
    assert d.shape == logits.shape and d.dtype == dtype
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.torch
def test_sigmoid_unit_mse_grad_matches_torch_autograd(lo):
    X, y, w, b = sigmoid_unit_problem(seed=4)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y_hat = torch.sigmoid(torch.from_numpy(X) @ tw + tb)
    expected = ((y_hat - torch.from_numpy(y)) ** 2).sum() / (2 * len(y))
    expected.backward()
    loss, grad_w, grad_b = lo.sigmoid_unit_mse_grad(X, y, w, b)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad_w, tw.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert grad_b == pytest.approx(tb.grad.item(), rel=1e-12, abs=1e-15)


# --- central differences ------------------------------------------------------------------


def test_mse_gradient_matches_central_differences(lo):
    rng = np.random.default_rng(5)
    y_hat, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    numeric = numerical_gradient(lambda: lo.mse_loss(y_hat, y)[0], y_hat)
    np.testing.assert_allclose(lo.mse_loss(y_hat, y)[1], numeric, rtol=1e-6, atol=1e-9)


def test_bce_gradient_matches_central_differences(lo):
    y_hat, y = probabilities(10, seed=6), labels01(10, seed=6)
    numeric = numerical_gradient(lambda: lo.binary_cross_entropy(y_hat, y)[0], y_hat)
    np.testing.assert_allclose(lo.binary_cross_entropy(y_hat, y)[1], numeric, rtol=1e-6, atol=1e-9)


def test_softmax_cross_entropy_gradient_matches_central_differences(lo):
    rng = np.random.default_rng(7)
    logits, y = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    numeric = numerical_gradient(lambda: lo.softmax_cross_entropy(logits, y)[0], logits)
    np.testing.assert_allclose(lo.softmax_cross_entropy(logits, y)[1], numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_unit_gradients_match_central_differences(lo):
    X, y, w, b = sigmoid_unit_problem(seed=8)
    b_arr = np.array(b)  # 0-d, so the helper can perturb it in place
    _, grad_w, grad_b = lo.sigmoid_unit_mse_grad(X, y, w, b)
    loss = lambda: lo.sigmoid_unit_mse_grad(X, y, w, b_arr)[0]  # noqa: E731
    np.testing.assert_allclose(grad_w, numerical_gradient(loss, w), rtol=1e-6, atol=1e-10)
    assert grad_b == pytest.approx(float(numerical_gradient(loss, b_arr)), rel=1e-6, abs=1e-10)


def test_gradient_descent_step_moves_against_the_gradient_and_lowers_the_loss(lo):
    X, y, w, b = sigmoid_unit_problem(seed=9)
    loss0, grad_w, grad_b = lo.sigmoid_unit_mse_grad(X, y, w, b)
    w_new, b_new = lo.gradient_descent_step(X, y, w, b, 0.5)
    np.testing.assert_allclose(w_new, w - 0.5 * grad_w, rtol=1e-15)
    assert b_new == pytest.approx(b - 0.5 * grad_b, rel=1e-15)
    assert lo.sigmoid_unit_mse_grad(X, y, w_new, b_new)[0] < loss0
    w_same, b_same = lo.gradient_descent_step(X, y, w, b, 0.0)
    np.testing.assert_array_equal(w_same, w)
    assert b_same == b


# --- stability, boundaries, inputs --------------------------------------------------------


def test_sigmoid_unit_is_stable_for_huge_net_inputs(lo):
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad_w, grad_b = lo.sigmoid_unit_mse_grad(X, y, np.array([1e4]), 0.0)
        w_new, b_new = lo.gradient_descent_step(X, y, np.array([1e4]), 0.0, 0.1)
    assert loss == pytest.approx(2 / 8)  # two saturated right, two saturated wrong
    assert np.all(np.isfinite(grad_w)) and math.isfinite(grad_b) and np.all(np.isfinite(w_new))


def test_losses_of_perfect_predictions_are_zero(lo):
    y = np.array([0.0, 1.0, 1.0])
    assert lo.mse_loss(y, y)[0] == 0.0
    np.testing.assert_array_equal(lo.mse_loss(y, y)[1], 0.0)
    assert lo.binary_cross_entropy(y, y)[0] == 0.0
    np.testing.assert_array_equal(lo.binary_cross_entropy(y, y)[1], 0.0)
    loss, d = lo.softmax_cross_entropy(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([0, 1]))
    assert loss == 0.0
    np.testing.assert_array_equal(d, 0.0)


def test_one_example_and_one_class_edge_cases(lo):
    loss, d = lo.softmax_cross_entropy(np.array([[3.0]]), np.array([0]))
    assert loss == 0.0 and d.shape == (1, 1)
    loss, d = lo.binary_cross_entropy(np.array([0.5]), np.array([1.0]))
    assert loss == pytest.approx(math.log(2)) and d.shape == (1,)


def test_losses_return_python_floats(lo):
    y_hat = probabilities(4, seed=10)
    y = labels01(4, seed=10)
    assert isinstance(lo.mse_loss(y_hat, y)[0], float)
    assert isinstance(lo.binary_cross_entropy(y_hat, y)[0], float)
    assert isinstance(lo.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 2]))[0], float)


def test_inputs_are_never_modified(lo):
    rng = np.random.default_rng(12)
    arrays = {
        "y_hat": probabilities(6, seed=12),
        "y": labels01(6, seed=12),
        "logits": rng.standard_normal((6, 3)),
        "labels": rng.integers(0, 3, 6),
    }
    X, y, w, b = sigmoid_unit_problem(seed=12)
    arrays.update(X=X, yu=y, w=w)
    copies = {k: v.copy() for k, v in arrays.items()}
    lo.mse_loss(arrays["y_hat"], arrays["y"])
    lo.binary_cross_entropy(arrays["y_hat"], arrays["y"])
    lo.softmax_cross_entropy(arrays["logits"], arrays["labels"])
    lo.sigmoid_unit_mse_grad(X, y, w, b)
    lo.gradient_descent_step(X, y, w, b, 0.3)
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, copies[k], err_msg=k)


def test_reference_and_model_agree():
    ref = importlib.import_module("solutions.losses")
    model = importlib.import_module("solutions.model.losses")
    X, y, w, b = sigmoid_unit_problem(seed=13)
    for a, m in zip(ref.sigmoid_unit_mse_grad(X, y, w, b), model.sigmoid_unit_mse_grad(X, y, w, b)):
        np.testing.assert_allclose(a, m, rtol=1e-14)
    logits, labels = np.random.default_rng(13).standard_normal((4, 3)), np.array([0, 2, 1, 1])
    for a, m in zip(ref.softmax_cross_entropy(logits, labels), model.softmax_cross_entropy(logits, labels)):
        np.testing.assert_allclose(a, m, rtol=1e-14)


# --- logistic regression: sigmoid_unit_bce_grad --------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("seed, n, m, scale", [(0, 9, 3, 1.0), (1, 1, 2, 1.0), (2, 12, 4, 30.0)])
def test_sigmoid_unit_bce_grad_matches_torch_bce_with_logits(lo, dtype_pair, seed, n, m, scale):
    import torch

    dtype, rtol, atol = dtype_pair
    rng = np.random.default_rng(seed)
    X, y = (scale * rng.standard_normal((n, m))).astype(dtype), rng.integers(0, 2, n).astype(dtype)
    w, b = rng.standard_normal(m).astype(dtype), float(rng.standard_normal())
    loss, grad_w, grad_b = lo.sigmoid_unit_bce_grad(X, y, w, b)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, dtype=tw.dtype, requires_grad=True)
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ tw + tb, torch.tensor(y))
    t_loss.backward()
    assert isinstance(loss, float) and isinstance(grad_b, float) and grad_w.shape == (m,)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad_w, tw.grad.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad_b, tb.grad.item(), rtol=rtol, atol=atol)


def test_sigmoid_unit_bce_grad_is_stable_for_saturated_units(lo):
    X = np.array([[1e4, -1e4], [-1e4, 1e4], [0.5, 0.5]])
    y = np.array([0.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad_w, grad_b = lo.sigmoid_unit_bce_grad(X, y, np.array([1.0, 0.0]), 0.0)
    assert math.isfinite(loss) and np.all(np.isfinite(grad_w)) and math.isfinite(grad_b)
    assert loss == pytest.approx((1e4 + 1e4 + np.log1p(np.exp(-0.5))) / 3)


def test_sigmoid_unit_bce_grad_matches_the_numerical_gradient(lo):
    X, y, w, b = sigmoid_unit_problem(seed=4)
    y = np.round(y)
    _, grad_w, grad_b = lo.sigmoid_unit_bce_grad(X, y, w, b)
    np.testing.assert_allclose(
        grad_w, numerical_gradient(lambda: lo.sigmoid_unit_bce_grad(X, y, w, b)[0], w), rtol=1e-6, atol=1e-9
    )
    bb = np.array([b])
    num_b = numerical_gradient(lambda: lo.sigmoid_unit_bce_grad(X, y, w, float(bb[0]))[0], bb)
    assert grad_b == pytest.approx(num_b[0], rel=1e-6)
