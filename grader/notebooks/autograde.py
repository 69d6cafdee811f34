"""nbgrader's autograde step, done by the sandboxed grader instead of the student's kernel.

nbgrader autogrades a notebook in two passes: it *sanitizes* it (clears
outputs and restores every locked cell from the source notebook), then runs
its ``autograde_preprocessors``, by default ``Execute`` (the student's kernel
runs every cell, test cells included) followed by ``SaveAutoGrades``, which
reads each test cell's outputs: an error output or anything on stderr scores
0; an ``execute_result`` that is a number is the score (nbgrader's
partial-credit convention); otherwise full points. A student's cell that
replaces ``grader.check`` or patches NumPy therefore decides its own grade.

:class:`SandboxGrades` takes ``Execute``'s place (``nngrade-notebooks init``
writes that configuration). It runs nothing of the notebook: it reads the
sanitized notebook's code cells as data (:mod:`grader.notebooks.extract`),
grades the module they make with :func:`grader.runner.grade`, in the
grader's sandboxed workers with the course's seed and limits, and writes
into each test cell the outputs ``SaveAutoGrades`` turns into the gradebook
entry: the feedback ``nngrade`` gives (a ``stdout`` stream) and the score as
a number (an ``execute_result``). ``generate_feedback`` shows those outputs.
A grade cell that checks no exercise of the catalogue scores 0, said so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Enum, Float, Int

from grader.inprocess import head_line
from grader.notebooks.extract import TEST_ID, is_test_cell, module_text, tested_exercises
from grader.results import Result
from grader.runner import Limits
from grader.sandbox import SandboxUnavailable


def score_text(score: float) -> str:
    """A score as nbgrader reads it back: a plain number."""
    return f"{score:g}"


def cell_outputs(result: Result) -> list:
    """The outputs of a test cell that record ``result``: feedback on stdout, then the score."""
    from nbformat.v4 import new_output

    text = head_line(result) + "\n" + (f"\n{result.message}\n" if result.message and not result.passed else "")
    return [
        new_output("stream", name="stdout", text=text),
        new_output("execute_result", data={"text/plain": score_text(result.score)}, execution_count=None),
    ]


def unknown_cell_outputs(grade_id: str) -> list:
    from nbformat.v4 import new_output

    return [
        new_output("stream", name="stdout", text=f"{grade_id}: not an exercise of the catalogue: 0 points\n"),
        new_output("execute_result", data={"text/plain": "0"}, execution_count=None),
    ]


class SandboxGrades(Preprocessor):
    """Grade a notebook's code cells in the sandbox; write each test cell's score and feedback."""

    #: nbconvert runs a preprocessor only when it is enabled (its default is off).
    enabled = Bool(True).tag(config=True)

    seed = Int(0, help="Seed of the randomized cases (the same for every student).").tag(config=True)
    sandbox = Enum(
        ["auto", "require", "off"],
        default_value="require",
        help="The grader's OS sandbox: 'require' refuses to grade without one; "
        "'auto' uses it when it works; 'off' never.",
    ).tag(config=True)
    timeout = Float(Limits.timeout, help="Wall-clock limit per exercise (s).").tag(config=True)
    memory_mb = Int(Limits.memory_mb, help="Address-space limit per exercise (MB).").tag(config=True)

    def grade_notebook(self, nb) -> dict[str, Result]:
        """Every exercise the notebook's test cells check, graded from its code cells."""
        from grader import __version__
        from grader.catalogue import EXERCISES
        from grader.runner import grade

        chosen = {n: EXERCISES[n] for n in tested_exercises(nb, EXERCISES)}
        if not chosen:
            return {}
        text = module_text(nb)
        with tempfile.TemporaryDirectory(prefix="nnfund-notebook-") as tmp:
            for module in {ex.module for ex in chosen.values()}:
                (Path(tmp) / f"{module}.py").write_text(text, encoding="utf-8")
            try:
                report = grade(
                    tmp,
                    chosen,
                    seed=self.seed,
                    version=__version__,
                    limits=Limits(self.timeout, self.memory_mb),
                    sandbox=self.sandbox,
                )
            except SandboxUnavailable as exc:  # one clear sentence in nbgrader's log, no grade
                raise SandboxUnavailable(
                    f"{exc} (c.SandboxGrades.sandbox = {self.sandbox!r} in nbgrader_config.py)"
                ) from None
        broken = [r for r in report.results if r.internal]
        if broken:  # not the student's doing: stop, as nngrade does (exit status 2)
            raise RuntimeError(f"the grader could not grade {', '.join(r.name for r in broken)}: {broken[0].summary}")
        log = self.log.info if report.sandboxed else self.log.warning
        log("graded %d exercises, %s/%s points; %s", len(chosen), report.score, report.max_score, report.isolation_text)
        return {r.name: r for r in report.results}

    def preprocess(self, nb, resources):
        results = self.grade_notebook(nb)
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            grade_id = str(cell.metadata["nbgrader"].get("grade_id", ""))
            m = TEST_ID.match(grade_id)
            result = results.get(m.group("name")) if m else None
            cell.outputs = cell_outputs(result) if result else unknown_cell_outputs(grade_id)
            cell.execution_count = None
        return nb, resources
