"""Fair credit under attack (grader/dependencies.py): the exploits of the third red-team
review, each reproduced through the real grader (``nngrade ... --sandbox require``),
each shown to earn nothing and leak nothing now."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grader.catalogue import EXERCISES
from grader.dependencies import (
    ASKS_PER_CASE,
    MAX_ANSWER_BYTES,
    AskBounds,
    builds_on,
    reference_answer,
    settle,
    substitution,
)
from grader.results import ExitCode, Result, Status
from grader.worker import wire
from grader.worker.observe import Observer
from tests.grader.conftest import by_name, copy_model, grade_json

STEP_SLIP = ("return (np.asarray(z) > 0).astype(np.int64)", "return (np.asarray(z) >= 0).astype(np.int64)")


def submission(tmp_path: Path, module: str, extra: str, replace: tuple[str, str] | None = None) -> Path:
    """The model answers, ``module`` with ``extra`` appended (later definitions win)."""
    sub = copy_model(tmp_path / "sub")
    path = sub / f"{module}.py"
    source = path.read_text()
    if replace is not None:
        assert source.count(replace[0]) == 1, "the model answer changed: update the attack"
        source = source.replace(*replace)
    path.write_text(source + "\n\n" + extra)
    return sub


def grade(tmp_path: Path, sub: Path, *names: str) -> tuple[int, dict]:
    return grade_json(
        tmp_path, *names, "--submission", str(sub), "--seed", "3", "--sandbox", "require", "--credit", "independent"
    )


def ask(name: str, *args, **kwargs) -> bytes:
    return wire.dumps({"name": name, "args": wire.encode(list(args)), "kwargs": wire.encode(kwargs)})


def bounds_of(name: str) -> AskBounds:
    return AskBounds(EXERCISES[name].cases(np.random.default_rng(0)))


# -- A: an exercise answered for itself ------------------------------------------------------

SELF_ANSWER = """
def affine_backward(dout, cache):
    raise NotImplementedError


def affine_forward(x, W, b):
    try:
        affine_backward(None, None)   # makes affine_backward a "dependency" of the forward
    except Exception:
        pass
    raise NotImplementedError
"""


def test_a_forward_calling_its_failing_backward_earns_nothing(tmp_path):
    """Attack A: the regrade of affine_forward used to answer affine_forward itself."""
    code, report = grade(tmp_path, submission(tmp_path, "backprop", SELF_ANSWER), "affine_forward", "affine_backward")
    forward = by_name(report)["affine_forward"]
    assert forward["score"] == 0 and forward["right_once_fixed"] is None and forward["blocked_by"] == []
    assert "not meant to build on" in forward["message"]
    assert report["score"] == 0 and code == ExitCode.NOT_ALL_PASSED


def test_an_exercise_is_never_answered_for_itself():
    assert "affine_forward" not in substitution(["affine_backward"], EXERCISES, "affine_forward")
    answer = reference_answer(
        EXERCISES, frozenset({"affine_forward", "affine_backward"}), "affine_forward", bounds_of("affine_forward")
    )
    x, W, b = np.ones((1, 2)), np.ones((2, 3)), np.ones(3)
    assert answer(ask("affine_forward", x, W, b)) == {"error": "refused: not a dependency the grader answers"}
    # the child's side: the exercise's own wrapper never asks, whatever it was told
    observer = Observer("affine_forward", {"affine_forward", "affine_backward"})
    assert observer.substitute == {"affine_backward"}
    assert all(name not in builds_on(name, EXERCISES) for name in EXERCISES)


# -- B: a backward credited through a consistent wrong forward ---------------------------------

CONSISTENT = """
def affine_forward(x, W, b):
    return 0.0, (x, W, b)


def affine_backward(dout, cache):
    x, W, b = cache
    return tuple(np.zeros_like(np.asarray(a, dtype=float)) for a in (x, W, b))
"""


def test_a_backward_agreeing_with_a_constant_forward_earns_nothing(tmp_path):
    """Attack B: zero gradients agree exactly with a constant forward's central differences."""
    code, report = grade(tmp_path, submission(tmp_path, "backprop", CONSISTENT), "affine_forward", "affine_backward")
    backward = by_name(report)["affine_backward"]
    assert backward["score"] == 0 and backward["right_once_fixed"] is None and not backward["credited"]
    assert backward["blocked_by"] == ["affine_forward"]
    assert "Diagnostic only, no credit: your affine_backward agrees with central differences" in backward["message"]
    assert report["score"] == 0 and code == ExitCode.NOT_ALL_PASSED


