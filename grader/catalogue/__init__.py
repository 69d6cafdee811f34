"""The exercise catalogue: every graded function of the exercise API.

``EXERCISES`` maps each exercise's name to its :class:`grader.spec.Exercise`,
modules in ``MODULES`` order, functions in each module's API order. ``MODULES``
names the student modules (``<name>.py``) in the order the course teaches them:
gradcheck right after the losses (students check every backward with it),
the optimisers and regularisation after the first network, before the
convolutional and recurrent layers. Points add up to ``TOTAL_POINTS``.
``UNGRADED`` maps the few API functions a case cannot grade to their module
and the reason, ``name -> (module, reason)`` (from a catalogue module's
optional ``UNGRADED`` dict, ``name -> reason``).

Each catalogue module (``grader/catalogue/conv.py``, ...) lists its exercises
in ``EXERCISES``; this package only collects them. The references the hints
call (``solutions.model.<module>``) are imported lazily, at the first hint, so the
catalogue imports without them.
"""

from __future__ import annotations

import importlib

from grader.spec import Exercise

MODULES: tuple[str, ...] = (
    "perceptron",
    "activations",
    "losses",
    "gradcheck",
    "backprop",
    "optim",
    "regularization",
    "conv",
    "transposed_conv",
    "rnn",
    "attention",
)


def _collect() -> dict[str, Exercise]:
    exercises: dict[str, Exercise] = {}
    for module in MODULES:
        for exercise in importlib.import_module(f"grader.catalogue.{module}").EXERCISES:
            if exercise.module != module or exercise.name in exercises:
                raise RuntimeError(f"catalogue: {exercise.name} misplaced or listed twice")
            exercises[exercise.name] = exercise
    return exercises


def _ungraded() -> dict[str, tuple[str, str]]:
    ungraded: dict[str, tuple[str, str]] = {}
    for module in MODULES:
        for name, reason in getattr(importlib.import_module(f"grader.catalogue.{module}"), "UNGRADED", {}).items():
            ungraded[name] = (module, reason)
    return ungraded


EXERCISES: dict[str, Exercise] = _collect()
UNGRADED: dict[str, tuple[str, str]] = _ungraded()
TOTAL_POINTS: int = sum(exercise.points for exercise in EXERCISES.values())

__all__ = ["EXERCISES", "MODULES", "TOTAL_POINTS", "UNGRADED"]
