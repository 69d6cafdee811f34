"""Step 1 of publishing: read each exercise module's stub and model answer.

:func:`collect_module` pairs the public functions of ``exercises/<module>.py``
with the model answers of ``solutions/model/<module>.py`` and returns a
:class:`ModuleSource`: the module's docstring, its setup code (imports and
helpers the students are given) and, per function, the stub's signature, its
teaching docstring and the model answer's body. Private helpers and module
constants a model answer uses are inlined at the top of its body (so they
vanish from the student version too), and so are the imports it needs beyond
the stub's. Sources that do not fit together raise :class:`NotebookError`.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader.spec import Exercise


@dataclass(frozen=True)
class Settings:
    """Everything the generator needs to know, in one place.

    source_dir:        nbgrader's ``source`` folder; notebooks go to ``<source_dir>/<assignment>/``.
    assignment:        the nbgrader assignment name.
    modules:           the exercise modules to publish; empty: every module of the catalogue.
    exercises_dir:     where the student stubs ``<module>.py`` are (and ``labs/``).
    solutions_package: the package whose ``<module>`` submodules hold the model answers.
    catalogue:         exercise name -> Exercise; None: ``grader.catalogue.EXERCISES``.
    """

    source_dir: Path
    assignment: str = "nnfund"
    modules: tuple[str, ...] = ()
    exercises_dir: Path = Path("exercises")
    solutions_package: str = "solutions.model"
    catalogue: Mapping[str, Exercise] | None = field(default=None, compare=False, repr=False)

    def exercise_catalogue(self) -> Mapping[str, Exercise]:
        if self.catalogue is not None:
            return self.catalogue
        from grader.catalogue import EXERCISES

        return EXERCISES

    def catalogue_modules(self) -> tuple[str, ...]:
        """Every module the catalogue grades, in catalogue order."""
        return tuple(dict.fromkeys(ex.module for ex in self.exercise_catalogue().values()))

    def labs_dir(self) -> Path:
        """The lab notebooks published after the graded ones (when it exists)."""
        return self.exercises_dir / "labs"

    def module_names(self) -> tuple[str, ...]:
        """The modules to publish: the ones asked for, else all of the catalogue's."""
        return self.modules or self.catalogue_modules()


class NotebookError(Exception):
    """The stubs, model answers and catalogue do not fit together."""


@dataclass(frozen=True)
class FunctionSource:
    """One exercise function as the notebook shows it.

    doc:       the stub's teaching docstring (cleaned: dedented, no quotes).
    signature: the stub's decorators and ``def`` line(s), as written.
    answer:    the model answer's body (inlined helpers first), indented like the stub's body.
    """

    name: str
    doc: str
    signature: str
    answer: str
    indent: str


@dataclass(frozen=True)
class ModuleSource:
    name: str
    doc: str
    setup: str
    functions: tuple[FunctionSource, ...]


class _ParsedFile:
    """A Python file: its lines, its AST, and what its top level defines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.splitlines()
        try:
            self.tree = ast.parse(self.text, filename=str(path))
        except SyntaxError as exc:
            raise NotebookError(f"{path}: cannot parse: {exc}") from exc
        self.definitions: dict[str, ast.stmt] = {}
        for node in self.tree.body:
            for name in _bound_names(node):
                self.definitions[name] = node

    def public_functions(self) -> list[ast.FunctionDef]:
        return [node for node in self.tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]

    def function(self, name: str) -> ast.FunctionDef | None:
        node = self.definitions.get(name)
        return node if isinstance(node, ast.FunctionDef) else None

    def segment(self, first: int, last: int) -> str:
        """Lines ``first..last`` (1-based, inclusive)."""
        return "\n".join(self.lines[first - 1 : last])

    def statement(self, node: ast.stmt) -> str:
        """A top-level statement's source with its decorators and the comments right above it."""
        first = _first_line(node)
        while first > 1 and self.lines[first - 2].lstrip().startswith("#"):
            first -= 1
        return self.segment(first, node.end_lineno)


