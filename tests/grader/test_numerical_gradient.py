"""numerical_gradient graded end to end: a function crosses into the worker as a name.

Each submission is a gradcheck.py graded by ``nngrade`` (the worker, its
sandbox when there is one) or by ``grader.check`` (a notebook's self-check).
The hostile ones use the ``f`` they are handed (introspect it, tamper with
the worker's registry through it): the expected values are the grader's,
so none of that earns a point.
"""

from __future__ import annotations

import textwrap

import pytest

import grader
from grader.catalogue import EXERCISES
from tests.grader.conftest import MODEL_DIR, STUBS_DIR, by_name, grade_json

POINTS = EXERCISES["numerical_gradient"].points
RESTORE = "restore x[i] = old right after each entry's two evaluations"

#: numerical_gradient implementations appended to the model's rel_error.
SLIPS = {
    "unrestored": """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x)
            for idx in np.ndindex(*x.shape):
                old = x[idx]
                x[idx] = old + h
                plus = f(x)
                x[idx] = old - h
                grad[idx] = (plus - f(x)) / (2 * h)
            return grad
    """,
    "one_sided": """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x)
            base = f(x)
            for idx in np.ndindex(*x.shape):
                old = x[idx]
                x[idx] = old + h
                grad[idx] = (f(x) - base) / h
                x[idx] = old
            return grad
    """,
    # reads what f is from its closure and answers with the exact derivative, or a finer step
    "introspects": """
        def numerical_gradient(f, x, h=1e-5):
            exact = {"sum_of_squares": lambda v: 2 * v, "sum_of_cubes": lambda v: 3 * v**2}
            if f.__name__ in exact:
                return exact[f.__name__](x)
            grad = np.zeros_like(x)
            for idx in np.ndindex(*x.shape):
                old = x[idx]
                x[idx] = old + 1e-6
                plus = f(x)
                x[idx] = old - 1e-6
                grad[idx] = (plus - f(x)) / 2e-6
                x[idx] = old
            return grad
    """,
    # makes every registry function 0 in its worker, then answers 0 (what f now says)
    "tampers": """
        def numerical_gradient(f, x, h=1e-5):
            registry = f.__globals__["SCALAR_FUNCTIONS"]
            for name in list(registry):
                registry[name] = registry[name]._replace(fn=lambda v, **params: 0.0)
            return np.zeros_like(x)
    """,
    "returns_f": """
        def numerical_gradient(f, x, h=1e-5):
            return f
    """,
}
MODEL = (MODEL_DIR / "gradcheck.py").read_text()


def _without_numerical_gradient(source: str) -> str:
    start = source.index("def numerical_gradient(")
    end = source.index("\ndef ", start + 1)
    return source[:start] + source[end + 1 :]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Each submission's numerical_gradient result, from one nngrade run per submission."""
    tmp = tmp_path_factory.mktemp("numgrad")
    sources = {"model": MODEL, "stub": (STUBS_DIR / "gradcheck.py").read_text()}
    sources.update(
        {name: _without_numerical_gradient(MODEL) + "\n\n" + textwrap.dedent(code) for name, code in SLIPS.items()}
    )
    results = {}
    for name, source in sources.items():
        folder = tmp / name
        folder.mkdir()
        (folder / "gradcheck.py").write_text(source)
        _, report = grade_json(tmp, "--submission", str(folder), "--seed", "5", "numerical_gradient")
        results[name] = by_name(report)["numerical_gradient"]
    return results


def test_the_model_answer_earns_the_points(graded):
    got = graded["model"]
    assert (got["status"], got["score"], got["max_score"]) == ("passed", POINTS, POINTS), got["message"]


def test_the_stub_earns_nothing_and_says_not_implemented(graded):
    got = graded["stub"]
    assert (got["status"], got["score"]) == ("not_implemented", 0)
    assert "Not implemented yet: numerical_gradient raised NotImplementedError" in got["message"]


def test_x_left_changed_fails_saying_restore_x_i(graded):
    got = graded["unrestored"]
    assert (got["status"], got["score"]) == ("failed", 0)
    assert "You modified the input x in place" in got["message"] and RESTORE in got["message"]
    assert "copy it before changing it" not in got["message"]


def test_a_one_sided_difference_fails_with_its_hint(graded):
    got = graded["one_sided"]
    assert (got["status"], got["score"]) == ("failed", 0)
    assert "one-sided" in got["hint"]


@pytest.mark.parametrize("name", ["introspects", "tampers", "returns_f"])
def test_what_a_student_does_with_f_earns_nothing(graded, name):
    got = graded[name]
    assert got["score"] == 0 and got["status"] in ("failed", "error"), got["message"]
    assert got["cases_passed"] < got["cases_total"]


def _cell(source: str) -> dict:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, "<ipython-input-1>", "exec"), namespace)
    return namespace


def test_a_notebook_self_check_grades_it_the_same_way():
    result = grader.check("numerical_gradient", _cell(MODEL)["numerical_gradient"])
    assert result.passed and result.score == POINTS
    slip = _cell(_without_numerical_gradient(MODEL) + textwrap.dedent(SLIPS["unrestored"]))
    with pytest.raises(AssertionError, match="restore x"):
        grader.check("numerical_gradient", slip["numerical_gradient"])
