"""The scalar test functions numerical_gradient is graded with (grader/worker/scalar_functions.py).

Oracle: the closed-form derivatives of tests/grader/bugs_second_edition.py
(written from the formulas, not from the registry).
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from grader.spec import Case
from grader.worker import scalar_functions as sf
from grader.worker.protocol import run_protocol
from grader.worker.scalar_functions import SCALAR_FUNCTIONS, build, describe
from grader.worker.wire import plain
from solutions.model.gradcheck import numerical_gradient
from tests.grader.bugs_second_edition import exact_derivative

_rng = np.random.default_rng(3)
#: One description per registry entry, at a point of its own shape.
EXAMPLES = {
    "sum_of_squares": (describe("sum_of_squares"), _rng.standard_normal((2, 3))),
    "sum_of_cubes": (describe("sum_of_cubes"), _rng.standard_normal(5)),
    "sin_exp": (describe("sin_exp"), _rng.standard_normal((2, 2, 3))),
    "weighted_tanh": (describe("weighted_tanh", {"w": _rng.standard_normal((3, 4))}), _rng.standard_normal((3, 4))),
    "softmax_loss": (
        describe("softmax_loss", {"labels": np.array([[0, 2], [1, 1]])}),
        _rng.standard_normal((2, 2, 3)),
    ),
}


def test_every_registry_entry_has_an_example():
    assert set(EXAMPLES) == set(SCALAR_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_central_differences_of_each_function_agree_with_its_derivative(name):
    spec, x = EXAMPLES[name]
    f = build(spec, x)
    assert type(f(x)) is float
    exact = exact_derivative(Case(name, args=(spec, x)))
    np.testing.assert_allclose(numerical_gradient(f, x), exact, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_description_crosses_the_wire_and_builds_the_same_function(name):
    spec, x = EXAMPLES[name]
    again = plain(spec)
    assert (again["name"], again["reads_x"], sorted(again["params"])) == (name, False, sorted(spec["params"]))
    assert all(np.array_equal(again["params"][k], v) for k, v in spec["params"].items())
    assert build(again, x)(x) == build(spec, x)(x)


def test_f_reads_its_argument_at_each_call_so_nudging_x_in_place_moves_it():
    spec, x = EXAMPLES["sum_of_cubes"]
    x = x.copy()
    f = build(spec, x)
    before = f(x)
    x[2] += 0.5
    assert f(x) != before
    x[2] -= 0.5
    assert f(x) == pytest.approx(before, rel=1e-15)


def test_a_function_that_reads_x_ignores_its_argument_and_sees_only_x_itself():
    x = np.array([1.0, 2.0, -1.0])
    f = build(describe("sum_of_cubes", reads_x=True), x)
    nudged_copy = x.copy()
    nudged_copy[0] += 1.0
    assert f(nudged_copy) == f(x) == f(None) == 8.0
    x[0] += 1.0
    assert f(np.zeros(3)) == 15.0
    x[0] -= 1.0
    # the protocol hands the student the x the function reads
    args = (describe("sum_of_cubes", reads_x=True), x)
    seen = run_protocol("higher_order", lambda g, v, h=1e-5: (g, v), None, args, {}, ())
    seen[1][1] = 5.0
    assert seen[0]("anything") == 1.0 + 125.0 - 1.0


def test_the_parameters_are_private_copies():
    w = np.ones((2, 2))
    spec = describe("weighted_tanh", {"w": w})
    x = np.full((2, 2), 0.5)
    f = build(spec, x)
    before = f(x)
    w[:] = 0.0
    spec["params"]["w"] = np.zeros((2, 2))
    assert f(x) == before


@pytest.mark.parametrize("name, says", [("weighted_tanh", "x's shape (3, 4)"), ("softmax_loss", "(2, 2) + (C,)")])
def test_a_wrong_shape_raises_saying_what_f_takes(name, says):
    spec, x = EXAMPLES[name]
    with pytest.raises(ValueError) as info:
        build(spec, x)(x.reshape(-1))
    assert says in str(info.value) and "got shape (12,)" in str(info.value)


def test_unknown_names_are_refused():
    with pytest.raises(KeyError):
        describe("open_a_file")
    with pytest.raises(KeyError):
        build({"name": "__class__", "params": {}}, np.zeros(2))


def test_the_callable_reaches_nothing_but_numpy_and_the_registry():
    """What a student can introspect in the f they get: its closure holds the registry
    function, private arrays, x and a flag; its globals (this module's) hold NumPy, no other module."""
    spec, x = EXAMPLES["weighted_tanh"]
    f = build(spec, x)
    modules = {k for k, v in vars(sf).items() if isinstance(v, types.ModuleType) and k != "__builtins__"}
    assert modules == {"np"}
    for cell in f.__closure__ or ():
        value = cell.cell_contents
        assert isinstance(value, (np.ndarray, dict, bool, types.FunctionType)), type(value)
        if isinstance(value, dict):
            assert all(isinstance(v, np.ndarray) for v in value.values())
        if isinstance(value, types.FunctionType):
            assert value in [entry.fn for entry in SCALAR_FUNCTIONS.values()]