# -- C: credit through a function the exercise merely can be computed from ---------------------


def test_a_function_built_on_a_graded_function_it_does_not_declare_earns_nothing(tmp_path):
    """Attack C: relu(z) = relu_forward(z)[0], relu_forward deliberately broken."""
    sub = submission(tmp_path, "backprop", "def relu_forward(z):\n    raise NotImplementedError\n")
    (sub / "activations.py").write_text(
        (sub / "activations.py").read_text() + "\n\nfrom backprop import relu_forward\n\n\n"
        "def relu(z):\n    return relu_forward(z)[0]\n"
    )
    code, report = grade(tmp_path, sub, "relu", "relu_forward")
    relu = by_name(report)["relu"]
    assert relu["depends_on"] == ["relu_forward"], "the call is observed"
    assert relu["score"] == 0 and relu["right_once_fixed"] is None and relu["blocked_by"] == []
    assert relu["message"].startswith("It calls your failing `relu_forward`, which relu is not meant to build on")
    assert code == ExitCode.NOT_ALL_PASSED


def test_every_declared_dependency_is_a_graded_function_and_none_leads_back_to_itself():
    for name, ex in EXERCISES.items():
        assert set(ex.uses) <= set(EXERCISES), name
        seen, todo = set(), list(ex.uses) + ([ex.forward] if ex.forward else [])
        while todo:  # an explicit walk, not builds_on (which drops the exercise itself)
            dep = todo.pop()
            assert dep != name, f"{name} builds on itself through {sorted(seen)}"
            if dep not in seen:
                seen.add(dep)
                todo += list(EXERCISES[dep].uses) + ([EXERCISES[dep].forward] if EXERCISES[dep].forward else [])
    assert builds_on("perceptron_train", EXERCISES) == {"perceptron_update", "perceptron_predict", "step"}
    assert "scaled_dot_product_attention" in builds_on("transformer_block_backward", EXERCISES)
    assert builds_on("relu", EXERCISES) == frozenset() and builds_on("corr2d", EXERCISES) == frozenset()


# -- D: the blocking dependency graded out of the report -----------------------------------


def test_no_credit_when_the_blocking_dependency_is_not_in_the_report(tmp_path):
    """Attack D: ``nngrade perceptron_predict`` with a broken step gave full marks."""
    sub = submission(tmp_path, "perceptron", "", replace=STEP_SLIP)
    code, report = grade(tmp_path, sub, "perceptron_predict")
    predict = by_name(report)["perceptron_predict"]
    assert predict["blocked_by"] == ["step"] and predict["right_once_fixed"] is True
    assert predict["score"] == 0 and not predict["credited"]
    assert "(no credit: `step` is not graded in this run; grade it too to earn these points)" in predict["message"]
    # graded with step, the same mistake costs step's point, once
    _, both = grade(tmp_path, sub, "step", "perceptron_predict")
    assert by_name(both)["perceptron_predict"]["score"] == 1 and by_name(both)["step"]["score"] == 0
    # the route of the review: a backward graded alone on a constant forward
    _, alone = grade(tmp_path, submission(tmp_path / "b", "backprop", CONSISTENT), "affine_backward")
    assert alone["score"] == 0
    assert code == ExitCode.NOT_ALL_PASSED


# -- E: reference values leaking through a regrade's feedback -------------------------------

LEAK = """
def sigmoid(z):
    raise NotImplementedError


def sigmoid_grad(z):
    import warnings
    s = sigmoid(z)                      # in the regrade: the grader's own sigmoid values
    warnings.warn("LEAK" + repr(np.asarray(s).tolist()), RuntimeWarning)
    if np.asarray(s).size > 3:
        raise ValueError("LEAK" + repr(np.asarray(s).tolist()))
    return s                            # wrong: "expected ..., got <the reference's values>"
"""


def test_a_regrade_reports_fixed_phrases_never_the_reference_values_it_held(tmp_path):
    code, report = grade(tmp_path, submission(tmp_path, "activations", LEAK), "sigmoid", "sigmoid_grad")
    entry = by_name(report)["sigmoid_grad"]
    assert entry["blocked_by"] == ["sigmoid"] and entry["right_once_fixed"] is False and entry["score"] == 0
    first = entry["message"].splitlines()[0]
    assert first.endswith(
        "Graded again with correct sigmoid, it still fails (error in case 1 of 6 "
        "(small example: z = [-2, -1, 0, 1, 2]))."
    )
    text = json.dumps(report)
    reference = 1 / (1 + np.exp(-np.array([-2.0, -1.0, 1.0, 2.0])))
    assert "LEAK" not in text
    feedback = entry["message"] + json.dumps(entry.get("warnings")) + json.dumps(entry.get("calls"))
    assert not any(f"{v:.6f}"[:6] in feedback for v in reference), "a value of the reference's sigmoid leaked"
    assert code == ExitCode.NOT_ALL_PASSED


