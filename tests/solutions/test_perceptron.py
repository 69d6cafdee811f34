"""The perceptron references (solutions.perceptron) and model answers are right."""

import importlib

import numpy as np
import pytest

from grader.catalogue import EXERCISES

MODULES = ["solutions.perceptron", "solutions.model.perceptron"]
API = [name for name, ex in EXERCISES.items() if ex.module == "perceptron"]
OR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
OR_Y = np.array([0, 1, 1, 1])
AND_Y = np.array([0, 0, 0, 1])
XOR_Y = np.array([0, 1, 1, 0])


@pytest.fixture(params=MODULES, ids=["reference", "model"])
def pc(request):
    return importlib.import_module(request.param)


def test_both_modules_define_the_whole_api():
    for name in MODULES:
        mod = importlib.import_module(name)
        assert all(callable(getattr(mod, f, None)) for f in API), name
    assert sorted(importlib.import_module("solutions.perceptron").__all__) == sorted(API)


def test_step_is_one_only_for_strictly_positive_inputs(pc):
    out = pc.step(np.array([[-1.5, -0.0], [0.0, 1e-12]]))
    np.testing.assert_array_equal(out, [[0, 0], [0, 1]])
    assert np.issubdtype(out.dtype, np.integer) and out.shape == (2, 2)


def test_predict_one_example_gives_a_python_or_numpy_int(pc):
    got = pc.perceptron_predict(np.array([1.0, 1.0]), -0.5, np.array([0, 1]))
    assert got == 1 and isinstance(got, (int, np.integer)) and not isinstance(got, bool)
    assert pc.perceptron_predict(np.array([1.0, 1.0]), -0.5, np.array([0, 0])) == 0


def test_predict_batch_gives_an_int_array(pc):
    got = pc.perceptron_predict(np.array([1.0, 1.0]), -1.5, OR_X)
    np.testing.assert_array_equal(got, AND_Y)
    assert got.shape == (4,) and np.issubdtype(got.dtype, np.integer)


def test_predict_at_zero_net_input_is_zero(pc):
    np.testing.assert_array_equal(pc.perceptron_predict(np.array([1.0, -1.0]), 0.0, OR_X), [0, 0, 1, 0])


@pytest.mark.parametrize(
    "y, expected_w, expected_b",
    [
        (1, [1.5, 0.0, -1.0], 0.5),  # y_hat 0, err +1
        (0, [1.0, 2.0, 3.0], 0.0),
    ],
)  # correct: unchanged
def test_update_follows_the_learning_rule(pc, y, expected_w, expected_b):
    w = np.array([1.0, 2.0, 3.0])
    x = np.array([1.0, -4.0, -8.0])  # z = 1 - 8 - 24 = -31 -> y_hat = 0
    w_new, b_new = pc.perceptron_update(w, 0.0, x, y, lr=0.5)
    np.testing.assert_allclose(w_new, expected_w, rtol=0, atol=0)
    assert b_new == expected_b


def test_update_with_negative_error_moves_away(pc):
    w_new, b_new = pc.perceptron_update(np.array([1.0, 1.0]), 0.5, np.array([1.0, 2.0]), 0)
    np.testing.assert_array_equal(w_new, [0.0, -1.0])
    assert b_new == -0.5


def test_update_never_modifies_its_inputs(pc):
    w, x = np.array([0.0, 0.0]), np.array([1.0, 1.0])
    w_new, _ = pc.perceptron_update(w, 0.0, x, 1)
    np.testing.assert_array_equal(w, [0.0, 0.0])
    np.testing.assert_array_equal(x, [1.0, 1.0])
    assert w_new is not w


def test_or_gate_worked_example_after_epoch_one(pc):
    """The API document: OR gate, order 3,4,1,2 (1-based) gives w = [1, 1], b = 1 after epoch 1."""
    w, b, updates = pc.perceptron_train(OR_X, OR_Y, epochs=1, orders=[[2, 3, 0, 1]])
    np.testing.assert_array_equal(w, [1.0, 1.0])
    assert b == 1.0 and updates == [3]


