"""Report formats: one small class per format, registered in :data:`FORMATS`."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from typing import TextIO

from grader.results import Report, Status

#: Colours of the statuses in the text report.
STATUS_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "red",
    Status.ERROR: "bold red",
    Status.NOT_IMPLEMENTED: "yellow",
    Status.TIMEOUT: "magenta",
    Status.FORBIDDEN: "bold magenta",
}


class TextReport:
    """A table (exercise, points, status, reason), failure details, a total and the seed.

    Colours only when writing to a terminal (rich also honours NO_COLOR).
    """

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(file=stream, force_terminal=terminal, no_color=not terminal or None, emoji=False,
                          highlight=False, soft_wrap=False, width=None if terminal else 120)
        table = Table(title=f"nngrade: {escape(report.submission)}", title_justify="left")
        name_width = max((len(r.name) for r in report.results), default=8)
        table.add_column("exercise", no_wrap=True, min_width=name_width)
        table.add_column("points", justify="right", no_wrap=True, min_width=6)
        table.add_column("status", no_wrap=True, min_width=len("not_implemented"))
        # what is left of the width after the other columns and the borders
        reason_width = max(20, console.width - name_width - 6 - len("not_implemented") - 13)
        table.add_column("reason", overflow="ellipsis", no_wrap=True, max_width=reason_width)
        for r in report.results:
            style = STATUS_STYLE[r.status]
            table.add_row(r.name, f"{r.score}/{r.max_score}", f"[{style}]{r.status}[/]", escape(r.summary))
        console.print(table)
        # details only where the message says more than the table's (possibly cut) one line
        for r in report.results:
            if not r.passed and (r.message.strip() != r.summary or len(r.summary) > reason_width):
                console.print(f"\n[bold]{escape(r.name)}[/] [{STATUS_STYLE[r.status]}]{r.status}[/]")
                console.print(escape(r.message), highlight=False, soft_wrap=True)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        console.print(f"\n[bold]Total: {report.score}/{report.max_score}[/] ({counts}) "
                      f"in {report.duration:.1f} s. Seed {report.seed}: rerun with --seed {report.seed}.",
                      soft_wrap=True)
        console.print(escape(report.isolation_text), style=None if report.sandboxed else "bold yellow",
                      soft_wrap=True)


class JsonReport:
    """``Report.as_dict()`` as JSON (keys documented in the README, "The JSON report")."""

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        json.dump(plain_json(report.as_dict()), stream, indent=2, allow_nan=False)
        stream.write("\n")


def plain_json(value):
    """``value`` made strict-JSON-safe: NumPy scalars to Python, non-finite floats to strings,
    anything else unknown to its ``str``; so writing a report can never fail."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "item") and not isinstance(value, float):
        return plain_json(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    return str(value)


class JunitReport:
    """JUnit XML: one testcase per exercise, a ``<failure>`` for each that did not pass."""

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        not_passed = [r for r in report.results if not r.passed]
        suite = ET.Element("testsuite", {
            "name": "nngrade", "tests": str(len(report.results)), "failures": str(len(not_passed)),
            "errors": "0", "skipped": "0", "time": f"{report.duration:.3f}",
        })
        props = ET.SubElement(suite, "properties")
        for key, value in (("seed", report.seed), ("score", report.score), ("max_score", report.max_score),
                           ("grader_version", report.grader_version), ("isolation", report.isolation_text)):
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
        for r in report.results:
            case = ET.SubElement(suite, "testcase", {
                "classname": f"nngrade.{r.module}", "name": r.name, "time": f"{r.duration:.3f}"})
            if not r.passed:
                failure = ET.SubElement(case, "failure", {"type": str(r.status), "message": r.summary})
                failure.text = r.message
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        stream.write(ET.tostring(root, encoding="unicode", xml_declaration=True))
        stream.write("\n")


class GradescopeReport:
    """Gradescope's ``results.json``: score, and one test per exercise."""

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        doc = {
            "score": report.score,
            "max_score": report.max_score,
            "output": f"nngrade {report.grader_version}: {report.score}/{report.max_score} (seed {report.seed}). "
                      f"{report.isolation_text}",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [{
                "name": r.name,
                "score": r.score,
                "max_score": r.max_score,
                "status": "passed" if r.passed else "failed",
                "output": f"[{r.status}] {r.message}",
                "visibility": "visible",
            } for r in report.results],
            "extra_data": {"seed": report.seed, "counts": report.counts(), "isolation": report.isolation},
        }
        json.dump(plain_json(doc), stream, indent=2, allow_nan=False)
        stream.write("\n")


def _md(text: str) -> str:
    """Text for one table cell: one line, no column breaks, no HTML tags (``<module>``)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    return re.sub(r"([\\`*_\[\]()!#|~])", r"\\\1", text)


class MarkdownReport:
    """GitHub-flavoured Markdown for a CI job summary: total, table, folded details."""

    ICON = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "💥", Status.NOT_IMPLEMENTED: "🚧",
            Status.TIMEOUT: "⏱️", Status.FORBIDDEN: "⛔"}

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        out = [f"## nngrade: {report.score}/{report.max_score} points", "",
               f"Seed `{report.seed}` (rerun with `--seed {report.seed}`), "
               f"grader {report.grader_version}, {report.duration:.1f} s.", "",
               ("" if report.sandboxed else "> **Warning:** ") + _md(report.isolation_text), "",
               "| exercise | points | status | reason |", "|---|---:|---|---|"]
        for r in report.results:
            out.append(f"| `{r.name}` | {r.score}/{r.max_score} | {self.ICON[r.status]} {r.status} "
                       f"| {_md(r.summary)} |")
        for r in report.results:
            if not r.passed:
                out += ["", f"<details><summary><code>{r.name}</code>: {r.status}</summary>", "",
                        "```text", r.message.replace("```", "'''"), "```", "", "</details>"]
        stream.write("\n".join(out) + "\n")


#: Format name -> report class (the CLI's --format choices).
FORMATS = {
    "text": TextReport,
    "json": JsonReport,
    "junit": JunitReport,
    "gradescope": GradescopeReport,
    "markdown": MarkdownReport,
}
