"""The labs' plumbing: your own functions, one clear sentence when one is missing, results.

A lab imports the functions you wrote in ``exercises/<module>.py`` with
:func:`use`. Calling one that still raises ``NotImplementedError`` (or naming
one your module does not define) stops the cell with :class:`LabStop`: one
sentence that says which function to write, never a traceback. Any other
error in your code shows its usual traceback, so you can debug it.

Where your code is: the folder named by the environment variable
``NNFUND_EXERCISES`` when it is set, else the first ``exercises/`` folder found
in the working folder or one of its parents (so a lab finds it when Jupyter
starts in ``exercises/labs/``, in the course repository's root or in the
student kit's root). Failing that, the course's nbgrader notebooks in the
working folder (an assignment released by nbgrader puts the labs next to
``01-perceptron.ipynb`` and the others): their code cells become the modules,
read by the grader's own extractor (``grader.notebooks.extract``). Each lab
writes its headline figures to ``lab_results/<lab>.json`` in its working
folder (:func:`save_results`).

This file needs NumPy only; the labs themselves also use matplotlib and
scikit-learn (``pip install ".[labs]"``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

#: environment variable that names the exercises folder explicitly.
EXERCISES_ENV = "NNFUND_EXERCISES"
#: environment variable that names a folder where :func:`show` also saves figures as PNG.
FIGURES_ENV = "NNFUND_LAB_FIGURES"
#: folder, under the working folder, where each lab writes ``<lab>.json``.
RESULTS_DIR = "lab_results"


class LabStop(Exception):
    """A lab cannot go on: a function it needs is not written yet.

    IPython shows an exception's ``_render_traceback_`` lines instead of the
    traceback, so the student sees one sentence.
    """

    def _render_traceback_(self):
        return [f"LabStop: {self}"]


def find_exercises(start: Path | None = None) -> Path:
    """The folder of the student's modules (see the module docstring)."""
    named = os.environ.get(EXERCISES_ENV)
    if named:
        folder = Path(named).expanduser().resolve()
        if not folder.is_dir():
            raise LabStop(f"{EXERCISES_ENV}={named} is not a folder: point it at your exercises/ folder.")
        return folder
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder / "exercises"
    extracted = _notebook_modules(here)
    if extracted is not None:
        return extracted
    raise LabStop(
        f"No exercises/ folder in {here} or its parents, and no course notebooks in it: start Jupyter "
        f"in your course folder, or set {EXERCISES_ENV} to your exercises/ folder."
    )


#: module -> where the student wrote it, for the messages (default ``exercises/<module>.py``).
_origins: dict[str, str] = {}
#: folder of notebooks -> the temporary folder of the modules extracted from them.
_extracted: dict[Path, Path] = {}


def _notebook_modules(folder: Path) -> Path | None:
    """The course notebooks of folder written out as modules (once per kernel), or None.

    None when the folder holds no exercise notebook or the grader (which
    brings the extractor and the catalogue) is not installed.
    """
    if folder in _extracted:
        return _extracted[folder]
    if not any(folder.glob("*.ipynb")):
        return None
    try:
        from grader.catalogue import EXERCISES
        from grader.notebooks.extract import ExtractError, write_modules
    except ImportError:
        return None
    dest = Path(tempfile.mkdtemp(prefix="nnfund-lab-modules-"))
    try:
        modules = write_modules(folder, dest, EXERCISES)
    except ExtractError:
        return None
    _origins.update({m.module: m.path.name for m in modules})
    _extracted[folder] = dest
    return dest


def _origin(module: str) -> str:
    return _origins.get(module, f"exercises/{module}.py")


_modules: dict[str, object] = {}


def _load(module: str):
    """The student's module ``exercises/<module>.py``, loaded once by path."""
    if module not in _modules:
        folder = find_exercises()
        path = folder / f"{module}.py"
        if str(folder) not in sys.path:  # your modules may import each other (from backprop import ...)
            sys.path.append(str(folder))
        if not path.is_file():
            raise LabStop(f"This lab needs {_origin(module)}, which is not in {path.parent}.")
        spec = importlib.util.spec_from_file_location(f"student_{module}", path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        _modules[module] = loaded
    return _modules[module]


def _missing(module: str, name: str, state: str = "is not implemented yet") -> LabStop:
    return LabStop(
        f"This cell needs your {name} from {_origin(module)}, which {state}: "
        f"write it (`nngrade {name}` checks it), then run this cell again."
    )


def _guarded(module: str, name: str, function):
    """function, except that NotImplementedError becomes the one-sentence LabStop."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            raise _missing(module, name) from None

    return call


def use(module: str, *names: str):
    """Your functions ``names`` from ``exercises/<module>.py``, in that order.

    One name gives the function itself, several give a tuple. Raises
    :class:`LabStop` when the module or a function is missing.
    """
    loaded = _load(module)
    functions = []
    for name in names:
        function = getattr(loaded, name, None)
        if not callable(function):
            raise _missing(module, name, state="does not define it")
        functions.append(_guarded(module, name, function))
    return functions[0] if len(functions) == 1 else tuple(functions)


def save_results(lab: str, results: dict) -> Path:
    """Write ``results`` (plain numbers, strings, lists, dicts) to lab_results/<lab>.json."""
    folder = Path.cwd() / RESULTS_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"{lab}.json"
    path.write_text(json.dumps(_plain(results), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(Path.cwd())}:")
    print(json.dumps(_plain(results), indent=1, sort_keys=True))
    return path


def _plain(value):
    """value with NumPy scalars and arrays turned into Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float):
        return float(f"{value:.6g}")  # six significant digits: small ratios keep their value
    return value


def show(fig, name: str):
    """Display a matplotlib figure; also save it as <name>.png when NNFUND_LAB_FIGURES is set."""
    folder = os.environ.get(FIGURES_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(folder) / f"{name}.png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.show()


def lab_dependencies():
    """Import matplotlib (headless-safe) and NumPy; a clear sentence when the labs' extras are missing."""
    try:
        import matplotlib
        import sklearn
    except ImportError as missing:
        raise LabStop(
            f"The labs need matplotlib and scikit-learn ({missing.name} is missing): "
            'pip install "nnfund[labs]" or pip install matplotlib scikit-learn.'
        ) from None
    if "ipykernel" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
