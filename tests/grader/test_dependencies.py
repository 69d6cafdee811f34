"""Root causes and fair credit (grader/dependencies.py, grader/worker/observe.py).

The corpus of classic slips: the model answers with one bug each, graded by
the real grader (workers, sandbox when available), under both credit
policies. Each slip asserts the verdict of every exercise it touches, its
``blocked_by`` and what it earns."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import NamedTuple

import pytest

from grader.catalogue import EXERCISES
from grader.dependencies import AskBounds, reference_answer, settle, substitution
from grader.results import ExitCode, Result, Status
from grader.worker import wire
from grader.worker.observe import Observer
from tests.grader.conftest import MODEL_DIR, by_name, copy_model, grade_json


class Expect(NamedTuple):
    status: str
    blocked_by: list
    right_once_fixed: bool | None


class Slip(NamedTuple):
    what: str
    module: str
    old: str
    new: str
    names: tuple  # what is graded
    expect: dict  # exercise -> Expect (the others pass)


SLIPS = [
    Slip(
        "step with z >= 0",
        "perceptron",
        "return (np.asarray(z) > 0).astype(np.int64)",
        "return (np.asarray(z) >= 0).astype(np.int64)",
        ("perceptron",),
        {
            "step": Expect("failed", [], None),
            "perceptron_predict": Expect("failed", ["step"], True),
            "perceptron_update": Expect("failed", ["step"], True),
            "perceptron_train": Expect("failed", ["step"], True),
        },
    ),
    Slip(
        "affine_backward averages db",
        "backprop",
        "return dout @ W.T, x.T @ dout, np.sum(dout, axis=0)",
        "return dout @ W.T, x.T @ dout, np.mean(dout, axis=0)",
        ("backprop",),
        {
            "affine_backward": Expect("failed", [], None),
            "two_layer_net_loss": Expect("failed", ["affine_backward"], True),
        },
    ),
    Slip(
        "unscaled attention scores",
        "attention",
        "scale = 1.0 / math.sqrt(Q.shape[-1])",
        "scale = 1.0",
        ("attention",),
        {
            "scaled_dot_product_attention": Expect("failed", [], None),
            # its forward fails on its own: a gradient check against it is a diagnostic, no credit
            "scaled_dot_product_attention_backward": Expect("failed", ["scaled_dot_product_attention"], None),
            "multi_head_attention_forward": Expect("failed", ["scaled_dot_product_attention"], True),
            # its backward cannot be shown right (a diagnostic only): both are named
            "multi_head_attention_backward": Expect(
                "failed", ["scaled_dot_product_attention", "scaled_dot_product_attention_backward"], True
            ),
            "transformer_block_forward": Expect("failed", ["scaled_dot_product_attention"], True),
            # its forward is right once attention is fixed: graded as usual, attention answered
            "transformer_block_backward": Expect(
                "failed", ["scaled_dot_product_attention", "scaled_dot_product_attention_backward"], True
            ),
        },
    ),
    Slip(
        "LSTM gates in the order i, f, o, g",
        "rnn",
        "i, f, g, o = np.split(a, 4, axis=-1)",
        "i, f, o, g = np.split(a, 4, axis=-1)",
        ("rnn",),
        {
            "lstm_cell_forward": Expect("failed", [], None),
            # the cell's backward only gets a diagnostic gradient check against the wrong forward
            "lstm_cell_backward": Expect("failed", ["lstm_cell_forward"], None),
            "lstm_forward": Expect("failed", ["lstm_cell_forward"], True),
            "lstm_backward": Expect("failed", ["lstm_cell_forward", "lstm_cell_backward"], True),
        },
    ),
]


def submission_with(tmp_path: Path, slip: Slip) -> Path:
    sub = copy_model(tmp_path / "sub")
    path = sub / f"{slip.module}.py"
    source = path.read_text()
    assert source.count(slip.old) == 1, "the model answer changed: update the slip"
    path.write_text(source.replace(slip.old, slip.new))
    return sub


@pytest.mark.parametrize("slip", SLIPS, ids=[s.what for s in SLIPS])
def test_a_classic_slip_is_named_as_the_root_cause_and_credited_by_policy(tmp_path, slip):
    sub = submission_with(tmp_path, slip)
    runs = {
        credit: grade_json(tmp_path, *slip.names, "--submission", str(sub), "--seed", "5", "--credit", credit)
        for credit in ("independent", "strict")
    }
    for credit, (code, report) in runs.items():
        assert code == ExitCode.NOT_ALL_PASSED, "a blocked exercise never makes the submission right"
        assert report["credit"] == credit
        results = by_name(report)
        for name, entry in results.items():
            want = slip.expect.get(name, Expect("passed", [], None))
            got = (entry["status"], entry["blocked_by"], entry["right_once_fixed"])
            assert got == tuple(want), f"{credit}: {name}"
            credited = credit == "independent" and want.right_once_fixed is True
            assert entry["score"] == (entry["max_score"] if want.status == "passed" or credited else 0), name
            first = entry["message"].splitlines()[0]
            if want.blocked_by:
                roots = " and ".join(f"`{n}`" for n in want.blocked_by)
                assert first.startswith(f"Fails because your {roots} fail"), first
                assert f"fix {roots} first" in first
            if want.right_once_fixed:
                assert f"Right once {roots} " in first and f"credit {credit}" in first
    independent, strict = (runs[c][1] for c in ("independent", "strict"))
    bonus = sum(EXERCISES[n].points for n, e in slip.expect.items() if e.right_once_fixed)
    assert independent["score"] - strict["score"] == bonus


def test_observed_calls_include_the_forward_that_made_a_backward_cache(tmp_path):
    sub = copy_model(tmp_path / "sub")
    (sub / "backprop.py").write_text(
        (sub / "backprop.py")
        .read_text()
        .replace(
            "def relu_backward(dout, cache):",
            "def relu_backward(dout, cache):\n    raise ValueError('no')\n\ndef _unused(dout, cache):",
        )
    )
    _, report = grade_json(tmp_path, "relu_backward", "--submission", str(sub), "--seed", "2")
    entry = by_name(report)["relu_backward"]
    assert entry["depends_on"] == ["relu_forward"] and entry["blocked_by"] == []


def test_a_stub_dependency_blocks_and_the_caller_earns_its_points_independently(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "perceptron.py"
    path.write_text(
        path.read_text().replace("def step(z):", "def step(z):\n    raise NotImplementedError\n\n\ndef _old_step(z):")
    )
    code, report = grade_json(tmp_path, "step", "perceptron_predict", "--submission", str(sub), "--seed", "2")
    step, predict = by_name(report)["step"], by_name(report)["perceptron_predict"]
    assert step["status"] == "not_implemented" and predict["blocked_by"] == ["step"]
    assert predict["right_once_fixed"] is True and predict["score"] == predict["max_score"]
    assert code == ExitCode.NOT_ALL_PASSED


# -- the parts, without workers ------------------------------------------------------------


def _result(name: str, passed: bool, depends_on=()) -> Result:
    ex = EXERCISES[name]
    return Result(
        name,
        ex.module,
        ex.points if passed else 0,
        ex.points,
        Status.PASSED if passed else Status.FAILED,
        "Wrong output." if not passed else "All passed.",
        depends_on=list(depends_on),
    )


def test_root_causes_skip_dependencies_that_are_right_once_theirs_are_fixed():
    results = {
        "step": _result("step", False),
        "perceptron_predict": _result("perceptron_predict", False, ["step"]),
        "perceptron_update": _result("perceptron_update", False, ["perceptron_predict", "step"]),
        "perceptron_train": _result("perceptron_train", False, ["perceptron_update", "perceptron_predict"]),
    }
    asked = []

    def regrade(ex, failing, substitute, gradcheck):
        asked.append((ex.name, tuple(failing), gradcheck))
        return ex.name != "perceptron_update", "graded again, all cases pass"

    settle(results, EXERCISES, regrade, "strict")
    assert results["perceptron_predict"].blocked_by == ["step"]
    # update is still wrong with a correct step: it is a root cause of train's failure too
    assert (
        results["perceptron_update"].blocked_by == ["step"] and results["perceptron_update"].right_once_fixed is False
    )
    assert results["perceptron_train"].blocked_by == ["perceptron_update", "step"]
    assert all(r.score == 0 for r in results.values()), "strict credit gives nothing"
    assert results["step"].blocked_by == [] and ("step", (), False) not in asked


def test_independent_credit_gives_the_points_and_keeps_the_status():
    results = {"step": _result("step", False), "perceptron_predict": _result("perceptron_predict", False, ["step"])}
    settle(results, EXERCISES, lambda *a: (True, "graded again, all cases pass"), "independent")
    predict = results["perceptron_predict"]
    assert predict.score == predict.max_score and predict.status is Status.FAILED and predict.credited
    assert predict.message.startswith(
        "Fails because your `step` fails: fix `step` first. Right once `step` "
        "is fixed: graded again, all cases pass (credit independent"
    )


def test_a_backward_with_a_failing_forward_gets_a_gradient_check_as_a_diagnostic_only():
    results = {
        "affine_forward": _result("affine_forward", False),
        "affine_backward": _result("affine_backward", False, ["affine_forward"]),
    }
    seen = []
    settle(results, EXERCISES, lambda ex, failing, sub, check: seen.append((ex.name, sub, check)) or (True, "ok"))
    assert seen == [("affine_backward", frozenset(), True)]
    backward = results["affine_backward"]
    assert backward.right_once_fixed is None and backward.score == 0 and not backward.credited
    assert "Diagnostic only, no credit: ok." in backward.message.splitlines()[0]


def test_a_backward_whose_forward_is_only_blocked_is_graded_as_usual_after_its_forward():
    """lstm_forward fails only because lstm_cell_forward does: lstm_backward is graded
    with the cell's functions answered, against the expected values, not by a gradient check."""
    results = {
        "lstm_cell_forward": _result("lstm_cell_forward", False),
        "lstm_forward": _result("lstm_forward", False, ["lstm_cell_forward"]),
        "lstm_backward": _result("lstm_backward", False, ["lstm_forward", "lstm_cell_forward"]),
    }
    seen = []
    settle(results, EXERCISES, lambda ex, failing, sub, check: seen.append((ex.name, sub, check)) or (True, "ok"))
    assert seen == [("lstm_forward", {"lstm_cell_forward"}, False), ("lstm_backward", {"lstm_cell_forward"}, False)], (
        "the forward first, then its backward"
    )
    assert results["lstm_backward"].blocked_by == ["lstm_cell_forward"]


