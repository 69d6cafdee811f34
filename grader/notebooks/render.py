"""Steps 2 and 3 of publishing: build each module's notebook, write the assignment.

A notebook (``NN-<module>.ipynb``, ``NN`` its module's place in the
catalogue's order) holds:

1. ``intro``: the module's docstring as Markdown and how to work;
2. ``setup``: a locked code cell with the stub's imports and helpers;
3. per exercise function, in the stub's order: ``<name>-doc`` (its teaching
   docstring as Markdown, :mod:`grader.notebooks.markdown`),
   ``<name>-solution`` (the signature, a one-line docstring that points at the
   text above, and the model answer between ``### BEGIN SOLUTION`` /
   ``### END SOLUTION``, which ``nbgrader generate_assignment`` replaces by
   ``raise NotImplementedError()``) and ``<name>-test`` (a locked, autograded
   cell worth the catalogue's points: ``grader.check(...)``, the student's
   self-check; recorded grades come from :mod:`grader.notebooks.autograde`).

nbgrader ``grade_id`` values: ``setup``, ``<name>`` and ``test_<name>``. The
output is deterministic: an unchanged assignment is rewritten byte for byte.

Labs: when the whole course is published (no ``--modules``), the lab
notebooks of ``<exercises>/labs/*.ipynb`` follow the graded ones, ungraded,
in their own order and numbered after them (``labs/01_perceptron.ipynb``
becomes ``NN-lab-perceptron.ipynb``, NN the number after the last module's):
a lab uses the functions of several modules, so it comes once they are all
written. The Python files of the labs folder that the lab notebooks import
(their helpers) are copied next to them; nbgrader releases them with the
notebooks.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from grader.notebooks.markdown import code_span, escape, to_markdown
from grader.notebooks.sources import FunctionSource, ModuleSource, NotebookError, Settings, collect_module
from grader.spec import Exercise

#: nbgrader's cell-metadata schema these notebooks are written in.
NBGRADER_SCHEMA_VERSION = 3
#: the delimiters nbgrader's ClearSolutions looks for (its defaults).
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: notebook-level metadata: the kernel nbgrader executes the notebooks with.
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}


def notebook_name(settings: Settings, module: str) -> str:
    """``NN-<module>.ipynb``: ``NN`` is the module's place in the catalogue (01 first)."""
    modules = settings.catalogue_modules()
    width = max(2, len(str(len(modules))))
    return f"{modules.index(module) + 1:0{width}d}-{module}.ipynb"


def nbgrader_metadata(
    grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points: float | None = None
) -> dict:
    """The ``nbgrader`` cell metadata (schema 3) of one cell."""
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def pointer_docstring(fn: FunctionSource) -> str:
    """The solution cell's docstring: one line that points at the exercise text."""
    return f'{fn.indent}"""See the exercise text above."""'


def solution_source(fn: FunctionSource) -> str:
    for marker in (BEGIN_SOLUTION, END_SOLUTION):
        if marker.lstrip("# ") in fn.signature + fn.answer:
            raise NotebookError(f"{fn.name}: its source already contains {marker!r}")
    return "\n".join(
        [fn.signature, pointer_docstring(fn), f"{fn.indent}{BEGIN_SOLUTION}", fn.answer, f"{fn.indent}{END_SOLUTION}"]
    )


def test_source(exercise: Exercise) -> str:
    """The student's self-check: grade the notebook's function here and now."""
    forward = f", forward={exercise.forward}" if exercise.forward else ""
    return f"import grader\n\ngrader.check({exercise.name!r}, {exercise.name}{forward})"


