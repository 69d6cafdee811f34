# %% [markdown]
# # Lab 4: optimisers compared, and dropout and batch norm against none
#
# One network, the digits MLP of lab 3 (64 -> 100 -> ReLU -> 10), trained
# from the same start on the same minibatches by four update rules written
# by you in `exercises/optim.py`: plain SGD (`sgd_momentum_step` with
# gamma = 0), SGD with momentum, RMSprop and Adam. Then the lectures'
# regularisation comparison: a wider network trained on only 300 digits,
# with nothing, with your dropout, and with your batch normalisation
# (`exercises/regularization.py`).

# %% [bootstrap]

# %%
import math

import labdata
import matplotlib.pyplot as plt
import numpy as np

affine_forward, affine_backward, relu_forward, relu_backward = lab.use(
    "backprop", "affine_forward", "affine_backward", "relu_forward", "relu_backward"
)
softmax_cross_entropy = lab.use("losses", "softmax_cross_entropy")
sgd_momentum_step, rmsprop_step, adam_step = lab.use("optim", "sgd_momentum_step", "rmsprop_step", "adam_step")
data = labdata.digits(seed=0)

# %% [markdown]
# ## One update rule per optimiser
# Each optimiser keeps its own state per parameter array (zeros at the
# start) and turns (w, dw) into the new w. The table maps a name to its
# step and a learning rate usual for it (0.05 for the SGD family, torch's
# default 1e-3 for the adaptive ones). The ranking you see depends on those
# rates: change them and run again.


# %%
def sgd(w, dw, state, t, lr):
    w, state["m"] = sgd_momentum_step(w, dw, state.get("m", np.zeros_like(w)), lr, gamma=0.0)
    return w


def momentum(w, dw, state, t, lr):
    w, state["m"] = sgd_momentum_step(w, dw, state.get("m", np.zeros_like(w)), lr, gamma=0.9)
    return w


def rmsprop(w, dw, state, t, lr):
    w, state["s"] = rmsprop_step(w, dw, state.get("s", np.zeros_like(w)), lr)
    return w


def adam(w, dw, state, t, lr):
    w, state["m"], state["v"] = adam_step(
        w, dw, state.get("m", np.zeros_like(w)), state.get("v", np.zeros_like(w)), t, lr=lr
    )
    return w


OPTIMISERS = {"SGD": (sgd, 0.05), "momentum": (momentum, 0.05), "RMSprop": (rmsprop, 1e-3), "Adam": (adam, 1e-3)}


# %%
def init(sizes, seed):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = math.sqrt(2.0 / d) * rng.standard_normal((d, m))
        params[f"b{i}"] = np.zeros(m)
    return params


def mlp_loss(params, X, y):
    """Loss and gradients of affine -> ReLU -> affine -> softmax cross-entropy."""
    h, c0 = affine_forward(X, params["W0"], params["b0"])
    a, cr = relu_forward(h)
    scores, c1 = affine_forward(a, params["W1"], params["b1"])
    loss, ds = softmax_cross_entropy(scores, y)
    da, dW1, db1 = affine_backward(ds, c1)
    _, dW0, db0 = affine_backward(relu_backward(da, cr), c0)
    return loss, {"W0": dW0, "b0": db0, "W1": dW1, "b1": db1}, scores


def train_with(update, lr, epochs=8, seed=0):
    params = init([64, 100, 10], seed=1)
    states = {k: {} for k in params}
    rng, losses, t = np.random.default_rng(seed), [], 0
    for _epoch in range(epochs):
        for batch in labdata.minibatches(len(data["y_train"]), 32, rng):
            loss, grads, _ = mlp_loss(params, data["X_train"][batch], data["y_train"][batch])
            t += 1
            params = {k: update(params[k], grads[k], states[k], t, lr) for k in params}
            losses.append(loss)
    val = labdata.accuracy(mlp_loss(params, data["X_val"], data["y_val"])[2], data["y_val"])
    return losses, val


curves, optimiser_results = {}, {}
for name, (update, lr) in OPTIMISERS.items():
    curves[name], val = train_with(update, lr)
    optimiser_results[name] = {
        "lr": lr,
        "first_epoch_loss": float(np.mean(curves[name][:38])),
        "last_epoch_loss": float(np.mean(curves[name][-38:])),
        "val_accuracy": val,
    }
    print(
        f"{name:>9}: lr {lr:g}, mean loss of the last epoch {optimiser_results[name]['last_epoch_loss']:.4f}, "
        f"validation accuracy {val:.3f}"
    )

# %%
fig, ax = plt.subplots(figsize=(8, 4))
smooth = np.ones(20) / 20
for name, losses in curves.items():
    ax.plot(np.convolve(losses, smooth, mode="valid"), label=name)
ax.set(xlabel="minibatch", ylabel="loss (moving average of 20)", yscale="log", title="one network, four optimisers")
ax.legend()
lab.show(fig, "optimisers")

