"""Tests for grader.notebooks.sources, .render and .cli: the source assignment the instructor publishes.

Three layers:

- a toy module (stub + model answer + catalogue written into tmp_path) pins the
  exact shape of the cells, the metadata, the inlining of the model's helpers
  and the errors on inconsistent sources, independently of the real catalogue;
- the real modules: every notebook validates, its points are the catalogue's,
  and running its cells in order (model answers in place) passes every
  ``grader.check``;
- the real nbgrader round trip is in test_autograde.py.
"""

from __future__ import annotations

import codeop
import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

import grader
from grader.notebooks import NotebookError, Settings, main, write_assignment
from grader.spec import Exercise

REPO = Path(__file__).resolve().parents[3]
EXERCISES_DIR = REPO / "exercises"
from grader.catalogue import MODULES  # noqa: E402 - the course's modules, in course order


def numbered(module: str) -> str:
    """The file name of a module's notebook: its place in the catalogue, then its name."""
    return f"{MODULES.index(module) + 1:02d}-{module}.ipynb"


SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION$", re.MULTILINE | re.DOTALL)


# -- helpers -------------------------------------------------------------------------


def nbgrader_meta(cell) -> dict:
    return dict(cell.metadata.get("nbgrader", {}))


def cells_by_id(nb) -> dict:
    return {cell.id: cell for cell in nb.cells}


def run_code_cells(nb, cells=None) -> dict:
    """Execute code cells in order in one namespace, as a kernel would.

    codeop.Compile remembers ``from __future__`` imports across cells, like IPython.
    """
    compile_cell = codeop.Compile()
    namespace = {"__name__": "__main__"}
    for cell in cells if cells is not None else nb.cells:
        if cell.cell_type == "code":
            exec(compile_cell(cell.source, f"<cell {cell.id}>", "exec"), namespace)
    return namespace


def strip_solutions(source: str) -> str:
    """What nbgrader's ClearSolutions does to a code cell (its default stub)."""
    return SOLUTION_REGION.sub(
        lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()", source
    )


# -- the toy module ------------------------------------------------------------------

TOY_STUB = '''\
"""Toy exercises: doubling and scaling.

Read the docstrings.
"""
import numpy as np


def _shape_of(x):
    """A helper the students are given."""
    return np.shape(x)


def double(x):
    """Return ``2 * x``.

    x : ndarray, shape (N,)
    """
    raise NotImplementedError("double: your code here")


def scale_forward(x, a=3.0):
    """Return ``(a * x, cache)``.

    Returns
    -------
    out : ndarray, shape (N,)
    """
    raise NotImplementedError


def scale_backward(dout, cache):
    """Return ``dx`` for :func:`scale_forward`."""
    raise NotImplementedError
'''

TOY_MODEL = '''\
"""Model answers for toy."""
import math

import numpy as np

#: the factor of double
_FACTOR = 2.0


def _times(x, k):
    """x * k, through a second helper."""
    return _mul(x, k)


def _mul(a, b):
    return np.multiply(a, b)


def _unused():
    return math.pi


def double(x):
    """Model answer."""
    # a comment that belongs to the answer
    return _times(x, _FACTOR * math.cos(0.0))


def scale_forward(x, a=3.0):
    """Model answer."""
    return a * x, (a, _shape_of(x))


def scale_backward(dout, cache):
    a, _ = cache
    return dout * a
'''

TOY_POINTS = {"double": 1, "scale_forward": 3, "scale_backward": 4}
TOY_CATALOGUE = {
    "double": Exercise(name="double", module="toy", points=1, kind="function", cases=list),
    "scale_forward": Exercise(name="scale_forward", module="toy", points=3, kind="forward", cases=list),
    "scale_backward": Exercise(
        name="scale_backward", module="toy", points=4, kind="backward", cases=list, forward="scale_forward", wrt=(0,)
    ),
}
TOY_PACKAGE = "nnfund_toy_model_answers"