def test_a_backward_whose_forward_is_a_stub_is_not_graded_again():
    results = {
        "affine_forward": _result("affine_forward", False),
        "affine_backward": _result("affine_backward", False, ["affine_forward"]),
    }
    results["affine_forward"].status = Status.NOT_IMPLEMENTED
    settle(results, EXERCISES, lambda *a: pytest.fail("nothing to judge it against"))
    backward = results["affine_backward"]
    assert backward.blocked_by == ["affine_forward"] and backward.right_once_fixed is None
    assert backward.message.splitlines()[0] == "Fails because your `affine_forward` fails: fix `affine_forward` first."


def test_a_regrade_that_breaks_costs_the_credit_not_the_run():
    results = {"step": _result("step", False), "perceptron_predict": _result("perceptron_predict", False, ["step"])}

    def broken(*args):
        raise KeyError("bug")

    settle(results, EXERCISES, broken)
    predict = results["perceptron_predict"]
    assert predict.blocked_by == ["step"] and predict.right_once_fixed is None and predict.score == 0
    assert "could not be graded again (grader problem: KeyError)" in predict.message


def test_a_failing_backward_is_answered_with_its_forward_so_caches_match():
    assert substitution(["affine_backward"], EXERCISES, "two_layer_net_loss") == {"affine_backward", "affine_forward"}
    assert substitution(["step"], EXERCISES, "perceptron_predict") == {"step"}