def test_warnings_are_reported_by_category_not_by_their_text(tmp_path):
    sub = submission(
        tmp_path,
        "activations",
        """
def sigmoid(z):
    import warnings
    warnings.warn("overflow encountered SECRET-42", RuntimeWarning)
    warnings.warn("SECRET-43", UserWarning)
    z = np.asarray(z, dtype=float)
    return 1 / (1 + np.exp(-z))
""",
    )
    _, report = grade(tmp_path, sub, "sigmoid")
    entry = by_name(report)["sigmoid"]
    assert entry["status"] == "failed" and "RuntimeWarning: overflow" in entry["message"]
    assert "SECRET" not in json.dumps(report)


def test_asks_beyond_the_exercises_own_cases_are_refused():
    answer = reference_answer(EXERCISES, frozenset({"conv2d_forward"}), "conv2d_backward", bounds_of("conv2d_backward"))
    x, w, b = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), np.zeros(1)
    assert "value" in answer(ask("conv2d_forward", x, w, b, 1, 0)), "a fair ask is answered"
    refused = [
        ask("conv2d_forward", x, np.ones((1, 1, 500, 500)), b, 1, 0),  # a huge kernel
        ask("conv2d_forward", x, w, b, 1, 6000),  # a huge padding
        ask("conv2d_forward", x.astype(complex), w, b, 1, 0),  # complex values
        ask("conv2d_forward", x, w, b, 1, 0, mode="x" * 1000),
    ]
    for data in refused:
        assert answer(data)["error"].startswith("refused")
    limited = reference_answer(EXERCISES, frozenset({"step"}), "perceptron_predict", bounds_of("perceptron_predict"))
    n = bounds_of("perceptron_predict").max_asks
    assert n == ASKS_PER_CASE * len(EXERCISES["perceptron_predict"].cases(np.random.default_rng(0)))
    replies = [limited(ask("step", np.zeros(2))) for _ in range(n + 1)]
    assert all("value" in r for r in replies[:n]) and replies[n] == {"error": "refused: too many calls"}


def test_an_answer_too_large_for_the_worker_servers_line_is_refused():
    bounds = bounds_of("perceptron_predict")
    bounds.max_size = bounds.max_int = bounds.max_total = 10**8  # as if the cases were huge
    answer = reference_answer(EXERCISES, frozenset({"step"}), "perceptron_predict", bounds)
    reply = answer(ask("step", np.zeros(600_000)))
    assert reply == {"error": "refused: the answer is too large"} and MAX_ANSWER_BYTES < wire.MAX_PAYLOAD


#: (exercise, a declared dependency the model answer calls): stubbing the dependency
#: must still leave the exercise its credit: the bounds on asks refuse no honest call.
HONEST = [
    ("perceptron_train", "step"),
    ("sigmoid_grad", "sigmoid"),
    ("gradient_descent_step", "sigmoid_unit_mse_grad"),
    ("two_layer_net_loss", "affine_backward"),
    ("rnn_forward", "rnn_cell_forward"),
    ("rnn_backward", "rnn_cell_backward"),
    ("lstm_backward", "lstm_cell_backward"),
    ("multi_head_attention_backward", "scaled_dot_product_attention_backward"),
    ("transformer_block_backward", "feed_forward_backward"),
]


@pytest.mark.parametrize("name, dep", HONEST, ids=[f"{n}-{d}" for n, d in HONEST])
def test_honest_asks_stay_within_the_bounds_and_earn_the_credit(tmp_path, name, dep):
    stub = f"def {dep}(*args, **kwargs):\n    raise NotImplementedError\n"
    code, report = grade(tmp_path, submission(tmp_path, EXERCISES[dep].module, stub), name, dep)
    entry = by_name(report)[name]
    assert entry["blocked_by"] == [dep] and entry["right_once_fixed"] is True, entry["message"]
    assert entry["score"] == entry["max_score"] and entry["credited"]
    assert code == ExitCode.NOT_ALL_PASSED


