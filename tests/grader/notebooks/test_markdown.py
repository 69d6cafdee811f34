"""The exercise text in the notebooks: Markdown (and LaTeX) that renders the way it reads.

Unit tests of grader.notebooks.markdown / latex, then every published
notebook rendered to HTML by nbconvert, as a student's browser shows it.
"""

from __future__ import annotations

import ast
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from grader.catalogue import EXERCISES, MODULES
from grader.notebooks import main
from grader.notebooks.latex import to_latex
from grader.notebooks.markdown import escape, to_markdown

REPO = Path(__file__).resolve().parents[3]
EXERCISES_DIR = REPO / "exercises"

DOC = """Scale a vector.

    out[i] = a * x[i]

Parameters
----------
x : ndarray, shape (N,)
    The input; entries may be 2*k or
    anything.
a, b : float
scale

Returns
-------
out : ndarray, shape (N,)

Worked example:

    scale([1, 2], 3)  -> [3, 6]

    scale([], 3)      -> []

Pitfalls: ``x * a`` is fine; *never* write into `x`; costs $0.
"""


def test_parameters_and_returns_become_bullet_lists_of_code_names_and_types():
    md = to_markdown(DOC)
    assert (
        "**Parameters**\n\n"
        "- `x` (ndarray, shape (N,)): The input; entries may be 2\\*k or anything.\n"
        "- `a, b` (float)\n"
        "- `scale`\n\n"
        "**Returns**\n\n"
        "- `out` (ndarray, shape (N,))"
    ) in md


def test_a_formula_block_becomes_latex_and_a_worked_example_one_code_block():
    md = to_markdown(DOC)
    assert "$$\n\\begin{aligned}\n\\mathrm{out}[i] &= a \\cdot x[i]\n\\end{aligned}\n$$" in md
    assert ("```text\nscale([1, 2], 3)  -> [3, 6]\n\nscale([], 3)      -> []\n```") in md


def test_prose_keeps_code_spans_and_escapes_what_markdown_would_interpret():
    md = to_markdown(DOC)
    assert md.endswith("Pitfalls: `x * a` is fine; \\*never\\* write into `x`; costs \\$0.")
    assert escape("a_b <c> [d] #e |f| ~g") == "a\\_b \\<c\\> \\[d\\] \\#e \\|f\\| \\~g"
    assert escape(":func:`scale_forward` and ``x``") == "`scale_forward` and `x`"


@pytest.mark.parametrize(
    "lines, latex",
    [
        (["y_hat = sigma(X w + b)"], r"\hat{y} &= \sigma\left(X w + b\right)"),
        (["L = sum((y_hat - y)**2) / (2n)"], r"L &= \sum\left(\left(\hat{y} - y\right)^{2}\right) / \left(2n\right)"),
        (
            ["PE = sin(pos / 10000**(2i/d_model))"],
            r"\mathrm{PE} &= \sin\left(\mathrm{pos} / 10000^{2i/d_{\mathrm{model}}}\right)",
        ),
        (["dx = dout W^T"], r"\mathrm{dx} &= \mathrm{dout} W^{\top}"),
        (
            ["z1     = X W1 + b1           (N, H)   affine"],
            r"z_{1} &= X W_{1} + b_{1} \qquad \text{(N, H)} \qquad \text{affine}",
        ),
        (["h = x @ W"], None),  # code, not board notation
        (["mu = mean(x, axis=-1, keepdims=True)"], None),  # keyword arguments: code
        (["db = sum of dout over the N rows"], None),  # prose inside an equation
        (["corr2d(x, k) -> [[4, -9]]"], None),  # a worked example
        (["out = (a + b"], None),  # unbalanced
    ],
)
def test_latex_translates_board_formulas_and_refuses_anything_else(lines, latex):
    result = to_latex(lines)
    if latex is None:
        assert result is None
    else:
        assert result == f"$$\n\\begin{{aligned}}\n{latex}\n\\end{{aligned}}\n$$"


# -- every published notebook, rendered --------------------------------------------


class _Tree(HTMLParser):
    """Records, for every element, its tag, its ancestors' tags and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[list] = []
        self.elements: list[tuple[str, tuple[str, ...], list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            return
        element = [tag, tuple(e[0] for e in self.stack), []]
        self.elements.append(element)
        self.stack.append(element)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        for element in self.stack:
            element[2].append(data)


def text_of(element) -> str:
    return "".join(element[2])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """module -> (markdown cells' sources, the notebook's HTML), for every catalogue module."""
    from nbconvert import HTMLExporter

    source = tmp_path_factory.mktemp("render")
    assert main([str(source), "--exercises", str(EXERCISES_DIR)]) == 0
    exporter = HTMLExporter()
    pages = {}
    for number, module in enumerate(MODULES, 1):
        nb = nbformat.read(str(source / "nnfund" / f"{number:02d}-{module}.ipynb"), as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
        pages[module] = (markdown, body)
    return pages


def stub_functions(module: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse((EXERCISES_DIR / f"{module}.py").read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


@pytest.mark.parametrize("module", MODULES)
def test_no_emphasis_inside_code_or_formulas_and_none_at_all_in_the_text(rendered, module):
    markdown, body = rendered[module]
    tree = _Tree()
    tree.feed(body)
    for tag, ancestors, _ in tree.elements:
        if tag in ("em", "strong"):
            assert not {"code", "pre"} & set(ancestors), f"<{tag}> inside code in {module}"
    assert "<em>" not in body  # the docstrings never ask for italics: any <em> is a mangled formula
    # a formula reaches MathJax exactly as written: no tag, no entity change inside it
    formulas = [f for cell in markdown for f in re.findall(r"\$\$.*?\$\$", cell, re.S)]
    for formula in formulas:
        assert formula in html.unescape(body)
    for chunk in re.findall(r"\$\$.*?\$\$", body, re.S):
        assert "<" not in chunk, chunk


@pytest.mark.parametrize("module", MODULES)
def test_parameters_render_as_a_list_of_the_functions_parameters(rendered, module):
    _, body = rendered[module]
    lists = re.findall(r"<h2 id=\"[^\"]*\"><code>(\w+)</code>.*?</h2>(.*?)(?=<h2 id=|\Z)", body, re.S)
    assert lists, module
    functions = stub_functions(module)
    for name, section in lists:
        doc = ast.get_docstring(functions[name])
        if "\nParameters\n" not in doc:
            continue
        m = re.search(r"<p><strong>Parameters</strong></p>\s*<ul>(.*?)</ul>", section, re.S)
        assert m, f"{name}: Parameters is not followed by a list"
        names = re.findall(r"<li><code>([\w, *]+)</code>", m.group(1))
        listed = [p.strip() for entry in names for p in entry.split(",")]
        signature = [a.arg for a in functions[name].args.args + functions[name].args.kwonlyargs]
        assert listed == signature, name


def test_every_exercise_is_presented_once_in_the_notebook_of_its_module(rendered):
    for name, ex in EXERCISES.items():
        for module in MODULES:
            markdown, body = rendered[module]
            headings = len(re.findall(rf"<h2 id=\"[^\"]*\"><code>{name}</code>", body))
            assert headings == (1 if module == ex.module else 0), (name, module)
        # the docstring is shown once: its summary is not repeated in the solution cell
        summary = ast.get_docstring(stub_functions(ex.module)[name]).split("\n\n")[0]
        summary = re.sub(r":\w+:|`", "", summary)  # as rendered: code spans without backticks
        text = html.unescape(re.sub(r"<[^>]+>", "", rendered[ex.module][1]))
        assert text.count(" ".join(summary.split())) == 1, name
