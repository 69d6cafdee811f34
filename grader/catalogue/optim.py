"""Cases and hints for ``optim.py`` (momentum, RMSprop and Adam: one step)."""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import label, randn
from grader.catalogue._hints import matches_variant, non_finite, reference, replace_args, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="optim", kind="function")

SHAPES = ((5,), (3, 4), (2, 3, 2))


def _f(case: Case, index: int) -> np.ndarray:
    return np.asarray(case.args[index], dtype=np.float64)


def _kw(case: Case, name: str, index: int, default):
    """A scalar argument, whether passed by position or keyword."""
    return case.args[index] if len(case.args) > index else case.kwargs.get(name, default)


# -- sgd_momentum_step ------------------------------------------------------------


def momentum_cases(rng: np.random.Generator) -> list[Case]:
    w, dw, m = np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([0.1, -0.2])
    cases = [
        Case(
            "small example: w = [1, -2], dw = [0.5, 1], m = [0.1, -0.2], lr = 0.1, gamma = 0.9 "
            "(m_new = [0.14, -0.08], w_new = [0.86, -1.92])",
            args=(w, dw, m, 0.1),
        ),
        Case(
            "small example: the first step from m = 0, w = [1, -2], dw = [0.5, 1], lr = 0.1",
            args=(w.copy(), dw.copy(), np.zeros(2), 0.1),
        ),
    ]
    for shape, lr, gamma in zip(SHAPES, (0.05, 0.5, 0.01), (None, 0.5, 0.99)):
        w, dw, m = randn(rng, *shape), randn(rng, *shape), randn(rng, *shape, scale=0.1)
        kwargs = {} if gamma is None else {"gamma": gamma}
        cases.append(Case(label("random", {"w": w}, lr=lr, gamma=gamma), args=(w, dw, m, lr), kwargs=kwargs))
    return cases


def _momentum_lr_twice(case: Case):
    w, dw, m = (_f(case, i) for i in range(3))
    lr, gamma = case.args[3], _kw(case, "gamma", 4, 0.9)
    m_new = gamma * m + lr * dw
    return w - lr * m_new, m_new


def _momentum_torch_form(case: Case):
    """m without lr (torch's buffer), stepping w - lr * m: not the lecture's m."""
    w, dw, m = (_f(case, i) for i in range(3))
    lr, gamma = case.args[3], _kw(case, "gamma", 4, 0.9)
    m_new = gamma * m + dw
    return w - lr * m_new, m_new


_ref_momentum = reference("optim", "sgd_momentum_step")
sgd_momentum_step = Ex(
    name="sgd_momentum_step",
    points=1,
    cases=momentum_cases,
    outputs=("w_new", "m_new"),
    hints=(
        matches_variant(
            _ref_momentum,
            _momentum_lr_twice,
            "the learning rate was applied twice: it is inside m_new = gamma * m + "
            "lr * dw already, so w_new = w - m_new.",
        ),
        matches_variant(
            _ref_momentum,
            _momentum_torch_form,
            "m_new = gamma * m + dw with w - lr * m_new is torch's bookkeeping; the "
            "lecture's velocity includes lr: m_new = gamma * m + lr * dw, w - m_new.",
        ),
        with_inputs(
            _ref_momentum,
            lambda c: replace_args(c, gamma=0.9) if _kw(c, "gamma", 4, 0.9) != 0.9 else None,
            "the result ignores the `gamma` argument (uses 0.9 always).",
        ),
    ),
    description="Momentum: m = gamma * m + lr * dw, w = w - m",
)


# -- rmsprop_step -----------------------------------------------------------------


def rmsprop_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: w = [1, -1, 0.5], dw = [0.2, -0.4, 0], s = [0, 0, 0], lr = 0.01",
            args=(np.array([1.0, -1.0, 0.5]), np.array([0.2, -0.4, 0.0]), np.zeros(3), 0.01),
        )
    ]
    for shape, lr, alpha in zip(SHAPES, (0.01, 0.1, 0.001), (None, 0.9, 0.5)):
        w, dw = randn(rng, *shape), randn(rng, *shape)
        s = randn(rng, *shape) ** 2
        kwargs = {} if alpha is None else {"alpha": alpha}
        cases.append(Case(label("random", {"w": w}, lr=lr, alpha=alpha), args=(w, dw, s, lr), kwargs=kwargs))
    w, dw = randn(rng, 6), randn(rng, 6, scale=1e-6)
    cases.append(
        Case(label("tiny gradients from s = 0 (eps matters)", {"w": w}, lr=0.01), args=(w, dw, np.zeros(6), 0.01))
    )
    return cases


def _rmsprop(case: Case, *, eps_inside=False, old_s=False, no_eps=False):
    w, dw, s = (_f(case, i) for i in range(3))
    lr, alpha, eps = case.args[3], _kw(case, "alpha", 4, 0.99), 0.0 if no_eps else _kw(case, "eps", 5, 1e-8)
    s_new = alpha * s + (1 - alpha) * dw * dw
    s_used = s if old_s else s_new
    denom = np.sqrt(s_used + eps) if eps_inside else np.sqrt(s_used) + eps
    return w - lr * dw / denom, s_new


