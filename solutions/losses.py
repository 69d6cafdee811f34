"""Reference for exercises/losses.py.

The only products here are one sigmoid unit's matrix-vector products on tiny
batches, not hot matmuls, so the reference is the model answer itself (one
piece of code per idea).
"""

from solutions.model.losses import (
    binary_cross_entropy,
    gradient_descent_step,
    mse_loss,
    sigmoid_unit_bce_grad,
    sigmoid_unit_mse_grad,
    softmax_cross_entropy,
)

__all__ = [
    "mse_loss",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "sigmoid_unit_mse_grad",
    "gradient_descent_step",
    "sigmoid_unit_bce_grad",
]
