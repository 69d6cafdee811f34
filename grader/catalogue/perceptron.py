"""Cases and hints for ``perceptron.py`` (the perceptron learning rule)."""

from __future__ import annotations

import functools

import numpy as np

from grader.catalogue._cases import integers, label, randn, with_zeros
from grader.catalogue._hints import matches_variant, reference, replace_args, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="perceptron")

#: The lecture's gates: inputs in the order 1..4 of the slides.
GATE_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
OR_Y = np.array([0, 1, 1, 1])
AND_Y = np.array([0, 0, 0, 1])
XOR_Y = np.array([0, 1, 1, 0])

STEP_AT_ZERO = "step(0) must be 0: use z > 0, not z >= 0."


# -- step -------------------------------------------------------------------


def step_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("small example: z = [-2, -0.5, 0, 0.5, 2]", args=(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),))]
    for z in (with_zeros(rng, randn(rng, 9)), with_zeros(rng, randn(rng, 3, 4)), integers(rng, 2, 5, low=-1, high=1)):
        cases.append(Case(label("random", {"z": z}) + " with exact zeros", args=(z,)))
    z = np.array([-1e4, -1e-300, 0.0, -0.0, 1e-300, 1e4])
    cases.append(Case("tiny and large |z|, z = -0.0 and 0.0", args=(z,)))
    return cases


def _step_ge(z) -> np.ndarray:
    return (np.asarray(z) >= 0).astype(np.int64)


_ref_step = reference("perceptron", "step")
step = Ex(
    name="step",
    points=1,
    kind="function",
    cases=step_cases,
    hints=(matches_variant(_ref_step, lambda c: _step_ge(c.args[0]), STEP_AT_ZERO),),
    description="Heaviside step: 1 where z > 0, else 0 (integers)",
)


# -- perceptron_predict ------------------------------------------------------


def predict_cases(rng: np.random.Generator) -> list[Case]:
    w, b = np.array([1.0, 1.0]), -0.5
    cases = [
        Case("small example: OR gate w=[1, 1] b=-0.5, all four inputs", args=(w, b, GATE_X)),
        Case("small example: OR gate w=[1, 1] b=-0.5, one input x=[0, 1]", args=(w, b, GATE_X[1].copy())),
    ]
    m = 3
    cases.append(
        Case(
            label("zero weights (every score is exactly 0)", {"X": np.zeros((5, m))}),
            args=(np.zeros(m), 0.0, integers(rng, 5, m)),
        )
    )
    for n, m in ((6, 3), (1, 4)):
        w, X = integers(rng, m, low=-2, high=2), integers(rng, n, m, low=-2, high=2)
        b = float(rng.integers(-2, 3))
        cases.append(Case(label("random integers (some scores exactly 0)", {"w": w, "X": X}, b=b), args=(w, b, X)))
    w, X = randn(rng, 5), randn(rng, 5)
    cases.append(Case(label("random single example", {"w": w, "X": X}), args=(w, 0.1, X)))
    return cases


def _predict_ge(case: Case):
    w, b, X = case.args
    return _step_ge(np.asarray(X) @ w + b)


_ref_predict = reference("perceptron", "perceptron_predict")
perceptron_predict = Ex(
    name="perceptron_predict",
    points=1,
    kind="function",
    cases=predict_cases,
    uses=("step",),
    hints=(matches_variant(_ref_predict, _predict_ge, STEP_AT_ZERO),),
    description="step(X @ w + b) for one example (a scalar) or a batch (an int array)",
)


# -- perceptron_update -------------------------------------------------------


def update_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "worked example: OR gate, first update w=[0, 0] b=0 x=[1, 0] y=1",
            args=(np.zeros(2), 0.0, np.array([1.0, 0.0]), 1),
        ),
        Case(
            "worked example: OR gate, no update (err == 0) w=[1, 0] b=1 x=[1, 1] y=1",
            args=(np.array([1.0, 0.0]), 1.0, np.array([1.0, 1.0]), 1),
        ),
        Case(
            "score exactly 0 with y=0 (no update) w=[1, -1] b=0 x=[2, 2]",
            args=(np.array([1.0, -1.0]), 0.0, np.array([2.0, 2.0]), 0),
        ),
        Case(
            "prediction 1 but y=0 (err == -1) w=[0.5, 0.5] b=0 x=[1, 1] lr=0.5",
            args=(np.array([0.5, 0.5]), 0.0, np.array([1.0, 1.0]), 0),
            kwargs={"lr": 0.5},
        ),
    ]
    for m, lr in ((3, 1.0), (5, 0.1), (4, 0.25)):
        w, x = integers(rng, m, low=-2, high=2), integers(rng, m, low=-2, high=2)
        b, y = float(rng.integers(-1, 2)), int(rng.integers(0, 2))
        cases.append(
            Case(label("random integers", {"w": w, "x": x}, b=b, y=y, lr=lr), args=(w, b, x, y), kwargs={"lr": lr})
        )
    return cases


def _update_variant(case: Case, *, predict, err_of) -> tuple:
    w, b, x, y = case.args
    lr = case.kwargs.get("lr", 1.0)
    z = float(np.dot(x, w) + b)
    err = err_of(y, predict(z), z)
    return (np.asarray(w) + lr * err * np.asarray(x), b + lr * err)


def _strict(z):
    return int(z > 0)