@pytest.fixture
def make_toy(tmp_path, monkeypatch):
    """Write a toy stub and model answer package; return the Settings that publish them."""
    monkeypatch.syspath_prepend(str(tmp_path / "packages"))

    def make(stub: str = TOY_STUB, model: str = TOY_MODEL, catalogue=TOY_CATALOGUE) -> Settings:
        (tmp_path / "exercises").mkdir(exist_ok=True)
        (tmp_path / "exercises" / "toy.py").write_text(stub)
        package = tmp_path / "packages" / TOY_PACKAGE
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "toy.py").write_text(model)
        importlib.invalidate_caches()
        return Settings(
            source_dir=tmp_path / "source",
            modules=("toy",),
            exercises_dir=tmp_path / "exercises",
            solutions_package=TOY_PACKAGE,
            catalogue=catalogue,
        )

    yield make
    sys.modules.pop(TOY_PACKAGE, None)


@pytest.fixture
def toy_nb(make_toy):
    (path,) = write_assignment(make_toy())
    return nbformat.read(str(path), as_version=4)


def test_writes_one_numbered_notebook_per_module_under_the_assignment_folder(make_toy, tmp_path):
    settings = make_toy()
    assert write_assignment(settings) == [tmp_path / "source" / "nnfund" / "01-toy.ipynb"]
    renamed = Settings(**{**settings.__dict__, "assignment": "week3"})
    assert write_assignment(renamed) == [tmp_path / "source" / "week3" / "01-toy.ipynb"]


def test_toy_notebook_is_valid_nbformat_v4(toy_nb):
    assert toy_nb.nbformat == 4
    nbformat.validate(toy_nb)
    assert toy_nb.metadata.kernelspec.name == "python3"
    assert toy_nb.metadata.kernelspec.language == "python"


def test_toy_notebook_passes_nbgraders_metadata_validator(toy_nb):
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(toy_nb)


def test_cells_are_intro_setup_then_doc_solution_test_per_function_in_stub_order(toy_nb):
    layout = [(cell.cell_type, cell.id) for cell in toy_nb.cells]
    expected = [("markdown", "intro"), ("code", "setup")]
    for name in ("double", "scale_forward", "scale_backward"):
        expected += [("markdown", f"{name}-doc"), ("code", f"{name}-solution"), ("code", f"{name}-test")]
    assert layout == expected


def test_intro_holds_module_docstring_and_total_points(toy_nb):
    intro = cells_by_id(toy_nb)["intro"].source
    assert intro.startswith("# 01 `toy`\n\nToy exercises: doubling and scaling.\n\nRead the docstrings.")
    assert "worth 8 points" in intro
    assert "test cells are a self-check and record nothing" in intro


def test_setup_cell_is_locked_and_holds_the_stubs_imports_and_helpers(toy_nb):
    setup = cells_by_id(toy_nb)["setup"]
    assert setup.source.startswith("import numpy as np\n\n")
    assert "def _shape_of(x):" in setup.source
    assert "def double" not in setup.source and "import math" not in setup.source
    assert nbgrader_meta(setup) == {
        "grade": False,
        "grade_id": "setup",
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }


def test_doc_cell_shows_the_teaching_docstring_as_markdown_and_points(toy_nb):
    doc = cells_by_id(toy_nb)["double-doc"].source
    assert doc == "## `double` (1 point)\n\nReturn `2 * x`.\n\nx : ndarray, shape (N,)"
    assert "nbgrader" not in cells_by_id(toy_nb)["double-doc"].metadata


def test_doc_cell_turns_a_numpydoc_section_into_a_bold_title_and_a_list(toy_nb):
    doc = cells_by_id(toy_nb)["scale_forward-doc"].source
    assert doc == (
        "## `scale_forward` (3 points)\n\nReturn `(a * x, cache)`.\n\n**Returns**\n\n- `out` (ndarray, shape (N,))"
    )


def test_solution_cell_is_signature_pointer_then_model_body_and_helpers_between_markers(toy_nb):
    cell = cells_by_id(toy_nb)["double-solution"]
    assert cell.source == textwrap.dedent('''\
        def double(x):
            """See the exercise text above."""
            ### BEGIN SOLUTION
            import math

            #: the factor of double
            _FACTOR = 2.0

            def _times(x, k):
                """x * k, through a second helper."""
                return _mul(x, k)

            def _mul(a, b):
                return np.multiply(a, b)

            # a comment that belongs to the answer
            return _times(x, _FACTOR * math.cos(0.0))
            ### END SOLUTION''')
    assert nbgrader_meta(cell) == {
        "grade": False,
        "grade_id": "double",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }


def test_model_answer_without_docstring_keeps_its_whole_body(toy_nb):
    source = cells_by_id(toy_nb)["scale_backward-solution"].source
    assert source.endswith("    ### BEGIN SOLUTION\n    a, _ = cache\n    return dout * a\n    ### END SOLUTION")


def test_names_the_stub_provides_are_not_inlined(toy_nb):
    # scale_forward's answer uses the stub's _shape_of and numpy: nothing to inline
    source = cells_by_id(toy_nb)["scale_forward-solution"].source
    region = SOLUTION_REGION.search(source).group(0)
    assert region.splitlines()[1:-1] == ["    return a * x, (a, _shape_of(x))"]


@pytest.mark.parametrize("name", sorted(TOY_POINTS))
def test_test_cell_is_locked_autograded_and_worth_the_catalogues_points(toy_nb, name):
    cell = cells_by_id(toy_nb)[f"{name}-test"]
    assert nbgrader_meta(cell) == {
        "grade": True,
        "grade_id": f"test_{name}",
        "locked": True,
        "points": TOY_POINTS[name],
        "schema_version": 3,
        "solution": False,
        "task": False,
    }


def test_test_cell_calls_grader_check_and_a_backward_gets_its_forward_from_globals(toy_nb):
    cells = cells_by_id(toy_nb)
    assert cells["double-test"].source == "import grader\n\ngrader.check('double', double)"
    assert cells["scale_backward-test"].source.endswith(
        "grader.check('scale_backward', scale_backward, forward=scale_forward)"
    )


def test_solution_cells_run_in_order_and_compute_the_model_answers(toy_nb):
    code = [c for c in toy_nb.cells if c.cell_type == "code" and not c.id.endswith("-test")]
    ns = run_code_cells(toy_nb, code)
    np.testing.assert_array_equal(ns["double"](np.array([1.0, -2.5])), [2.0, -5.0])
    out, cache = ns["scale_forward"](np.array([1.0, 2.0]), a=0.5)
    np.testing.assert_array_equal(out, [0.5, 1.0])
    np.testing.assert_array_equal(ns["scale_backward"](np.array([4.0, 6.0]), cache), [2.0, 3.0])


def test_stripped_notebook_leaks_nothing_of_the_model_and_raises_not_implemented(toy_nb):
    stripped = nbformat.from_dict(toy_nb)
    for cell in stripped.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = strip_solutions(cell.source)
    text = nbformat.writes(stripped)
    for model_only in ("_FACTOR", "_times", "_mul", "import math", "dout * a", "BEGIN SOLUTION"):
        assert model_only not in text
    ns = run_code_cells(stripped, [c for c in stripped.cells if not c.id.endswith("-test")])
    calls = {"double": (np.ones(2),), "scale_forward": (np.ones(2),), "scale_backward": (np.ones(2), (3.0, (2,)))}
    for name, args in calls.items():
        with pytest.raises(NotImplementedError):
            ns[name](*args)


def test_generation_is_reproducible_byte_for_byte(make_toy):
    settings = make_toy()
    (path,) = write_assignment(settings)
    first = path.read_bytes()
    write_assignment(settings)
    assert path.read_bytes() == first


def test_labs_follow_the_graded_notebooks_numbered_after_them_with_their_helpers(make_toy, tmp_path):
    settings = make_toy()
    labs = tmp_path / "exercises" / "labs"
    labs.mkdir()
    lab = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A lab"),
            nbformat.v4.new_code_cell("import numpy as np\nimport labhelp"),
        ]
    )
    nbformat.write(lab, str(labs / "01_first_look.ipynb"))
    nbformat.write(lab, str(labs / "02_second.ipynb"))
    (labs / "labhelp.py").write_text("X = 1\n")
    (labs / "build.py").write_text("# builds the labs; not imported by them\n")
    whole = Settings(**{**settings.__dict__, "modules": ()})
    out = tmp_path / "source" / "nnfund"
    assert write_assignment(whole) == [
        out / "01-toy.ipynb",
        out / "02-lab-first_look.ipynb",
        out / "03-lab-second.ipynb",
    ]
    assert (out / "02-lab-first_look.ipynb").read_bytes() == (labs / "01_first_look.ipynb").read_bytes()
    assert (out / "labhelp.py").read_text() == "X = 1\n" and not (out / "build.py").exists()
    # a selection of modules is not the whole course: no labs
    assert write_assignment(settings) == [out / "01-toy.ipynb"]


