"""Reference solutions: the answers the grader trusts.

``solutions/<module>.py`` is the fast reference (it calls the Cython kernels of
:mod:`csrc` where they exist); ``solutions/model/<module>.py`` is the readable,
self-contained NumPy model answer that a published solution shows.
"""
