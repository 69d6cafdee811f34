# %% [markdown]
# # Lab 6: a convolutional autoencoder, and denoising
#
# The encoder squeezes an 8x8 digit through two of your stride-2
# convolutions into a code of 8 channels of 2x2 (32 numbers for 64 pixels);
# the decoder grows it back with two of your stride-2 transposed
# convolutions (`conv_transpose2d_forward`/`_backward` from
# `exercises/transposed_conv.py`):
#
#     (1, 8, 8) -conv s2-> (8, 4, 4) -conv s2-> (8, 2, 2)      encoder, ReLU after each
#     (8, 2, 2) -transposed conv s2-> (8, 4, 4) -transposed conv s2-> (1, 8, 8) -> sigmoid
#
# A transposed convolution with kernel 4, stride 2 and padding 1 exactly
# doubles the height and width: (H - 1) * 2 - 2 + 4 = 2H. The loss is your
# `mse_loss` between the output and the input image; the optimiser is SGD
# with momentum (v = 0.9 v - lr g; w = w + v).

# %% [bootstrap]

# %%
import math

import labdata
import matplotlib.pyplot as plt
import numpy as np

conv2d_forward, conv2d_backward = lab.use("conv", "conv2d_forward", "conv2d_backward")
conv_transpose2d_forward, conv_transpose2d_backward = lab.use(
    "transposed_conv", "conv_transpose2d_forward", "conv_transpose2d_backward"
)
relu_forward, relu_backward, sigmoid_forward, sigmoid_backward = lab.use(
    "backprop", "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward"
)
mse_loss = lab.use("losses", "mse_loss")
data = labdata.digits(seed=0)
images = {part: data[f"X_{part}"].reshape(-1, 1, 8, 8) for part in ("train", "test")}
C, CODE, EPOCHS, LR, NOISE = 8, 8, 30, 1.0, 0.3


# %%
def init(seed):
    rng = np.random.default_rng(seed)

    def he(fan_in, shape):
        return math.sqrt(2 / fan_in) * rng.standard_normal(shape)

    return {
        "w1": he(9, (C, 1, 3, 3)),
        "b1": np.zeros(C),
        "w2": he(9 * C, (CODE, C, 3, 3)),
        "b2": np.zeros(CODE),
        "u1": he(4 * CODE, (CODE, C, 4, 4)),
        "c1": np.zeros(C),
        "u2": math.sqrt(1 / (4 * C)) * rng.standard_normal((C, 1, 4, 4)),
        "c2": np.zeros(1),
    }


def forward(p, x):
    h, cache1 = conv2d_forward(x, p["w1"], p["b1"], stride=2, padding=1)
    h, relu1 = relu_forward(h)
    code, cache2 = conv2d_forward(h, p["w2"], p["b2"], stride=2, padding=1)
    code, relu2 = relu_forward(code)
    d, cache3 = conv_transpose2d_forward(code, p["u1"], p["c1"], stride=2, padding=1)
    d, relu3 = relu_forward(d)
    out, cache4 = conv_transpose2d_forward(d, p["u2"], p["c2"], stride=2, padding=1)
    out, sig = sigmoid_forward(out)
    return out, (cache1, relu1, cache2, relu2, cache3, relu3, cache4, sig)


def backward(dout, caches):
    cache1, relu1, cache2, relu2, cache3, relu3, cache4, sig = caches
    g = {}
    dd, g["u2"], g["c2"] = conv_transpose2d_backward(sigmoid_backward(dout, sig), cache4)
    dcode, g["u1"], g["c1"] = conv_transpose2d_backward(relu_backward(dd, relu3), cache3)
    dh, g["w2"], g["b2"] = conv2d_backward(relu_backward(dcode, relu2), cache2)
    _, g["w1"], g["b1"] = conv2d_backward(relu_backward(dh, relu1), cache1)
    return g


def train(noise, seed=0):
    """An autoencoder trained to map (image + noise) back to the clean image."""
    rng = np.random.default_rng(seed)
    p = init(seed)
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    losses = []
    for _epoch in range(EPOCHS):
        for batch in labdata.minibatches(len(images["train"]), 32, rng):
            clean = images["train"][batch]
            out, caches = forward(p, clean + noise * rng.standard_normal(clean.shape))
            loss, dout = mse_loss(out, clean)
            g = backward(dout, caches)
            for k in p:
                velocity[k] = 0.9 * velocity[k] - LR * g[k]
                p[k] = p[k] + velocity[k]
            losses.append(loss)
    return p, losses


def mse(a, b):
    return float(np.mean((a - b) ** 2))


# %% [markdown]
# ## Reconstruction
# The yardstick: always answering the average training digit scores
# `baseline_mse`; the autoencoder must do far better from its 32 numbers.

# %%
autoencoder, losses = train(noise=0.0)
test = images["test"]
reconstructed = forward(autoencoder, test)[0]
reconstruction_mse = mse(reconstructed, test)
baseline_mse = mse(images["train"].mean(axis=0), test)
print(f"test MSE: reconstruction {reconstruction_mse:.4f}, mean-image baseline {baseline_mse:.4f}")

fig = plt.figure(figsize=(12, 3.6))
ax = fig.add_subplot(1, 3, 1)
ax.plot(losses, lw=0.6)
ax.set(xlabel="minibatch", ylabel="mse_loss", yscale="log", title="training loss")
grid = fig.add_gridspec(2, 24, left=0.38, right=0.98)
for i in range(10):
    for row, img in enumerate((test[i, 0], reconstructed[i, 0])):
        a = fig.add_subplot(grid[row, 2 * i : 2 * i + 2])
        a.imshow(img, cmap="gray_r", vmin=0, vmax=1)
        a.axis("off")
fig.text(0.38, 0.92, "top: test digits; bottom: their reconstructions", fontsize=9)
lab.show(fig, "autoencoder_reconstructions")

# %% [markdown]
# ## Denoising
# Train again, now feeding images with Gaussian noise (standard deviation
# 0.3) and asking for the clean image. The code cannot hold the noise, so
# the decoder draws what a digit should look like.

# %%
denoiser, _ = train(noise=NOISE)
noisy = test + NOISE * np.random.default_rng(123).standard_normal(test.shape)
denoised = forward(denoiser, noisy)[0]
noisy_mse, denoised_mse = mse(noisy, test), mse(denoised, test)
print(f"test MSE against the clean digits: noisy input {noisy_mse:.4f}, denoised {denoised_mse:.4f}")

fig, axes = plt.subplots(3, 10, figsize=(10, 3.3))
for i in range(10):
    for row, img in enumerate((test[i, 0], noisy[i, 0], denoised[i, 0])):
        axes[row, i].imshow(img, cmap="gray_r", vmin=0, vmax=1)
        axes[row, i].axis("off")
axes[0, 0].set_title("clean / noisy / denoised", loc="left", fontsize=9)
lab.show(fig, "autoencoder_denoising")

# %%
lab.save_results(
    "06_autoencoder",
    {
        "reconstruction_mse": reconstruction_mse,
        "baseline_mse": baseline_mse,
        "final_loss": float(np.mean(losses[-30:])),
        "noisy_mse": noisy_mse,
        "denoised_mse": denoised_mse,
    },
)
