"""The gradient checker's reference (solutions.gradcheck) and model answer.

Oracles: functions with known derivatives, and the tests' own central
differences (tests/solutions/gradcheck.py).
"""

import importlib

import numpy as np
import pytest

from grader.catalogue import EXERCISES, UNGRADED
from tests.solutions import gradcheck as oracle

IMPLEMENTATIONS = ["solutions.gradcheck", "solutions.model.gradcheck"]
API = [n for n, (m, _) in UNGRADED.items() if m == "gradcheck"] + [
    n for n, ex in EXERCISES.items() if ex.module == "gradcheck"
]


@pytest.fixture(params=IMPLEMENTATIONS, ids=["reference", "model"])
def gc(request):
    return importlib.import_module(request.param)


def test_both_modules_define_the_whole_api():
    assert API == ["numerical_gradient", "rel_error"]
    for name in IMPLEMENTATIONS:
        assert all(callable(getattr(importlib.import_module(name), f, None)) for f in API), name


@pytest.mark.parametrize(
    "f, df",
    [
        (lambda x: np.sum(x**2), lambda x: 2 * x),
        (lambda x: np.sum(np.sin(x)), np.cos),
        (lambda x: float(np.prod(x[0, :2])), None),
    ],
)
def test_numerical_gradient_of_known_functions(gc, f, df):
    x = np.random.default_rng(0).standard_normal((3, 4))
    before = x.copy()
    grad = gc.numerical_gradient(f, x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert np.array_equal(x, before), "x is unchanged afterwards"
    want = df(x) if df else np.zeros_like(x)
    if df is None:
        want[0, 0], want[0, 1] = x[0, 1], x[0, 0]
    np.testing.assert_allclose(grad, want, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_sees_a_closure_that_ignores_its_argument(gc):
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(gc.numerical_gradient(lambda _: float(np.sum(x**3)), x), 3 * x**2, rtol=1e-8)


def test_numerical_gradient_agrees_with_the_tests_oracle_on_a_layer(gc):
    rng = np.random.default_rng(1)
    x, W, dout = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    ours = gc.numerical_gradient(lambda _: float(np.sum(np.tanh(x @ W) * dout)), W)
    np.testing.assert_allclose(ours, oracle.numerical_gradient(lambda: np.tanh(x @ W), W, dout), rtol=1e-7, atol=1e-10)


def test_numerical_gradient_restores_x_when_f_raises(gc):
    x = np.array([1.0, 2.0])

    def f(v):
        if v[0] > 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        gc.numerical_gradient(f, x)
    assert np.array_equal(x, [1.0, 2.0])


def test_numerical_gradient_refuses_an_integer_array(gc):
    with pytest.raises(TypeError, match="float"):
        gc.numerical_gradient(lambda v: 0.0, np.arange(3))


def test_rel_error_is_the_largest_symmetric_relative_difference(gc):
    assert gc.rel_error(np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.2, 0.0])) == pytest.approx(0.2 / 4.2)
    assert gc.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gc.rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    assert gc.rel_error(3.0, -3.0) == 1.0 and isinstance(gc.rel_error(1.0, 2.0), float)
    a, b = np.random.default_rng(2).standard_normal((2, 5))
    assert gc.rel_error(a, b) == gc.rel_error(b, a)