def points_text(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def doc_markdown(fn: FunctionSource, exercise: Exercise | None) -> str:
    """The function's heading and its teaching docstring as Markdown."""
    title = f"## {code_span(fn.name)}" + (f" ({points_text(exercise.points)})" if exercise else "")
    return f"{title}\n\n{to_markdown(fn.doc)}"


def intro_markdown(module: ModuleSource, number: str, total_points: float) -> str:
    return "\n\n".join(
        [
            f"# {number} {code_span(module.name)}",
            to_markdown(module.doc),
            "**How to work.** Run the setup cell first. For each function, replace "
            "`raise NotImplementedError()` with your code, then run the test cell below it: "
            "it checks your function and says what is wrong. Do not edit the locked cells. "
            f"This notebook is worth {escape(points_text(total_points))}.",
            "**Your grade** is computed when the notebook is collected: your code cells (not the "
            "test cells) are graded like a module, in an isolated process. The test cells are a "
            "self-check and record nothing. Keep scratch work (plots, other imports) out of the "
            "notebook you submit: every code cell of it is part of your module.",
        ]
    )


def render_notebook(module: ModuleSource, exercises: Mapping[str, Exercise], number: str = ""):
    """The nbformat v4 notebook of one module (cell ids are stable, so output is reproducible)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    graded = [fn for fn in module.functions if fn.name in exercises]
    total = sum(exercises[fn.name].points for fn in graded)
    cells = [
        new_markdown_cell(intro_markdown(module, number, total), id="intro"),
        new_code_cell(module.setup, id="setup", metadata={"nbgrader": nbgrader_metadata("setup", locked=True)}),
    ]
    for fn in module.functions:
        exercise = exercises.get(fn.name)
        cells.append(new_markdown_cell(doc_markdown(fn, exercise), id=f"{fn.name}-doc"))
        cells.append(
            new_code_cell(
                solution_source(fn),
                id=f"{fn.name}-solution",
                metadata={"nbgrader": nbgrader_metadata(fn.name, solution=True)},
            )
        )
        if exercise is not None:
            cells.append(
                new_code_cell(
                    test_source(exercise),
                    id=f"{fn.name}-test",
                    metadata={
                        "nbgrader": nbgrader_metadata(
                            f"test_{fn.name}", grade=True, locked=True, points=exercise.points
                        )
                    },
                )
            )
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": dict(KERNELSPEC),
            "language_info": dict(LANGUAGE_INFO),
            "nnfund": {"module": module.name},
        },
    )
    nbformat.validate(nb)
    return nb


#: a lab's file name: its own number, then its name (``01_perceptron``).
_LAB_NAME = re.compile(r"^(?:\d+[-_ ]+)?(?P<name>.+)$")


def lab_names(settings: Settings) -> dict[Path, str]:
    """Each lab notebook -> its name in the assignment, numbered after the graded notebooks."""
    labs = sorted(settings.labs_dir().glob("*.ipynb")) if not settings.modules else []
    first = len(settings.catalogue_modules()) + 1
    width = max(2, len(str(first + len(labs))))
    return {
        path: f"{first + i:0{width}d}-lab-{_LAB_NAME.match(path.stem).group('name')}.ipynb"
        for i, path in enumerate(labs)
    }


def lab_helpers(labs: Mapping[Path, str]) -> list[Path]:
    """The labs folder's Python files that the lab notebooks import."""
    import nbformat

    imported: set[str] = set()
    for path in labs:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    folders = {path.parent for path in labs}
    return sorted(f / f"{name}.py" for f in folders for name in imported if (f / f"{name}.py").is_file())


def write_assignment(settings: Settings) -> list[Path]:
    """Write one source notebook per module (and the labs); returns the notebooks written."""
    import nbformat

    exercises = settings.exercise_catalogue()
    out_dir = settings.source_dir / settings.assignment
    # every module is collected and checked before anything is written
    notebooks = {}
    for m in settings.module_names():
        name = notebook_name(settings, m)
        number = name.split("-", 1)[0]
        notebooks[name] = render_notebook(collect_module(settings, m), exercises, number)
    labs = lab_names(settings)
    helpers = lab_helpers(labs)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, nb in notebooks.items():
        path = out_dir / name
        nbformat.write(nb, str(path))
        paths.append(path)
    for lab, name in labs.items():
        shutil.copyfile(lab, out_dir / name)
        paths.append(out_dir / name)
    for helper in helpers:
        shutil.copyfile(helper, out_dir / helper.name)
    return paths
