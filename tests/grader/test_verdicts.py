"""Verdicts derived from a worker's header, case records and gradient check (grader/verdicts.py),
and on warnings: a promise of stability broken by an overflow or invalid-value warning fails
the exercise with the stable form named; elsewhere the warnings are part of the feedback."""

from __future__ import annotations

import signal

import numpy as np
import pytest

import grader
from grader.catalogue import EXERCISES
from grader.results import ExitCode, Status
from grader.runner import Limits
from grader.spec import Case
from grader.verdicts import describe_gradcheck, judge_worker_header, modified_names, read_document, well_formed
from grader.worker import protocol, wire
from tests.grader.conftest import by_name, copy_model, grade_json

LIMITS = Limits(timeout=7, memory_mb=512)
OK = {"timed_out": False, "too_large": False, "exit_code": 0, "signal": None, "nbytes": 10}


@pytest.mark.parametrize(
    "changes, status, phrase",
    [
        ({"timed_out": True}, Status.TIMEOUT, "limit of 7 s"),
        ({"signal": int(signal.SIGSEGV), "exit_code": None}, Status.ERROR, "killed by signal SIGSEGV"),
        ({"signal": int(signal.SIGKILL), "exit_code": None}, Status.ERROR, "memory limit of 512 MB"),
        ({"exit_code": 7, "nbytes": 0}, Status.ERROR, "exit code 7"),
        ({"exit_code": 3, "nbytes": 0}, Status.ERROR, "memory limit of 512 MB"),
        ({"too_large": True}, Status.ERROR, "too much data"),
        ({"lost": True, "detail": "EOF"}, Status.ERROR, "stopped responding"),
    ],
)
def test_a_worker_that_did_not_answer_gets_a_status_and_a_reason(changes, status, phrase):
    got_status, message = judge_worker_header({**OK, **changes}, LIMITS)
    assert got_status is status and phrase in message


def test_a_worker_that_answered_is_judged_on_its_payload():
    assert judge_worker_header(OK, LIMITS) is None


def test_modified_inputs_are_named_by_parameter():
    case = Case("c", args=(np.zeros(2), {"W1": np.zeros(3)}), kwargs={"axis": np.ones(1)}, upstream=(np.ones(2),))
    after = wire.decode(wire.encode([[np.zeros(2), {"W1": np.ones(3)}], {"axis": np.ones(1)}, [np.zeros(2)]]))
    assert modified_names(case, after, ["x", "params"]) == ["params['W1']", "the upstream gradient"]
    assert modified_names(case, after, ["x", "params"], upstream_only=True) == ["the upstream gradient"]


def test_gradient_check_line_flags_disagreement_only_beyond_tolerance():
    good = {"report": [{"name": "dx", "max_rel_error": 1e-9, "coords": 3}]}
    bad = {
        "report": [
            {"name": "dx", "max_rel_error": 1e-9, "coords": 3},
            {"name": "dw", "max_rel_error": 0.5, "coords": 3},
        ]
    }
    assert "agrees" in describe_gradcheck(good)
    assert "disagrees" in describe_gradcheck(bad) and "dw rel. error 5.0e-01" in describe_gradcheck(bad)
    assert describe_gradcheck(None) is None


def test_numerical_gradient_check_measures_a_wrong_gradient():
    def forward(x, w):
        return x @ w, (x, w)

    rng = np.random.default_rng(0)
    x, w, up = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    right = (up @ w.T, x.T @ up)
    wrong = (up @ w.T, 3 * x.T @ up)
    ok = protocol.numerical_gradient_check(forward, (x, w), {}, (up,), right, (0, 1), ("dx", "dw"))
    off = protocol.numerical_gradient_check(forward, (x, w), {}, (up,), wrong, (0, 1), ("dx", "dw"))
    assert max(item["max_rel_error"] for item in ok) < 1e-6
    assert off[1]["max_rel_error"] > 0.1 and off[0]["max_rel_error"] < 1e-6


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        {"cases": []},
        {"load": {}, "cases": ["x"]},
        {"load": {}, "violations": [1]},
        {"load": {}, "cases": [{"index": "0", "outcome": "ok"}]},
        {"load": {}, "gradcheck": {"report": [{"name": "dx", "max_rel_error": "big"}]}},
        {"load": {"outcome": 3}},
        {"load": {}, "cases": [{"index": 0, "outcome": "ok", "duration": -1.0}]},
        {"load": {}, "cases": [{"index": 0, "outcome": "raised", "message": ["not", "text"]}]},
        {"load": {}, "violations": ["x"] * 65},
        {"load": {}, "gradcheck": {"error": 1}},
    ],
)
def test_malformed_worker_documents_are_rejected(doc):
    assert not well_formed(doc)


