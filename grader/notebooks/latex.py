"""A docstring's display formula as LaTeX, when it is one.

The stubs write formulas in plain text, one equation per line, the way the
lectures write them on a board: ``out[i, j] = sum_{a, b} xp[i*sh + a, j*sw +
b] * k[a, b]``, ``L = -mean(y * log(y_hat) + (1 - y) * log(1 - y_hat))``,
``w_new = w - lr * dL/dw,   b_new = b - lr * dL/db``. :func:`to_latex`
translates such a block token by token into an ``aligned`` LaTeX block
(aligned on each line's ``=``); ``*`` becomes ``\\cdot``, ``**`` a power,
``^T`` a transpose, ``sum_{a, b}`` a sum, ``y_hat`` a hat, Greek names their
letters, names of several letters upright, a run of three or more spaces a
``\\qquad`` and a trailing annotation (``(summed over n, i, j)``, a shape)
text. A block it cannot translate faithfully (prose words inside an
equation, code such as ``for``, ``->``, ``np.``, ``axis=-1``, a worked example) gives
None, and stays a code block: a formula is never shown wrong.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<sum>(?:sum|mean)_(?:\{[^{}]*\}|[A-Za-z]\w*?)(?=[\s(]))
  | (?P<name>[A-Za-z][A-Za-z0-9_]*)
  | (?P<number>\d+(?:\.\d+)?(?:e-?\d+)?)
  | (?P<op>\*\*|//|\+=|-=|\^T\b|[-+*/=(),\[\]|:^<>])
""",
    re.VERBOSE,
)

GREEK = {
    name: f"\\{name}"
    for name in (
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "eta",
        "theta",
        "lambda",
        "mu",
        "sigma",
        "tau",
        "phi",
        "psi",
        "omega",
    )
}
FUNCTIONS = {
    "exp": r"\exp",
    "log": r"\log",
    "tanh": r"\tanh",
    "max": r"\max",
    "min": r"\min",
    "sin": r"\sin",
    "cos": r"\cos",
    "sum": r"\sum",
    "mean": r"\operatorname{mean}",
    "softmax": r"\operatorname{softmax}",
    "sqrt": r"\sqrt",
}
OPERATORS = {
    "*": r"\cdot",
    "//": r"\mathbin{/\!/}",
    "+=": r"\mathrel{+}=",
    "-=": r"\mathrel{-}=",
    "^T": r"^{\top}",
    "<": "<",
    ">": ">",
}
#: words that make a line prose, not an equation.
PROSE = frozenset(
    {
        "of",
        "over",
        "the",
        "for",
        "every",
        "summed",
        "with",
        "and",
        "where",
        "if",
        "else",
        "position",
        "rows",
        "axes",
        "each",
        "in",
        "by",
        "is",
        "to",
        "then",
    }
)
#: what a formula block never holds: code and worked examples.
NOT_FORMULA = re.compile(r"->|\[\[|\bnp\.|\bfor\b|\b(?:None|True|False)\b|\w=[^\s=]|#|`|\"|'|@|\.\w")
#: a trailing remark: words, a shape such as (N, H), a parenthesised comment.
_ANNOTATION = re.compile(r"^[\w ,()]+$")


class _Untranslatable(Exception):
    pass


def name_latex(name: str) -> str:
    """One identifier: Greek letters, ``y_hat``, ``h_prev`` -> ``h_{prev}``, ``W1`` -> ``W_{1}``."""
    if name in GREEK:
        return GREEK[name]
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    base, _, sub = name.partition("_")
    if sub == "hat":
        return rf"\hat{{{name_latex(base)}}}"
    if sub:
        return rf"{name_latex(base)}_{{{sub_latex(sub)}}}"
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if m:
        return rf"{name_latex(m.group(1))}_{{{m.group(2)}}}"
    if name.lower() in PROSE:
        raise _Untranslatable(name)
    return name if len(name) == 1 else rf"\mathrm{{{name}}}"


def sub_latex(text: str) -> str:
    return (
        ",".join(name_latex(p.strip()) if p.strip().isidentifier() else p.strip() for p in text.split(","))
        if "_" not in text
        else rf"\mathrm{{{text}}}"
    )


def _expression(text: str) -> str:
    """One equation (or expression) as LaTeX; _Untranslatable when it is not one."""
    out: list[str] = []
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
    if sum(len(t) for _, t in tokens) != len(text):
        raise _Untranslatable(text)  # a character no rule knows
    closing: list[str] = []  # what each open parenthesis closes with
    i = 0
    while i < len(tokens):
        kind, tok = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "space":
            out.append(" ")
        elif kind == "sum":
            head, _, sub = tok.partition("_")
            out.append(f"{FUNCTIONS[head]}_{{{sub_latex(sub.strip('{}'))}}}")
        elif kind == "name" and tok == "sqrt" and nxt == "(":
            out.append(r"\sqrt{")
            closing.append("}")
            i += 1
        elif kind == "name":
            out.append(name_latex(tok))
        elif kind == "number":
            out.append(tok)
        elif tok == "**" or tok == "^":
            if nxt == "(":
                out.append("^{")
                closing.append("}")
                i += 1
            elif i + 1 < len(tokens) and tokens[i + 1][0] in ("name", "number"):
                out.append(f"^{{{_expression(nxt)}}}")
                i += 1
            else:
                raise _Untranslatable(text)
        elif tok == "(":
            out.append(r"\left(")
            closing.append(r"\right)")
        elif tok == ")":
            if not closing:
                raise _Untranslatable(text)
            out.append(closing.pop())
        else:
            out.append(OPERATORS.get(tok, tok))
        i += 1
    if closing:
        raise _Untranslatable(text)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _line(line: str) -> tuple[str, str]:
    """(left of the alignment point, right of it) of one line of the block."""
    parts = []
    line = re.sub(r"\s+([-+]?=)", r" \1", line.strip())  # alignment spaces before "="
    for segment in re.split(r"\s{3,}", line):
        if "=" not in segment and _ANNOTATION.match(segment):
            parts.append(rf"\text{{{segment}}}")
        else:
            parts.append(_expression(segment))
    latex = r" \qquad ".join(parts)
    for mark in (r"\mathrel{+}=", r"\mathrel{-}=", "="):
        if mark in latex:
            left, right = latex.split(mark, 1)
            return left.strip(), f"{mark} {right.strip()}"
    raise _Untranslatable(line)


def to_latex(lines: list[str]) -> str | None:
    """A block of formula lines as a ``$$\\begin{aligned}...$$`` block, or None."""
    body = [line for line in lines if line.strip()]
    if not body or any(NOT_FORMULA.search(line) for line in body):
        return None
    try:
        rows = [_line(line) for line in body]
    except _Untranslatable:
        return None
    aligned = " \\\\\n".join(f"{left} &{right}" for left, right in rows)
    return f"$$\n\\begin{{aligned}}\n{aligned}\n\\end{{aligned}}\n$$"
