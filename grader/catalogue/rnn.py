"""Cases and hints for ``rnn.py`` (vanilla RNN cell and sequence, LSTM cell and sequence)."""

from __future__ import annotations

import functools
import itertools

import numpy as np

from grader.catalogue._cases import label, randn, upstream_for
from grader.catalogue._hints import matches_variant, reference, replace_args, scaled_by, with_inputs
from grader.spec import Case, Exercise

Ex = functools.partial(Exercise, module="rnn")

#: torch.nn.LSTMCell's order of the four blocks of columns.
GATES = ("i", "f", "g", "o")
SUMMED_DB = "db is the expected one divided by N: sum over the batch, not the mean."


def _upstream(forward_cases, out_shapes):
    return lambda rng: upstream_for(forward_cases(rng), rng, out_shapes)


def _nh(case: Case) -> tuple[int, int]:
    """(N, H) of a cell case: the batch of x and the width of Wh."""
    return (np.shape(case.args[0])[0], np.shape(case.args[1])[1])


def _db_summed(ref):
    return scaled_by(ref, lambda c: 1 / np.shape(c.args[0])[0], SUMMED_DB)


# -- vanilla RNN cell ---------------------------------------------------------------


def rnn_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (n, d, h), activation in (
        ((3, 4, 5), "tanh"),
        ((2, 3, 2), "sigmoid"),
        ((1, 5, 3), "tanh"),
        ((4, 2, 6), "sigmoid"),
        ((2, 6, 4), None),
    ):
        x, h_prev = randn(rng, n, d), randn(rng, n, h)
        Wx, Wh, b = randn(rng, d, h, scale=0.7), randn(rng, h, h, scale=0.7), randn(rng, h)
        kwargs = {} if activation is None else {"activation": activation}
        cases.append(
            Case(
                label("random", {"x": x, "h_prev": h_prev}, activation=activation),
                args=(x, h_prev, Wx, Wh, b),
                kwargs=kwargs,
            )
        )
    return cases


_ref_rnn = reference("rnn", "rnn_cell_forward", "forward")
rnn_cell_forward = Ex(
    name="rnn_cell_forward",
    points=1,
    kind="forward",
    cases=rnn_cases,
    hints=(
        with_inputs(
            _ref_rnn,
            lambda c: replace_args(c, _4=np.zeros_like(c.args[4])),
            "the bias b is missing: h = activation(x @ Wx + h_prev @ Wh + b).",
        ),
        with_inputs(
            _ref_rnn,
            lambda c: replace_args(c, activation="tanh") if c.kwargs.get("activation") == "sigmoid" else None,
            "tanh was used although activation='sigmoid' was asked for.",
        ),
        with_inputs(
            _ref_rnn,
            lambda c: replace_args(c, _1=np.zeros_like(c.args[1])),
            "h_prev @ Wh is missing: the new state depends on the previous one.",
        ),
    ),
    description="Vanilla RNN cell h = act(x @ Wx + h_prev @ Wh + b), tanh or sigmoid",
)

_ref_rnn_b = reference("rnn", "rnn_cell_backward", "backward", "rnn_cell_forward")
rnn_cell_backward = Ex(
    name="rnn_cell_backward",
    points=2,
    kind="backward",
    forward="rnn_cell_forward",
    wrt=(0, 1, 2, 3, 4),
    outputs=("dx", "dh_prev", "dWx", "dWh", "db"),
    cases=_upstream(rnn_cases, lambda c: {"dh": _nh(c)}),
    hints=(_db_summed(_ref_rnn_b),),
    description="Gradients of the RNN cell (dx, dh_prev, dWx, dWh, db)",
)


# -- LSTM -----------------------------------------------------------------------------


def _lstm_weights(rng, d: int, h: int):
    return randn(rng, d, 4 * h, scale=0.6), randn(rng, h, 4 * h, scale=0.6), randn(rng, 4 * h, scale=0.5)


def lstm_cell_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, d, h in ((3, 4, 5), (1, 3, 2), (2, 2, 3), (4, 5, 1)):
        x, h_prev, c_prev = randn(rng, n, d), randn(rng, n, h), randn(rng, n, h)
        cases.append(
            Case(label("random", {"x": x, "h_prev": h_prev}), args=(x, h_prev, c_prev) + _lstm_weights(rng, d, h))
        )
    x, h_prev, c_prev = randn(rng, 2, 3, scale=20.0), randn(rng, 2, 4), randn(rng, 2, 4, scale=5.0)
    cases.append(
        Case(
            label("saturated gates (large pre-activations)", {"x": x, "h_prev": h_prev}),
            args=(x, h_prev, c_prev) + _lstm_weights(rng, 3, 4),
        )
    )
    return cases


