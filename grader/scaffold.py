"""``python -m grader.scaffold NAME --module MODULE --kind KIND``: every file of a new exercise, at once.

An exercise lives in five places, by role (see CONTRIBUTING.md): the stub
students fill in (``exercises/``), the reference (``solutions/``), the model
answer (``solutions/model/``), its catalogue entry with cases and hints
(``grader/catalogue/``), and its tests (``tests/solutions/``). This command
writes a placeholder into each, and registers a new module in the course
order, so that a contributor only fills them in. Every placeholder fails
loudly (``NotImplementedError`` naming what to write) until it is written:
nothing scaffolded passes by accident.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from grader import spec

#: The kinds of grader/spec.py a scaffold can write; a ``higher_order`` exercise takes a
#: function named in grader/worker/scalar_functions.py, which a template cannot choose.
KINDS = tuple(kind for kind in spec.KINDS if kind != "higher_order")
ROOT = Path(__file__).resolve().parent.parent

STUB = '''

def {name}({params}):
    """TODO: what to compute, from which lecture equation.

    Parameters
    ----------
    TODO: every argument with its shape, e.g. x : ndarray, shape (N, D).

    Returns
    -------
    TODO: {returns}
    """
    raise NotImplementedError
'''
SOLUTION = '''

def {name}({params}):
    """{role} of exercises/{module}.py's {name}."""
    raise NotImplementedError("scaffolded: write the {role_lower} of {name}")
'''
MODULE_DOC = {
    "exercises": '"""Exercise: TODO (what this part of the course is about).\n\n'
    "Rules: you may import only NumPy and the standard library's math-like modules.\n"
    '"""\nimport numpy as np\n',
    "solutions": '"""Reference for exercises/{module}.py."""\nimport numpy as np\n',
    "solutions/model": '"""Model answer for exercises/{module}.py (NumPy only, self-contained)."""\n'
    "import numpy as np\n",
}
CATALOGUE_HEAD = '''"""Cases and hints for ``{module}.py``."""

from __future__ import annotations

import numpy as np

from grader.spec import Case, Exercise

EXERCISES: list[Exercise] = []
'''
CATALOGUE_ENTRY = '''

def {name}_cases(rng: np.random.Generator) -> list[Case]:
    """The lecture's worked example first, then seeded cases that reach the classic slips."""
    raise NotImplementedError("scaffolded: write the cases of {name}")


{name} = Exercise(name="{name}", module="{module}", points={points}, kind="{kind}", cases={name}_cases,{extra}
                  description="TODO: one line for nngrade --list")
EXERCISES.append({name})
'''
TEST = '''

@pytest.mark.parametrize("implementation", ["solutions.{module}", "solutions.model.{module}"])
def test_{name}_agrees_with_an_independent_oracle(implementation):
    """TODO: compare with PyTorch, the lecture's worked example, or numerical gradients."""
    raise NotImplementedError("scaffolded: write the test of {name}")
'''
TEST_HEAD = '''"""The {module} references and model answers, against independent oracles."""

import pytest
'''


def _append(path: Path, text: str, head: str = "") -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(head)
    path.write_text(path.read_text().rstrip("\n") + "\n" + text)


def _defines(path: Path, name: str) -> bool:
    return path.exists() and re.search(rf"^def {re.escape(name)}\(", path.read_text(), re.M) is not None


def _register(root: Path, module: str, after: str | None) -> bool:
    """Add ``module`` to ``MODULES`` in grader/catalogue/__init__.py (after ``after``, else last)."""
    init = root / "grader" / "catalogue" / "__init__.py"
    text = init.read_text()
    match = re.search(r"MODULES: tuple\[str, \.\.\.\] = \((.*?)\)", text, re.S)
    if match is None:
        raise ValueError(f"{init} has no MODULES tuple to add {module} to")
    names = re.findall(r'"(\w+)"', match.group(1))
    if module in names:
        return False
    names.insert(names.index(after) + 1 if after in names else len(names), module)
    lines, line = [], ""
    for quoted in (f'"{n}"' for n in names):
        if len(line) + len(quoted) + 2 > 80:
            lines.append(line.rstrip())
            line = ""
        line += quoted + ", "
    lines.append(line.rstrip().rstrip(","))
    body = ("\n" + " " * 28).join(lines)
    init.write_text(text[: match.start(1)] + body + text[match.end(1) :])
    return True


def scaffold(
    root: Path,
    name: str,
    module: str,
    kind: str,
    params: str,
    points: int,
    forward: str | None = None,
    after: str | None = None,
) -> list[str]:
    """Write every placeholder of exercise ``name``; returns what was written, one line each."""
    if not name.isidentifier() or not module.isidentifier():
        raise ValueError("the exercise and the module must be Python identifiers")
    if kind == "backward" and not forward:
        raise ValueError("a backward needs --forward, the forward whose cache it takes")
    done = []
    returns = {
        "function": "the result, with its shape",
        "forward": "(out, cache): out's shape; cache holds what the backward needs",
        "backward": "the gradients of the forward's inputs, in order",
    }
    for folder, role in (("exercises", None), ("solutions", "Reference"), ("solutions/model", "Model answer")):
        path = root / folder / f"{module}.py"
        if _defines(path, name):
            raise ValueError(f"{path.relative_to(root)} already defines {name}")
        text = (
            STUB.format(name=name, params=params, returns=returns[kind])
            if role is None
            else SOLUTION.format(name=name, params=params, module=module, role=role, role_lower=role.lower())
        )
        _append(path, text, MODULE_DOC[folder].format(module=module))
        done.append(f"{path.relative_to(root)}: {name} ({'stub' if role is None else role.lower()})")
    extra = f'\n                  forward="{forward}", wrt=(0,), outputs=("dx",),' if kind == "backward" else ""
    catalogue = root / "grader" / "catalogue" / f"{module}.py"
    _append(
        catalogue,
        CATALOGUE_ENTRY.format(name=name, module=module, kind=kind, points=points, extra=extra),
        CATALOGUE_HEAD.format(module=module),
    )
    done.append(f"{catalogue.relative_to(root)}: {name}'s cases and entry")
    if _register(root, module, after):
        done.append(f"grader/catalogue/__init__.py: {module} in MODULES")
    test = root / "tests" / "solutions" / f"test_{module}.py"
    _append(test, TEST.format(name=name, module=module), TEST_HEAD.format(module=module))
    done.append(f"{test.relative_to(root)}: {name}'s oracle test")
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.scaffold", description=__doc__.splitlines()[0])
    p.add_argument("name", help="the function, e.g. dropout_forward")
    p.add_argument("--module", required=True, help="the student module, e.g. regularization")
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--params", default="x", help='the signature, e.g. "x, p, train=True"')
    p.add_argument("--points", type=int, default=1)
    p.add_argument("--forward", help="backward only: the forward whose cache it takes")
    p.add_argument("--after", help="a new module: the module it comes after in the course")
    p.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        done = scaffold(
            args.root, args.name, args.module, args.kind, args.params, args.points, args.forward, args.after
        )
    except (ValueError, OSError) as exc:
        print(f"scaffold: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(done))
    print(
        "Next: fill in each placeholder (python -m pytest shows what is left), add the function to "
        "the points table of the README and to the exercise API."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
