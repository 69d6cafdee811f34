"""What an exercise is, as the grader sees it.

This module is the seam between the catalogue (``grader/catalogue/*.py``: which
exercises exist, their points, their cases, their hints) and the machinery that
runs student code and judges it (worker, comparison, reports).

Everything here is trusted: it lives in the grader process. Student code only
ever sees the *inputs* of a :class:`Case`, inside a worker process.

Call protocols (``Exercise.kind``):

``"function"``
    ``got = student(*case.args, **case.kwargs)``; the whole return value is
    compared (a scalar, an array, or a tuple / list / dict of those).
``"higher_order"``
    for a function that takes a function (``numerical_gradient(f, x, h)``):
    ``case.args[0]`` is the plain description of a scalar function of
    ``case.args[1]`` (``grader/worker/scalar_functions.py``: a registry name
    and plain arrays); ``got = student(build(args[0], args[1]), *args[1:],
    **case.kwargs)``, where ``build`` makes the callable from the registry, in
    the worker as in the grader. Compared like ``"function"``.
``"forward"``
    ``res = student(*case.args, **case.kwargs)`` must be a tuple whose last item
    is the cache; ``res[:-1]`` is compared (unwrapped when it has one item).
    The cache never leaves the worker.
``"backward"``
    ``res = forward(*case.args, **case.kwargs)`` with the student's own forward
    (``Exercise.forward`` names it, same module), then
    ``got = student(*case.upstream, res[-1])``; ``got`` is compared.
    ``Exercise.wrt`` lists which positional args of the forward the gradients
    are taken with respect to, in the order the backward returns them; the
    numerical gradient check uses it, with the loss
    ``sum(out_i * upstream_i)`` over the forward's outputs before the cache.

The expected value of a case is computed in the grader process by running the
same protocol on the reference in ``solutions`` (the reference's own forward
supplies the cache for the reference backward).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Plain data that may cross into a worker: ndarray (numeric dtypes), int,
#: float, bool, str, None, and tuple / list / dict (str keys) of those.
PlainData = Any

KINDS = ("function", "higher_order", "forward", "backward")


#: The default tolerances of a float output: |got - expected| <= ATOL + RTOL * |expected|.
RTOL = 1e-6
ATOL = 1e-9


@dataclass(frozen=True)
class Case:
    """One graded call.

    label:    what a student reads in the feedback, e.g.
              ``"worked example: OR gate, order 3,4,1,2"`` or
              ``"random x(2, 3, 5, 7) w(4, 3, 3, 2) stride=(2, 1) padding=(1, 0)"``.
    args, kwargs: the inputs (for a backward: the inputs of the forward).
    upstream: backward only: the upstream gradient(s) passed before the cache,
              e.g. ``(dout,)`` or ``(dh, dc)`` for ``lstm_cell_backward``.
    rtol, atol: override the exercise's tolerances for this case (None: inherit).
    """

    label: str
    args: tuple = ()
    kwargs: Mapping[str, PlainData] = field(default_factory=dict)
    upstream: tuple = ()
    rtol: float | None = None
    atol: float | None = None


#: A hint looks at a failing case and the student's (decoded, plain) output and
#: returns one sentence naming the recognisable mistake, or None. It runs in the
#: grader process and may call the references in ``solutions`` to build the
#: "what a classic bug would have produced" alternative and compare with ``got``.
Hint = Callable[[Case, PlainData], "str | None"]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: one public function of the exercise API.

    name:      the function's name, e.g. ``"conv2d_forward"``; also the CLI name.
    module:    the module's name without ``.py``, e.g. ``"conv"``.
    points:    what the exercise is worth.
    kind:      ``"function"``, ``"higher_order"``, ``"forward"`` or ``"backward"``
               (see module doc).
    cases:     ``cases(rng) -> list[Case]``: deterministic given the generator;
               worked examples first, then seeded random cases.
    forward:   backward only: the name of the forward it consumes the cache of.
    wrt:       backward only: forward positional-arg indices of the gradients.
    outputs:   names of the compared outputs, for feedback ("dx", "dw", "db");
               empty for a single unnamed output.
    rtol, atol: tolerances for float outputs (float64: rtol 1e-6 is the bar).
    hints:     recognisers of classic mistakes, tried in order on a failure.
    description: one line for ``nngrade --list``.
    stable:    for an exercise that promises numerically stable results: the hint
               naming the stable form. An overflow or invalid-value warning from
               the student's code on any of its cases then fails the exercise.
    uses:      the graded functions the exercise may legitimately build on (a
               backward's forward is implied): only calls to these, observed
               while grading, are answered by the grader in a regrade and earn
               credit (``grader/dependencies.py``).
    modified_advice: what to tell a student whose call left an input changed, for
               an exercise that may change one only for a while (numerical_gradient
               nudges x in place and restores it); empty: "copy it before changing it".
    """

    name: str
    module: str
    points: int
    kind: str
    cases: Callable[[np.random.Generator], list[Case]]
    forward: str | None = None
    wrt: tuple[int, ...] = ()
    outputs: tuple[str, ...] = ()
    rtol: float = RTOL
    atol: float = ATOL
    hints: Sequence[Hint] = ()
    description: str = ""
    stable: str = ""
    uses: tuple[str, ...] = ()
    modified_advice: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if (self.kind == "backward") != (self.forward is not None):
            raise ValueError(f"{self.name}: a backward names its forward, nothing else does")
        if self.name in self.uses:
            raise ValueError(f"{self.name}: an exercise never builds on itself")
