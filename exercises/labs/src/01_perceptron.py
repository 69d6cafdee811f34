# %% [markdown]
# # Lab 1: the perceptron on OR, AND and XOR
#
# Your `perceptron_train` from `exercises/perceptron.py` learns three logic
# gates. After every epoch we draw the line where `X @ w + b = 0`, the
# perceptron's decision boundary, and count the updates the epoch made.
# The perceptron convergence theorem promises that the updates stop when the
# two classes can be split by a line (OR, AND), and no line splits XOR.
#
# Run the cells in order. If a cell stops with `LabStop`, write the function
# it names first (`nngrade <name>` checks it).

# %% [bootstrap]

# %%
import labdata
import matplotlib.pyplot as plt
import numpy as np

perceptron_train, perceptron_predict = lab.use("perceptron", "perceptron_train", "perceptron_predict")
X = labdata.GATE_INPUTS
EPOCHS, SEED = 12, 0

# %% [markdown]
# `perceptron_train(X, y, epochs=k, seed=SEED)` shuffles the examples with the
# same seeded generator every time, so stopping it after k epochs gives the
# weights your perceptron had after epoch k of the longest run.

# %%
history = {}
for gate, y in labdata.GATES.items():
    w, b, updates = perceptron_train(X, y, epochs=EPOCHS, seed=SEED)
    states = [perceptron_train(X, y, epochs=k, seed=SEED)[:2] for k in range(1, len(updates) + 1)]
    accuracy = float(np.mean(perceptron_predict(w, b, X) == y))
    history[gate] = {"updates": list(updates), "states": states, "accuracy": accuracy}
    print(f"{gate:>3}: updates per epoch {list(updates)}, final w = {w}, b = {b}, accuracy {accuracy:.2f}")

# %% [markdown]
# ## The boundary after each epoch
# Light lines are early epochs, the dark one is the last. Filled dots are
# label 1, open dots label 0.


# %%
def draw_line(ax, w, b, **style):
    """The line w[0] x + w[1] y + b = 0 over the square [-0.5, 1.5]^2."""
    xs = np.linspace(-0.5, 1.5, 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **style)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-b / w[0], **style)


fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, (gate, y) in zip(axes, labdata.GATES.items()):
    states = history[gate]["states"]
    for k, (w, b) in enumerate(states):
        shade = 0.2 + 0.8 * (k + 1) / len(states)
        draw_line(ax, w, b, color=plt.cm.Blues(shade), lw=1 + (k == len(states) - 1))
    ax.scatter(X[y == 1, 0], X[y == 1, 1], s=120, c="k")
    ax.scatter(X[y == 0, 0], X[y == 0, 1], s=120, facecolors="none", edgecolors="k")
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal")
    ax.set_title(f"{gate}: {len(states)} epochs\nupdates {history[gate]['updates']}", fontsize=9)
lab.show(fig, "perceptron_boundaries")

# %% [markdown]
# ## Updates per epoch
# OR and AND reach an epoch without a single update and stop; XOR keeps
# updating until the epochs run out.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
for gate in labdata.GATES:
    ax.plot(range(1, len(history[gate]["updates"]) + 1), history[gate]["updates"], "o-", label=gate)
ax.set(xlabel="epoch", ylabel="updates", title="updates per epoch")
ax.legend()
lab.show(fig, "perceptron_updates")

# %%
lab.save_results(
    "01_perceptron",
    {
        gate: {
            "updates": h["updates"],
            "epochs": len(h["updates"]),
            "converged": h["updates"][-1] == 0,
            "accuracy": h["accuracy"],
        }
        for gate, h in history.items()
    },
)