def test_a_real_worker_document_is_well_formed():
    doc = {
        "load": {"outcome": "ok"},
        "violations": [],
        "params": ["z"],
        "cases": [{"index": 0, "outcome": "ok", "duration": 0.1, "value": None, "inputs_after": None}],
        "gradcheck": {"report": [{"name": "dx", "max_rel_error": 1e-9, "coords": 3}]},
    }
    assert well_formed(doc)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b'{"load": {"outcome": "ok"}, "cases": [], "gradcheck": {"report": [{"name": "dx", "max_rel_error": NaN}]}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"load": {"outcome": "ok"}, "cases": [' + b"[]," * 600_000 + b"[]]}",
        b'{"load": {"outcome": "ok"}, "cases": [{"index": 0, "outcome": "ok", "duration": 1e999}]}',
    ],
)
def test_a_payload_the_grader_cannot_read_is_rejected_not_raised(payload):
    assert read_document(payload) is None


def test_an_unreadable_value_is_the_students_error():
    from grader.spec import Exercise
    from grader.verdicts import judge

    case = Case("c", args=(np.zeros(2),))
    ex = Exercise("f", "m", 1, "function", lambda rng: [case])
    bad = {"t": "nd", "dtype": "<f8", "shape": [0, 10**20], "data": ""}
    doc = {
        "load": {"outcome": "ok"},
        "violations": [],
        "params": None,
        "cases": [{"index": 0, "outcome": "ok", "duration": 0.0, "value": bad}],
    }
    res = judge(ex, [case], [np.zeros(2)], doc, "m.py")
    assert res.status is Status.ERROR and "cannot read" in res.message and not res.internal


# -- warnings --------------------------------------------------------------------------------

NAIVE_SIGMOID = "\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))\n"
# right values (exp overflows to inf, 4 / inf is 0) but an overflow warning on |z| up to 1e4
WARNING_TANH_GRAD = (
    "\n\ndef tanh_grad(z):\n    z = np.asarray(z, dtype=float)\n    return 4 / (np.exp(z) + np.exp(-z)) ** 2\n"
)


def test_naive_sigmoid_fails_on_its_overflow_warning_with_the_stable_form(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "activations.py"
    path.write_text(path.read_text() + NAIVE_SIGMOID)
    code, report = grade_json(tmp_path, "sigmoid", "--submission", str(sub), "--seed", "1")
    entry = by_name(report)["sigmoid"]
    assert entry["status"] == "failed" and entry["score"] == 0 and code == ExitCode.NOT_ALL_PASSED
    assert entry["message"].startswith("Your code warned in case")
    assert "RuntimeWarning: overflow;" in entry["message"], "by category: the rest of a warning is the student's"
    assert "large |z|" in entry["failed_case"]
    assert entry["hint"] == EXERCISES["sigmoid"].stable and "np.exp(-np.abs(z))" in entry["hint"]


def test_a_warning_where_no_stability_is_promised_is_reported_not_failed(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "activations.py"
    path.write_text(path.read_text() + WARNING_TANH_GRAD)
    assert not EXERCISES["tanh_grad"].stable
    code, report = grade_json(tmp_path, "tanh_grad", "--submission", str(sub), "--seed", "1")
    entry = by_name(report)["tanh_grad"]
    assert entry["status"] == "passed" and code == ExitCode.ALL_PASSED
    assert entry["warnings"] and entry["warnings"][0].startswith("RuntimeWarning: overflow (in case")
    assert "Warning from your code: RuntimeWarning: overflow (in case" in entry["message"]


def test_a_stable_sigmoid_gives_no_warning_and_passes(tmp_path):
    sub = copy_model(tmp_path / "sub")
    _, report = grade_json(tmp_path, "activations", "--submission", str(sub), "--seed", "1")
    assert all(e["status"] == "passed" and e["warnings"] == [] for e in report["exercises"])


def test_the_notebook_check_fails_a_naive_sigmoid_the_same_way():
    namespace: dict = {}
    exec("import numpy as np" + NAIVE_SIGMOID, namespace)
    with pytest.raises(AssertionError) as info:
        grader.check("sigmoid", namespace["sigmoid"])
    assert "RuntimeWarning: overflow" in str(info.value) and info.value.result.hint == EXERCISES["sigmoid"].stable
