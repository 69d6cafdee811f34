"""nngrade: the auto-grader of the nnfund exercises.

The README is the one description of its design: command line, statuses and
scoring, isolation (``grader/sandbox.py``, ``grader/worker/``), report
formats and the Python API (:func:`check`). Module map: ``cli`` (the
command), ``runner`` (cases, references, a grading run), ``sandbox`` and
``pool`` (where workers run), ``worker/`` (what runs next to student code;
``worker/wire.py`` is the trust boundary), ``verdicts`` (judging what came
back), ``dependencies`` (root causes and credit), ``compare``, ``forbidden``
(the static check), ``reports``, ``catalogue/`` (exercises, cases, hints),
``inprocess`` (``grader.check``), ``notebooks`` (nbgrader).
"""

from __future__ import annotations

try:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    __version__ = _version("nnfund")
except PackageNotFoundError:  # a source tree that was never installed: no version to claim
    __version__ = "0+unknown"


def check(name, func, *, seed=0, forward=None):
    """Self-check ``func`` as exercise ``name`` in this process; see :func:`grader.inprocess.check`."""
    __tracebackhide__ = True
    from grader.inprocess import check as _check

    return _check(name, func, seed=seed, forward=forward)


__all__ = ["check", "__version__"]
