"""The rnn references (solutions.rnn, kernel-backed) and model answers (solutions.model.rnn).

Oracles: torch.nn.RNNCell / LSTMCell / LSTM with autograd, hand-computed gate
algebra, and central differences. Every test runs on both implementations.
"""

import importlib
import inspect
import warnings

import numpy as np
import pytest
import torch as torch_module

from grader.catalogue import EXERCISES
from tests.solutions.gradcheck import numerical_gradient

IMPLEMENTATIONS = ["solutions.rnn", "solutions.model.rnn"]
API = [name for name, ex in EXERCISES.items() if ex.module == "rnn"]
DTYPES = [np.float32, np.float64]
# Agreement with torch (same maths, different summation order).
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
GRADCHECK_TOL = dict(rtol=1e-5, atol=1e-7)


@pytest.fixture(params=IMPLEMENTATIONS)
def rnn(request):
    return importlib.import_module(request.param)


@pytest.fixture
def torch():
    return torch_module


def _params(rng, N, D, H, gates, dtype=np.float64, scale=0.5):
    """x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, gates*H), Wh (H, gates*H), b (gates*H,)."""
    shapes = [(N, D), (N, H), (N, H), (D, gates * H), (H, gates * H), (gates * H,)]
    return [(scale * rng.standard_normal(s)).astype(dtype) for s in shapes]


def _as_tensors(torch, *arrays, grad=True):
    return [torch.tensor(a, requires_grad=grad) for a in arrays]


def _assert_close(got, want, dtype):
    got = np.asarray(got)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, **TOL[dtype])


# --------------------------------------------------------------------------- API


@pytest.mark.parametrize("name", API)
def test_signature_is_exactly_the_stubs(rnn, name):
    stub = importlib.import_module("exercises.rnn")
    assert inspect.signature(getattr(rnn, name)) == inspect.signature(getattr(stub, name))


def test_all_lists_exactly_the_api(rnn):
    assert sorted(rnn.__all__) == sorted(API)


# ----------------------------------------------------------------------- RNN cell


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_cell_tanh_forward_matches_torch_rnncell(rnn, torch, dtype):
    rng = np.random.default_rng(0)
    x, h_prev, _, Wx, Wh, b = _params(rng, 4, 5, 3, 1, dtype)
    cell = torch.nn.RNNCell(5, 3, nonlinearity="tanh").to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
        want = cell(torch.tensor(x), torch.tensor(h_prev)).numpy()
    h, _ = rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b)
    assert h.dtype == dtype
    _assert_close(h, want, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_cell_forward_and_backward_match_torch_autograd(rnn, torch, activation, dtype):
    rng = np.random.default_rng(1)
    x, h_prev, _, Wx, Wh, b = _params(rng, 4, 5, 3, 1, dtype)
    dh = rng.standard_normal((4, 3)).astype(dtype)
    tensors = _as_tensors(torch, x, h_prev, Wx, Wh, b)
    tx, th, tWx, tWh, tb = tensors
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    want = act(tx @ tWx + th @ tWh + tb)
    want.backward(torch.tensor(dh))

    h, cache = rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b, activation=activation)
    _assert_close(h, want.detach().numpy(), dtype)
    grads = rnn.rnn_cell_backward(dh, cache)
    assert len(grads) == 5
    for got, t in zip(grads, tensors):
        assert got.dtype == dtype
        _assert_close(got, t.grad.numpy(), dtype)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_rnn_cell_backward_matches_central_differences(rnn, activation):
    rng = np.random.default_rng(2)
    inputs = [p for k, p in enumerate(_params(rng, 3, 4, 5, 1)) if k != 2]
    dh = rng.standard_normal((3, 5))
    _, cache = rnn.rnn_cell_forward(*inputs, activation=activation)
    grads = rnn.rnn_cell_backward(dh, cache)
    for got, arr in zip(grads, inputs):
        want = numerical_gradient(lambda: rnn.rnn_cell_forward(*inputs, activation=activation)[0], arr, dh)
        np.testing.assert_allclose(got, want, **GRADCHECK_TOL)


def test_rnn_cell_sigmoid_and_tanh_values_by_hand(rnn):
    # One example, one unit: z = 0.5 * 2 + (-1) * 1 + 0.25 = 0.25.
    x, h_prev = np.array([[0.5]]), np.array([[-1.0]])
    Wx, Wh, b = np.array([[2.0]]), np.array([[1.0]]), np.array([0.25])
    h, _ = rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="tanh")
    np.testing.assert_allclose(h, [[np.tanh(0.25)]], rtol=1e-15)
    h, _ = rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="sigmoid")
    np.testing.assert_allclose(h, [[1.0 / (1.0 + np.exp(-0.25))]], rtol=1e-15)