def _first_line(node: ast.stmt) -> int:
    """Where a statement starts, decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _docstring_node(fn: ast.FunctionDef) -> ast.Expr | None:
    first = fn.body[0]
    return first if isinstance(first, ast.Expr) and _is_docstring(first) else None


def _bound_names(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds (definitions, assignments, imports)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    return []


def _free_names(node: ast.AST) -> set[str]:
    """Names a definition reads but never binds itself (a deliberately coarse scope rule)."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        # a module constant binds its targets; what it needs is what its value reads
        return _free_names(node.value) if node.value is not None else set()
    loaded: set[str] = set()
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (loaded if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub is not node:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
    return loaded - bound


def _signature(fn: ast.FunctionDef) -> tuple:
    """What two defs must share to be the same exercise: parameter names, kinds, defaults."""
    a = fn.args
    return (
        [p.arg for p in a.posonlyargs],
        [p.arg for p in a.args],
        a.vararg and a.vararg.arg,
        [p.arg for p in a.kwonlyargs],
        a.kwarg and a.kwarg.arg,
        [ast.unparse(d) for d in a.defaults],
        [d and ast.unparse(d) for d in a.kw_defaults],
    )


def _reindent(text: str, indent: str) -> str:
    return textwrap.indent(textwrap.dedent(text), indent)


class _AnswerBuilder:
    """Turns one model answer into a notebook-ready body: its own body plus inlined helpers."""

    def __init__(self, model: _ParsedFile, provided: set[str], model_package: str) -> None:
        self.model = model
        #: the top-level package of the model answers; importing from it is not self-contained.
        self.model_package = model_package
        #: names the notebook already defines: builtins, the setup cell, the exercises.
        self.provided = provided

    def helpers(self, fn: ast.FunctionDef) -> list[ast.stmt]:
        """The model module's top-level statements ``fn`` needs, transitively, in file order."""
        needed: dict[int, ast.stmt] = {}
        pending: list[ast.stmt] = [fn]
        while pending:
            node = pending.pop()
            for name in sorted(_free_names(node) - self.provided):
                dep = self.model.definitions.get(name)
                if dep is None:
                    raise NotebookError(
                        f"{self.model.path}: {fn.name} uses {name!r}, which neither the model "
                        f"module nor the notebook defines"
                    )
                if isinstance(dep, ast.ImportFrom) and (
                    dep.level or (dep.module or "").split(".")[0] == self.model_package
                ):
                    raise NotebookError(
                        f"{self.model.path}: {fn.name} needs {name!r} from another solutions "
                        f"module; a model answer must be self-contained"
                    )
                if id(dep) not in needed and dep is not fn:
                    needed[id(dep)] = dep
                    pending.append(dep)
        return sorted(needed.values(), key=lambda n: n.lineno)

    def body(self, fn: ast.FunctionDef, indent: str) -> str:
        doc = _docstring_node(fn)
        if doc is not None:
            first = doc.end_lineno + 1
        else:
            first = fn.body[0].lineno
            if first == fn.lineno:
                raise NotebookError(f"{self.model.path}: write {fn.name}'s body below its def line")
            while self.model.lines[first - 2].lstrip().startswith("#"):
                first -= 1
        own = self.model.segment(first, fn.end_lineno).strip("\n")
        parts = [self.model.statement(dep) for dep in self.helpers(fn)] + [textwrap.dedent(own)]
        return _reindent("\n\n".join(textwrap.dedent(p) for p in parts), indent)


def exercise_path(settings: Settings, module: str) -> Path:
    return settings.exercises_dir / f"{module}.py"


def model_path(settings: Settings, module: str) -> Path:
    """The model answer's file, found through the import system (installed or on sys.path)."""
    qualified = f"{settings.solutions_package}.{module}"
    try:
        spec = importlib.util.find_spec(qualified)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.origin:
        raise NotebookError(f"no model answer module {qualified}")
    return Path(spec.origin)


def collect_module(settings: Settings, module: str) -> ModuleSource:
    """Read the stub and the model answer of ``module`` and pair up their functions."""
    path = exercise_path(settings, module)
    if not path.is_file():
        raise NotebookError(f"no exercise stub {path}")
    stub, model = _ParsedFile(path), _ParsedFile(model_path(settings, module))
    public = stub.public_functions()
    public_names = {fn.name for fn in public}

    expected = {n for n, ex in settings.exercise_catalogue().items() if ex.module == module}
    missing = sorted(expected - public_names)
    if missing:
        raise NotebookError(f"{path}: the catalogue grades {missing}, which the stub does not define")

    setup_nodes = [n for n in stub.tree.body if n not in public and not (n is stub.tree.body[0] and _is_docstring(n))]
    setup = "\n\n".join(stub.statement(n) for n in setup_nodes)
    provided = set(dir(builtins)) | public_names | {name for n in setup_nodes for name in _bound_names(n)}
    builder = _AnswerBuilder(model, provided, settings.solutions_package.split(".")[0])

    functions = []
    for fn in public:
        answer_fn = model.function(fn.name)
        if answer_fn is None:
            raise NotebookError(f"{model.path}: no model answer for {fn.name}")
        if _signature(fn) != _signature(answer_fn):
            raise NotebookError(
                f"{fn.name}: the stub's parameters {_signature(fn)} differ from the model "
                f"answer's {_signature(answer_fn)}"
            )
        doc = _docstring_node(fn)
        if doc is None:
            raise NotebookError(f"{path}: {fn.name} has no teaching docstring")
        if doc.lineno == fn.lineno:
            raise NotebookError(f"{path}: write {fn.name}'s docstring below its def line")
        signature = stub.segment(_first_line(fn), doc.lineno - 1)
        indent = " " * doc.col_offset
        functions.append(
            FunctionSource(
                name=fn.name,
                doc=ast.get_docstring(fn),
                signature=textwrap.dedent(signature),
                answer=builder.body(answer_fn, indent),
                indent=indent,
            )
        )

    return ModuleSource(name=module, doc=ast.get_docstring(stub.tree) or "", setup=setup, functions=tuple(functions))