_ref_rmsprop = reference("optim", "rmsprop_step")
rmsprop_step = Ex(
    name="rmsprop_step",
    points=1,
    cases=rmsprop_cases,
    outputs=("w_new", "s_new"),
    hints=(
        matches_variant(
            _ref_rmsprop,
            functools.partial(_rmsprop, eps_inside=True),
            "eps went inside the square root: divide by sqrt(s_new) + eps.",
        ),
        matches_variant(
            _ref_rmsprop,
            functools.partial(_rmsprop, old_s=True),
            "the step used the old s: update s first, then divide by sqrt(s_new).",
        ),
        matches_variant(
            _ref_rmsprop,
            functools.partial(_rmsprop, no_eps=True),
            "eps is missing: divide by sqrt(s_new) + eps; it keeps the division finite "
            "(and tame) where s_new is 0 or tiny.",
        ),
        non_finite(
            _ref_rmsprop, "NaN or inf: where s_new is 0 the eps added to sqrt(s_new) keeps the division finite."
        ),
    ),
    description="RMSprop: s = alpha * s + (1 - alpha) * dw**2, w -= lr * dw / (sqrt(s) + eps)",
)


# -- adam_step ----------------------------------------------------------------------


def adam_cases(rng: np.random.Generator) -> list[Case]:
    w, dw = np.array([1.0, -1.0, 0.5]), np.array([0.1, -0.2, 0.0])
    cases = [
        Case(
            "small example: the first step (t = 1, m = v = 0), w = [1, -1, 0.5], "
            "dw = [0.1, -0.2, 0], lr = 0.1 (each nonzero entry moves by about lr)",
            args=(w, dw, np.zeros(3), np.zeros(3), 1),
            kwargs={"lr": 0.1},
        )
    ]
    for shape, t, lr in zip(SHAPES + ((4,),), (1, 2, 7, 1000), (None, 0.01, 0.1, 0.001)):
        w, dw = randn(rng, *shape), randn(rng, *shape)
        m, v = randn(rng, *shape, scale=0.1), randn(rng, *shape, scale=0.3) ** 2
        if t == 1:
            m, v = np.zeros(shape), np.zeros(shape)
        kwargs = {} if lr is None else {"lr": lr}
        cases.append(Case(label("random", {"w": w}, t=t, lr=lr), args=(w, dw, m, v, t), kwargs=kwargs))
    w, dw = randn(rng, 2, 2), randn(rng, 2, 2)
    cases.append(
        Case(
            label("random, other betas", {"w": w}, t=3, beta1=0.5, beta2=0.9),
            args=(w, dw, randn(rng, 2, 2, scale=0.1), randn(rng, 2, 2) ** 2, 3),
            kwargs={"lr": 0.05, "beta1": 0.5, "beta2": 0.9},
        )
    )
    return cases


def _adam(case: Case, *, correct=True, shift=0):
    """Adam with the bias correction dropped, or its exponent t + shift."""
    w, dw, m, v = (_f(case, i) for i in range(4))
    t = case.args[4] + shift
    if correct and t < 1:
        return None
    get = case.kwargs.get
    lr, beta1, beta2, eps = get("lr", 1e-3), get("beta1", 0.9), get("beta2", 0.999), get("eps", 1e-8)
    m_new = beta1 * m + (1 - beta1) * dw
    v_new = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m_new / (1 - beta1**t) if correct else m_new
    v_hat = v_new / (1 - beta2**t) if correct else v_new
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


T_FROM_1 = (
    "the bias correction used the wrong power: t is this step's number counting from 1, "
    "so m_hat = m_new / (1 - beta1**t) with the t given (the first step has t = 1)."
)
_ref_adam = reference("optim", "adam_step")
adam_step = Ex(
    name="adam_step",
    points=2,
    cases=adam_cases,
    outputs=("w_new", "m_new", "v_new"),
    hints=(
        matches_variant(
            _ref_adam,
            functools.partial(_adam, correct=False),
            "the bias correction is missing: divide m_new by (1 - beta1**t) and "
            "v_new by (1 - beta2**t) before the step.",
        ),
        matches_variant(_ref_adam, functools.partial(_adam, shift=-1), T_FROM_1),
        matches_variant(_ref_adam, functools.partial(_adam, shift=1), T_FROM_1),
        non_finite(
            _ref_adam,
            "NaN or inf: with t counted from 0 the first correction divides "
            "by 1 - beta**0 = 0; t is 1 at the first step.",
        ),
    ),
    description="Adam with bias-corrected moments (t counts from 1)",
)


EXERCISES = [sgd_momentum_step, rmsprop_step, adam_step]