def test_rnn_cell_rejects_an_unknown_activation(rnn):
    x, h_prev, _, Wx, Wh, b = _params(np.random.default_rng(3), 2, 3, 4, 1)
    with pytest.raises(ValueError, match="relu"):
        rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b, activation="relu")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_rnn_cell_saturates_without_warning_for_huge_preactivations(rnn, activation):
    x = np.array([[1e4], [-1e4], [0.0]])
    h_prev, Wx, Wh, b = np.zeros((3, 1)), np.ones((1, 1)), np.ones((1, 1)), np.zeros(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, cache = rnn.rnn_cell_forward(x, h_prev, Wx, Wh, b, activation=activation)
        grads = rnn.rnn_cell_backward(np.ones((3, 1)), cache)
    low = {"tanh": -1.0, "sigmoid": 0.0}[activation]
    mid = {"tanh": 0.0, "sigmoid": 0.5}[activation]
    np.testing.assert_array_equal(h[:, 0], [1.0, low, mid])
    assert all(np.isfinite(g).all() for g in grads)
    assert grads[0][0, 0] == 0.0 and grads[0][1, 0] == 0.0  # saturated: no gradient


# ---------------------------------------------------------------------- LSTM cell


def test_lstm_cell_gate_order_is_i_f_g_o(rnn):
    # Zero weights: the gates are the bias blocks alone, b = [a_i, a_f, a_g, a_o].
    a_i, a_f, a_g, a_o = 0.3, -1.2, 0.7, 2.0
    b = np.array([a_i, a_f, a_g, a_o])
    c_prev = np.array([[0.5]])
    h, c, _ = rnn.lstm_cell_forward(np.ones((1, 2)), np.ones((1, 1)), c_prev, np.zeros((2, 4)), np.zeros((1, 4)), b)

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    c_want = sigmoid(a_f) * 0.5 + sigmoid(a_i) * np.tanh(a_g)
    np.testing.assert_allclose(c, [[c_want]], rtol=1e-14)
    np.testing.assert_allclose(h, [[sigmoid(a_o) * np.tanh(c_want)]], rtol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_cell_forward_and_backward_match_torch_lstmcell(rnn, torch, dtype):
    rng = np.random.default_rng(4)
    N, D, H = 5, 4, 3
    x, h_prev, c_prev, Wx, Wh, b = _params(rng, N, D, H, 4, dtype)
    dh, dc = (rng.standard_normal((N, H)).astype(dtype) for _ in range(2))
    cell = torch.nn.LSTMCell(D, H).to(torch.float64 if dtype == np.float64 else torch.float32)
    b_ih = (0.3 * rng.standard_normal(4 * H)).astype(dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b_ih))
        cell.bias_hh.copy_(torch.tensor(b - b_ih))
    tx, th, tc = _as_tensors(torch, x, h_prev, c_prev)
    h_t, c_t = cell(tx, (th, tc))
    torch.autograd.backward([h_t, c_t], [torch.tensor(dh), torch.tensor(dc)])

    b_sum = (cell.bias_ih + cell.bias_hh).detach().numpy()  # the b torch really used
    h, c, cache = rnn.lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b_sum)
    _assert_close(h, h_t.detach().numpy(), dtype)
    _assert_close(c, c_t.detach().numpy(), dtype)
    dx, dh_prev, dc_prev, dWx, dWh, db = rnn.lstm_cell_backward(dh, dc, cache)
    _assert_close(dx, tx.grad.numpy(), dtype)
    _assert_close(dh_prev, th.grad.numpy(), dtype)
    _assert_close(dc_prev, tc.grad.numpy(), dtype)
    _assert_close(dWx, cell.weight_ih.grad.numpy().T, dtype)
    _assert_close(dWh, cell.weight_hh.grad.numpy().T, dtype)
    _assert_close(db, cell.bias_ih.grad.numpy(), dtype)
    for g in (dx, dh_prev, dc_prev, dWx, dWh, db):
        assert g.dtype == dtype


def test_lstm_cell_backward_matches_central_differences(rnn):
    rng = np.random.default_rng(5)
    inputs = _params(rng, 3, 4, 2, 4, scale=0.8)
    dh, dc = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))

    def h_and_c():
        h, c, _ = rnn.lstm_cell_forward(*inputs)
        return np.concatenate([h, c])

    _, _, cache = rnn.lstm_cell_forward(*inputs)
    grads = rnn.lstm_cell_backward(dh, dc, cache)
    assert len(grads) == 6
    for got, arr in zip(grads, inputs):
        want = numerical_gradient(h_and_c, arr, np.concatenate([dh, dc]))
        np.testing.assert_allclose(got, want, **GRADCHECK_TOL)


def test_lstm_cell_is_stable_for_huge_preactivations(rnn):
    x = np.array([[1e4], [-1e4]])
    zeros = np.zeros((2, 1))
    Wx = np.array([[1.0, -1.0, 1.0, -1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, c, cache = rnn.lstm_cell_forward(x, zeros, np.ones((2, 1)), Wx, np.zeros((1, 4)), np.zeros(4))
        grads = rnn.lstm_cell_backward(np.ones((2, 1)), np.ones((2, 1)), cache)
    # row 0: i = 1, f = 0, g = 1, o = 0 -> c = 1, h = 0; row 1: i = 0, f = 1, g = -1, o = 1 -> c = 1.
    np.testing.assert_array_equal(c[:, 0], [1.0, 1.0])
    np.testing.assert_allclose(h[:, 0], [0.0, np.tanh(1.0)], rtol=1e-15)
    assert all(np.isfinite(g).all() for g in grads)


# ----------------------------------------------------------------- LSTM over time


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", [(3, 5, 4, 6), (1, 1, 1, 1), (2, 7, 3, 2)])
def test_lstm_forward_and_backward_match_torch_lstm(rnn, torch, dtype, N, T, D, H):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    lstm = torch.nn.LSTM(D, H, batch_first=True).to(torch.float64 if dtype == np.float64 else torch.float32)
    tx, th0 = _as_tensors(torch, x, h0[None])
    hs_t, _ = lstm(tx, (th0, torch.zeros_like(th0)))  # zero initial cell state
    hs_t.backward(torch.tensor(dhs))

    Wx = lstm.weight_ih_l0.detach().numpy().T.copy()
    Wh = lstm.weight_hh_l0.detach().numpy().T.copy()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    hs, cache = rnn.lstm_forward(x, h0, Wx, Wh, b)
    assert hs.dtype == dtype
    _assert_close(hs, hs_t.detach().numpy(), dtype)
    dx, dh0, dWx, dWh, db = rnn.lstm_backward(dhs, cache)
    _assert_close(dx, tx.grad.numpy(), dtype)
    _assert_close(dh0, th0.grad.numpy()[0], dtype)
    _assert_close(dWx, lstm.weight_ih_l0.grad.numpy().T, dtype)
    _assert_close(dWh, lstm.weight_hh_l0.grad.numpy().T, dtype)
    _assert_close(db, lstm.bias_hh_l0.grad.numpy(), dtype)


def test_lstm_backward_matches_central_differences(rnn):
    rng = np.random.default_rng(7)
    N, T, D, H = 2, 4, 3, 2
    x = rng.standard_normal((N, T, D))
    _, h0, _, Wx, Wh, b = _params(rng, N, D, H, 4, scale=0.7)
    inputs = [x, h0, Wx, Wh, b]
    dhs = rng.standard_normal((N, T, H))
    _, cache = rnn.lstm_forward(*inputs)
    grads = rnn.lstm_backward(dhs, cache)
    assert len(grads) == 5
    for got, arr in zip(grads, inputs):
        want = numerical_gradient(lambda: rnn.lstm_forward(*inputs)[0], arr, dhs)
        np.testing.assert_allclose(got, want, **GRADCHECK_TOL)


def test_lstm_forward_steps_the_cell_from_a_zero_cell_state(rnn):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4))
    _, h0, _, Wx, Wh, b = _params(rng, 2, 4, 5, 4)
    hs, _ = rnn.lstm_forward(x, h0, Wx, Wh, b)
    h, c = h0, np.zeros_like(h0)
    for t in range(3):
        h, c, _ = rnn.lstm_cell_forward(x[:, t], h, c, Wx, Wh, b)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------ the reference's kernels


def test_reference_does_every_product_on_the_kernel_batching_over_time(monkeypatch):
    """Exact kernel calls: the sequence-wide products run once over N*T rows, not per step."""
    import csrc

    ref = importlib.import_module("solutions.rnn")
    calls = []
    real = csrc.matmul
    monkeypatch.setattr(csrc, "matmul", lambda a, b: calls.append((a.shape, b.shape)) or real(a, b))
    N, T, D, H = 2, 3, 4, 5
    rng = np.random.default_rng(12)
    x, h_prev, c_prev, Wx, Wh, b = _params(rng, N, D, H, 4)

    _, cache = ref.rnn_cell_forward(x, h_prev, Wx[:, :H], Wh[:, :H], b[:H])
    ref.rnn_cell_backward(h_prev, cache)
    _, _, cache = ref.lstm_cell_forward(x, h_prev, c_prev, Wx, Wh, b)
    ref.lstm_cell_backward(h_prev, c_prev, cache)
    cell = [((N, D), (D, H)), ((N, H), (H, H))]
    cell_backward = [((N, H), (H, D)), ((N, H), (H, H)), ((D, N), (N, H)), ((H, N), (N, H))]
    lstm_cell = [((N, D), (D, 4 * H)), ((N, H), (H, 4 * H))]
    lstm_cell_backward = [
        ((N, 4 * H), (4 * H, D)),
        ((N, 4 * H), (4 * H, H)),
        ((D, N), (N, 4 * H)),
        ((H, N), (N, 4 * H)),
    ]
    assert calls == cell + cell_backward + lstm_cell + lstm_cell_backward

    calls.clear()
    hs, cache = ref.lstm_forward(rng.standard_normal((N, T, D)), h_prev, Wx, Wh, b)
    assert calls == [((N * T, D), (D, 4 * H))] + [((N, H), (H, 4 * H))] * T
    calls.clear()
    ref.lstm_backward(np.ones_like(hs), cache)
    assert calls == [((N, 4 * H), (4 * H, H))] * T + [
        ((N * T, 4 * H), (4 * H, D)),
        ((D, N * T), (N * T, 4 * H)),
        ((H, N * T), (N * T, 4 * H)),
    ]


# ------------------------------------------------ both implementations, contract


def _run_everything(rnn, arrays, upstream):
    """Every forward/backward of the module on the given inputs, outputs flattened to a list."""
    x_seq, x, h_prev, c_prev, Wx4, Wh4, b4, Wx1, Wh1, b1 = arrays
    dh, dc, dhs = upstream
    outs = []
    for activation in ("tanh", "sigmoid"):
        h, cache = rnn.rnn_cell_forward(x, h_prev, Wx1, Wh1, b1, activation)
        outs += [h, *rnn.rnn_cell_backward(dh, cache)]
    h, c, cache = rnn.lstm_cell_forward(x, h_prev, c_prev, Wx4, Wh4, b4)
    outs += [h, c, *rnn.lstm_cell_backward(dh, dc, cache)]
    hs, cache = rnn.lstm_forward(x_seq, h_prev, Wx4, Wh4, b4)
    outs += [hs, *rnn.lstm_backward(dhs, cache)]
    hs, cache = rnn.rnn_forward(x_seq, h_prev, Wx1, Wh1, b1)
    outs += [hs, *rnn.rnn_backward(dhs, cache)]
    return outs


def _random_problem(rng, dtype):
    N, T, D, H = 3, 4, 5, 2
    shapes = [(N, T, D), (N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,), (D, H), (H, H), (H,)]
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    upstream = [rng.standard_normal(s).astype(dtype) for s in [(N, H), (N, H), (N, T, H)]]
    return arrays, upstream


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_and_model_answer_agree(dtype):
    ref, model = (importlib.import_module(m) for m in IMPLEMENTATIONS)
    arrays, upstream = _random_problem(np.random.default_rng(9), dtype)
    got = _run_everything(ref, arrays, upstream)
    want = _run_everything(model, arrays, upstream)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_allclose(g, w, **TOL[dtype])


def test_inputs_are_never_modified(rnn):
    arrays, upstream = _random_problem(np.random.default_rng(10), np.float64)
    copies = [a.copy() for a in arrays + upstream]
    _run_everything(rnn, arrays, upstream)
    for a, c in zip(arrays + upstream, copies):
        np.testing.assert_array_equal(a, c)


def test_integer_inputs_give_float64(rnn):
    rng = np.random.default_rng(11)
    arrays, upstream = _random_problem(rng, np.float64)
    as_int = [np.round(3 * a).astype(np.int64) for a in arrays]
    as_float = [a.astype(np.float64) for a in as_int]
    for got, want in zip(_run_everything(rnn, as_int, upstream), _run_everything(rnn, as_float, upstream)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_mixed_float32_and_float64_inputs_give_float64(rnn):
    # The reference widens every input before its kernel; the model answer follows NumPy's
    # promotion per operation, so a product of two float32 inputs is rounded to float32.
    tol = TOL[np.float64] if rnn.__name__ == IMPLEMENTATIONS[0] else TOL[np.float32]
    arrays, upstream = _random_problem(np.random.default_rng(13), np.float64)
    mixed = [a.astype(np.float32) if k % 2 else a for k, a in enumerate(arrays)]
    widened = [a.astype(np.float64) for a in mixed]
    for got, want in zip(_run_everything(rnn, mixed, upstream), _run_everything(rnn, widened, upstream)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, **tol)


# ----------------------------------------------------------- the tanh RNN over a sequence


def _torch_rnn(torch, x, h0, Wx, Wh, b, dhs, split=0.3):
    """torch.nn.RNN (batch first, one tanh layer) with b split over its two biases; outputs and grads."""
    tdt = torch.float64 if x.dtype == np.float64 else torch.float32
    net = torch.nn.RNN(x.shape[2], h0.shape[1], batch_first=True, nonlinearity="tanh").to(tdt)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(Wx.T))
        net.weight_hh_l0.copy_(torch.tensor(Wh.T))
        net.bias_ih_l0.copy_(torch.tensor(split * b))
        net.bias_hh_l0.copy_(torch.tensor((1 - split) * b))
    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0[None], requires_grad=True)
    hs, _ = net(tx, th0)
    hs.backward(torch.tensor(dhs))
    return (
        hs.detach().numpy(),
        tx.grad.numpy(),
        th0.grad.numpy()[0],
        net.weight_ih_l0.grad.numpy().T,
        net.weight_hh_l0.grad.numpy().T,
        net.bias_ih_l0.grad.numpy(),
        net.bias_hh_l0.grad.numpy(),
    )


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N, T, D, H", [(3, 6, 4, 5), (1, 1, 2, 3), (2, 9, 3, 2)])
def test_rnn_sequence_and_bptt_match_torch_rnn(rnn, torch, dtype, N, T, D, H):
    rng = np.random.default_rng(20)
    x, h0 = rng.standard_normal((N, T, D)).astype(dtype), rng.standard_normal((N, H)).astype(dtype)
    Wx, Wh, b = ((0.6 * rng.standard_normal(s)).astype(dtype) for s in ((D, H), (H, H), (H,)))
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    hs, cache = rnn.rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = rnn.rnn_backward(dhs, cache)
    want_hs, want_dx, want_dh0, want_dWx, want_dWh, want_dbih, want_dbhh = _torch_rnn(torch, x, h0, Wx, Wh, b, dhs)
    np.testing.assert_allclose(want_dbih, want_dbhh, **TOL[dtype])  # torch's two biases: one gradient, db
    for got, want in ((hs, want_hs), (dx, want_dx), (dh0, want_dh0), (dWx, want_dWx), (dWh, want_dWh), (db, want_dbih)):
        assert got.dtype == dtype
        _assert_close(got, want, dtype)


