"""The optimiser references (solutions.optim) and model answers (solutions.model.optim).

Oracle: torch.optim (SGD with momentum, RMSprop, Adam) driven over several
steps with the same gradients, in float32 and float64.
"""

import importlib

import numpy as np
import pytest
import torch

from grader.catalogue import EXERCISES

IMPLEMENTATIONS = ["solutions.optim", "solutions.model.optim"]
API = [name for name, ex in EXERCISES.items() if ex.module == "optim"]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
STEPS = 7


@pytest.fixture(params=IMPLEMENTATIONS, ids=["reference", "model"])
def opt(request):
    return importlib.import_module(request.param)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def problem(dtype, seed=0, shape=(3, 4)):
    """A least-squares loss whose gradient depends on w, so trajectories diverge on any slip."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((5,) + shape[:1]).astype(dtype)
    Y = rng.standard_normal((5,) + shape[1:]).astype(dtype)
    w0 = rng.standard_normal(shape).astype(dtype)

    def grad(w):
        return (2 * A.T @ (A @ w - Y)).astype(dtype)

    return w0, grad


def run_torch(optimizer_of, w0, grad, dtype):
    p = torch.nn.Parameter(torch.tensor(w0, dtype=TORCH_DTYPE[dtype]))
    optimizer = optimizer_of([p])
    trajectory = []
    for _ in range(STEPS):
        p.grad = torch.tensor(grad(p.detach().numpy()))
        optimizer.step()
        trajectory.append(p.detach().numpy().copy())
    return trajectory


def test_both_modules_define_the_whole_api():
    assert API == ["sgd_momentum_step", "rmsprop_step", "adam_step"]
    for name in IMPLEMENTATIONS:
        assert all(callable(getattr(importlib.import_module(name), f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.optim").__all__) == sorted(API)


@pytest.mark.parametrize("lr, gamma", [(0.01, 0.9), (0.05, 0.5)])
def test_momentum_follows_torch_sgd_over_several_steps(opt, dtype, lr, gamma):
    w0, grad = problem(dtype)
    want = run_torch(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=gamma), w0, grad, dtype)
    w, m = w0.copy(), np.zeros_like(w0)
    for step in range(STEPS):
        w, m = opt.sgd_momentum_step(w, grad(w), m, lr, gamma=gamma)
        assert w.dtype == dtype and m.dtype == dtype
        np.testing.assert_allclose(w, want[step], **TOL[dtype])


@pytest.mark.parametrize("lr, alpha", [(0.01, 0.99), (0.003, 0.9)])
def test_rmsprop_follows_torch_rmsprop_over_several_steps(opt, dtype, lr, alpha):
    w0, grad = problem(dtype, seed=1)
    want = run_torch(lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=alpha, eps=1e-8), w0, grad, dtype)
    w, s = w0.copy(), np.zeros_like(w0)
    for step in range(STEPS):
        w, s = opt.rmsprop_step(w, grad(w), s, lr, alpha=alpha)
        np.testing.assert_allclose(w, want[step], **TOL[dtype])


@pytest.mark.parametrize("lr, betas", [(1e-3, (0.9, 0.999)), (0.05, (0.5, 0.9))])
def test_adam_follows_torch_adam_over_several_steps(opt, dtype, lr, betas):
    w0, grad = problem(dtype, seed=2, shape=(4,))
    want = run_torch(lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas, eps=1e-8), w0, grad, dtype)
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, STEPS + 1):
        w, m, v = opt.adam_step(w, grad(w), m, v, t, lr=lr, beta1=betas[0], beta2=betas[1])
        np.testing.assert_allclose(w, want[t - 1], **TOL[dtype])


def test_momentum_small_example_by_hand(opt):
    w, m = opt.sgd_momentum_step(np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([0.1, -0.2]), 0.1)
    np.testing.assert_allclose(m, [0.14, -0.08], rtol=1e-12)
    np.testing.assert_allclose(w, [0.86, -1.92], rtol=1e-12)


def test_adam_first_step_moves_each_entry_by_about_lr(opt):
    w0, dw = np.array([1.0, -1.0, 0.5]), np.array([0.1, -0.2, 0.0])
    w, m, v = opt.adam_step(w0, dw, np.zeros(3), np.zeros(3), 1, lr=0.1)
    np.testing.assert_allclose(w - w0, [-0.1, 0.1, 0.0], rtol=1e-6)
    np.testing.assert_allclose(m, 0.1 * dw) and np.testing.assert_allclose(v, 0.001 * dw**2)


def test_adam_refuses_a_step_number_below_one(opt):
    with pytest.raises(ValueError, match="t"):
        opt.adam_step(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 0)


@pytest.mark.parametrize("name, extra", [("sgd_momentum_step", (0.1,)), ("rmsprop_step", (0.1,)), ("adam_step", (3,))])
def test_steps_leave_their_inputs_unchanged(opt, name, extra):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(4) for _ in range(2)] + [
        np.abs(rng.standard_normal(4)) for _ in range(2 if name == "adam_step" else 1)
    ]
    before = [a.copy() for a in arrays]
    getattr(opt, name)(*arrays, *extra)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, before))
