"""The student's code out of a notebook, read as data: the module the grader grades.

Nothing here runs a notebook. A notebook of the course is read as JSON and its
code cells, in order, become the text of one module ``<module>.py``: the setup
cell, the student's solution cells and any code cell the student added; the
autograded *test* cells (nbgrader ``grade`` cells that are not solution cells)
are left out, so the module is exactly what the student wrote around the
exercises. That module is then graded like any module submission, in the
grader's isolated workers, never in the student's kernel.

Which module a notebook is: the catalogue module of the exercises its test
cells check (``test_<exercise>``); a notebook without test cells is known by
its file name (``08-conv.ipynb`` or ``conv.ipynb``); any other notebook (a
lab, a scratch book) is no exercise module and is skipped.

Notebook-only syntax does not stop the module: an IPython command line
(``%matplotlib``, ``!pip``) becomes a comment; ``from __future__`` imports,
legal at the top of any cell, move to the top of the module; a cell that is not valid Python
is left out, and when it is the solution cell of an exercise, that function
is defined to raise the cell's ``SyntaxError``, so the feedback says why.
Each cell starts with a ``# cell <id>`` comment, so a line number in a
traceback leads back to the cell.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.spec import Exercise

#: the grade id of an autograded test cell (see grader.notebooks.render).
TEST_ID = re.compile(r"^test_(?P<name>\w+)$")
#: a notebook's file name: an optional course number, then the module.
NOTEBOOK_NAME = re.compile(r"^(?:\d+[-_ ])?(?P<module>\w+)$")
#: an IPython line the Python parser cannot read: a magic, a shell escape, a help query.
IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\?\w|\w[\w.]*\?\??\s*$)")


class ExtractError(Exception):
    """A notebook folder that cannot be turned into modules (one sentence for the user)."""


@dataclass(frozen=True)
class NotebookModule:
    """One notebook as a module: its name, its text and the exercises its test cells check."""

    path: Path | None
    module: str
    text: str
    exercises: tuple[str, ...]


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: an nbgrader grade cell that is not the student's solution."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def tested_exercises(nb, catalogue: Mapping[str, Exercise]) -> tuple[str, ...]:
    """The catalogue exercises the notebook's test cells check, in notebook order."""
    names = []
    for cell in nb.get("cells", []):
        m = TEST_ID.match(str(_nbgrader(cell).get("grade_id", ""))) if is_test_cell(cell) else None
        if m and m.group("name") in catalogue and m.group("name") not in names:
            names.append(m.group("name"))
    return tuple(names)


def notebook_module(nb, catalogue: Mapping[str, Exercise], path: Path | None = None) -> str | None:
    """The catalogue module a notebook holds, or None when it holds none."""
    modules = list(dict.fromkeys(catalogue[n].module for n in tested_exercises(nb, catalogue)))
    if len(modules) > 1:
        where = path.name if path else "the notebook"
        raise ExtractError(f"{where} checks exercises of several modules ({', '.join(modules)})")
    if modules:
        return modules[0]
    m = NOTEBOOK_NAME.match(path.stem) if path is not None else None
    known = {ex.module for ex in catalogue.values()}
    return m.group("module") if m and m.group("module") in known else None


def cell_code(cell) -> str:
    """One code cell as module text (IPython lines commented out; unparseable cells left out)."""
    cell_id = cell.get("id") or _nbgrader(cell).get("grade_id") or "?"
    lines = [
        f"# (notebook command, not run) {line}" if IPYTHON_LINE.match(line) else line
        for line in _source(cell).splitlines()
    ]
    code = "\n".join(lines)
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # e.g. null bytes, depth
        where = f" (line {exc.lineno} of the cell)" if isinstance(exc, SyntaxError) else ""
        reason = f"cell {cell_id} is not valid Python: {getattr(exc, 'msg', None) or exc}{where}"
        text = f"# {reason}; left out"
        name = str(_nbgrader(cell).get("grade_id", ""))
        if _nbgrader(cell).get("solution") and name.isidentifier():
            text += f"\ndef {name}(*args, **kwargs):\n    raise SyntaxError({reason!r})"
        return f"# cell {cell_id}\n{text}"
    return f"# cell {cell_id}\n{code}"


#: a ``from __future__ import`` line, legal at the top of any cell but only at the top of a module.
_FUTURE = re.compile(r"^from __future__ import [^\n]*$", re.MULTILINE)


def module_text(nb) -> str:
    """The module a notebook's code cells make, test cells excluded (future imports first)."""
    cells = [cell_code(c) for c in nb.get("cells", []) if c.get("cell_type") == "code" and not is_test_cell(c)]
    text = "\n\n\n".join(cells)
    futures = list(dict.fromkeys(_FUTURE.findall(text)))
    text = _FUTURE.sub(lambda m: f"# (moved to the top) {m.group()}", text)
    return "".join(f"{line}\n" for line in futures) + text + "\n"


def read_notebook(path: Path) -> dict:
    """A notebook file as plain data (JSON; nbformat's v4 layout), or ExtractError."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExtractError(f"cannot read the notebook {path.name}: {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ExtractError(f"{path.name} is not a Jupyter notebook (no cells)")
    return nb


def notebook_modules(paths: list[Path], catalogue: Mapping[str, Exercise]) -> list[NotebookModule]:
    """The exercise modules of some notebook files (others skipped); one notebook per module."""
    found: dict[str, NotebookModule] = {}
    for path in sorted(paths):
        nb = read_notebook(path)
        module = notebook_module(nb, catalogue, path)
        if module is None:
            continue
        if module in found:
            raise ExtractError(f"two notebooks hold the module {module}: {found[module].path.name} and {path.name}")
        found[module] = NotebookModule(path, module, module_text(nb), tested_exercises(nb, catalogue))
    return list(found.values())


def notebook_folder(folder: Path, modules: Collection[str]) -> Path | None:
    """Where the notebooks of a submission folder are, or None when it holds modules.

    ``folder`` itself when it holds ``.ipynb`` files and none of the exercise
    ``modules`` as ``.py`` files (other ``.py`` files, such as the labs' helper
    modules that nbgrader releases beside the notebooks, do not count);
    nbgrader's ``submitted/<student>/``, holding one ``<assignment>/`` folder
    of notebooks, gives that folder. A student folder with several
    assignments is ambiguous: ExtractError.
    """
    if any((folder / f"{module}.py").is_file() for module in modules):
        return None
    if any(folder.glob("*.ipynb")):
        return folder
    inner = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))
    if len(inner) > 1:
        raise ExtractError(
            f"{folder} holds several assignments ({', '.join(d.name for d in inner)}); pass one of them as --submission"
        )
    return inner[0] if inner else None


def write_modules(notebook_dir: Path, dest: Path, catalogue: Mapping[str, Exercise]) -> list[NotebookModule]:
    """Write ``dest/<module>.py`` for every exercise notebook of ``notebook_dir``."""
    modules = notebook_modules(sorted(notebook_dir.glob("*.ipynb")), catalogue)
    if not modules:
        raise ExtractError(f"no notebook in {notebook_dir} holds an exercise module")
    for nm in modules:
        (dest / f"{nm.module}.py").write_text(nm.text, encoding="utf-8")
    return modules