def lstm_seq_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, t, d, h in ((2, 5, 3, 4), (1, 1, 4, 3), (3, 4, 2, 2), (1, 7, 3, 5)):
        x, h0 = randn(rng, n, t, d), randn(rng, n, h)
        cases.append(Case(label("random", {"x": x, "h0": h0}), args=(x, h0) + _lstm_weights(rng, d, h)))
    return cases


def _gate_order_hints(ref, first_weight: int, weight_grads: tuple[int, ...] = ()):
    """One hint per wrong order of the i, f, g, o blocks: a student reading
    block k as gate ``order[k]`` computes the reference with the blocks of Wx,
    Wh and b (forward args ``first_weight`` .. + 2) moved. For a backward,
    ``weight_grads`` are the outputs holding dWx, dWh, db: a student wrong the
    same way in both passes returns them with the blocks moved back."""

    def hint(order):
        source = [order.index(gate) for gate in GATES]

        def permuted(case: Case) -> Case:
            changes = {}
            for index in (first_weight, first_weight + 1, first_weight + 2):  # Wx, Wh, b
                blocks = np.split(np.asarray(case.args[index]), 4, axis=-1)
                changes[f"_{index}"] = np.concatenate([blocks[s] for s in source], axis=-1)
            return replace_args(case, **changes)

        def variant(case: Case):
            out = ref(permuted(case))
            if not weight_grads:
                return out
            out = list(out)
            for k in weight_grads:
                blocks = np.split(np.asarray(out[k]), 4, axis=-1)
                back = [None] * 4
                for j, s in enumerate(source):
                    back[s] = blocks[j]
                out[k] = np.concatenate(back, axis=-1)
            return tuple(out)

        return matches_variant(
            ref,
            variant,
            f"the gate blocks were read in the order {', '.join(order)}; torch.nn.LSTMCell's order is i, f, g, o.",
        )

    return tuple(hint(order) for order in itertools.permutations(GATES) if order != GATES)


_ref_lstm_cell = reference("rnn", "lstm_cell_forward", "forward")
lstm_cell_forward = Ex(
    name="lstm_cell_forward",
    points=2,
    kind="forward",
    cases=lstm_cell_cases,
    outputs=("h", "c"),
    hints=_gate_order_hints(_ref_lstm_cell, 3),
    description="LSTM cell (gate order i, f, g, o) returning (h, c, cache)",
)

_ref_lstm_cell_b = reference("rnn", "lstm_cell_backward", "backward", "lstm_cell_forward")
lstm_cell_backward = Ex(
    name="lstm_cell_backward",
    points=3,
    kind="backward",
    forward="lstm_cell_forward",
    wrt=(0, 1, 2, 3, 4, 5),
    outputs=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"),
    cases=_upstream(lstm_cell_cases, lambda c: {"dh": _nh(c), "dc": _nh(c)}),
    hints=(_db_summed(_ref_lstm_cell_b),) + _gate_order_hints(_ref_lstm_cell_b, 3, (3, 4, 5)),
    description="Gradients of the LSTM cell given dh and dc",
)

_ref_lstm = reference("rnn", "lstm_forward", "forward")
lstm_forward = Ex(
    name="lstm_forward",
    points=1,
    kind="forward",
    cases=lstm_seq_cases,
    uses=("lstm_cell_forward",),
    hints=_gate_order_hints(_ref_lstm, 2),
    description="LSTM over a sequence (N, T, D) from h0 and a zero cell state",
)

_ref_lstm_b = reference("rnn", "lstm_backward", "backward", "lstm_forward")
lstm_backward = Ex(
    name="lstm_backward",
    points=3,
    kind="backward",
    forward="lstm_forward",
    wrt=(0, 1, 2, 3, 4),
    uses=("lstm_cell_backward", "lstm_cell_forward"),
    outputs=("dx", "dh0", "dWx", "dWh", "db"),
    cases=_upstream(lstm_seq_cases, lambda c: {"dhs": np.shape(c.args[0])[:2] + np.shape(c.args[1])[1:]}),
    hints=(_db_summed(_ref_lstm_b),) + _gate_order_hints(_ref_lstm_b, 2, (2, 3, 4)),
    description="Backpropagation through time of the LSTM: (dx, dh0, dWx, dWh, db)",
)


