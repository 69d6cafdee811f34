# %% [markdown]
# # Lab 3: handwritten digits, logistic regression and a softmax MLP
#
# The 8x8 digits that ship with scikit-learn (1797 images, no download).
# Two models built from your layers: softmax (multinomial logistic)
# regression, scores = X W + b, and a two-layer MLP, scores =
# relu(X W1 + b1) W2 + b2; both trained on your `softmax_cross_entropy` with
# minibatch stochastic gradient descent. Before training for real we run the
# two sanity checks of CS231n: the initial loss, and overfitting a tiny set.

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
data = labdata.digits(seed=0)
print({k: v.shape for k, v in data.items()})

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for ax, image, label in zip(axes.ravel(), data["X_train"], data["y_train"]):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
lab.show(fig, "digits_samples")

# %% [markdown]
# ## The models
# A model is a list of layers; each layer's forward returns (out, cache), its
# backward takes (dout, cache): your layer contract. `loss_and_grads` runs
# the forward pass, your loss, and the backward pass.


# %%
def init_model(sizes, seed, scale=None):
    """Affine layers of the given sizes with ReLU between them; He-scaled random weights."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        std = math.sqrt(2.0 / d) if scale is None else scale
        params[f"W{i}"] = std * rng.standard_normal((d, m))
        params[f"b{i}"] = np.zeros(m)
    return params


def forward(params, X):
    n_layers = len(params) // 2
    caches, out = [], X
    for i in range(n_layers):
        out, cache = affine_forward(out, params[f"W{i}"], params[f"b{i}"])
        caches.append(("affine", cache))
        if i < n_layers - 1:
            out, cache = relu_forward(out)
            caches.append(("relu", cache))
    return out, caches


def loss_and_grads(params, X, y):
    scores, caches = forward(params, X)
    loss, dout = softmax_cross_entropy(scores, y)
    grads, i = {}, len(params) // 2
    for kind, cache in reversed(caches):
        if kind == "relu":
            dout = relu_backward(dout, cache)
        else:
            i -= 1
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, cache)
    return loss, grads


def accuracy(params, X, y):
    return labdata.accuracy(forward(params, X)[0], y)


# %% [markdown]
# ## Sanity check 1: the initial loss
# With tiny random weights every class gets probability about 1/10, so the
# loss must start near -ln(1/10) = ln 10 = 2.303. Anything else is a bug.

# %%
tiny = init_model([64, 100, 10], seed=0, scale=1e-3)
initial_loss, _ = loss_and_grads(tiny, data["X_train"], data["y_train"])
print(f"initial loss {initial_loss:.4f}, ln 10 = {math.log(10):.4f}")

# %% [markdown]
# ## Sanity check 2: overfit 20 examples
# A network that cannot learn 20 examples by heart cannot learn 1200.

# %%
X20, y20 = data["X_train"][:20], data["y_train"][:20]
small = init_model([64, 100, 10], seed=0)
for _step in range(300):
    loss20, grads = loss_and_grads(small, X20, y20)
    small = {k: small[k] - 0.1 * grads[k] for k in small}
overfit_accuracy = accuracy(small, X20, y20)
print(f"20 examples: loss {loss20:.4f}, training accuracy {overfit_accuracy:.2f}")

# %% [markdown]
# ## Minibatch SGD, with train and validation curves


# %%
def sgd(params, epochs, lr, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    curves = {"loss": [], "train": [], "val": []}
    for _epoch in range(epochs):
        for batch in labdata.minibatches(len(data["y_train"]), batch_size, rng):
            loss, grads = loss_and_grads(params, data["X_train"][batch], data["y_train"][batch])
            params = {k: params[k] - lr * grads[k] for k in params}
            curves["loss"].append(loss)
        curves["train"].append(accuracy(params, data["X_train"], data["y_train"]))
        curves["val"].append(accuracy(params, data["X_val"], data["y_val"]))
    return params, curves


logreg, logreg_curves = sgd(init_model([64, 10], seed=1), epochs=30, lr=0.2)
mlp, mlp_curves = sgd(init_model([64, 128, 10], seed=2), epochs=30, lr=0.1)
results = {}
for name, params, curves in [("logreg", logreg, logreg_curves), ("mlp", mlp, mlp_curves)]:
    results[name] = {
        "train_accuracy": curves["train"][-1],
        "val_accuracy": curves["val"][-1],
        "test_accuracy": accuracy(params, data["X_test"], data["y_test"]),
        "final_loss": float(np.mean(curves["loss"][-10:])),
    }
    print(name, results[name])

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for name, curves in [("logistic regression", logreg_curves), ("MLP", mlp_curves)]:
    axes[0].plot(curves["loss"], lw=0.6, label=name)
    axes[1].plot(curves["train"], label=f"{name}, train")
    axes[1].plot(curves["val"], "--", label=f"{name}, validation")
axes[0].set(xlabel="minibatch", ylabel="loss", yscale="log", title="loss per minibatch")
axes[1].set(xlabel="epoch", ylabel="accuracy", ylim=(0.8, 1.0), title="accuracy")
axes[0].legend()
axes[1].legend(fontsize=8)
scores_test = forward(mlp, data["X_test"])[0]
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (data["y_test"], scores_test.argmax(1)), 1)
axes[2].imshow(confusion, cmap="Blues")
axes[2].set(xlabel="predicted", ylabel="true", title="MLP confusion matrix (test)")
lab.show(fig, "digits_curves")

# %% [markdown]
# ## What the MLP gets wrong, and what its first layer looks for
# Each first-layer unit has 64 weights, one per pixel: drawn as an 8x8 image
# it shows the stroke pattern that excites the unit (blue) or inhibits it (red).

# %%
wrong = np.flatnonzero(scores_test.argmax(1) != data["y_test"])
fig, axes = plt.subplots(1, max(len(wrong[:10]), 1), figsize=(12, 1.8), squeeze=False)
for ax, i in zip(axes[0], wrong[:10]):
    ax.imshow(data["X_test"][i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{data['y_test'][i]} as {scores_test[i].argmax()}", fontsize=9)
for ax in axes[0]:
    ax.axis("off")
lab.show(fig, "digits_misclassified")

fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for ax, column in zip(axes[0], logreg["W0"].T[:8]):
    limit = np.abs(column).max()
    ax.imshow(column.reshape(8, 8), cmap="RdBu", vmin=-limit, vmax=limit)
    ax.axis("off")
axes[0, 0].set_title("logistic regression, digits 0-7", loc="left", fontsize=9)
for ax, column in zip(axes[1], mlp["W0"].T[:8]):
    limit = np.abs(column).max()
    ax.imshow(column.reshape(8, 8), cmap="RdBu", vmin=-limit, vmax=limit)
    ax.axis("off")
axes[1, 0].set_title("MLP, first 8 hidden units", loc="left", fontsize=9)
lab.show(fig, "digits_weights")

# %%
lab.save_results(
    "03_digits",
    {
        "initial_loss": initial_loss,
        "ln10": math.log(10),
        "overfit20_accuracy": overfit_accuracy,
        "overfit20_loss": loss20,
        "misclassified_test": int(len(wrong)),
        **results,
    },
)