_ref_update = reference("perceptron", "perceptron_update")
perceptron_update = Ex(
    name="perceptron_update",
    points=1,
    kind="function",
    cases=update_cases,
    uses=("perceptron_predict", "step"),
    outputs=("w_new", "b_new"),
    hints=(
        matches_variant(
            _ref_update,
            functools.partial(_update_variant, predict=_strict, err_of=lambda y, p, z: p - y),
            "the update has the wrong sign: err = y - prediction, then w + lr * err * x.",
        ),
        matches_variant(
            _ref_update,
            functools.partial(_update_variant, predict=lambda z: int(z >= 0), err_of=lambda y, p, z: y - p),
            STEP_AT_ZERO,
        ),
        matches_variant(
            _ref_update,
            functools.partial(_update_variant, predict=_strict, err_of=lambda y, p, z: y),
            "the weights change although the prediction was right: the update is "
            "lr * err * x with err = y - prediction (zero when err == 0).",
        ),
        matches_variant(
            _ref_update,
            functools.partial(_update_variant, predict=_strict, err_of=lambda y, p, z: y - z),
            "err must use the predicted class step(z), not the raw score z.",
        ),
    ),
    description="One perceptron update on one example; unchanged when err == 0",
)


# -- perceptron_train --------------------------------------------------------


def _separable(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer points labelled by a random hyperplane no point lies on."""
    X = integers(rng, n, m, low=-3, high=3)
    w_true = integers(rng, m, low=-2, high=2)
    w_true[0] = 1.0 if w_true[0] == 0 else w_true[0]
    y = (X @ w_true + 0.5 > 0).astype(np.int64)
    return X, y


def _orders(rng: np.random.Generator, n: int, epochs: int) -> list[list[int]]:
    return [[int(i) for i in rng.permutation(n)] for _ in range(epochs)]


def train_cases(rng: np.random.Generator) -> list[Case]:
    order = [2, 3, 0, 1]  # 3, 4, 1, 2 in the slides' 1-based numbering
    cases = [
        Case(
            "worked example: OR gate, order 3,4,1,2, one epoch",
            args=(GATE_X, OR_Y),
            kwargs={"epochs": 1, "orders": [order]},
        ),
        Case(
            "OR gate, order 3,4,1,2 every epoch, up to 10 epochs",
            args=(GATE_X, OR_Y),
            kwargs={"epochs": 10, "orders": [order] * 10},
        ),
        Case(
            "AND gate, random orders, up to 20 epochs, lr=0.5",
            args=(GATE_X, AND_Y),
            kwargs={"epochs": 20, "lr": 0.5, "orders": _orders(rng, 4, 20)},
        ),
        Case(
            "XOR gate (not separable): all 6 epochs run",
            args=(GATE_X, XOR_Y),
            kwargs={"epochs": 6, "orders": _orders(rng, 4, 6)},
        ),
    ]
    for n, m, epochs, lr in ((10, 2, 15, 1.0), (12, 3, 25, 0.1), (1, 3, 4, 1.0)):
        X, y = _separable(rng, n, m)
        cases.append(
            Case(
                label("random separable, random orders", {"X": X}, epochs=epochs, lr=lr),
                args=(X, y),
                kwargs={"epochs": epochs, "lr": lr, "orders": _orders(rng, n, epochs)},
            )
        )
    X, y = _separable(rng, 12, 3)
    seed = int(rng.integers(0, 2**31))
    cases.append(
        Case(
            label("random separable, shuffled with default_rng(seed)", {"X": X}, epochs=12, seed=seed),
            args=(X, y),
            kwargs={"epochs": 12, "seed": seed},
        )
    )
    seed = int(rng.integers(0, 2**31))
    cases.append(
        Case(
            f"XOR gate, shuffled with default_rng(seed) epochs=7 seed={seed}",
            args=(GATE_X, XOR_Y),
            kwargs={"epochs": 7, "seed": seed},
        )
    )
    return cases


def _no_early_stop(case: Case):
    w, b, updates = _ref_train(case)
    epochs = case.kwargs.get("epochs", 10)
    if len(updates) == epochs:
        return None
    return (w, b, list(updates) + [0] * (epochs - len(updates)))


def _fixed_order(order_of):
    def transform(case: Case) -> Case | None:
        if case.kwargs.get("orders") is not None:
            return None
        n, epochs = len(case.args[1]), case.kwargs.get("epochs", 10)
        order = [int(i) for i in order_of(n, case.kwargs.get("seed", 0))]
        return replace_args(case, orders=[order] * epochs)

    return transform


_ref_train = reference("perceptron", "perceptron_train")
perceptron_train = Ex(
    name="perceptron_train",
    points=2,
    kind="function",
    cases=train_cases,
    uses=("perceptron_update", "perceptron_predict", "step"),
    outputs=("w", "b", "updates"),
    hints=(
        matches_variant(
            _ref_train,
            _no_early_stop,
            "training must stop after the first epoch with no update (updates then ends with that epoch's 0).",
        ),
        with_inputs(
            _ref_train,
            _fixed_order(lambda n, seed: np.arange(n)),
            "examples were visited in index order: without `orders`, shuffle each "
            "epoch with one np.random.default_rng(seed) created before the loop.",
        ),
        with_inputs(
            _ref_train,
            _fixed_order(lambda n, seed: np.random.default_rng(seed).permutation(n)),
            "every epoch used the same order: create np.random.default_rng(seed) once, "
            "before the epoch loop, not inside it.",
        ),
    ),
    description="Train from zeros over epochs in the given (or seeded shuffled) order; stop when no update",
)


EXERCISES = [step, perceptron_predict, perceptron_update, perceptron_train]
