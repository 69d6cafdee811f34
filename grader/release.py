"""``nngrade-release OUT``: the student kit, a repository that holds no answer.

The instructor runs it from a clone of this repository (or with ``--source``
pointing at one). ``OUT`` gets:

* ``exercises/``: the stubs of the chosen modules (``--modules``, default: every
  module of the catalogue), and ``exercises/labs/`` when the clone has it (without
  its instructor tools), with ``requirements-labs.txt`` (the ``labs`` extra);
* ``README.md`` (the student's journey), ``requirements.txt`` (the grader,
  pinned to this version, from ``wheelhouse/``), ``.gitignore``;
* ``.github/workflows/classroom.yml`` (GitHub Classroom) and ``.gitlab-ci.yml``, which
  hold the sha256 of the kit's wheels and install only those (:mod:`grader.kitci`);
* ``nnfund-kit.json``: the grader version, the modules and their points;
* with ``--wheel``: ``wheelhouse/nnfund-*.whl``, the student build of the grader
  for this platform (``NNFUND_BUILD=student``, see ``setup.py``): references,
  model answers, catalogue and kernels compiled, none of their sources inside;
* with ``--gradescope``: ``gradescope/autograder.zip`` (:mod:`grader.gradescope`).

The wheel is built from a copy of the clone in a temporary folder, so nothing
an earlier build left in ``build/`` can reach it, and it is checked after the
build: a wheel holding a source of a compiled package is an error.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from grader.kitci import CI_FILES, install_commands
from grader.kitinfo import KIT_FILE

#: Folders (with everything below them) that the student build ships compiled only, and the
#: sources it must leave out (setup.py's STUDENT_COMPILED_PACKAGES, checked on the built wheel).
COMPILED_PACKAGES = ("solutions", "grader/catalogue", "csrc")
HIDDEN_SUFFIXES = (".py", ".pyx", ".pxi", ".pxd", ".c", ".h")
#: What the wheel build needs from the clone besides the packages themselves.
BUILD_FILES = ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in")
#: The labs' instructor tools stay in the clone: the notebooks' generator and its sources, and
#: the figure maker that runs the labs with the model answers.
LABS_IGNORE = shutil.ignore_patterns(
    "__pycache__", ".ipynb_checkpoints", "lab_results", "build.py", "make_figures.py", "src"
)
BUILD_IGNORE = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "*.c", "*.html", "*.egg-info")
#: Importable in this interpreter: then the wheel is built without an isolated build environment.
BUILD_REQUIREMENTS = ("setuptools", "Cython", "numpy")

_TOKEN = re.compile(r"@([A-Z_]+)@")


class ReleaseError(Exception):
    """The kit cannot be written: a one-line message, exit status 2."""


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def find_source(given: str | None) -> Path:
    """The clone of the course repository: ``--source``, else the folder this grader
    package was imported from (an editable install or a checkout), else the current one."""
    candidates = [Path(given)] if given else [Path(__file__).resolve().parent.parent, Path.cwd()]
    for folder in candidates:
        if (folder / "setup.py").is_file() and (folder / "exercises").is_dir() and (folder / "solutions").is_dir():
            return folder.resolve()
    where = given or "the installed grader's folder or the current directory"
    raise ReleaseError(
        f"no clone of the course repository (setup.py, exercises/, solutions/) in {where}; "
        "run nngrade-release from your clone or pass --source DIR"
    )


def render(template: str, values: dict[str, str]) -> str:
    """A kit template (``grader/kit/<template>``) with its ``@NAME@`` tokens filled in.

    A token indented alone on its line (a YAML block) indents every line of its value so."""
    text = resources.files("grader").joinpath("kit", template).read_text(encoding="utf-8")

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template {template}: no value for @{match.group(1)}@")
        indent = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        if not indent or indent.strip():
            return values[match.group(1)]
        first, *rest = values[match.group(1)].split("\n")
        return first + "".join(f"\n{indent}{line}" if line else "\n" for line in rest)

    return _TOKEN.sub(fill, text)


def exercise_table(modules: Sequence[str]) -> str:
    """The README's table of the kit's exercises (from the catalogue: one source per fact)."""
    from grader.catalogue import EXERCISES

    rows = ["| module | exercise | points | what |", "| --- | --- | ---: | --- |"]
    chosen = [ex for ex in EXERCISES.values() if ex.module in modules]
    for ex in chosen:
        what = ex.description.replace("|", "\\|")  # a bare '|' (|z|) would end the cell: Markdown's escape
        rows.append(f"| `{ex.module}` | `{ex.name}` | {ex.points} | {what} |")
    rows.append(f"| | **total** | **{sum(ex.points for ex in chosen)}** | {len(chosen)} exercises |")
    return "\n".join(rows)


def choose_modules(requested: Sequence[str] | None) -> list[str]:
    """The kit's modules in catalogue order; an unknown name is an error naming the known ones."""
    from grader.catalogue import MODULES

    if not requested:
        return list(MODULES)
    unknown = [m for m in requested if m not in MODULES]
    if unknown:
        raise ReleaseError(f"unknown module(s) {', '.join(unknown)}; the catalogue has {', '.join(MODULES)}")
    return [m for m in MODULES if m in requested]


