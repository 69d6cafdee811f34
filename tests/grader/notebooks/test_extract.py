"""A submitted notebook read as data: its code cells become the module nngrade grades."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.catalogue import EXERCISES, MODULES
from grader.notebooks import main as publish
from grader.notebooks.extract import ExtractError, module_text, notebook_folder, notebook_module, notebook_modules

from ..conftest import by_name, grade_json

REPO = Path(__file__).resolve().parents[3]


def numbered(module: str) -> str:
    return f"{MODULES.index(module) + 1:02d}-{module}.ipynb"


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory) -> Path:
    """The source notebooks (model answers in place) of two modules."""
    root = tmp_path_factory.mktemp("published")
    assert publish([str(root), "--modules", "activations", "backprop", "--exercises", str(REPO / "exercises")]) == 0
    return root / "nnfund"


def read(source_dir: Path, module: str):
    return nbformat.read(str(source_dir / numbered(module)), as_version=4)


def code(source: str, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_module_text_is_every_code_cell_but_the_test_cells_in_order(source_dir):
    nb = read(source_dir, "activations")
    after = [c.id for c in nb.cells].index("sigmoid-test") + 1
    nb.cells.insert(after, code("def _helper(z):\n    return z"))
    text = module_text(nb)
    assert text.startswith("# cell setup\nimport numpy as np")
    assert "grader.check" not in text and "import grader" not in text
    assert (
        text.index("# cell sigmoid-solution") < text.index("def _helper") < text.index("# cell sigmoid_grad-solution")
    )
    namespace: dict = {}
    exec(compile(text, "activations.py", "exec"), namespace)  # the module is valid Python
    assert {name for name, ex in EXERCISES.items() if ex.module == "activations"} <= set(namespace)


def test_ipython_commands_become_comments():
    nb = nbformat.v4.new_notebook(cells=[code("%matplotlib inline\n!pip install x\nx = 1\nx?")])
    text = module_text(nb)
    assert "# (notebook command, not run) %matplotlib inline" in text
    assert "# (notebook command, not run) !pip install x" in text
    assert "\nx = 1\n" in text and "# (notebook command, not run) x?" in text
    compile(text, "m.py", "exec")


def test_future_imports_of_any_cell_move_to_the_top_of_the_module():
    nb = nbformat.v4.new_notebook(cells=[code("x = 1"), code("from __future__ import annotations\ny: 'int' = 2")])
    text = module_text(nb)
    assert text.startswith("from __future__ import annotations\n# cell ")
    namespace: dict = {}
    exec(compile(text, "m.py", "exec"), namespace)
    assert namespace["y"] == 2


def test_a_solution_cell_that_is_not_python_defines_its_function_to_say_why():
    nb = nbformat.v4.new_notebook(
        cells=[
            code("def relu(z)\n    return z", grade=False, grade_id="relu", solution=True),
            code("y = (", grade_id="scratch"),
        ]
    )
    namespace: dict = {}
    exec(compile(module_text(nb), "m.py", "exec"), namespace)
    with pytest.raises(SyntaxError, match=r"is not valid Python: .* \(line 1 of the cell\)"):
        namespace["relu"](0)
    assert "# cell" in module_text(nb) and "left out" in module_text(nb)


@pytest.mark.parametrize("source", ["x = 1\x00", "(" * 100_000])
def test_a_cell_the_parser_cannot_take_is_left_out_with_a_reason(source):
    text = module_text(nbformat.v4.new_notebook(cells=[code(source, grade_id="relu", solution=True)]))
    assert "is not valid Python" in text and source not in text
    compile(text, "m.py", "exec")


def test_the_module_comes_from_the_test_cells_else_from_the_file_name(source_dir):
    nb = read(source_dir, "backprop")
    assert notebook_module(nb, EXERCISES, Path("anything.ipynb")) == "backprop"
    bare = nbformat.v4.new_notebook(cells=[code("x = 1")])
    assert notebook_module(bare, EXERCISES, Path("05-conv.ipynb")) == "conv"
    assert notebook_module(bare, EXERCISES, Path("conv.ipynb")) == "conv"
    assert notebook_module(bare, EXERCISES, Path("01_perceptron_lab.ipynb")) is None


def test_a_notebook_checking_two_modules_is_refused(source_dir):
    nb = read(source_dir, "activations")
    nb.cells += read(source_dir, "backprop").cells[-1:]
    with pytest.raises(ExtractError, match="several modules"):
        notebook_module(nb, EXERCISES, Path("x.ipynb"))


def test_two_notebooks_of_one_module_are_refused(source_dir, tmp_path):
    shutil.copy(source_dir / numbered("activations"), tmp_path / "a.ipynb")
    shutil.copy(source_dir / numbered("activations"), tmp_path / "b.ipynb")
    with pytest.raises(ExtractError, match="two notebooks hold the module activations"):
        notebook_modules(sorted(tmp_path.glob("*.ipynb")), EXERCISES)


def test_notebook_folder_finds_notebooks_or_the_single_assignment_of_a_student(tmp_path):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "conv.py").write_text("")
    (tmp_path / "mods" / "x.ipynb").write_text("{}")
    assert notebook_folder(tmp_path / "mods", MODULES) is None  # modules win
    student = tmp_path / "alice"
    (student / "hw1").mkdir(parents=True)
    (student / "hw1" / "01-perceptron.ipynb").write_text("{}")
    # the labs' helper modules, released by nbgrader beside the notebooks, are not exercises
    (student / "hw1" / "labkit.py").write_text("")
    assert notebook_folder(student, MODULES) == student / "hw1"
    assert notebook_folder(student / "hw1", MODULES) == student / "hw1"
    (student / "hw2").mkdir()
    (student / "hw2" / "01-perceptron.ipynb").write_text("{}")
    with pytest.raises(ExtractError, match=r"several assignments \(hw1, hw2\)"):
        notebook_folder(student, MODULES)


# -- nngrade --submission on notebooks -----------------------------------------------


def test_nngrade_grades_a_folder_of_notebooks_like_the_same_modules(source_dir, tmp_path):
    folder = tmp_path / "submitted"
    shutil.copytree(source_dir, folder)
    code_nb, report = grade_json(tmp_path, "--submission", str(folder), "--seed", "5", "activations", "backprop")
    results = by_name(report)
    assert code_nb == 0, {n: r["message"] for n, r in results.items() if r["status"] != "passed"}
    assert report["submission"] == str(folder.resolve())
    modules = tmp_path / "modules"
    modules.mkdir()
    for module in ("activations", "backprop"):
        shutil.copy(REPO / "solutions" / "model" / f"{module}.py", modules / f"{module}.py")
    code_py, expected = grade_json(tmp_path, "--submission", str(modules), "--seed", "5", "activations", "backprop")
    assert code_py == 0
    assert {n: (r["status"], r["score"]) for n, r in results.items()} == {
        n: (r["status"], r["score"]) for n, r in by_name(expected).items()
    }


def test_nngrade_reports_a_cheating_notebook_forbidden(source_dir, tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    nb = read(source_dir, "activations")
    nb.cells.insert(2, code("import grader\ngrader.check = lambda *a, **k: None"))
    nbformat.write(nb, str(folder / numbered("activations")))
    status, report = grade_json(tmp_path, "--submission", str(folder), "activations")
    assert status == 1
    assert {r["status"] for r in report["exercises"]} == {"forbidden"}


@pytest.mark.parametrize(
    "files, message",
    [
        ({"a.ipynb": "not json"}, "cannot read the notebook a.ipynb"),
        ({"a.ipynb": json.dumps({"cells": "no"})}, "a.ipynb is not a Jupyter notebook"),
        ({"lab.ipynb": json.dumps({"cells": []})}, "no notebook in .* holds an exercise module"),
    ],
)
def test_unusable_notebooks_are_a_usage_error(tmp_path, capsys, files, message):
    from grader.cli import main

    folder = tmp_path / "nb"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    assert main(["--submission", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nngrade: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
