"""``summary.html``: the class summary as one self-contained page, plots embedded.

The plots are drawn with matplotlib (Agg, no display) and embedded as
``data:`` PNG images; the style sheet is inline; the page loads nothing. All
text that comes from students (names, paths, problems) is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
from html import escape

from grader.batch.outputs import STATUS_COLUMNS
from grader.batch.summary import ClassStats, describe_totals

#: Colours of the statuses in the plots (the text report's, in hex).
STATUS_COLOURS = {
    "passed": "#2e7d32",
    "failed": "#c62828",
    "error": "#6a1b9a",
    "not_implemented": "#f9a825",
    "timeout": "#ef6c00",
    "forbidden": "#37474f",
}

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em}
td.n{text-align:right}th{background:#f3f3f3}img{max-width:100%}code{font-size:.95em}"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def plots(stats: ClassStats) -> list[tuple[str, str]]:
    """(title, ``<img>``) of the score histogram, the pass rates and the statuses per exercise."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    out = []
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    labels, counts = zip(*stats.histogram())
    ax.bar(range(len(counts)), counts, color="#1565c0")
    ax.set_xticks(range(len(counts)), [lab.split(" ")[0] for lab in labels], rotation=45, fontsize=8)
    ax.set_xlabel(f"score (% of {stats.max_score})")
    ax.set_ylabel("students")
    out.append(("Score distribution", _png(fig)))

    names = [e.name for e in stats.exercises]
    height = max(2.5, 0.22 * len(names) + 1)
    fig = Figure(figsize=(7, height))
    ax = fig.subplots()
    left = [0.0] * len(names)
    for status in STATUS_COLUMNS:
        share = [e.statuses[status] / e.graded if e.graded else 0 for e in stats.exercises]
        ax.barh(names, share, left=left, color=STATUS_COLOURS[status], label=status)
        left = [a + b for a, b in zip(left, share)]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of graded submissions")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    out.append(("Statuses per exercise", _png(fig)))
    return out


def _table(head: list[str], rows: list[list], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in numeric else ''}>{escape(str(c))}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def page(stats: ClassStats) -> str:
    parts = [
        f"<h1>nngrade batch: class summary</h1><p>{stats.students} submissions "
        f"({escape(stats.layout)}): {len(stats.graded)} graded, {len(stats.failing)} failed to grade. "
        f"Seed <code>{stats.seed}</code>, grader {escape(stats.grader)}, {stats.wall:.1f} s wall.</p>"
        f"<p>Scores out of {stats.max_score}: {escape(describe_totals(stats.totals))}.</p>"
        f"<p>{'<strong>Warning:</strong> ' if stats.unsandboxed else ''}Isolation of the student code: "
        + (", ".join(f"{escape(label)} ({n})" for label, n in stats.isolation) or "nothing graded")
        + ".</p>"
    ]
    for title, img in plots(stats):
        parts.append(f"<h2>{escape(title)}</h2>{img}")
    parts.append(
        "<h2>Exercises</h2>"
        + _table(
            ["exercise", "points", "pass rate", "mean points", *STATUS_COLUMNS],
            [
                [
                    e.name,
                    e.points,
                    f"{100 * e.pass_rate:.0f}%",
                    f"{e.mean_points:.2f}",
                    *(e.statuses[s] for s in STATUS_COLUMNS),
                ]
                for e in stats.exercises
            ],
            numeric=set(range(1, 4 + len(STATUS_COLUMNS))),
        )
    )
    parts.append(
        "<h2>Most frequent mistakes</h2>"
        + (
            _table(["exercise", "mistake (hint)", "students"], [list(m) for m in stats.mistakes], {2})
            if stats.mistakes
            else "<p>No recognised mistake.</p>"
        )
    )
    parts.append(
        "<h2>Slowest submissions</h2>"
        + _table(
            ["student", "grading time (s)", "score"],
            [
                [o.student, f"{o.report['duration']:.2f}", f"{o.report['score']}/{o.report['max_score']}"]
                for o in stats.slowest
            ],
            {1, 2},
        )
    )
    parts.append(
        "<h2>Submissions that failed to grade</h2>"
        + (
            _table(["student", "submission", "why"], [[o.student, o.origin, o.problem or ""] for o in stats.failing])
            if stats.failing
            else "<p>None.</p>"
        )
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>nngrade class summary</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )
