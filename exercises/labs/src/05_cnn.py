# %% [markdown]
# # Lab 5: a small convolutional network reads digits
#
# Your `conv2d_forward`/`conv2d_backward` and `max_pool2d_forward`/
# `max_pool2d_backward` from `exercises/conv.py`, with your ReLU, affine layer
# and softmax cross-entropy, make a CNN:
#
#     image (1, 8, 8) -> conv 3x3, 16 filters, padding 1 -> ReLU -> max pool 2x2
#                     -> (16, 4, 4) = 256 features -> affine -> 10 scores
#
# trained with minibatch SGD. Then we look inside: the learned filters, and
# the feature maps they produce on one digit.

# %% [bootstrap]

# %%
import math

import labdata
import matplotlib.pyplot as plt
import numpy as np

conv2d_forward, conv2d_backward, max_pool2d_forward, max_pool2d_backward = lab.use(
    "conv", "conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward"
)
affine_forward, affine_backward, relu_forward, relu_backward = lab.use(
    "backprop", "affine_forward", "affine_backward", "relu_forward", "relu_backward"
)
softmax_cross_entropy = lab.use("losses", "softmax_cross_entropy")
data = labdata.digits(seed=0)
images = {part: data[f"X_{part}"].reshape(-1, 1, 8, 8) for part in ("train", "val", "test")}
FILTERS = 16


# %%
def init(seed):
    rng = np.random.default_rng(seed)
    return {
        "w": math.sqrt(2 / 9) * rng.standard_normal((FILTERS, 1, 3, 3)),
        "b": np.zeros(FILTERS),
        "W": 0.01 * rng.standard_normal((FILTERS * 16, 10)),
        "c": np.zeros(10),
    }


def forward(p, x):
    conv, conv_cache = conv2d_forward(x, p["w"], p["b"], stride=1, padding=1)
    act, relu_cache = relu_forward(conv)
    pooled, pool_cache = max_pool2d_forward(act, 2)
    scores, fc_cache = affine_forward(pooled.reshape(len(x), -1), p["W"], p["c"])
    return scores, (conv_cache, relu_cache, pool_cache, pooled.shape, fc_cache)


def loss_and_grads(p, x, y):
    scores, (conv_cache, relu_cache, pool_cache, pooled_shape, fc_cache) = forward(p, x)
    loss, dscores = softmax_cross_entropy(scores, y)
    dflat, dW, dc = affine_backward(dscores, fc_cache)
    dact = max_pool2d_backward(dflat.reshape(pooled_shape), pool_cache)
    _, dw, db = conv2d_backward(relu_backward(dact, relu_cache), conv_cache)
    return loss, {"w": dw, "b": db, "W": dW, "c": dc}


def accuracy(p, part):
    return labdata.accuracy(forward(p, images[part])[0], data[f"y_{part}"])


# %% [markdown]
# Sanity check first: the output layer starts with tiny weights, so the loss
# starts near ln 10.

# %%
params = init(seed=0)
initial_loss, _ = loss_and_grads(params, images["train"], data["y_train"])
print(f"initial loss {initial_loss:.3f} (ln 10 = {math.log(10):.3f})")

# %%
EPOCHS, LR, BATCH, DECAY = 20, 0.1, 32, 0.85
rng = np.random.default_rng(0)
losses, val_curve = [], []
for epoch in range(EPOCHS):
    for batch in labdata.minibatches(len(data["y_train"]), BATCH, rng):
        loss, grads = loss_and_grads(params, images["train"][batch], data["y_train"][batch])
        params = {k: params[k] - LR * grads[k] for k in params}
        losses.append(loss)
    LR *= DECAY  # a smaller step each epoch calms the last epochs' noise
    val_curve.append(accuracy(params, "val"))
    print(f"epoch {epoch + 1:2d}: loss {np.mean(losses[-30:]):.3f}, validation accuracy {val_curve[-1]:.3f}")
test_accuracy = accuracy(params, "test")
print(f"test accuracy {test_accuracy:.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(losses, lw=0.6)
ax1.set(xlabel="minibatch", ylabel="loss", yscale="log", title="training loss")
ax2.plot(range(1, EPOCHS + 1), val_curve, "o-")
ax2.set(xlabel="epoch", ylabel="accuracy", title=f"validation accuracy (test {test_accuracy:.3f})")
lab.show(fig, "cnn_curves")

# %% [markdown]
# ## The learned filters and their feature maps
# Top row: eight of the 3x3 filters (blue positive, red negative). Below: one
# test digit, and what each of those filters' ReLU'd output looks like on it. Edge
# and stroke detectors light up where the digit has that kind of stroke.

# %%
digit = images["test"][:1]
maps = relu_forward(conv2d_forward(digit, params["w"], params["b"], padding=1)[0])[0][0]
SHOWN = 8
fig, axes = plt.subplots(2, SHOWN + 1, figsize=(13, 3.2))
axes[0, 0].axis("off")
axes[1, 0].imshow(digit[0, 0], cmap="gray_r")
axes[1, 0].set_title(f"digit {data['y_test'][0]}", fontsize=9)
for f in range(SHOWN):
    limit = np.abs(params["w"][f, 0]).max()
    axes[0, f + 1].imshow(params["w"][f, 0], cmap="RdBu", vmin=-limit, vmax=limit)
    axes[0, f + 1].set_title(f"filter {f}", fontsize=9)
    axes[1, f + 1].imshow(maps[f], cmap="viridis")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
lab.show(fig, "cnn_filters")

# %%
lab.save_results(
    "05_cnn",
    {
        "initial_loss": initial_loss,
        "final_loss": float(np.mean(losses[-30:])),
        "val_accuracy": val_curve[-1],
        "test_accuracy": test_accuracy,
    },
)
