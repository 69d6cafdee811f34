"""The catalogue (grader/catalogue): every API function is an exercise with the
right module, kind and points; cases are deterministic, plain and reach the
edge cases; tolerances accept the model answers and the hints recognise the
classic mistakes they name (tests/grader/test_hints.py)."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from grader.catalogue import EXERCISES, MODULES, TOTAL_POINTS, UNGRADED
from grader.catalogue._cases import pair
from grader.catalogue.gradcheck import DEFAULT_H
from grader.compare import compare
from grader.runner import case_rng, reference_values
from grader.spec import Case
from grader.worker import protocol
from grader.worker.scalar_functions import build
from grader.worker.wire import plain
from tests.grader.bugs_second_edition import exact_derivative
from tests.solutions.gradcheck import numerical_gradient

ROOT = Path(__file__).resolve().parents[2]

#: The exercise API (/work/shared/exercise-api.md), in the document's order
#: (the first edition, then the second): name -> (module, kind).
API = {
    "step": ("perceptron", "function"),
    "perceptron_predict": ("perceptron", "function"),
    "perceptron_update": ("perceptron", "function"),
    "perceptron_train": ("perceptron", "function"),
    "sigmoid": ("activations", "function"),
    "sigmoid_grad": ("activations", "function"),
    "tanh_grad": ("activations", "function"),
    "relu": ("activations", "function"),
    "relu_grad": ("activations", "function"),
    "leaky_relu": ("activations", "function"),
    "leaky_relu_grad": ("activations", "function"),
    "softmax": ("activations", "function"),
    "mse_loss": ("losses", "function"),
    "binary_cross_entropy": ("losses", "function"),
    "softmax_cross_entropy": ("losses", "function"),
    "sigmoid_unit_mse_grad": ("losses", "function"),
    "gradient_descent_step": ("losses", "function"),
    "affine_forward": ("backprop", "forward"),
    "affine_backward": ("backprop", "backward"),
    "sigmoid_forward": ("backprop", "forward"),
    "sigmoid_backward": ("backprop", "backward"),
    "tanh_forward": ("backprop", "forward"),
    "tanh_backward": ("backprop", "backward"),
    "relu_forward": ("backprop", "forward"),
    "relu_backward": ("backprop", "backward"),
    "two_layer_net_loss": ("backprop", "function"),
    "corr2d": ("conv", "function"),
    "conv2d_forward": ("conv", "forward"),
    "conv2d_backward": ("conv", "backward"),
    "max_pool2d_forward": ("conv", "forward"),
    "max_pool2d_backward": ("conv", "backward"),
    "trans_conv2d": ("transposed_conv", "function"),
    "conv_transpose2d_forward": ("transposed_conv", "forward"),
    "conv_transpose2d_backward": ("transposed_conv", "backward"),
    "rnn_cell_forward": ("rnn", "forward"),
    "rnn_cell_backward": ("rnn", "backward"),
    "lstm_cell_forward": ("rnn", "forward"),
    "lstm_cell_backward": ("rnn", "backward"),
    "lstm_forward": ("rnn", "forward"),
    "lstm_backward": ("rnn", "backward"),
    "positional_encoding": ("attention", "function"),
    "self_attention_basic": ("attention", "function"),
    "scaled_dot_product_attention": ("attention", "forward"),
    "scaled_dot_product_attention_backward": ("attention", "backward"),
    "multi_head_attention_forward": ("attention", "forward"),
    "multi_head_attention_backward": ("attention", "backward"),
    # second edition
    "sigmoid_unit_bce_grad": ("losses", "function"),
    "numerical_gradient": ("gradcheck", "higher_order"),
    "rel_error": ("gradcheck", "function"),
    "sgd_momentum_step": ("optim", "function"),
    "rmsprop_step": ("optim", "function"),
    "adam_step": ("optim", "function"),
    "dropout_forward": ("regularization", "forward"),
    "dropout_backward": ("regularization", "backward"),
    "batchnorm_forward": ("regularization", "forward"),
    "batchnorm_backward": ("regularization", "backward"),
    "layer_norm_forward": ("regularization", "forward"),
    "layer_norm_backward": ("regularization", "backward"),
    "avg_pool2d_forward": ("conv", "forward"),
    "avg_pool2d_backward": ("conv", "backward"),
    "rnn_forward": ("rnn", "forward"),
    "rnn_backward": ("rnn", "backward"),
    "feed_forward_forward": ("attention", "forward"),
    "feed_forward_backward": ("attention", "backward"),
    "transformer_block_forward": ("attention", "forward"),
    "transformer_block_backward": ("attention", "backward"),
}

NAMES = list(EXERCISES)
#: Backwards whose gradients include a dict: no numerical check in the worker.
NO_WORKER_GRADCHECK = {"transformer_block_backward"}
BACKWARDS = [name for name, ex in EXERCISES.items() if ex.kind == "backward"]
SEED = 20261123


def cases_of(name: str, seed: int = SEED) -> list[Case]:
    return EXERCISES[name].cases(case_rng(seed, name))


def needs_reference(name: str):
    """Import the reference and the model answer of ``name``'s module; fail, saying why, if they
    cannot be imported (a reference whose compiled kernels are not built, say)."""
    module = EXERCISES[name].module
    try:
        ref = importlib.import_module(f"solutions.{module}")
        model = importlib.import_module(f"solutions.model.{module}")
        getattr(ref, name), getattr(model, name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"solutions for {module} cannot be imported ({exc}); are the kernels built? pip install -e . compiles them"
        )
    return ref, model


def same(a, b) -> bool:
    """Exact structural equality of plain data (type, dtype, shape, values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def case_data(case: Case):
    return (case.label, case.args, dict(case.kwargs), case.upstream, case.rtol, case.atol)


def is_plain(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf" and x.dtype.fields is None
    if x is None or isinstance(x, (bool, int, float, str)):
        return True
    if isinstance(x, (tuple, list)):
        return all(is_plain(v) for v in x)
    if isinstance(x, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in x.items())
    return False


# -- the registry -----------------------------------------------------------------


def test_registry_lists_every_api_function_module_by_module_in_course_order():
    """Every API function is graded or named in UNGRADED (with a reason); the
    catalogue lists the modules in course order (gradcheck before the first
    backward, the optimisers and normalisation before conv) and each module's
    functions in the document's order."""
    assert set(EXERCISES) | set(UNGRADED) == set(API) and not set(EXERCISES) & set(UNGRADED)
    assert all(API[name][0] == module and reason.strip() for name, (module, reason) in UNGRADED.items())
    assert MODULES == (
        "perceptron",
        "activations",
        "losses",
        "gradcheck",
        "backprop",
        "optim",
        "regularization",
        "conv",
        "transposed_conv",
        "rnn",
        "attention",
    )
    assert [EXERCISES[n].module for n in EXERCISES] == sorted(
        (EXERCISES[n].module for n in EXERCISES), key=MODULES.index
    )
    for module in MODULES:
        in_api = [n for n, (m, _) in API.items() if m == module and n in EXERCISES]
        assert [n for n, ex in EXERCISES.items() if ex.module == module] == in_api


@pytest.mark.parametrize("name", NAMES)
def test_exercise_has_api_module_and_kind(name):
    ex = EXERCISES[name]
    assert ex.name == name
    assert (ex.module, ex.kind) == API[name]


@pytest.mark.parametrize("module", MODULES)
def test_stub_module_defines_exactly_the_catalogued_functions(module):
    stub = ROOT / "exercises" / f"{module}.py"
    assert stub.exists(), f"exercises/{module}.py is missing"
    tree = ast.parse(stub.read_text())
    public = [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
    assert public == [name for name, (m, _) in API.items() if m == module]
    assert set(public) == {n for n, ex in EXERCISES.items() if ex.module == module} | {
        n for n, (m, _) in UNGRADED.items() if m == module
    }


def test_points_total_100_and_every_exercise_scores():
    assert TOTAL_POINTS == sum(ex.points for ex in EXERCISES.values()) == 100
    assert all(1 <= ex.points <= 5 for ex in EXERCISES.values())


@pytest.mark.parametrize("name", NAMES)
def test_description_is_one_nonempty_line(name):
    text = EXERCISES[name].description
    assert text.strip() and "\n" not in text and len(text) <= 100


@pytest.mark.parametrize("name", BACKWARDS)
def test_backward_names_an_existing_forward_of_its_module(name):
    ex = EXERCISES[name]
    forward = EXERCISES[ex.forward]
    assert forward.kind == "forward" and forward.module == ex.module
    assert len(set(ex.wrt)) == len(ex.wrt)
    # wrt names the gradients the worker checks numerically, one output each; a
    # backward returning a dict of gradients (the encoder block) is checked in
    # tests/solutions instead, and names its outputs without wrt
    assert len(ex.outputs) == len(ex.wrt) or (not ex.wrt and name in NO_WORKER_GRADCHECK)
    for case in cases_of(name):
        assert all(0 <= i < len(case.args) for i in ex.wrt), case.label
        assert all(isinstance(case.args[i], np.ndarray) for i in ex.wrt), case.label
        assert case.upstream, case.label


# -- the cases ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_cases_are_deterministic_for_a_seed(name):
    first, again = cases_of(name), cases_of(name)
    assert len(first) >= 4
    assert all(same(case_data(a), case_data(b)) for a, b in zip(first, again))


@pytest.mark.parametrize("name", NAMES)
def test_random_cases_change_with_the_seed(name):
    one, other = cases_of(name, 1), cases_of(name, 2)
    assert len(one) == len(other)
    assert not all(same(case_data(a), case_data(b)) for a, b in zip(one, other))


@pytest.mark.parametrize("name", NAMES)
def test_case_inputs_are_plain_data_with_one_line_labels(name):
    cases = cases_of(name)
    for case in cases:
        assert is_plain(case.args) and is_plain(dict(case.kwargs)) and is_plain(case.upstream), case.label
        assert case.label.strip() and "\n" not in case.label
        for arr in [a for a in case.args + case.upstream if isinstance(a, np.ndarray)]:
            assert arr.dtype in (np.float64, np.int64, np.bool_), (case.label, arr.dtype)
    worked = [case.label.startswith("worked example") for case in cases]
    assert worked == sorted(worked, reverse=True), "worked examples come first"
    assert len({case.label for case in cases}) == len(cases), "labels tell the cases apart"


def _all_arrays(name):
    for case in cases_of(name):
        for value in list(case.args) + list(case.kwargs.values()):
            if isinstance(value, dict):
                yield from value.values()
            elif isinstance(value, np.ndarray):
                yield value


@pytest.mark.parametrize("name", ["step", "relu_grad", "leaky_relu_grad", "relu_backward"])
def test_kink_gradients_are_probed_at_exactly_zero(name):
    assert any(np.any(a == 0) and np.any(a > 0) and np.any(a < 0) for a in _all_arrays(name))


@pytest.mark.parametrize(
    "name",
    ["sigmoid", "sigmoid_grad", "softmax", "softmax_cross_entropy", "sigmoid_forward", "relu", "sigmoid_unit_bce_grad"],
)
def test_stability_is_probed_at_large_magnitudes(name):
    assert max(float(np.max(np.abs(a))) for a in _all_arrays(name)) >= 1e4


@pytest.mark.parametrize("name", ["conv2d_forward", "conv_transpose2d_forward", "corr2d"])
def test_convolutions_cover_asymmetric_kernels_non_square_inputs_and_pairs(name):
    cases = cases_of(name)
    kernels = [c.args[1].shape[-2:] for c in cases]
    inputs = [c.args[0].shape[-2:] for c in cases]
    assert any(kh != kw for kh, kw in kernels) and any(h != w for h, w in inputs)
    params = [c.kwargs.get(p) for c in cases for p in ("stride", "padding")]
    assert any(isinstance(p, tuple) and p[0] != p[1] for p in params)
    assert any(c.kwargs.get("stride", 1) not in (1, (1, 1)) for c in cases)
    assert any(c.kwargs.get("padding", 0) not in (0, (0, 0)) for c in cases)
    if name != "corr2d":
        assert any(c.args[0].shape[0] == 1 for c in cases), "a batch of one"


def test_second_edition_cases_reach_the_classic_slips():
    """The cases make each listed slip show: test-time and p = 0 dropout, the
    first Adam step and a later one, a constant batch-norm feature, layer norm
    over three axes, sequences long enough for the gradient from later steps,
    overlapping average-pool windows, a masked transformer block."""
    drop = cases_of("dropout_forward")
    assert any(c.kwargs.get("train") is False for c in drop) and any(c.args[1] == 0 for c in drop)
    assert len({c.kwargs.get("seed", 0) for c in drop}) >= 2
    ts = {c.args[4] for c in cases_of("adam_step")}
    assert 1 in ts and any(t > 1 for t in ts)
    assert any(np.any(np.ptp(c.args[0], axis=0) == 0) for c in cases_of("batchnorm_forward"))
    assert any(c.args[0].ndim >= 3 for c in cases_of("layer_norm_forward"))
    assert any(c.args[0].ndim == 2 for c in cases_of("layer_norm_forward"))
    assert any(c.args[0].shape[1] >= 5 for c in cases_of("rnn_backward"))
    assert any(pair(c.kwargs.get("stride", c.args[1]))[0] < pair(c.args[1])[0] for c in cases_of("avg_pool2d_backward"))
    assert any("mask" in c.kwargs for c in cases_of("transformer_block_forward"))
    assert any(np.any(np.abs(c.args[0]) > 1e3) for c in cases_of("sigmoid_unit_bce_grad"))


def _step_of(case: Case) -> float:
    return case.kwargs.get("h", case.args[2] if len(case.args) > 2 else DEFAULT_H)


def _differences(case: Case, one_sided: bool = False) -> np.ndarray:
    """Central (or forward) differences with x[i] nudged by += h, -= 2h, += h: a right answer
    whose points may be an ulp away from the reference's (old + h, old - h)."""
    x = np.array(case.args[1])
    f, h = build(case.args[0], x), _step_of(case)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        x[idx] += h
        plus = f(x)
        x[idx] -= h if one_sided else 2 * h
        grad[idx] = (plus - f(x)) / (h if one_sided else 2 * h)
        x[idx] += 0.0 if one_sided else h
    return grad


@pytest.mark.parametrize("seed", [SEED, 1, 2])
def test_numerical_gradient_tolerance_tells_central_differences_from_the_slips(seed):
    """The tolerance reasoning of grader/catalogue/gradcheck.py, measured in units of each
    case's tolerance: a right answer formed another way is within 1% of it on every case;
    a one-sided difference is outside it on every case; the exact derivative, which a
    difference with any other step approaches, is 10x outside it on every case with h = 0.01."""
    ex = EXERCISES["numerical_gradient"]
    cases = cases_of("numerical_gradient", seed)
    for case, expected in zip(cases, reference_values(ex, cases)):
        unit = ex.atol + ex.rtol * np.abs(expected)
        assert np.max(np.abs(_differences(case) - expected) / unit) < 1e-2, case.label
        assert np.max(np.abs(_differences(case, one_sided=True) - expected) / unit) > 1, case.label
        if _step_of(case) == 1e-2:
            assert np.max(np.abs(exact_derivative(case) - expected) / unit) > 10, case.label


def test_numerical_gradient_cases_cover_shapes_steps_and_a_function_reading_x():
    cases = cases_of("numerical_gradient")
    assert {c.args[1].ndim for c in cases} == {1, 2, 3}
    assert any(c.args[1].ndim == 2 and c.args[1].shape[0] == c.args[1].shape[1] for c in cases), "square: transposed"
    steps = [("h" in c.kwargs, len(c.args) > 2) for c in cases]
    assert {(False, False), (True, False), (False, True)} <= set(steps), "default h, by keyword, by position"
    assert any(c.args[0]["reads_x"] for c in cases)
    assert {c.args[0]["name"] for c in cases} >= {"sum_of_squares", "sin_exp", "weighted_tanh", "softmax_loss"}
    assert all(c.args[1].dtype == np.float64 for c in cases)


def test_the_catalogue_default_step_is_the_stubs_and_the_model_answers():
    from solutions.model import gradcheck as model

    stub = ast.parse((ROOT / "exercises" / "gradcheck.py").read_text())
    (fn,) = [n for n in stub.body if isinstance(n, ast.FunctionDef) and n.name == "numerical_gradient"]
    assert ast.literal_eval(fn.args.defaults[-1]) == DEFAULT_H
    assert inspect.signature(model.numerical_gradient).parameters["h"].default == DEFAULT_H


def test_max_pool_cases_have_ties_in_windows():
    case = cases_of("max_pool2d_backward")[2]
    x = case.args[0]
    window = x[0, 0, :2, :2]
    tied = [
        np.sum(x[n, c, i : i + 2, j : j + 2] == x[n, c, i : i + 2, j : j + 2].max()) > 1
        for n, c in np.ndindex(*x.shape[:2])
        for i in range(0, 5, 2)
        for j in range(0, 5, 2)
    ]
    assert window.dtype == np.float64 and sum(tied) >= 3


def test_attention_cases_have_a_fully_masked_query_row():
    masks = [c.kwargs["mask"] for c in cases_of("scaled_dot_product_attention") if "mask" in c.kwargs]
    assert any(np.any(~np.any(m, axis=-1)) for m in masks)
    masks = [c.kwargs["mask"] for c in cases_of("multi_head_attention_forward") if "mask" in c.kwargs]
    assert any(np.any(~np.any(m, axis=-1)) for m in masks)


def test_positional_encoding_cases_include_odd_widths():
    assert any(c.args[1] % 2 == 1 and c.args[1] > 1 for c in cases_of("positional_encoding"))


def test_training_runs_several_epochs_including_a_non_separable_problem():
    cases = cases_of("perceptron_train")
    assert all(c.kwargs.get("epochs", 10) >= 1 for c in cases)
    assert any("XOR" in c.label for c in cases)
    assert any("orders" not in c.kwargs for c in cases), "one case uses the seeded shuffle"


# -- references and model answers ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_against_itself_and_keeps_inputs(name):
    ref, _ = needs_reference(name)
    ex = EXERCISES[name]
    cases = cases_of(name)
    first, second = reference_values(ex, cases), reference_values(ex, cases)
    for case, a, b in zip(cases, first, second):
        assert compare(a, b, case.rtol or ex.rtol, case.atol or ex.atol, ex.outputs) is None, case.label
    for case in cases:
        before = copy.deepcopy(case_data(case))
        forward = getattr(ref, ex.forward) if ex.forward else None
        protocol.run_protocol(ex.kind, getattr(ref, name), forward, case.args, dict(case.kwargs), case.upstream)
        assert same(before, case_data(case)), f"the reference modified an input: {case.label}"


@pytest.mark.parametrize("name", NAMES)
def test_model_answer_is_within_tolerance_of_the_reference_on_every_case(name):
    needs_reference(name)
    ex = EXERCISES[name]
    cases = cases_of(name)
    expected = reference_values(ex, cases)
    got = reference_values(ex, cases, package="solutions.model")
    for case, e, g in zip(cases, expected, got):
        rtol = ex.rtol if case.rtol is None else case.rtol
        atol = ex.atol if case.atol is None else case.atol
        mismatch = compare(e, g, rtol, atol, ex.outputs)
        assert mismatch is None, f"{case.label}: {mismatch.describe()}"
        assert all(np.all(np.isfinite(np.asarray(leaf, dtype=np.float64))) for leaf in _leaves(e)), (
            f"reference not finite on {case.label}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_float64_tolerance_rejects_a_relative_error_of_1e_4(name):
    """The bar of issue #4: an output off by 1e-4 (relative) fails."""
    needs_reference(name)
    ex = EXERCISES[name]
    cases = cases_of(name)
    for case, e in zip(cases, reference_values(ex, cases)):
        leaves = _leaves(e)
        k = max(range(len(leaves)), key=lambda i: float(np.max(np.abs(leaves[i]), initial=0.0)))
        if np.asarray(leaves[k]).dtype.kind != "f" or not np.any(leaves[k]):
            continue
        off = _replace_leaf(e, k, np.asarray(leaves[k]) * (1 + 1e-4))
        rtol = ex.rtol if case.rtol is None else case.rtol
        atol = ex.atol if case.atol is None else case.atol
        assert compare(e, plain(off), rtol, atol, ex.outputs) is not None, case.label


@pytest.mark.parametrize("name", BACKWARDS)
def test_upstream_has_the_shapes_of_the_forward_outputs(name):
    ref, _ = needs_reference(name)
    ex = EXERCISES[name]
    for case in cases_of(name):
        outs = getattr(ref, ex.forward)(*case.args, **dict(case.kwargs))[:-1]
        assert [np.shape(o) for o in outs] == [np.shape(u) for u in case.upstream], case.label


@pytest.mark.parametrize("name", BACKWARDS)
def test_wrt_matches_the_numerical_gradient_of_the_reference_forward(name):
    """wrt and the upstream order are what the grader's gradient check uses:
    the reference backward must agree with central differences through them on
    the smallest case (the one the grader checks), and no gradient there is
    trivially zero (or the check would prove nothing)."""
    ref, _ = needs_reference(name)
    ex = EXERCISES[name]
    forward = getattr(ref, ex.forward)
    case = min(cases_of(name), key=lambda c: sum(np.size(a) for a in c.args if isinstance(a, np.ndarray)))
    grads = protocol.run_protocol(ex.kind, getattr(ref, name), forward, case.args, dict(case.kwargs), case.upstream)
    grads = grads if isinstance(grads, tuple) else (grads,)
    args = [
        np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in case.args
    ]
    for index, grad in zip(ex.wrt, grads):
        num = numerical_gradient(
            lambda: protocol.loss_of_forward(forward, args, dict(case.kwargs), case.upstream), args[index]
        )
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6, err_msg=f"{case.label} arg {index}")
        assert np.any(np.abs(num) > 1e-6), f"{case.label}: the gradient of arg {index} is zero"


def _leaves(x):
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in _leaves(x[k])]
    if isinstance(x, (tuple, list)) and not all(isinstance(v, (int, float)) for v in x):
        return [leaf for v in x for leaf in _leaves(v)]
    return [np.asarray(x)]


def _replace_leaf(x, k, value):
    """``x`` with its k-th leaf (in ``_leaves`` order) replaced by ``value``."""
    counter = iter(range(10**9))

    def walk(v):
        if isinstance(v, dict):
            return {key: walk(v[key]) for key in sorted(v)}
        if isinstance(v, (tuple, list)) and not all(isinstance(i, (int, float)) for i in v):
            return type(v)(walk(i) for i in v)
        return value if next(counter) == k else v

    return walk(x)


# -- the worked examples are transcribed right ---------------------------------------

WORKED = [
    ("perceptron_train", 0, (np.array([1.0, 1.0]), 1.0, [3])),
    ("corr2d", 0, np.array([[4.0, -9.0, 1.0], [-5.0, -3.0, -4.0]])),
    ("corr2d", 1, np.array([[-3.0, -3.0, 12.0], [27.0, -3.0, 28.0]])),
    ("corr2d", 2, np.array([[14.0, 17.0, -1.0], [27.0, 16.0, 7.0], [16.0, 23.0, 5.0]])),
    ("conv2d_forward", 0, np.array([[[[-2.5, -2.5, 12.5], [27.5, -2.5, 28.5]]]])),
    ("trans_conv2d", 0, np.array([[2.0, 4.0, 0.0], [9.0, 17.0, 2.0], [10.0, 17.0, 3.0]])),
    ("sigmoid_unit_mse_grad", 0, (0.1130, np.array([-0.0575, -0.0591]), -0.0591)),
    ("gradient_descent_step", 0, (np.array([0.2057, 0.1059]), -0.0941)),
]

#: Small examples whose label states the result (worked by hand, not from a
#: document): the label must not lie.
STATED = [
    ("sgd_momentum_step", 0, (np.array([0.86, -1.92]), np.array([0.14, -0.08]))),
    ("sgd_momentum_step", 1, (np.array([0.95, -2.1]), np.array([0.05, 0.1]))),
    ("batchnorm_forward", 0, np.array([[-1.0, -1.0], [1.0, 1.0]])),
    ("avg_pool2d_forward", 0, np.array([[[[2.5, 4.5], [10.5, 12.5]]]])),
    ("feed_forward_forward", 0, np.array([[1.5, 0.0]])),
    (
        "rnn_forward",
        0,
        np.array([[[np.tanh(1.0)], [np.tanh(0.5 * np.tanh(1.0))], [np.tanh(0.5 * np.tanh(0.5 * np.tanh(1.0)))]]]),
    ),
    ("rel_error", 0, 0.2 / 4.2),
]


@pytest.mark.parametrize("name, index, documented", WORKED + STATED, ids=[f"{w[0]}-{w[1]}" for w in WORKED + STATED])
def test_worked_example_gives_the_documented_result(name, index, documented):
    needs_reference(name)
    ex = EXERCISES[name]
    case = cases_of(name)[index]
    worked = any(w[:2] == (name, index) for w in WORKED)
    assert case.label.startswith("worked example" if worked else "small example")
    (value,) = reference_values(ex, [case])
    for got, want in zip(_leaves(value), _leaves(documented)):
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, atol=5e-5)


def test_a_flipped_corr2d_kernel_fails_on_a_worked_example_with_its_hint():
    """The Laplacian of the first worked examples is symmetric under a half turn;
    the asymmetric worked example catches a true convolution before any random case."""
    import grader

    namespace: dict = {}
    exec(
        "import numpy as np\n"
        "def corr2d(x, k, padding=0, stride=1):\n"
        "    k = np.asarray(k, dtype=float)[::-1, ::-1]\n"
        "    (ph, pw) = (padding, padding) if np.isscalar(padding) else padding\n"
        "    (sh, sw) = (stride, stride) if np.isscalar(stride) else stride\n"
        "    xp = np.pad(np.asarray(x, dtype=float), ((ph, ph), (pw, pw)))\n"
        "    oh, ow = (xp.shape[0] - k.shape[0]) // sh + 1, (xp.shape[1] - k.shape[1]) // sw + 1\n"
        "    return np.array([[np.sum(xp[i*sh:i*sh+k.shape[0], j*sw:j*sw+k.shape[1]] * k)\n"
        "                      for j in range(ow)] for i in range(oh)])\n",
        namespace,
    )
    with pytest.raises(AssertionError) as info:
        grader.check("corr2d", namespace["corr2d"])
    result = info.value.result
    assert result.failed_case.startswith("worked example") and "asymmetric kernel" in result.failed_case
    assert result.cases_passed == 2, "the two Laplacian worked examples cannot tell"
    assert "true convolution" in result.hint
    assert "expected 14, got 5" in result.message