def test_reference_answers_only_the_allowed_names_and_plain_arguments():
    import numpy as np

    answer = reference_answer(
        EXERCISES,
        frozenset({"step"}),
        "perceptron_predict",
        AskBounds(EXERCISES["perceptron_predict"].cases(np.random.default_rng(0))),
    )
    ask = lambda name, args: wire.dumps({"name": name, "args": wire.encode(args), "kwargs": wire.encode({})})  # noqa: E731
    value = wire.decode(answer(ask("step", [np.array([-1.0, 0.0, 2.0])]))["value"])
    assert value.tolist() == [0, 0, 1]
    assert "error" in answer(ask("perceptron_train", [np.zeros(2)])), "only failing dependencies are answered"
    assert "error" in answer(ask("step", [object()])), "unsupported arguments are refused"
    assert "error" in answer(b"{not json") and "error" in answer(ask("step", []))


def test_observer_wraps_graded_functions_in_names_and_registries(tmp_path):
    path = tmp_path / "backprop.py"
    path.write_text(
        "def affine_forward(x):\n    return x + 1, None\n"
        "REGISTRY = {'a': (affine_forward, 1)}\n"
        "def two_layer_net_loss(x):\n    return REGISTRY['a'][0](x)[0] + affine_forward(x)[0]\n"
    )
    mod = types.ModuleType("backprop")
    mod.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), mod.__dict__)
    sys.modules["backprop"] = mod
    try:
        observer = Observer("two_layer_net_loss")
        observer.install({"backprop": ["affine_forward", "two_layer_net_loss"]}, str(tmp_path))
        assert mod.two_layer_net_loss(1) == 4
        assert observer.calls() == ["affine_forward"]
        assert mod.two_layer_net_loss.__wrapped__.__name__ == "two_layer_net_loss"
    finally:
        del sys.modules["backprop"]


def test_model_answers_have_no_blocked_exercises(tmp_path):
    sub = copy_model(tmp_path / "sub")
    code, report = grade_json(tmp_path, "perceptron", "backprop", "--submission", str(sub), "--seed", "4")
    assert code == ExitCode.ALL_PASSED
    assert all(e["blocked_by"] == [] and e["right_once_fixed"] is None for e in report["exercises"])
    assert by_name(report)["perceptron_train"]["depends_on"], "the calls of a passing exercise are observed too"
    assert MODEL_DIR.is_dir()


