"""The static half of ``forbidden``: an AST check of a student's file before it runs.

The runtime half is the worker's guard (``grader.worker.guard.install_guard``); both
share the allow-list :data:`ALLOWED_IMPORTS`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from grader.worker.guard import ALLOWED_IMPORTS

#: Names whose mere use is flagged: dynamic imports, dynamic code, files, C calls.
FLAGGED_NAMES = {
    "__import__": "calls __import__",
    "importlib": "uses importlib",
    "exec": "calls exec",
    "eval": "calls eval",
    "compile": "calls compile",
    "open": "opens files",
    "ctypes": "uses ctypes",
    "__builtins__": "reaches into __builtins__",
}


@dataclass
class StaticReport:
    """What a module's source does that a submission may not.

    module_wide: violations outside the exercise functions (they forbid every
    exercise of the module); per_function: violations inside ``def name``.
    syntax_error: the parse error, when the file does not parse.
    """

    module_wide: list[str] = field(default_factory=list)
    per_function: dict[str, list[str]] = field(default_factory=dict)
    syntax_error: str | None = None

    def violations_for(self, *names: str | None) -> list[str]:
        found = list(self.module_wide)
        for name in names:
            if name:
                found += self.per_function.get(name, [])
        return found


def _violations(node: ast.AST, allowed: frozenset[str]) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                if alias.name.partition(".")[0] not in allowed:
                    found.append(f"line {sub.lineno}: imports {alias.name}")
        elif isinstance(sub, ast.ImportFrom):
            if sub.level:
                found.append(f"line {sub.lineno}: relative import")
            elif (sub.module or "").partition(".")[0] not in allowed:
                found.append(f"line {sub.lineno}: imports {sub.module}")
        elif isinstance(sub, ast.Name) and sub.id in FLAGGED_NAMES:
            found.append(f"line {sub.lineno}: {FLAGGED_NAMES[sub.id]}")
        elif isinstance(sub, ast.Attribute) and sub.attr in FLAGGED_NAMES and sub.attr != "open":
            found.append(f"line {sub.lineno}: {FLAGGED_NAMES[sub.attr]}")
    return found


_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def declared_encoding(source: str) -> str | None:
    """A coding declaration (PEP 263, first two lines) naming anything but UTF-8, else None.

    Python runs a file in the encoding it declares, while this check reads UTF-8: the two
    must see the same text, so any other declared encoding is refused.
    """
    for line in source.splitlines()[:2]:
        match = _CODING.match(line)
        if match:
            name = match.group(1).lower().replace("_", "-")
            return None if name in ("utf-8", "utf8") or name.startswith("utf-8-") else match.group(1)
        if line.strip() and not line.lstrip().startswith("#"):
            break
    return None


def check_source(source: str, filename: str, exercise_names, siblings=()) -> StaticReport:
    """Check one module's source. ``exercise_names``: the functions graded in it.

    A violation inside a top-level ``def`` of an exercise counts against that
    exercise only; anywhere else (module level, helpers, classes) it counts
    against the whole module, since any exercise may reach it.
    """
    report = StaticReport()
    declared = declared_encoding(source)
    if declared is not None:
        report.syntax_error = (
            f"{filename} declares the encoding {declared[:20]!r}; a submission must be UTF-8 (remove the coding line)"
        )
        return report
    try:
        tree = ast.parse(source, filename=filename)
    except (RecursionError, MemoryError, OverflowError):
        report.syntax_error = f"{filename} cannot be parsed: it is nested or repeated far too deeply"
        return report
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        report.syntax_error = (
            f"{filename} does not parse" + (f" (line {line})" if line else "") + f": {getattr(exc, 'msg', exc)}"
        )
        return report
    allowed = ALLOWED_IMPORTS | frozenset(siblings)
    names = set(exercise_names)
    for stmt in tree.body:
        found = _violations(stmt, allowed)
        if not found:
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in names:
            report.per_function.setdefault(stmt.name, []).extend(found)
        else:
            report.module_wide.extend(found)
    return report
