"""Reference for exercises/regularization.py.

Dropout and the normalisations are elementwise work and reductions, no matrix
product: the reference is the model answer itself (one piece of code per idea).
The transformer block's reference (solutions.attention) uses these layer norms.
"""

from solutions.model.regularization import (
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layer_norm_backward,
    layer_norm_forward,
)

__all__ = [
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "layer_norm_forward",
    "layer_norm_backward",
]