# -- the ask/answer channel under attack ------------------------------------------------------

#: perceptron_predict that finds the child's ask pipe through the frames and asks the
#: grader for answers it must refuse (its own function, and perceptron_train): it returns
#: the right labels only if an answer came back, garbage otherwise.
FORGED_ASKS = """

def perceptron_predict(w, b, X):
    os = np._pytesttester.os
    try:
        raise RuntimeError
    except RuntimeError as exc:
        frame = exc.__traceback__.tb_frame
    req = None
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if type(value) is dict and "ask_fd" in value:
                req = value
        frame = frame.f_back
    answered = False
    if req is not None:
        arrays = '{"t":"list","v":[{"t":"list","v":[1.0,-1.0]},0.5,{"t":"list","v":[{"t":"list","v":[1.0,2.0]}]}]}'
        for name in ("perceptron_predict", "perceptron_train"):
            ask = '{"name":"%s","args":%s,"kwargs":{"t":"dict","v":[]}}\\n' % (name, arrays)
            os.write(req["ask_fd"], ask.encode())
            reply = b""
            while not reply.endswith(b"\\n"):
                reply += os.read(req["answer_fd"], 1 << 16)
            answered = answered or b'"value"' in reply
    X = np.asarray(X, dtype=float)
    scores = X @ np.asarray(w, dtype=float) + b
    right = (scores > 0).astype(np.int64)
    return right if answered else 1 - right
"""


def test_a_child_cannot_get_answers_for_functions_that_are_not_failing_dependencies(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "perceptron.py"
    source = path.read_text().replace(
        "return (np.asarray(z) > 0).astype(np.int64)", "return (np.asarray(z) >= 0).astype(np.int64)"
    )
    path.write_text(source + FORGED_ASKS)
    code, report = grade_json(tmp_path, "step", "perceptron_predict", "--submission", str(sub), "--seed", "3")
    predict = by_name(report)["perceptron_predict"]
    assert predict["status"] == "failed" and predict["score"] == 0
    # it never calls step: nothing blocks it, it is not graded again, and its asks got no answer
    assert predict["blocked_by"] == [] and predict["right_once_fixed"] is None
    assert code == ExitCode.NOT_ALL_PASSED


def test_forged_asks_in_a_regrade_are_refused_while_the_real_dependency_is_answered(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "perceptron.py"
    source = path.read_text().replace(
        "return (np.asarray(z) > 0).astype(np.int64)", "return (np.asarray(z) >= 0).astype(np.int64)"
    )
    # calls step (so step is a failing dependency and predict is graded again with step
    # answered by the grader), then forges asks for names it must not get
    forged = FORGED_ASKS.replace(
        "    X = np.asarray(X, dtype=float)\n", "    step(np.zeros(1))\n    X = np.asarray(X, dtype=float)\n"
    )
    path.write_text(source + forged)
    _, report = grade_json(tmp_path, "step", "perceptron_predict", "--submission", str(sub), "--seed", "3")
    predict = by_name(report)["perceptron_predict"]
    assert predict["blocked_by"] == ["step"], "the call to step was observed"
    assert predict["right_once_fixed"] is False and predict["score"] == 0, (
        "an answer for perceptron_predict or perceptron_train would have made it right"
    )


def test_the_forged_asks_reach_the_grader_a_control_asking_for_the_failing_step(tmp_path):
    """The same attack asking for ``step`` (a failing dependency, answered in the
    regrade): the answer comes back, so the refusals above are the grader's doing."""
    sub = copy_model(tmp_path / "sub")
    path = sub / "perceptron.py"
    source = path.read_text().replace(
        "return (np.asarray(z) > 0).astype(np.int64)", "return (np.asarray(z) >= 0).astype(np.int64)"
    )
    control = (
        FORGED_ASKS.replace('("perceptron_predict", "perceptron_train")', '("step",)')
        .replace(
            """arrays = '{"t":"list","v":[{"t":"list","v":[1.0,-1.0]},0.5,{"t":"list","v":[{"t":"list","v":[1.0,2.0]}]}]}'""",
            """arrays = '{"t":"list","v":[{"t":"list","v":[1.0,-1.0]}]}'""",
        )
        .replace("    X = np.asarray(X, dtype=float)\n", "    step(np.zeros(1))\n    X = np.asarray(X, dtype=float)\n")
    )
    assert control.count('("step",)') == 1 and "step(np.zeros(1))" in control
    path.write_text(source + control)
    _, report = grade_json(tmp_path, "step", "perceptron_predict", "--submission", str(sub), "--seed", "3")
    predict = by_name(report)["perceptron_predict"]
    assert predict["blocked_by"] == ["step"] and predict["right_once_fixed"] is True
