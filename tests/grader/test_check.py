"""``grader.check`` as a notebook cell calls it: functions defined by exec in a fresh namespace."""

from __future__ import annotations

import textwrap

import pytest

import grader
from grader.catalogue import EXERCISES
from tests.grader.conftest import MODEL_DIR


def notebook(source: str) -> dict:
    """A fresh namespace with the cell's functions, as Jupyter's exec gives them."""
    namespace: dict = {"__name__": "__main__"}
    exec(compile(textwrap.dedent(source), "<ipython-input-1>", "exec"), namespace)
    return namespace


def model_cell(module: str) -> dict:
    return notebook((MODEL_DIR / f"{module}.py").read_text())


def test_correct_function_passes_prints_one_line_and_returns_the_result(capsys):
    ns = model_cell("activations")
    result = grader.check("softmax", ns["softmax"])
    assert result.status == "passed" and result.score == result.max_score == EXERCISES["softmax"].points
    assert result["name"] == "softmax" and set(result.keys()) >= {"name", "score", "max_score", "status", "message"}
    n = result.cases_total
    pts = EXERCISES["softmax"].points
    assert capsys.readouterr().out == (
        f"softmax: passed, {n}/{n} cases, {pts}/{pts} points "
        "(self-check only: your grade is computed when your notebook is graded)\n"
    )


def test_a_passing_result_displays_nothing_in_a_notebook():
    """IPython calls _ipython_display_ instead of sending an execute_result nbgrader would parse."""
    result = grader.check("relu", model_cell("activations")["relu"])
    assert result._ipython_display_() is None
    assert repr(result).startswith("<relu: passed,") and len(repr(result)) < 80


def test_wrong_function_raises_assertion_with_the_feedback_and_hint():
    ns = notebook("""
        import numpy as np
        def softmax(z, axis=-1):
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    """)
    with pytest.raises(AssertionError) as info:
        grader.check("softmax", ns["softmax"])
    message = str(info.value)
    n = info.value.result.cases_total
    passed, pts = info.value.result.cases_passed, EXERCISES["softmax"].points
    head = f"softmax: failed, {passed}/{n} cases, 0/{pts} points (self-check only: "
    assert message.startswith(head)
    assert message.endswith(f"\n\n{info.value.result.message}")
    assert "Wrong output in case" in message and "first mismatch" in message
    assert "\x1b" not in message
    assert isinstance(info.value, AssertionError)
    assert info.value._render_traceback_() == [f"CheckFailed: {message.splitlines()[0]}", *message.splitlines()[1:]]
    assert "axis" in info.value.result.hint
    assert info.value.result.status == "failed" and info.value.result.score == 0


def test_backward_uses_the_forward_from_the_notebook_namespace():
    ns = model_cell("backprop")
    result = grader.check("affine_backward", ns["affine_backward"])
    assert result.passed
    assert result.gradient_check["report"][0]["max_rel_error"] < 1e-5


def test_backward_without_a_working_forward_is_not_implemented():
    ns = notebook("""
        def affine_forward(x, W, b):
            raise NotImplementedError
        def affine_backward(dout, cache):
            x, W, b = cache
            return dout @ W.T, x.T @ dout, dout.sum(axis=0)
    """)
    with pytest.raises(AssertionError, match="needs your affine_forward first") as info:
        grader.check("affine_backward", ns["affine_backward"])
    assert info.value.result.status == "not_implemented"


def test_explicit_forward_overrides_the_namespace():
    good = model_cell("backprop")
    ns = notebook("""
        def affine_backward(dout, cache):
            x, W, b = cache
            return dout @ W.T, x.T @ dout, dout.sum(axis=0)
    """)
    assert grader.check("affine_backward", ns["affine_backward"], forward=good["affine_forward"]).passed


def test_modifying_an_input_fails_even_with_right_values():
    ns = notebook("""
        import numpy as np
        def relu(z):
            np.maximum(z, 0, out=z)
            return z.copy()
    """)
    with pytest.raises(AssertionError, match="You modified the input z in place"):
        grader.check("relu", ns["relu"])


def test_exception_shows_the_cell_traceback_not_the_graders():
    ns = notebook("""
        def relu(z):
            return helper(z)
        def helper(z):
            raise ValueError("boom")
    """)
    with pytest.raises(AssertionError) as info:
        grader.check("relu", ns["relu"])
    message = str(info.value)
    assert info.value.result.status == "error"
    assert "in helper" in message and "ValueError: boom" in message
    assert "_worker.py" not in message and "inprocess.py" not in message


def test_sys_exit_in_a_cell_is_an_error_not_an_exit():
    ns = notebook("""
        def relu(z):
            raise SystemExit(2)
    """)
    with pytest.raises(AssertionError, match=r"sys.exit\(2\)"):
        grader.check("relu", ns["relu"])


def test_seed_changes_the_random_cases_deterministically():
    ns = model_cell("activations")
    seen: list = []
    ns["recording"] = lambda z, axis=-1: (seen.append(z.copy()), ns["softmax"](z, axis))[1]

    def inputs(seed):
        seen.clear()
        grader.check("softmax", ns["recording"], seed=seed)
        return [z.tolist() for z in seen]

    first, again, other = inputs(1), inputs(1), inputs(2)
    assert first == again
    assert first != other


def test_unknown_exercise_suggests_close_names():
    with pytest.raises(KeyError, match="did you mean softmax"):
        grader.check("sofmax", lambda z: z)


def test_wrong_backward_fails_and_the_gradient_check_says_it_disagrees():
    ns = model_cell("backprop")
    wrong = notebook("""
        def affine_backward(dout, cache):
            x, W, b = cache
            return dout @ W.T, 2 * (x.T @ dout), dout.sum(axis=0)
    """)
    with pytest.raises(AssertionError) as info:
        grader.check("affine_backward", wrong["affine_backward"], forward=ns["affine_forward"])
    message = str(info.value)
    assert "dW: wrong values" in message
    assert "Gradient check (diagnostic): your backward disagrees" in message
    report = {item["name"]: item for item in info.value.result.gradient_check["report"]}
    assert report["dW"]["max_rel_error"] > 0.1 > 1e-5 > report["dx"]["max_rel_error"]


@pytest.mark.parametrize(
    "returned, phrase",
    [
        ("{1, 2}", "an object of type set"),
        ("z.tolist()", "expected a NumPy array"),
        ("(z, z)", "expected a NumPy array"),
        ("np.maximum(z, 0).astype(np.float32)", "less precise float32"),
    ],
)
def test_wrong_return_types_are_named(returned, phrase):
    ns = notebook(f"""
        import numpy as np
        def relu(z):
            return {returned}
    """)
    with pytest.raises(AssertionError, match=phrase):
        grader.check("relu", ns["relu"])


def test_control_characters_of_a_students_exception_never_reach_the_report():
    ns = notebook("""
        def relu(z):
            raise ValueError("bad\\x00 \\x1b[31mred\\x1b[0m")
    """)
    with pytest.raises(AssertionError) as info:
        grader.check("relu", ns["relu"])
    message = info.value.result.message
    assert "\\x00" not in message and "\\x1b" not in message and "bad? ?[31mred" in message
