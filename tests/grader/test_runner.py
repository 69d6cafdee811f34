"""The runner: seeded cases, the request a worker gets, staging, the pool's answers."""

from __future__ import annotations

import numpy as np

from grader.runner import case_rng
from grader.spec import Case


def test_case_generator_depends_on_seed_and_exercise_only():
    a = case_rng(5, "relu").standard_normal(3)
    assert np.array_equal(a, case_rng(5, "relu").standard_normal(3))
    assert not np.array_equal(a, case_rng(6, "relu").standard_normal(3))
    assert not np.array_equal(a, case_rng(5, "sigmoid").standard_normal(3))


def test_gradient_check_uses_the_smallest_float64_case():
    from grader.runner import gradcheck_request
    from grader.spec import Exercise

    cases = [
        Case("big64", args=(np.zeros((4, 4)),), upstream=(np.zeros((4, 4)),)),
        Case("small32", args=(np.zeros(2, np.float32),), upstream=(np.zeros(2, np.float32),)),
        Case("small64", args=(np.zeros(3),), upstream=(np.zeros(3),)),
    ]
    ex = Exercise("f_backward", "m", 1, "backward", lambda rng: cases, forward="f_forward", wrt=(0,), outputs=("dx",))
    assert gradcheck_request(ex, cases, seed=0)["case"] == 2