def kit_record(modules: Sequence[str], version: str) -> dict:
    from grader.catalogue import EXERCISES

    chosen = {n: ex.points for n, ex in EXERCISES.items() if ex.module in modules}
    return {
        "grader_version": version,
        "python": python_version(),
        "modules": list(modules),
        "exercises": chosen,
        "max_score": sum(chosen.values()),
        "released": datetime.date.today().isoformat(),
    }


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(0o755)


def write_kit(out: Path, source: Path, modules: Sequence[str], version: str, find_links: Sequence[str] = ()) -> None:
    """Every file of the kit but its CI files (:func:`write_ci`), the wheelhouse's wheels
    and the Gradescope archive."""
    has_labs = (source / "exercises" / "labs").is_dir()
    values = {
        "VERSION": version,
        "PYTHON": python_version(),
        "EXERCISE_TABLE": exercise_table(modules),
        "FIND_LINKS": "".join(f"--find-links {link}\n" for link in find_links),
        "LABS": render("README-labs.md", {}) if has_labs else "",
    }
    for module in modules:
        stub = source / "exercises" / f"{module}.py"
        if not stub.is_file():
            raise ReleaseError(f"the clone has no stub {stub}")
        (out / "exercises").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stub, out / "exercises" / f"{module}.py")
    labs = source / "exercises" / "labs"
    if labs.is_dir():
        shutil.copytree(labs, out / "exercises" / "labs", ignore=LABS_IGNORE, dirs_exist_ok=True)
    _write(out / "README.md", render("README.md", values))
    _write(out / "requirements.txt", render("requirements.txt", values))
    if has_labs:
        _write(out / "requirements-labs.txt", labs_requirements(source))
    _write(out / ".gitignore", render("gitignore", values))
    _write(out / KIT_FILE, json.dumps(kit_record(modules, version), indent=2) + "\n")
    (out / "wheelhouse").mkdir(exist_ok=True)


def write_ci(
    out: Path, modules: Sequence[str], version: str, wheels: Sequence[Path], find_links: Sequence[str]
) -> None:
    """The kit's CI files. They hold all they rely on (grader/kitci.py): the modules they
    grade (nnfund-kit.json is the student's to edit) and how to install the grader, with
    the sha256 of the ``wheels`` (requirements.txt and wheelhouse/ are the student's too)."""
    values = {
        "VERSION": version,
        "PYTHON": python_version(),
        "MODULES": " ".join(modules),
        "INSTALL": install_commands(list({w.name: w for w in wheels}.values()), find_links, version),
    }
    for path, template in CI_FILES.items():
        _write(out / path, render(template, values))


def labs_requirements(source: Path) -> str:
    """requirements.txt lines for the labs: the clone's ``labs`` extra (one source per fact)."""
    pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"].get("optional-dependencies", {}).get("labs", [])
    return "".join(
        [
            "# The labs (exercises/labs/): plots, data and Jupyter; grading needs none of them.\n",
            "-r requirements.txt\n",
            *(f"{requirement}\n" for requirement in extra),
            "jupyterlab\n",
        ]
    )


def readable_sources(wheel: Path) -> list[str]:
    """The members of a wheel that are sources of a package it must ship compiled only."""
    with zipfile.ZipFile(wheel) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith(tuple(f"{p}/" for p in COMPILED_PACKAGES)) and name.endswith(HIDDEN_SUFFIXES)
        ]


def check_installed(stream=None) -> int:
    """0 when the installed packages hold no source of a compiled package (the check the
    cibuildwheel workflow runs on every wheel it builds), else 1 with the files listed."""
    stream = stream or sys.stderr
    leaked = []
    for package in COMPILED_PACKAGES:
        spec = importlib.util.find_spec(package.replace("/", "."))
        for folder in (spec.submodule_search_locations or []) if spec else []:
            leaked += [str(p) for p in Path(folder).rglob("*") if p.name.endswith(HIDDEN_SUFFIXES)]
    for path in leaked:
        print(f"readable source in the student install: {path}", file=stream)
    return 1 if leaked else 0


