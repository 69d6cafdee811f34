"""Report formats: one small class per format, registered in :data:`FORMATS`."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from typing import TextIO

from grader.results import Report, Result, Status

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

    Everything fits the console's width and nothing is cut: when the reason
    column would be narrower than :attr:`MIN_REASON`, it leaves the table and
    the reasons follow it, one paragraph per message; otherwise the column
    wraps, and only what the message says beyond its first line follows the
    table. Identical paragraphs are printed once with every exercise they
    concern, and the exercises still at their stub (``NotImplementedError``)
    are counted on one line. Colours only on a terminal (rich also honours
    NO_COLOR); off a terminal the width is :attr:`FILE_WIDTH` unless given.
    """

    MIN_REASON = 40
    FILE_WIDTH = 120

    def __init__(self, width: int | None = None) -> None:
        self.width = width

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(
            file=stream,
            force_terminal=terminal,
            no_color=not terminal or None,
            emoji=False,
            highlight=False,
            width=self.width or (None if terminal else self.FILE_WIDTH),
        )
        results = report.results
        widths = [
            max((len(r.name) for r in results), default=0) or len("exercise"),
            max([len("points"), *(len(_points(r)) for r in results)]),
            max([len("status"), *(len(str(r.status)) for r in results)]),
        ]
        # 4 columns: 5 vertical rules and one space of padding on each side of each column
        reasons_in_table = console.width - sum(widths) - 13 >= self.MIN_REASON
        table = Table(title=f"nngrade: {escape(report.submission)}", title_justify="left")
        for title, width, justify in zip(("exercise", "points", "status"), widths, ("left", "right", "left")):
            table.add_column(title, no_wrap=True, min_width=width, justify=justify)  # type: ignore[arg-type]
        if reasons_in_table:
            table.add_column("reason", overflow="fold")
        for r in results:
            row = [escape(r.name), _points(r), f"[{STATUS_STYLE[r.status]}]{r.status}[/]"]
            table.add_row(*row, *([escape(r.summary)] if reasons_in_table else []))
        console.print(table)

        stubs = [r for r in results if _at_stub(r)]
        if stubs and not reasons_in_table:
            console.print(
                f"\n[{STATUS_STYLE[Status.NOT_IMPLEMENTED]}]{_count(len(stubs))} not implemented "
                "yet[/]: the function, or the forward it needs, raises NotImplementedError."
            )
        for names, status, text in detail_groups(results, skip_first_line=reasons_in_table, skip=set(map(id, stubs))):
            head = escape(", ".join(names)) + (f" ({_count(len(names))})" if len(names) > 1 else "")
            console.print(f"\n[bold]{head}[/] [{STATUS_STYLE[status]}]{status}[/]")
            console.print(escape(text))
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        console.print(f"\n[bold]Total: {report.score}/{report.max_score}[/] ({counts}) in {report.duration:.1f} s.")
        if credit_line(report):
            console.print(escape(credit_line(report)))
        console.print(seed_sentence(report))
        console.print(escape(report.isolation_text), style=None if report.sandboxed else "bold yellow")


#: What every format says of a secret seed (``nngrade --seed-env``): never its value.
SECRET_SEED = "secret"


def seed_sentence(report: Report) -> str:
    """The seed and how to rerun with it; for a secret seed, only that it is secret."""
    if report.seed_secret:
        return f"Seed: {SECRET_SEED} (the instructor's; not shown)."
    return f"Seed {report.seed}: rerun with --seed {report.seed}."


def credit_line(report: Report) -> str:
    """One line on the credit policy and what it did, when an exercise was blocked; else ""."""
    if not any(r.blocked_by for r in report.results):
        return ""
    right = [r for r in report.results if r.right_once_fixed]
    if report.credit == "independent":
        credited = [r for r in right if r.credited]
        earned = sum(r.score for r in credited)
        return (
            f"Credit independent: an exercise right once the functions it builds on are fixed earns its "
            f"points when they are graded too ({earned} point{'s' if earned != 1 else ''}, "
            f"{_count(len(credited))})."
        )
    return (
        f"Credit strict: only exercises that pass as submitted earn points ({_count(len(right))} right "
        "once the functions they call are fixed earned nothing)."
    )


def _points(r: Result) -> str:
    return f"{r.score}/{r.max_score}"


def _count(n: int) -> str:
    return f"{n} exercise{'s' if n != 1 else ''}"


#: How a call ends when the function (or the forward a backward needs) is still the stub.
STUB_OUTCOMES = frozenset({"not_implemented", "forward_not_implemented"})


def _at_stub(r: Result) -> bool:
    """Is the exercise still the course's stub (it raised NotImplementedError)?"""
    return r.status is Status.NOT_IMPLEMENTED and bool(r.calls) and r.calls[-1].outcome in STUB_OUTCOMES