def test_or_gate_with_fixed_order_converges(pc):
    w, b, updates = pc.perceptron_train(OR_X, OR_Y, epochs=10, orders=[[2, 3, 0, 1]] * 10)
    np.testing.assert_array_equal(w, [1.0, 1.0])
    assert b == 0.0 and updates == [3, 1, 0]
    np.testing.assert_array_equal(pc.perceptron_predict(w, b, OR_X), OR_Y)


@pytest.mark.parametrize(
    "second, expected_w, expected_b, expected_updates",
    [
        # epoch 1 (both cases), AND gate, order 4,3,2,1 from zeros: (1,1) +1 -> w=[1,1], b=1;
        # (1,0) -1 -> w=[0,1], b=0; (0,1) -1 -> w=[0,0], b=-1; (0,0) correct.
        ([0, 1, 2, 3], [1.0, 1.0], 0.0, [3, 1]),  # only (1,1) is wrong: +1
        ([3, 2, 1, 0], [0.0, 1.0], -1.0, [3, 2]),  # (1,1) +1, then (1,0) z=1: -1
    ],
)
def test_train_visits_each_epoch_in_its_own_order(pc, second, expected_w, expected_b, expected_updates):
    w, b, updates = pc.perceptron_train(OR_X, AND_Y, epochs=2, orders=[[3, 2, 1, 0], second])
    np.testing.assert_array_equal(w, expected_w)
    assert b == expected_b and updates == expected_updates


@pytest.mark.parametrize("y", [OR_Y, AND_Y], ids=["OR", "AND"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_shuffled_training_separates_linearly_separable_gates(pc, y, seed):
    w, b, updates = pc.perceptron_train(OR_X, y, epochs=50, seed=seed)
    assert updates[-1] == 0 and all(u > 0 for u in updates[:-1])
    np.testing.assert_array_equal(pc.perceptron_predict(w, b, OR_X), y)


def test_shuffle_uses_one_generator_from_the_seed(pc):
    """Same result as passing the permutations of default_rng(seed) explicitly."""
    rng = np.random.default_rng(5)
    orders = [rng.permutation(4) for _ in range(20)]
    expected = pc.perceptron_train(OR_X, AND_Y, epochs=20, orders=orders)
    got = pc.perceptron_train(OR_X, AND_Y, epochs=20, seed=5)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1:] == expected[1:]


def test_xor_never_converges_and_runs_all_epochs(pc):
    w, b, updates = pc.perceptron_train(OR_X, XOR_Y, epochs=7, seed=3)
    assert len(updates) == 7 and all(u > 0 for u in updates)
    assert w.shape == (2,)


def test_learning_rate_scales_weights(pc):
    w1, b1, u1 = pc.perceptron_train(OR_X, AND_Y, epochs=30, orders=[[3, 1, 2, 0]] * 30, lr=1.0)
    w2, b2, u2 = pc.perceptron_train(OR_X, AND_Y, epochs=30, orders=[[3, 1, 2, 0]] * 30, lr=0.25)
    np.testing.assert_allclose(w2, 0.25 * w1)
    assert b2 == pytest.approx(0.25 * b1) and u1 == u2


def test_train_rejects_too_few_orders(pc):
    with pytest.raises(ValueError):
        pc.perceptron_train(OR_X, OR_Y, epochs=3, orders=[[0, 1, 2, 3]])


def test_train_never_modifies_its_inputs(pc):
    X, y = OR_X.copy(), OR_Y.copy()
    orders = [np.array([2, 3, 0, 1])] * 10
    pc.perceptron_train(X, y, orders=orders)
    np.testing.assert_array_equal(X, OR_X)
    np.testing.assert_array_equal(y, OR_Y)
    np.testing.assert_array_equal(orders[0], [2, 3, 0, 1])


def test_reference_and_model_agree():
    ref = importlib.import_module("solutions.perceptron")
    model = importlib.import_module("solutions.model.perceptron")
    rng = np.random.default_rng(11)
    X = rng.standard_normal((20, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0.1).astype(int)
    a, b = ref.perceptron_train(X, y, epochs=25, seed=2), model.perceptron_train(X, y, epochs=25, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    np.testing.assert_array_equal(ref.perceptron_predict(a[0], a[1], X), model.perceptron_predict(a[0], a[1], X))
