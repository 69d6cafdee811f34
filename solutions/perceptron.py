"""Reference for exercises/perceptron.py.

Nothing here is a hot matmul or convolution, so the reference is the model
answer itself (one piece of code per idea).
"""

from solutions.model.perceptron import perceptron_predict, perceptron_train, perceptron_update, step

__all__ = ["step", "perceptron_predict", "perceptron_update", "perceptron_train"]