def test_rnn_backward_matches_the_numerical_gradient_and_reaches_the_first_step(rnn):
    rng = np.random.default_rng(21)
    N, T, D, H = 2, 5, 3, 4
    args = [rng.standard_normal(s) * 0.7 for s in ((N, T, D), (N, H), (D, H), (H, H), (H,))]
    dhs = rng.standard_normal((N, T, H))
    grads = rnn.rnn_backward(dhs, rnn.rnn_forward(*args)[1])
    for arr, grad in zip(args, grads):
        num = numerical_gradient(lambda: rnn.rnn_forward(*args)[0], arr, dhs)
        np.testing.assert_allclose(grad, num, **GRADCHECK_TOL)
    dhs[:, :-1] = 0  # only the last state in the loss: the first input still reaches it
    dx = rnn.rnn_backward(dhs, rnn.rnn_forward(*args)[1])[0]
    assert np.all(np.abs(dx[:, 0]) > 0)


def test_rnn_small_example_echoes_the_first_input(rnn):
    hs, _ = rnn.rnn_forward(
        np.array([[[1.0], [0.0], [0.0]]]), np.zeros((1, 1)), np.ones((1, 1)), np.full((1, 1), 0.5), np.zeros(1)
    )
    h1 = np.tanh(1.0)
    np.testing.assert_allclose(hs[0, :, 0], [h1, np.tanh(0.5 * h1), np.tanh(0.5 * np.tanh(0.5 * h1))])