def build_student_wheel(source: Path, dest: Path, log=None) -> Path:
    """Build the student wheel of the clone at ``source`` into ``dest``; returns its path."""
    log = log or sys.stderr
    pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["setuptools"]["packages"]
    tops = sorted({p.split(".")[0] for p in packages})
    isolated = not all(importlib.util.find_spec(m) for m in BUILD_REQUIREMENTS)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nnfund-student-build-") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        for name in BUILD_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, tree / name)
        for top in tops:
            shutil.copytree(source / top, tree / top, ignore=BUILD_IGNORE)
        built = Path(tmp) / "wheel"
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(built),
            str(tree),
        ] + ([] if isolated else ["--no-build-isolation"])
        print(
            f"nngrade-release: building the student wheel (this compiles every reference; "
            f"a few minutes){' in an isolated build environment' if isolated else ''}",
            file=log,
        )
        done = subprocess.run(command, env={**os.environ, "NNFUND_BUILD": "student"}, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise ReleaseError(f"the student wheel did not build:\n{tail}")
        wheels = sorted(built.glob("nnfund-*.whl"))
        if len(wheels) != 1:
            raise ReleaseError(f"the build made {len(wheels)} nnfund wheels instead of one")
        leaked = readable_sources(wheels[0])
        if leaked:
            raise ReleaseError(f"the student wheel holds readable sources, not released: {', '.join(leaked)}")
        target = dest / wheels[0].name
        shutil.copyfile(wheels[0], target)
    return target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nngrade-release", description="Write the student kit: a repository without the answers."
    )
    p.add_argument("out", metavar="OUT", help="folder to write the kit to (new or empty, unless --force)")
    p.add_argument("--modules", nargs="+", metavar="MODULE", help="only these exercise modules (default: all)")
    p.add_argument(
        "--wheel", action="store_true", help="build the student grader wheel for this platform into OUT/wheelhouse/"
    )
    p.add_argument(
        "--gradescope",
        action="store_true",
        help="also write OUT/gradescope/autograder.zip (builds the wheel unless --wheel-from)",
    )
    p.add_argument(
        "--wheel-from",
        metavar="DIR",
        help="copy student wheels built elsewhere (e.g. the cibuildwheel workflow's) into the kit",
    )
    p.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="URL",
        help="another place requirements.txt tells pip to look for the grader's wheels",
    )
    p.add_argument("--source", metavar="DIR", help="the clone of the course repository (default: found)")
    p.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    return p


def release(args: argparse.Namespace, log=None) -> Path:
    from grader import __version__

    log = log or sys.stderr

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise ReleaseError(f"{out} is not empty (use --force to write into it)")
    source = find_source(args.source)
    modules = choose_modules(args.modules)
    out.mkdir(parents=True, exist_ok=True)
    write_kit(out, source, modules, __version__, args.find_links)
    wheels: list[Path] = []
    if args.wheel_from:
        given = sorted(Path(args.wheel_from).glob(f"nnfund-{__version__}-*.whl"))
        if not given:
            raise ReleaseError(f"no nnfund-{__version__}-*.whl in {args.wheel_from}")
        for wheel in given:
            leaked = readable_sources(wheel)
            if leaked:
                raise ReleaseError(f"{wheel.name} is not a student wheel (it holds {leaked[0]})")
            shutil.copyfile(wheel, out / "wheelhouse" / wheel.name)
            wheels.append(out / "wheelhouse" / wheel.name)
    if args.wheel or (args.gradescope and not wheels):
        wheels.append(build_student_wheel(source, out / "wheelhouse", log))
    write_ci(out, modules, __version__, wheels, args.find_links)
    if args.gradescope:
        from grader.gradescope import write_autograder

        zip_path = write_autograder(out / "gradescope", wheels, __version__, modules)
        print(f"nngrade-release: {zip_path} (upload it as the assignment's autograder)", file=log)
    if not wheels and not args.find_links:
        print(
            "nngrade-release: warning: no grader wheel (--wheel, --wheel-from) and no --find-links: "
            "students cannot install the grader, and the kit's CI stops (it installs only wheels "
            "whose sha256 the release wrote into it: release again rather than adding wheels later)",
            file=log,
        )
    print(
        f"nngrade-release: kit for grader {__version__} written to {out} "
        f"({len(modules)} module(s): {', '.join(modules)})",
        file=log,
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    try:
        release(build_parser().parse_args(argv))
    except ReleaseError as exc:
        print(f"nngrade-release: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"nngrade-release: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
