"""Verdicts the runner derives from a worker's header, case records and gradient check."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from grader.worker import protocol, wire
from grader.results import Status
from grader.runner import Limits, case_rng
from grader.verdicts import describe_gradcheck, judge_worker_header, modified_names, well_formed
from grader.spec import Case

LIMITS = Limits(timeout=7, memory_mb=512)
OK = {"timed_out": False, "too_large": False, "exit_code": 0, "signal": None, "nbytes": 10}


@pytest.mark.parametrize("changes, status, phrase", [
    ({"timed_out": True}, Status.TIMEOUT, "limit of 7 s"),
    ({"signal": int(signal.SIGSEGV), "exit_code": None}, Status.ERROR, "killed by signal SIGSEGV"),
    ({"signal": int(signal.SIGKILL), "exit_code": None}, Status.ERROR, "memory limit of 512 MB"),
    ({"exit_code": 7, "nbytes": 0}, Status.ERROR, "exit code 7"),
    ({"exit_code": 3, "nbytes": 0}, Status.ERROR, "memory limit of 512 MB"),
    ({"too_large": True}, Status.ERROR, "too much data"),
    ({"lost": True, "detail": "EOF"}, Status.ERROR, "stopped responding"),
])
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
    bad = {"report": [{"name": "dx", "max_rel_error": 1e-9, "coords": 3},
                      {"name": "dw", "max_rel_error": 0.5, "coords": 3}]}
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


def test_case_generator_depends_on_seed_and_exercise_only():
    a = case_rng(5, "relu").standard_normal(3)
    assert np.array_equal(a, case_rng(5, "relu").standard_normal(3))
    assert not np.array_equal(a, case_rng(6, "relu").standard_normal(3))
    assert not np.array_equal(a, case_rng(5, "sigmoid").standard_normal(3))


def test_gradient_check_uses_the_smallest_float64_case():
    from grader.runner import gradcheck_request
    from grader.spec import Exercise

    cases = [Case("big64", args=(np.zeros((4, 4)),), upstream=(np.zeros((4, 4)),)),
             Case("small32", args=(np.zeros(2, np.float32),), upstream=(np.zeros(2, np.float32),)),
             Case("small64", args=(np.zeros(3),), upstream=(np.zeros(3),))]
    ex = Exercise("f_backward", "m", 1, "backward", lambda rng: cases, forward="f_forward", wrt=(0,),
                  outputs=("dx",))
    assert gradcheck_request(ex, cases, seed=0)["case"] == 2


@pytest.mark.parametrize("doc", [
    None, [], {"cases": []}, {"load": {}, "cases": ["x"]}, {"load": {}, "violations": [1]},
    {"load": {}, "cases": [{"index": "0", "outcome": "ok"}]},
    {"load": {}, "gradcheck": {"report": [{"name": "dx", "max_rel_error": "big"}]}},
])
def test_malformed_worker_documents_are_rejected(doc):

    assert not well_formed(doc)


def test_a_real_worker_document_is_well_formed():

    doc = {"load": {"outcome": "ok"}, "violations": [], "params": ["z"], "cases": [
        {"index": 0, "outcome": "ok", "duration": 0.1, "value": None, "inputs_after": None}],
        "gradcheck": {"report": [{"name": "dx", "max_rel_error": 1e-9, "coords": 3}]}}
    assert well_formed(doc)