def test_public_function_outside_the_catalogue_gets_a_solution_cell_but_no_test(make_toy):
    catalogue = {k: v for k, v in TOY_CATALOGUE.items() if k != "double"}
    (path,) = write_assignment(make_toy(catalogue=catalogue))
    ids = [c.id for c in nbformat.read(str(path), as_version=4).cells]
    assert "double-solution" in ids and "double-test" not in ids


@pytest.mark.parametrize(
    "edit, message",
    [
        pytest.param(
            lambda stub, model: (stub, model.replace("def double(x):", "def double(x, y=1):")),
            r"double: the stub's parameters",
            id="signature-differs",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("def scale_forward(x, a=3.0)", "def scale_forward(x, a=2.0)")),
            r"scale_forward: the stub's parameters",
            id="default-differs",
        ),
        pytest.param(
            lambda stub, model: (stub.replace("def double(", "def _double("), model),
            r"catalogue grades \['double'\], which the stub does not define",
            id="stub-misses-exercise",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("def double(", "def _double(")),
            r"no model answer for double",
            id="model-misses-function",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("import math", "from .other import math")),
            r"needs 'math' from another solutions module",
            id="model-imports-a-sibling",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("import math", f"from {TOY_PACKAGE}.other import math")),
            r"needs 'math' from another solutions module",
            id="model-imports-its-package",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("dout * a", "dout * a * undefined_k")),
            r"uses 'undefined_k'",
            id="model-uses-unknown-name",
        ),
        pytest.param(
            lambda stub, model: (stub.replace('"""Return ``dx`` for :func:`scale_forward`."""', "pass"), model),
            r"scale_backward has no teaching docstring",
            id="stub-without-docstring",
        ),
        pytest.param(
            lambda stub, model: (
                stub,
                model.replace("cache):\n    a, _ = cache\n    return", "cache): return cache[0] *"),
            ),
            r"write scale_backward's body below its def line",
            id="one-line-model",
        ),
        pytest.param(
            lambda stub, model: (stub, model.replace("# a comment", "# ### END SOLUTION")),
            r"already contains '### END SOLUTION'",
            id="source-holds-a-marker",
        ),
    ],
)
def test_inconsistent_sources_are_refused_and_nothing_is_written(make_toy, tmp_path, edit, message):
    stub, model = edit(TOY_STUB, TOY_MODEL)
    settings = make_toy(stub=stub, model=model)
    with pytest.raises(NotebookError, match=message):
        write_assignment(settings)
    assert not (tmp_path / "source").exists()


# -- the command line ----------------------------------------------------------------


def test_main_rejects_an_unknown_module_with_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "source"), "--exercises", str(EXERCISES_DIR), "--modules", "nope"])
    assert exc.value.code == 2
    assert "unknown module(s) ['nope']" in capsys.readouterr().err
    assert not (tmp_path / "source").exists()


def test_main_rejects_a_missing_exercises_folder_with_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "source"), "--exercises", str(tmp_path / "missing")])
    assert exc.value.code == 2
    assert "no exercises folder" in capsys.readouterr().err


def test_main_reports_inconsistent_sources_with_exit_status_1(tmp_path, capsys):
    (tmp_path / "stubs").mkdir()
    code = main([str(tmp_path / "source"), "--modules", "activations", "--exercises", str(tmp_path / "stubs")])
    assert code == 1
    assert "error: no exercise stub" in capsys.readouterr().err
    assert not (tmp_path / "source").exists()


