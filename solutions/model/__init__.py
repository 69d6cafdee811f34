"""Readable NumPy model answers, one self-contained module per exercise module.

Each file imports nothing but NumPy and the standard library, so a copy of it
is a valid student submission (the grader's end-to-end tests use it as one).
"""
