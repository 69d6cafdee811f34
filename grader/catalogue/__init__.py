"""The exercise catalogue: every graded function of the exercise API.

``EXERCISES`` maps each exercise's name to its :class:`grader.spec.Exercise`, in
the order of the API document (modules in ``MODULES`` order, functions in each
module's order); ``MODULES`` names the student modules (``<name>.py``).
Points add up to ``TOTAL_POINTS``.

Each catalogue module (``grader/catalogue/conv.py``, ...) lists its exercises
in ``EXERCISES``; this package only collects them. The references the hints
call (``solutions.model.<module>``) are imported lazily, at the first hint, so the
catalogue imports without them.
"""

from __future__ import annotations

import importlib

from grader.spec import Exercise

MODULES: tuple[str, ...] = ("perceptron", "activations", "losses", "backprop", "conv",
                            "transposed_conv", "rnn", "attention")


def _collect() -> dict[str, Exercise]:
    exercises: dict[str, Exercise] = {}
    for module in MODULES:
        for exercise in importlib.import_module(f"grader.catalogue.{module}").EXERCISES:
            if exercise.module != module or exercise.name in exercises:
                raise RuntimeError(f"catalogue: {exercise.name} misplaced or listed twice")
            exercises[exercise.name] = exercise
    return exercises


EXERCISES: dict[str, Exercise] = _collect()
TOTAL_POINTS: int = sum(exercise.points for exercise in EXERCISES.values())

__all__ = ["EXERCISES", "MODULES", "TOTAL_POINTS"]
