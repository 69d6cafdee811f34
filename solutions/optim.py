"""Reference for exercises/optim.py.

An optimiser step is elementwise arithmetic on one parameter array, no matrix
product: the reference is the model answer itself (one piece of code per idea).
"""

from solutions.model.optim import adam_step, rmsprop_step, sgd_momentum_step

__all__ = ["sgd_momentum_step", "rmsprop_step", "adam_step"]