def detail_groups(results, *, skip_first_line: bool, skip=frozenset()) -> list[tuple[list[str], Status, str]]:
    """``(names, status, text)`` for the exercises that did not pass, in report
    order, one entry per distinct (status, text): a module-wide problem (no
    ``conv.py``, a forbidden import) is told once for all its exercises.

    ``skip_first_line``: the table already shows each message's first line.
    ``skip``: ids of results left out.
    """
    groups: dict[tuple[Status, str], list[str]] = {}
    for r in results:
        if r.passed or id(r) in skip:
            continue
        text = r.message.partition("\n")[2] if skip_first_line else r.message
        if text.strip():
            groups.setdefault((r.status, text), []).append(r.name)
    return [(names, status, text) for (status, text), names in groups.items()]


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
        suite = ET.Element(
            "testsuite",
            {
                "name": "nngrade",
                "tests": str(len(report.results)),
                "failures": str(len(not_passed)),
                "errors": "0",
                "skipped": "0",
                "time": f"{report.duration:.3f}",
            },
        )
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("seed", SECRET_SEED if report.seed_secret else report.seed),
            ("score", report.score),
            ("max_score", report.max_score),
            ("grader_version", report.grader_version),
            ("isolation", report.isolation_text),
            ("credit", report.credit),
        ):
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
        for r in report.results:
            case = ET.SubElement(
                suite, "testcase", {"classname": f"nngrade.{r.module}", "name": r.name, "time": f"{r.duration:.3f}"}
            )
            if r.blocked_by:
                extra = ET.SubElement(case, "properties")
                ET.SubElement(extra, "property", {"name": "blocked_by", "value": " ".join(r.blocked_by)})
                ET.SubElement(extra, "property", {"name": "right_once_fixed", "value": str(r.right_once_fixed).lower()})
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
            # no seed in what the student sees: knowing it gives every case's inputs; extra_data
            # keeps a seed that is not secret (the archive's is: run_autograder uses --seed-env)
            "output": f"nngrade {report.grader_version}: {report.score}/{report.max_score}. {report.isolation_text}",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {
                    "name": r.name,
                    "score": r.score,
                    "max_score": r.max_score,
                    "status": "passed" if r.passed else "failed",
                    "output": f"[{r.status}] {r.message}",
                    "visibility": "visible",
                    "extra_data": {
                        "status": str(r.status),
                        "blocked_by": r.blocked_by,
                        "right_once_fixed": r.right_once_fixed,
                    },
                }
                for r in report.results
            ],
            "extra_data": {
                "seed": report.public_seed,
                "counts": report.counts(),
                "isolation": report.isolation,
                "credit": report.credit,
            },
        }
        json.dump(plain_json(doc), stream, indent=2, allow_nan=False)
        stream.write("\n")


class ClassroomReport:
    """The results document that GitHub Classroom's ``autograding-grading-reporter`` reads
    (base64-encoded in a step output): one test per exercise with its own points, so
    Classroom gives partial credit per exercise."""

    STATUS = {Status.PASSED: "pass"}

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        tests = [
            {
                "name": r.name,
                "status": "error" if r.internal else self.STATUS.get(r.status, "fail"),
                "score": r.score,
                "max_score": r.max_score,
                "message": None if r.passed else f"[{r.status}] {r.message}",
                "test_code": f"nngrade {r.name}" + ("" if report.seed_secret else f" --seed {report.seed}"),
                "filename": f"exercises/{r.module}.py",
                "line_no": 0,
                "duration": round(r.duration * 1000),
            }
            for r in report.results
        ]
        overall = (
            "error"
            if any(t["status"] == "error" for t in tests)
            else "pass"
            if all(t["status"] == "pass" for t in tests)
            else "fail"
        )
        doc = {
            "version": 1,
            "status": overall,
            "max_score": report.max_score,
            "tests": tests,
            "isolation": report.isolation,
            "seed": report.public_seed,
        }  # extra keys: the reporter reads the others
        json.dump(plain_json(doc), stream, indent=2, allow_nan=False)
        stream.write("\n")


def _md(text: str) -> str:
    """Text for one table cell: one line, no column breaks, no HTML tags (``<module>``)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    return re.sub(r"([\\`*_\[\]()!#|~])", r"\\\1", text)


class MarkdownReport:
    """GitHub-flavoured Markdown for a CI job summary: total, table, folded details."""

    ICON = {
        Status.PASSED: "✅",
        Status.FAILED: "❌",
        Status.ERROR: "💥",
        Status.NOT_IMPLEMENTED: "🚧",
        Status.TIMEOUT: "⏱️",
        Status.FORBIDDEN: "⛔",
    }

    def write(self, report: Report, stream: TextIO, terminal: bool) -> None:
        out = [
            f"## nngrade: {report.score}/{report.max_score} points",
            "",
            (
                f"Seed {SECRET_SEED}"
                if report.seed_secret
                else f"Seed `{report.seed}` (rerun with `--seed {report.seed}`)"
            )
            + f", grader {report.grader_version}, {report.duration:.1f} s.",
            "",
            ("" if report.sandboxed else "> **Warning:** ") + _md(report.isolation_text),
            "",
            *([_md(credit_line(report)), ""] if credit_line(report) else []),
            "| exercise | points | status | blocked by | reason |",
            "|---|---:|---|---|---|",
        ]
        for r in report.results:
            blocked = ", ".join(f"`{n}`" for n in r.blocked_by)
            out.append(
                f"| `{r.name}` | {r.score}/{r.max_score} | {self.ICON[r.status]} {r.status} "
                f"| {blocked} | {_md(r.summary)} |"
            )
        for r in report.results:
            if not r.passed:
                out += [
                    "",
                    f"<details><summary><code>{r.name}</code>: {r.status}</summary>",
                    "",
                    "```text",
                    r.message.replace("```", "'''"),
                    "```",
                    "",
                    "</details>",
                ]
        stream.write("\n".join(out) + "\n")


#: Format name -> report class (the CLI's --format choices).
FORMATS = {
    "text": TextReport,
    "json": JsonReport,
    "junit": JunitReport,
    "gradescope": GradescopeReport,
    "classroom": ClassroomReport,
    "markdown": MarkdownReport,
}
