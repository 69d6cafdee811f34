"""Reference for exercises/gradcheck.py.

Central differences and a relative error have no matrix product: the
reference is the model answer itself (one piece of code per idea).
"""

from solutions.model.gradcheck import numerical_gradient, rel_error

__all__ = ["numerical_gradient", "rel_error"]
