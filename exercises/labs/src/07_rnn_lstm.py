# %% [markdown]
# # Lab 7: gradients through time, and an LSTM that remembers
#
# Backpropagation through time multiplies the gradient, once per step, by
# the recurrent weights (and the tanh's derivative). Part 1 measures, with
# your `rnn_forward`/`rnn_backward` over 20 steps, how much of the gradient
# of a loss at the last step reaches the input of each earlier step, when
# the recurrent matrix is a rotation scaled by 0.6, 1.0 or 1.4: it vanishes,
# survives, or explodes, like 0.6^t, 1^t and 1.4^t.
#
# Part 2 gives a vanilla RNN and your LSTM (`lstm_forward`/`lstm_backward`)
# the same memory task: a bit shown at the first step, then 49 steps of
# noise, and the question "which bit?" at the end.

# %% [bootstrap]

# %%
import math

import labdata
import matplotlib.pyplot as plt
import numpy as np

rnn_forward, rnn_backward = lab.use("rnn", "rnn_forward", "rnn_backward")

# %% [markdown]
# ## Part 1: gradient norms through time
# A loss that depends on the last hidden state only: dL/dh_T is random, and
# `rnn_backward` carries it back to every step. We plot |dL/dx_t|, the
# gradient that reaches the input of step t. The inputs are tiny, so the
# tanh stays in its linear range and the recurrent matrix alone decides.

# %%
H, D, T, N = 32, 2, 20, 16
rng = np.random.default_rng(0)
rotation, _ = np.linalg.qr(rng.standard_normal((H, H)))  # orthogonal: all singular values 1
x = 1e-3 * rng.standard_normal((N, T, D))
Wx, b = rng.standard_normal((D, H)), np.zeros(H)
gradient_norms = {}
for scale in (0.6, 1.0, 1.4):
    hs, cache = rnn_forward(x, np.zeros((N, H)), Wx, scale * rotation, b)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = np.random.default_rng(1).standard_normal((N, H))
    dx = rnn_backward(dhs, cache)[0]
    norms = np.linalg.norm(dx, axis=(0, 2))  # one norm per time step
    gradient_norms[scale] = norms
    print(f"Wh = {scale} x rotation: |dL/dx_1| / |dL/dx_T| = {norms[0] / norms[-1]:.3g}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for scale, norms in gradient_norms.items():
    ax.semilogy(range(1, T + 1), norms, "o-", label=f"Wh = {scale} x rotation")
ax.set(xlabel="time step t", ylabel="|dL/dx_t|", title="gradient norm through time (loss at step 20)")
ax.legend()
lab.show(fig, "rnn_gradient_norms")

# %% [markdown]
# ## Part 2: remember one bit for 50 steps
# Input channel 0 holds the bit (+1 or -1) at step 0 and Gaussian noise of
# standard deviation 0.5 afterwards; channel 1 marks step 0. Both networks
# (16 hidden units) read their last hidden state through an affine layer
# into your softmax cross-entropy, and train for 400 minibatches of 64 with
# the same optimiser: SGD with momentum 0.9, gradients clipped to norm 1.
# The LSTM starts with its forget-gate bias at 3, so its cell state keeps
# about 0.95 of itself per step at first: the standard trick that lets
# gradients reach far back from the start.

# %%
lstm_forward, lstm_backward = lab.use("rnn", "lstm_forward", "lstm_backward")
softmax_cross_entropy = lab.use("losses", "softmax_cross_entropy")
LENGTH, NOISE, HIDDEN, STEPS, BATCH, LR = 50, 0.5, 16, 400, 64, 0.03


def task(n, seed):
    x, y = labdata.memory_task(n, LENGTH, seed=seed)
    x[:, 1:, 0] *= NOISE
    return x, y


def init(kind, seed=0):
    rng = np.random.default_rng(seed)
    gates = 4 * HIDDEN if kind == "lstm" else HIDDEN
    params = {
        "Wx": 0.5 * rng.standard_normal((2, gates)),
        "Wh": rng.standard_normal((HIDDEN, gates)) / math.sqrt(HIDDEN),
        "b": np.zeros(gates),
        "V": 0.1 * rng.standard_normal((HIDDEN, 2)),
        "c": np.zeros(2),
    }
    if kind == "lstm":
        params["b"][HIDDEN : 2 * HIDDEN] = 3.0  # forget gate: the second block (i, f, g, o)
    return params


def run(kind, params, x):
    h0 = np.zeros((len(x), HIDDEN))
    if kind == "lstm":
        return lstm_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    return rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])


def train(kind):
    params = init(kind)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for step in range(STEPS):
        x, y = task(BATCH, seed=1000 + step)
        hs, cache = run(kind, params, x)
        loss, dscores = softmax_cross_entropy(hs[:, -1] @ params["V"] + params["c"], y)
        grads = {"V": hs[:, -1].T @ dscores, "c": dscores.sum(axis=0)}
        dhs = np.zeros_like(hs)
        dhs[:, -1] = dscores @ params["V"].T
        if kind == "lstm":
            _, _, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dhs, cache)
        else:
            _, _, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dhs, cache)
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        clip = min(1.0, 1.0 / norm) if norm > 0 else 1.0
        for k in params:
            velocity[k] = 0.9 * velocity[k] - LR * clip * grads[k]
            params[k] = params[k] + velocity[k]
        losses.append(loss)
    x_test, y_test = task(1000, seed=99)
    scores = run(kind, params, x_test)[0][:, -1] @ params["V"] + params["c"]
    return losses, labdata.accuracy(scores, y_test)


memory = {}
for kind in ("rnn", "lstm"):
    losses, test_accuracy = train(kind)
    memory[kind] = {"losses": losses, "test_accuracy": test_accuracy}
    print(f"{kind}: final loss {np.mean(losses[-20:]):.3f}, test accuracy {test_accuracy:.3f}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for kind, label in (("rnn", "vanilla RNN"), ("lstm", "LSTM")):
    ax.plot(
        np.convolve(memory[kind]["losses"], np.ones(10) / 10, mode="valid"),
        label=f"{label}, test accuracy {memory[kind]['test_accuracy']:.2f}",
    )
ax.axhline(math.log(2), color="gray", ls=":", label="ln 2: guessing")
ax.set(xlabel="minibatch", ylabel="loss (moving average of 10)", title=f"remember a bit for {LENGTH} steps")
ax.legend()
lab.show(fig, "rnn_lstm_memory")

# %%
lab.save_results(
    "07_rnn_lstm",
    {
        "gradient_ratio_first_to_last": {str(s): float(n[0] / n[-1]) for s, n in gradient_norms.items()},
        "rnn_test_accuracy": memory["rnn"]["test_accuracy"],
        "lstm_test_accuracy": memory["lstm"]["test_accuracy"],
        "rnn_final_loss": float(np.mean(memory["rnn"]["losses"][-20:])),
        "lstm_final_loss": float(np.mean(memory["lstm"]["losses"][-20:])),
    },
)
