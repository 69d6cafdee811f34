# %% [markdown]
# # Lab 8: a transformer block learns to reverse a sequence
#
# Token sequences of length 8 over a vocabulary of 10, and the task: output
# the sequence reversed, one prediction per position. The model is one of
# your `transformer_block_forward`/`_backward` (post-norm: multi-head
# self-attention, add and layer-norm, feed-forward, add and layer-norm) between
# a learned token embedding plus your `positional_encoding`, and an affine
# read-out into your softmax cross-entropy; your `adam_step` trains it.
#
# To reverse, position i must copy the token at position 7 - i: attention
# has to look up by position, which it can only do through the positional
# encodings. The attention maps at the end show whether it learned that.

# %% [bootstrap]

# %%
import math

import labdata
import matplotlib.pyplot as plt
import numpy as np

positional_encoding, scaled_dot_product_attention = lab.use(
    "attention", "positional_encoding", "scaled_dot_product_attention"
)
transformer_block_forward, transformer_block_backward = lab.use(
    "attention", "transformer_block_forward", "transformer_block_backward"
)
softmax_cross_entropy = lab.use("losses", "softmax_cross_entropy")
adam_step = lab.use("optim", "adam_step")
VOCAB, LENGTH, E, FFN, HEADS = 10, 8, 32, 64, 2
STEPS, BATCH, LR = 600, 64, 3e-3

# %% [markdown]
# ## Positional encodings
# Row p is the vector added to the token at position p: sines and cosines
# of p at geometrically spaced frequencies, fast on the left, slow on the right.

# %%
pe = positional_encoding(LENGTH, E)
fig, ax = plt.subplots(figsize=(8, 2.6))
image = ax.imshow(positional_encoding(64, E), cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
ax.set(xlabel="dimension", ylabel="position", title="positional_encoding(64, 32)")
fig.colorbar(image)
lab.show(fig, "positional_encoding")

# %%
BLOCK = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2", "gamma1", "beta1", "gamma2", "beta2")


def init(seed=0):
    rng = np.random.default_rng(seed)

    def normal(shape, std):
        return std * rng.standard_normal(shape)

    s = 1 / math.sqrt(E)
    return {
        "emb": normal((VOCAB, E), 1.0),
        "Wq": normal((E, E), s),
        "Wk": normal((E, E), s),
        "Wv": normal((E, E), s),
        "Wo": normal((E, E), s),
        "W1": normal((E, FFN), math.sqrt(2 / E)),
        "b1": np.zeros(FFN),
        "W2": normal((FFN, E), 1 / math.sqrt(FFN)),
        "b2": np.zeros(E),
        "gamma1": np.ones(E),
        "beta1": np.zeros(E),
        "gamma2": np.ones(E),
        "beta2": np.zeros(E),
        "Wout": normal((E, VOCAB), s),
        "bout": np.zeros(VOCAB),
    }


def forward(params, tokens):
    x = params["emb"][tokens] + pe
    out, cache = transformer_block_forward(x, {k: params[k] for k in BLOCK}, HEADS)
    return x, out, cache, out @ params["Wout"] + params["bout"]


def loss_and_grads(params, tokens, targets):
    x, out, cache, logits = forward(params, tokens)
    loss, dlogits = softmax_cross_entropy(logits.reshape(-1, VOCAB), targets.ravel())
    dlogits = dlogits.reshape(logits.shape)
    grads = {"Wout": out.reshape(-1, E).T @ dlogits.reshape(-1, VOCAB), "bout": dlogits.sum(axis=(0, 1))}
    dx, block_grads = transformer_block_backward(dlogits @ params["Wout"].T, cache)
    grads.update(block_grads)
    grads["emb"] = np.zeros_like(params["emb"])
    np.add.at(grads["emb"], tokens, dx)  # each token's row collects the gradients of its positions
    return loss, grads


# %% [markdown]
# ## Training
# Every minibatch is fresh random sequences, so the model cannot memorise:
# accuracy on new sequences is the measure.

# %%
params = init()
moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
losses = []
for t in range(1, STEPS + 1):
    tokens, targets = labdata.reverse_task(BATCH, LENGTH, VOCAB, seed=t)
    loss, grads = loss_and_grads(params, tokens, targets)
    for k in params:
        params[k], m, v = adam_step(params[k], grads[k], *moments[k], t, lr=LR)
        moments[k] = (m, v)
    losses.append(loss)

tokens, targets = labdata.reverse_task(1000, LENGTH, VOCAB, seed=10**6)
predicted = forward(params, tokens)[3].argmax(axis=-1)
token_accuracy = float(np.mean(predicted == targets))
sequence_accuracy = float(np.mean((predicted == targets).all(axis=1)))
print(
    f"loss {losses[0]:.3f} -> {np.mean(losses[-20:]):.4f}; on 1000 new sequences: "
    f"token accuracy {token_accuracy:.3f}, whole sequences right {sequence_accuracy:.3f}"
)
print("input    ", tokens[0], "\npredicted", predicted[0])

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(losses)
ax.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="training loss")
lab.show(fig, "transformer_loss")

# %% [markdown]
# ## Attention maps
# Recompute each head's attention weights with your
# `scaled_dot_product_attention`: with the identity matrix as the values V,
# the output *is* the weight matrix softmax(Q K^T / sqrt(d_k)). Row i shows
# where position i looks; reversal wants the anti-diagonal.

# %%
x = forward(params, tokens[:1])[0][0]  # (LENGTH, E): the block's input for one sequence
d = E // HEADS
maps = []
for h in range(HEADS):
    columns = slice(h * d, (h + 1) * d)  # heads are contiguous blocks of columns
    Q, K = (x @ params["Wq"])[:, columns], (x @ params["Wk"])[:, columns]
    maps.append(scaled_dot_product_attention(Q, K, np.eye(LENGTH))[0])
anti_diagonal = [float(np.mean(m[np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)])) for m in maps]

fig, axes = plt.subplots(1, HEADS, figsize=(4 * HEADS, 3.6))
for h, (ax, m) in enumerate(zip(axes, maps)):
    ax.imshow(m, cmap="viridis", vmin=0, vmax=1)
    ax.set(
        title=f"head {h}: mean weight on the anti-diagonal {anti_diagonal[h]:.2f}",
        xlabel="key position",
        ylabel="query position",
        xticks=range(LENGTH),
        xticklabels=tokens[0],
        yticks=range(LENGTH),
    )
    ax.title.set_fontsize(9)
lab.show(fig, "transformer_attention")

# %%
lab.save_results(
    "08_transformer",
    {
        "token_accuracy": token_accuracy,
        "sequence_accuracy": sequence_accuracy,
        "initial_loss": losses[0],
        "final_loss": float(np.mean(losses[-20:])),
        "max_head_anti_diagonal_weight": max(anti_diagonal),
    },
)