# %% [markdown]
# ## Regularisation: none, dropout, batch norm
# 150 training images and a network with two hidden layers of 256 units
# overfit: training accuracy reaches 1 long before validation accuracy
# stops rising. Dropout (p = 0.5 after each hidden ReLU) and batch norm
# (before each ReLU) are added to the same network; all three train with
# your Adam for the same number of steps.
#
# At test time dropout is off (`train=False`), and batch norm must not use
# the test batch's own statistics: the lab keeps running averages of the
# mean and variance seen in training and applies gamma (x - mean) /
# sqrt(var + eps) + beta with those, as `torch.nn.BatchNorm1d` does in
# `eval()` mode.

# %%
dropout_forward, dropout_backward = lab.use("regularization", "dropout_forward", "dropout_backward")
batchnorm_forward, batchnorm_backward = lab.use("regularization", "batchnorm_forward", "batchnorm_backward")
SIZES, N_SMALL, P_DROP, EPS = [64, 256, 256, 10], 150, 0.5, 1e-5


def reg_init(kind, seed=3):
    params = init(SIZES, seed)
    if kind == "batchnorm":
        for i, width in enumerate(SIZES[1:-1]):
            params[f"gamma{i}"], params[f"beta{i}"] = np.ones(width), np.zeros(width)
    return params


def reg_forward(params, X, kind, train, step, running):
    """Scores and the caches; kind is "none", "dropout" or "batchnorm"."""
    caches, out, layers = [], X, len(SIZES) - 1
    for i in range(layers):
        out, cache = affine_forward(out, params[f"W{i}"], params[f"b{i}"])
        caches.append(("affine", i, cache))
        if i == layers - 1:
            break
        if kind == "batchnorm":
            if train:
                mean, var = out.mean(axis=0), out.var(axis=0)
                running[i] = [0.9 * r + 0.1 * s for r, s in zip(running.get(i, (mean, var)), (mean, var))]
                out, cache = batchnorm_forward(out, params[f"gamma{i}"], params[f"beta{i}"], EPS)
                caches.append(("batchnorm", i, cache))
            else:
                mean, var = running[i]
                out = params[f"gamma{i}"] * (out - mean) / np.sqrt(var + EPS) + params[f"beta{i}"]
        out, cache = relu_forward(out)
        caches.append(("relu", i, cache))
        if kind == "dropout":
            out, cache = dropout_forward(out, P_DROP, train=train, seed=1000 * step + i)
            caches.append(("dropout", i, cache))
    return out, caches


BACKWARD = {
    "relu": lambda d, c: (relu_backward(d, c), {}),
    "dropout": lambda d, c: (dropout_backward(d, c), {}),
    "affine": lambda d, c: (lambda dx, dW, db: (dx, {"W": dW, "b": db}))(*affine_backward(d, c)),
    "batchnorm": lambda d, c: (lambda dx, dg, dbt: (dx, {"gamma": dg, "beta": dbt}))(*batchnorm_backward(d, c)),
}


def reg_train(kind, epochs=80, lr=1e-3):
    params, running = reg_init(kind), {}
    states = {k: {} for k in params}
    X, y = data["X_train"][:N_SMALL], data["y_train"][:N_SMALL]
    rng, t = np.random.default_rng(0), 0
    for _epoch in range(epochs):
        for batch in labdata.minibatches(N_SMALL, 32, rng):
            t += 1
            scores, caches = reg_forward(params, X[batch], kind, True, t, running)
            _, dout = softmax_cross_entropy(scores, y[batch])
            grads = {}
            for layer, i, cache in reversed(caches):
                dout, layer_grads = BACKWARD[layer](dout, cache)
                grads.update({f"{name}{i}": g for name, g in layer_grads.items()})
            params = {k: adam(params[k], grads[k], states[k], t, lr) for k in params}
    accuracy = {
        part: labdata.accuracy(reg_forward(params, data[f"X_{part}"], kind, False, 0, running)[0], data[f"y_{part}"])
        for part in ("val", "test")
    }
    accuracy["train"] = labdata.accuracy(reg_forward(params, X, kind, False, 0, running)[0], y)
    return accuracy


regularisation_results = {kind: reg_train(kind) for kind in ("none", "dropout", "batchnorm")}
print(f"{'':>10} {'train':>7} {'val':>7} {'test':>7}")
for kind, acc in regularisation_results.items():
    print(f"{kind:>10} {acc['train']:7.3f} {acc['val']:7.3f} {acc['test']:7.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
kinds = list(regularisation_results)
for offset, part in zip((-0.2, 0.0, 0.2), ("train", "val", "test")):
    ax.bar(np.arange(3) + offset, [regularisation_results[k][part] for k in kinds], width=0.2, label=part)
ax.set(
    xticks=range(3),
    xticklabels=kinds,
    ylim=(0.8, 1.0),
    ylabel="accuracy",
    title=f"{N_SMALL} training digits, {SIZES[1:-1]} hidden",
)
ax.legend(loc="lower right")
lab.show(fig, "regularisation")

# %%
lab.save_results(
    "04_optimisers_regularisation", {"optimisers": optimiser_results, "regularisation": regularisation_results}
)
