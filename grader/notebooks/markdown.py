"""A teaching docstring as Markdown that renders the way it reads.

The stubs' docstrings are plain text in the numpydoc style: prose
paragraphs, indented blocks (a formula, a worked example, an algorithm),
``- `` lists, and sections (``Parameters`` over a dashed line) whose entries
are ``name : type`` lines with an indented description. :func:`to_markdown`
turns that into CommonMark:

- a section title becomes a bold paragraph, and the entries of a
  ``Parameters`` / ``Returns`` / ... section become a bullet list, one item
  per entry: the name as code, its type, then its description;
- an indented block that is a formula becomes a LaTeX display block
  (:mod:`grader.notebooks.latex`); any other (a worked example, an
  algorithm) a fenced code block, kept verbatim: line breaks, alignment and
  ``*`` stay as written;
- prose keeps its ``- `` lists; ````code```` and ``:func:`name``` become code
  spans; every other character Markdown would interpret (``*``, ``_``, ``<``,
  ``$``, ...) is escaped, so ``2*ph`` never turns into italics and ``$`` never
  into a formula.
"""

from __future__ import annotations

import re

from grader.notebooks.latex import to_latex

#: numpydoc sections whose body is a list of ``name : type`` entries.
ENTRY_SECTIONS = frozenset(
    {"Parameters", "Returns", "Yields", "Raises", "Other Parameters", "Attributes", "Receives", "Warns"}
)
#: a section title's underline.
_UNDERLINE = re.compile(r"^-{3,}\s*$")
#: an entry line: ``name : type``, ``a, b : type`` or a bare ``name``.
_ENTRY = re.compile(r"^(?P<name>\*{0,2}[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)(?:\s+:\s+(?P<type>.*))?$")
#: inline code in a docstring: ``code``, `code` or a Sphinx role :func:`name`.
_CODE = re.compile(r"(?::\w+:)?``(?P<a>.+?)``|(?::\w+:)?`(?P<b>[^`]+?)`")
#: characters that CommonMark (or the notebook's MathJax) would interpret in prose.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")
#: a prose list item: ``- text`` or ``* text``.
_ITEM = re.compile(r"^[-*]\s+")


def escape(text: str) -> str:
    """Prose as literal Markdown text: docstring code spans kept as code, the rest escaped."""
    out, pos = [], 0
    for m in _CODE.finditer(text):
        out.append(_SPECIAL.sub(r"\\\1", text[pos : m.start()]))
        out.append(code_span(m.group("a") or m.group("b")))
        pos = m.end()
    out.append(_SPECIAL.sub(r"\\\1", text[pos:]))
    return "".join(out)


def code_span(code: str) -> str:
    """``code`` as a Markdown code span, whatever backticks it holds."""
    fence = "`"
    while fence in code:
        fence += "`"
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def code_block(lines: list[str]) -> str:
    """Lines as a fenced code block, their common indentation removed."""
    width = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    body = [line[width:].rstrip() for line in lines]
    fence = "```"
    while any(line.lstrip().startswith(fence) for line in body):
        fence += "`"
    return "\n".join([f"{fence}text", *body, fence])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _split_blocks(lines: list[str]) -> list[list[str]]:
    """Runs of lines separated by blank lines; indented runs in a row form one block."""
    blocks: list[list[str]] = []
    current: list[str] = []

    def indented(block: list[str]) -> bool:
        return all(_indent(line) >= 4 for line in block if line.strip())

    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            if blocks and indented(blocks[-1]) and indented(current):
                blocks[-1] += ["", *current]
            else:
                blocks.append(current)
            current = []
    if current:
        if blocks and indented(blocks[-1]) and indented(current):
            blocks[-1] += ["", *current]
        else:
            blocks.append(current)
    return blocks


def _prose(block: list[str]) -> str:
    """A paragraph (or a ``- `` list, or text followed by an indented block) as Markdown."""
    parts: list[str] = []
    paragraph: list[str] = []
    items: list[list[str]] = []
    i = 0

    def flush() -> None:
        if paragraph:
            parts.append(escape(" ".join(line.strip() for line in paragraph)))
            paragraph.clear()
        if items:
            parts.append("\n".join("- " + escape(" ".join(item)) for item in items))
            items.clear()

    while i < len(block):
        line = block[i]
        if _indent(line) >= 4 and not (items and _indent(line) <= 4):
            flush()
            j = i
            while j < len(block) and (_indent(block[j]) >= 4 or not block[j].strip()):
                j += 1
            parts.append(to_latex(block[i:j]) or code_block(block[i:j]))
            i = j
            continue
        stripped = line.strip()
        if _ITEM.match(stripped) and _indent(line) < 4:
            if paragraph:
                flush()
            items.append([_ITEM.sub("", stripped)])
        elif items:
            items[-1].append(stripped)
        else:
            paragraph.append(line)
        i += 1
    flush()
    return "\n\n".join(parts)


def _entries(lines: list[str]) -> tuple[str, list[str]]:
    """A section's ``name : type`` entries as a bullet list; returns (markdown, lines after it).

    The section ends at a line with no indentation that is not an entry and
    follows a blank line (the prose that comes after the section).
    """
    items: list[str] = []
    name = kind = None
    description: list[str] = []

    def flush() -> None:
        if name is None:
            return
        head = code_span(name) + (f" ({escape(kind)})" if kind else "")
        text = escape(" ".join(line.strip() for line in description))
        items.append(f"- {head}" + (f": {text}" if text else ""))

    i, blank = 0, False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            blank = True
            i += 1
            continue
        if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]):
            break  # the next section
        m = _ENTRY.match(line) if _indent(line) == 0 else None
        if _indent(line) == 0 and (m is None or (blank and _is_prose(line))):
            break
        if m is not None:
            flush()
            name, kind, description = m.group("name"), m.group("type"), []
        else:
            description.append(line)
        blank = False
        i += 1
    flush()
    return "\n".join(items), lines[i:]


def _is_prose(line: str) -> bool:
    """A line that reads as a sentence rather than an entry (``Worked example:``)."""
    return line.rstrip().endswith((":", ".")) and " : " not in line


def to_markdown(doc: str) -> str:
    """The whole docstring (already dedented, as ``ast.get_docstring`` gives it) as Markdown."""
    lines = doc.expandtabs().splitlines()
    parts: list[str] = []
    prose: list[str] = []

    def flush_prose() -> None:
        for block in _split_blocks(prose):
            parts.append(_prose(block))
        prose.clear()

    i = 0
    while i < len(lines):
        is_title = i + 1 < len(lines) and lines[i].strip() and _indent(lines[i]) == 0 and _UNDERLINE.match(lines[i + 1])
        if not is_title:
            prose.append(lines[i])
            i += 1
            continue
        flush_prose()
        title = lines[i].strip()
        parts.append(f"**{escape(title)}**")
        rest = lines[i + 2 :]
        if title in ENTRY_SECTIONS:
            items, rest = _entries(rest)
            if items:
                parts.append(items)
        lines, i = rest, 0
    flush_prose()
    return "\n\n".join(part for part in parts if part)
