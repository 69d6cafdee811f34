# %% [markdown]
# # Lab 2: a two-layer network learns the noisy XOR
#
# No line separates XOR (lab 1), but one hidden layer bends the boundary.
# Your `two_layer_net_loss` from `exercises/backprop.py` gives the loss and the
# gradients; this lab runs gradient descent on them, draws the loss curve and
# the decision boundary, and measures the accuracy on fresh points. Then it
# starts every weight at the same value and shows why nobody does that.

# %% [bootstrap]

# %%
import labdata
import matplotlib.pyplot as plt
import numpy as np

two_layer_net_loss = lab.use("backprop", "two_layer_net_loss")
affine_forward, tanh_forward = lab.use("backprop", "affine_forward", "tanh_forward")
X_train, y_train = labdata.noisy_xor(200, noise=0.2, seed=1)
X_test, y_test = labdata.noisy_xor(1000, noise=0.2, seed=2)
HIDDEN, LR, STEPS = 8, 1.0, 1500

# %% [markdown]
# The network: hidden = tanh(X W1 + b1), y_hat = sigmoid(hidden W2 + b2),
# trained on the mean binary cross-entropy with full-batch gradient descent.
# The weights start small and random, the biases at zero.


# %%
def init(seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return {
        "W1": scale * rng.standard_normal((2, HIDDEN)),
        "b1": np.zeros(HIDDEN),
        "W2": scale * rng.standard_normal((HIDDEN, 1)),
        "b2": np.zeros(1),
    }


def train(params, steps=STEPS, lr=LR):
    params = {k: v.copy() for k, v in params.items()}
    losses = []
    for _ in range(steps):
        loss, grads = two_layer_net_loss(X_train, y_train, params, activation="tanh")
        losses.append(loss)
        for k in params:
            params[k] = params[k] - lr * grads[k]
    return params, losses


def scores(params, X):
    """The output unit's net input: positive means label 1."""
    hidden, _ = tanh_forward(affine_forward(X, params["W1"], params["b1"])[0])
    return affine_forward(hidden, params["W2"], params["b2"])[0][:, 0]


def accuracy(params, X, y):
    return float(np.mean((scores(params, X) > 0) == y))


params, losses = train(init(seed=0))
test_accuracy = accuracy(params, X_test, y_test)
print(
    f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; train accuracy {accuracy(params, X_train, y_train):.3f}, "
    f"test accuracy {test_accuracy:.3f}"
)


# %%
def draw_boundary(ax, params, title):
    grid = np.linspace(-0.7, 1.7, 200)
    gx, gy = np.meshgrid(grid, grid)
    z = scores(params, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, z > 0, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
    ax.contour(gx, gy, z, levels=[0], colors="k")
    ax.scatter(*X_train[y_train == 1].T, s=12, c="tab:blue", label="1")
    ax.scatter(*X_train[y_train == 0].T, s=12, c="tab:red", label="0")
    ax.set(aspect="equal", title=title)


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.plot(losses)
ax1.set(xlabel="step", ylabel="cross-entropy", title="training loss", yscale="log")
draw_boundary(ax2, params, f"decision boundary, test accuracy {test_accuracy:.3f}")
lab.show(fig, "noisy_xor")

# %% [markdown]
# ## Every weight started equal
# Start W1, W2 all at 0.5. Every hidden unit computes the same function of
# the input, so every one gets the same gradient, and after any number of
# steps they are still identical: the network has, in effect, one hidden unit,
# and one tanh unit cannot draw XOR. Random initialisation breaks the symmetry.

# %%
equal = {"W1": np.full((2, HIDDEN), 0.5), "b1": np.zeros(HIDDEN), "W2": np.full((HIDDEN, 1), 0.5), "b2": np.zeros(1)}
equal_params, equal_losses = train(equal)
spread = float(np.max(np.ptp(equal_params["W1"], axis=1)))
equal_accuracy = accuracy(equal_params, X_test, y_test)
print(
    f"equal start: loss {equal_losses[-1]:.3f}, test accuracy {equal_accuracy:.3f}, "
    f"largest difference between hidden units' weights {spread:.1e}"
)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.plot(losses, label="random start")
ax1.plot(equal_losses, label="every weight 0.5")
ax1.set(xlabel="step", ylabel="cross-entropy", yscale="log")
ax1.legend()
draw_boundary(ax2, equal_params, f"equal start, test accuracy {equal_accuracy:.3f}")
lab.show(fig, "noisy_xor_symmetry")

# %%
lab.save_results(
    "02_noisy_xor",
    {
        "test_accuracy": test_accuracy,
        "initial_loss": losses[0],
        "final_loss": losses[-1],
        "equal_init_test_accuracy": equal_accuracy,
        "equal_init_final_loss": equal_losses[-1],
        "equal_init_hidden_weight_spread": spread,
    },
)