# -- the tanh RNN over a sequence -----------------------------------------------------


def rnn_seq_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(
            "small example: one unit, x = [1, 0, 0], Wx = [[1]], Wh = [[0.5]], b = [0], h0 = [[0]] "
            "(the first input echoes through the later states)",
            args=(
                np.array([[[1.0], [0.0], [0.0]]]),
                np.zeros((1, 1)),
                np.ones((1, 1)),
                np.full((1, 1), 0.5),
                np.zeros(1),
            ),
        )
    ]
    for n, t, d, h in ((2, 5, 3, 4), (1, 1, 4, 3), (3, 4, 2, 2), (1, 8, 3, 5)):
        x, h0 = randn(rng, n, t, d), randn(rng, n, h)
        weights = randn(rng, d, h, scale=0.7), randn(rng, h, h, scale=0.7), randn(rng, h, scale=0.5)
        cases.append(Case(label("random", {"x": x, "h0": h0}), args=(x, h0) + weights))
    return cases


def _rnn_seq(case: Case, *, recurrent: bool = True):
    """hs of the tanh RNN; ``recurrent=False``: every step starts from h0 (the state is not carried)."""
    x, h0, Wx, Wh, b = (np.asarray(a, dtype=np.float64) for a in case.args)
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + (h if recurrent else h0) @ Wh + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def _bptt_without_later_steps(case: Case):
    """Every step backpropagated from dhs[:, t] alone: the gradient flowing back
    from the later steps is dropped (dh0 is then step 0's own dh_prev)."""
    x, h0, Wx, Wh, b = (np.asarray(a, dtype=np.float64) for a in case.args)
    dhs = np.asarray(case.upstream[0], dtype=np.float64)
    if x.shape[1] < 2:
        return None
    hs = _rnn_seq(case)
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    da = dhs * (1 - hs**2)
    dx = da @ Wx.T
    n, t, d = x.shape
    da2 = da.reshape(n * t, -1)
    return (dx, da[:, 0] @ Wh.T, x.reshape(n * t, d).T @ da2, h_prev.reshape(n * t, -1).T @ da2, da2.sum(axis=0))


_ref_rnn_seq = reference("rnn", "rnn_forward", "forward")
rnn_forward = Ex(
    name="rnn_forward",
    points=1,
    kind="forward",
    cases=rnn_seq_cases,
    uses=("rnn_cell_forward",),
    hints=(
        matches_variant(
            _ref_rnn_seq,
            lambda c: _rnn_seq(c, recurrent=False) if np.shape(c.args[0])[1] > 1 else None,
            "every step started from h0: carry the state, each step's h_prev is the previous step's h.",
        ),
        with_inputs(
            _ref_rnn_seq,
            lambda c: replace_args(c, _1=np.zeros_like(c.args[1])),
            "h0 was ignored (a zero initial state): the first step's h_prev is h0.",
        ),
        with_inputs(
            _ref_rnn_seq,
            lambda c: replace_args(c, _4=np.zeros_like(c.args[4])),
            "the bias b is missing: h = tanh(x_t @ Wx + h_prev @ Wh + b).",
        ),
    ),
    description="The tanh RNN over a sequence (N, T, D) from h0, like torch.nn.RNN",
)

_ref_rnn_seq_b = reference("rnn", "rnn_backward", "backward", "rnn_forward")
rnn_backward = Ex(
    name="rnn_backward",
    points=3,
    kind="backward",
    forward="rnn_forward",
    wrt=(0, 1, 2, 3, 4),
    uses=("rnn_cell_backward", "rnn_cell_forward"),
    outputs=("dx", "dh0", "dWx", "dWh", "db"),
    cases=_upstream(rnn_seq_cases, lambda c: {"dhs": np.shape(c.args[0])[:2] + np.shape(c.args[1])[1:]}),
    hints=(
        matches_variant(
            _ref_rnn_seq_b,
            _bptt_without_later_steps,
            "the gradient flowing back from later steps is missing: step t's dh is "
            "dhs[:, t] PLUS the dh_prev returned by step t+1's backward.",
        ),
        _db_summed(_ref_rnn_seq_b),
    ),
    description="Backpropagation through time of the tanh RNN: (dx, dh0, dWx, dWh, db)",
)


EXERCISES = [
    rnn_cell_forward,
    rnn_cell_backward,
    lstm_cell_forward,
    lstm_cell_backward,
    lstm_forward,
    lstm_backward,
    rnn_forward,
    rnn_backward,
]