# -- F: asks that make the grader compute for minutes -----------------------------------------

HUGE_ASKS = """
def perceptron_predict(w, b, X):
    step(np.zeros(300_000))               # far beyond any case of perceptron_predict
    for _ in range(ASKS):                 # more asks than the budget
        step(np.zeros(1))
    X = np.asarray(X, dtype=float)
    return step(X @ np.asarray(w, dtype=float) + b)
"""


@pytest.mark.parametrize("asks", [0, ASKS_PER_CASE + 2], ids=["huge arguments", "too many asks"])
def test_oversized_or_too_many_asks_are_refused_and_earn_nothing(tmp_path, asks):
    extra = HUGE_ASKS.replace("ASKS", str(asks))
    if asks:  # only the count: no huge array
        extra = extra.replace("step(np.zeros(300_000))", "pass")
    code, report = grade(
        tmp_path, submission(tmp_path, "perceptron", extra, replace=STEP_SLIP), "step", "perceptron_predict"
    )
    predict = by_name(report)["perceptron_predict"]
    assert predict["blocked_by"] == ["step"] and predict["right_once_fixed"] is False and predict["score"] == 0
    assert code == ExitCode.NOT_ALL_PASSED


def test_a_closed_pool_never_starts_a_server_for_a_late_grader_thread(tmp_path):
    from grader.runner import start_pool
    from grader.sandbox import stage

    staging = stage(copy_model(tmp_path / "sub"))
    try:
        pool, _ = start_pool(1, "off", staging)
        pool.close(kill=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    servers = len(pool.all)
    pool._replace()  # what a thread finishing an answer after the run would do
    assert len(pool.all) == servers, "no new server"
    assert pool.run({"timeout": 1})[0]["lost"] and pool.run({"timeout": 1})[0]["lost"], (
        "a thread asking for a server after the run gets an answer that says so, it never waits forever"
    )


# -- the rest of the review --------------------------------------------------------------------


def test_blocked_by_never_names_the_exercise_itself():
    ex = EXERCISES["perceptron_predict"]
    results = {
        "step": Result("step", "perceptron", 0, 1, Status.FAILED, "Wrong."),
        "perceptron_predict": Result(
            "perceptron_predict",
            ex.module,
            0,
            ex.points,
            Status.FAILED,
            "Wrong.",
            depends_on=["perceptron_predict", "step"],
        ),
    }
    settle(results, EXERCISES, lambda *a: (False, "Graded again, it still fails (failed)."))
    assert results["perceptron_predict"].blocked_by == ["step"]
    assert results["perceptron_predict"].right_once_fixed is False


# -- G: calls that multiply the grader's work ------------------------------------------------

CALLS_EVERYTHING = """
def sigmoid(z):
    raise NotImplementedError


def leaky_relu(z, alpha=0.01):
    raise NotImplementedError


def softmax(z):
    raise NotImplementedError


def relu(z):
    for f in (sigmoid, leaky_relu, softmax):
        try:
            f(z)   # each call is observed: before, each failing callee was graded too
        except Exception:
            pass
    raise NotImplementedError
"""


def test_only_declared_dependencies_are_graded_beyond_the_request(tmp_path, monkeypatch):
    """A failing function that calls many failing graded functions it does not build on
    made the grader grade each of them (up to a timeout apiece) to find root causes:
    the observed calls are the student's to choose, so only declared ones are graded."""
    from grader.runner import Grader

    graded: list[str] = []
    original = Grader.grade_one

    def counting(self, ex, pool, where):
        graded.append(ex.name)
        return original(self, ex, pool, where)

    monkeypatch.setattr(Grader, "grade_one", counting)
    code, report = grade(tmp_path, submission(tmp_path, "activations", CALLS_EVERYTHING), "relu")
    assert by_name(report)["relu"]["depends_on"] == ["sigmoid", "leaky_relu", "softmax"], "the calls are observed"
    assert graded == ["relu"]
    assert code == ExitCode.NOT_ALL_PASSED

    graded.clear()  # a declared dependency is still graded to find the root cause
    sub = submission(tmp_path / "b", "activations", "def sigmoid(z):\n    return 0.5 + 0 * z\n")
    code, report = grade(tmp_path, sub, "sigmoid_grad")
    assert sorted(graded) == ["sigmoid", "sigmoid_grad"]
    assert by_name(report)["sigmoid_grad"]["blocked_by"] == ["sigmoid"]
