"""Reference for exercises/activations.py.

Elementwise functions only, so the reference is the model answer itself (one
piece of code per idea).
"""

from solutions.model.activations import (
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    tanh_grad,
)

__all__ = [
    "sigmoid",
    "sigmoid_grad",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "softmax",
]