def test_main_writes_the_named_modules_and_prints_their_paths(tmp_path, capsys):
    code = main(
        [
            str(tmp_path / "src"),
            "--assignment",
            "hw1",
            "--modules",
            "losses",
            "activations",
            "--exercises",
            str(EXERCISES_DIR),
        ]
    )
    assert code == 0
    expected = [tmp_path / "src" / "hw1" / numbered(m) for m in ("losses", "activations")]
    assert capsys.readouterr().out.split() == [str(p) for p in expected]
    assert sorted((tmp_path / "src" / "hw1").iterdir()) == sorted(expected)


def test_module_runs_as_a_script():
    proc = subprocess.run(
        [sys.executable, "-m", "grader.notebooks", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: nngrade-notebooks ") and "SOURCE_DIR" in proc.stdout


# -- the real modules ----------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """``published(module)``: the module's notebook, published once with the default settings."""
    source = tmp_path_factory.mktemp("source")
    notebooks = {}

    def publish(module: str):
        if module not in notebooks:
            assert main([str(source), "--modules", module, "--exercises", str(EXERCISES_DIR)]) == 0
            notebooks[module] = nbformat.read(str(source / "nnfund" / numbered(module)), as_version=4)
        return notebooks[module]

    return publish


def catalogue_of(module: str) -> dict[str, Exercise]:
    from grader.catalogue import EXERCISES

    exercises = {name: ex for name, ex in EXERCISES.items() if ex.module == module}
    assert exercises, f"the catalogue has no exercise in {module}"
    return exercises


def test_without_modules_every_catalogue_module_is_published_numbered_in_course_order(tmp_path):
    assert main([str(tmp_path), "--exercises", str(EXERCISES_DIR)]) == 0
    names = sorted(p.name for p in (tmp_path / "nnfund").glob("*.ipynb"))
    graded = [f"{i:02d}-{m}.ipynb" for i, m in enumerate(MODULES, 1)]
    labs = sorted((EXERCISES_DIR / "labs").glob("*.ipynb"))  # published after them, if any
    assert names == graded + [
        f"{len(MODULES) + i:02d}-lab-{re.sub(r'^[0-9]+_', '', p.stem)}.ipynb" for i, p in enumerate(labs, 1)
    ]
    assert names[0] == "01-perceptron.ipynb"  # the file browser lists them in course order


@pytest.mark.parametrize("module", MODULES)
def test_published_notebook_validates(published, module):
    nb = published(module)
    nbformat.validate(nb)
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(nb)


@pytest.mark.parametrize("module", MODULES)
def test_published_points_are_the_catalogues(published, module):
    nb = published(module)
    points = {
        nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in nb.cells if nbgrader_meta(c).get("grade")
    }
    assert points == {f"test_{n}": ex.points for n, ex in catalogue_of(module).items()}


@pytest.mark.parametrize("module", MODULES)
def test_every_solution_cell_carries_the_markers_and_solution_metadata(published, module):
    nb = published(module)
    solutions = [c for c in nb.cells if nbgrader_meta(c).get("solution")]
    assert {nbgrader_meta(c)["grade_id"] for c in solutions} >= set(catalogue_of(module))
    for cell in solutions:
        meta = nbgrader_meta(cell)
        assert (meta["grade"], meta["locked"], meta["schema_version"]) == (False, False, 3)
        assert cell.source.startswith(f"def {meta['grade_id']}(")
        assert len(SOLUTION_REGION.findall(cell.source)) == 1
        assert cell.source.endswith("### END SOLUTION")


@pytest.mark.parametrize("module", MODULES)
def test_running_a_published_notebook_in_order_passes_every_check(published, module, monkeypatch):
    """The model answers in place: every test cell's grader.check passes with full marks."""
    results = {}
    real_check = grader.check

    def recording_check(name, func, **kwargs):
        results[name] = real_check(name, func, **kwargs)
        return results[name]

    monkeypatch.setattr(grader, "check", recording_check)
    run_code_cells(published(module))
    expected = catalogue_of(module)
    assert set(results) == set(expected)
    for name, result in results.items():
        assert (result.status, result.score, result.max_score) == (
            "passed",
            expected[name].points,
            expected[name].points,
        ), (name, result.message)
