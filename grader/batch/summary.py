"""The class summary: statistics of a batch, as ``summary.md`` (the HTML is in :mod:`.html`)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from grader.batch.outputs import STATUS_COLUMNS, Outcome
from grader.reports import _md as md_cell

#: Rows in the "most frequent mistakes" and "slowest submissions" tables.
TOP = 10
#: Bins of the score distribution, as fractions of the maximum.
BINS = 10


@dataclass
class ExerciseStats:
    name: str
    points: int
    graded: int = 0
    statuses: Counter = field(default_factory=Counter)
    points_earned: int = 0
    hints: Counter = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float:
        return self.statuses["passed"] / self.graded if self.graded else 0.0

    @property
    def mean_points(self) -> float:
        return self.points_earned / self.graded if self.graded else 0.0


@dataclass
class ClassStats:
    """Everything the summaries show, computed once from the outcomes."""

    students: int
    graded: list[Outcome]
    failing: list[Outcome]
    exercises: list[ExerciseStats]
    max_score: int
    totals: list[int]
    seed: int
    grader: str
    layout: str
    wall: float

    @property
    def isolation(self) -> list[tuple[str, int]]:
        """How the graded submissions' code was isolated: [("bubblewrap 0.11.0", 40), ...]."""
        seen: Counter[str] = Counter()
        for o in self.graded:
            iso = o.report.get("isolation")
            iso = iso if isinstance(iso, dict) else {"mechanism": str(iso)}
            mechanism = str(iso.get("mechanism", "none"))
            detail = iso.get("version") if mechanism != "none" else iso.get("reason")
            seen[f"{mechanism} {detail}" if detail else mechanism] += 1
        return sorted(seen.items())

    @property
    def unsandboxed(self) -> int:
        """Graded submissions whose code ran without a sandbox (a self-check, not a grade)."""
        return sum(
            1
            for o in self.graded
            if not (
                isinstance(o.report.get("isolation"), dict) and o.report["isolation"].get("mechanism", "none") != "none"
            )
        )

    @property
    def mistakes(self) -> list[tuple[str, str, int]]:
        """(exercise, hint, number of students), most frequent first."""
        rows = [(e.name, hint, n) for e in self.exercises for hint, n in e.hints.items()]
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))[:TOP]

    @property
    def slowest(self) -> list[Outcome]:
        return sorted(self.graded, key=lambda o: (-o.report["duration"], o.student))[:TOP]

    def histogram(self) -> list[tuple[str, int]]:
        """(bin label, number of students) over ``BINS`` equal ranges of the maximum score."""
        counts = [0] * BINS
        for t in self.totals:
            counts[min(BINS - 1, int(BINS * t / self.max_score)) if self.max_score else 0] += 1
        width = 100 // BINS
        return [
            (f"{i * width}-{(i + 1) * width}%" + ("" if i < BINS - 1 else " (incl.)"), n) for i, n in enumerate(counts)
        ]


def class_stats(
    outcomes: list[Outcome], points: dict[str, int], *, seed: int, grader: str, layout: str, wall: float
) -> ClassStats:
    exercises = {n: ExerciseStats(n, p) for n, p in points.items()}
    graded = [o for o in outcomes if o.graded]
    for o in graded:
        for e in o.report["exercises"]:
            ex = exercises[e["name"]]
            ex.graded += 1
            ex.statuses[e["status"]] += 1
            ex.points_earned += e["score"]
            if e["status"] != "passed" and e.get("hint"):
                ex.hints[e["hint"]] += 1
    return ClassStats(
        len(outcomes),
        graded,
        [o for o in outcomes if not o.graded],
        list(exercises.values()),
        sum(points.values()),
        [o.report["score"] for o in graded],
        seed,
        grader,
        layout,
        wall,
    )


def describe_totals(totals: list[int]) -> str:
    if not totals:
        return "no submission was graded"
    return (
        f"mean {statistics.fmean(totals):.1f}, median {statistics.median(totals):g}, "
        f"min {min(totals)}, max {max(totals)}"
    )


def markdown(stats: ClassStats) -> str:
    """``summary.md``: the class at a glance, in GitHub-flavoured Markdown."""
    out = [
        "# nngrade batch: class summary",
        "",
        f"{stats.students} submissions ({md_cell(stats.layout)}): {len(stats.graded)} graded, "
        f"{len(stats.failing)} failed to grade. Seed `{stats.seed}`, grader {stats.grader}, "
        f"{stats.wall:.1f} s wall.",
        "",
        f"Scores out of {stats.max_score}: {describe_totals(stats.totals)}.",
        "",
        ("" if not stats.unsandboxed else "> **Warning:** ")
        + "Isolation of the student code: "
        + (", ".join(f"{md_cell(label)} ({n})" for label, n in stats.isolation) or "nothing graded")
        + ".",
        "",
        "## Exercises",
        "",
        "| exercise | points | pass rate | mean points | " + " | ".join(STATUS_COLUMNS) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(STATUS_COLUMNS),
    ]
    for e in stats.exercises:
        out.append(
            f"| `{e.name}` | {e.points} | {100 * e.pass_rate:.0f}% | {e.mean_points:.2f} | "
            + " | ".join(str(e.statuses[s]) for s in STATUS_COLUMNS)
            + " |"
        )
    out += ["", "## Most frequent mistakes", ""]
    if stats.mistakes:
        out += ["| exercise | mistake (hint) | students |", "|---|---|---:|"]
        out += [f"| `{n}` | {md_cell(h)} | {c} |" for n, h, c in stats.mistakes]
    else:
        out.append("No recognised mistake.")
    out += ["", "## Score distribution", "", "| score | students |", "|---|---:|"]
    out += [f"| {label} | {n} |" for label, n in stats.histogram()]
    out += ["", "## Slowest submissions", "", "| student | grading time (s) | score |", "|---|---:|---:|"]
    out += [
        f"| {md_cell(o.student)} | {o.report['duration']:.2f} | {o.report['score']}/{o.report['max_score']} |"
        for o in stats.slowest
    ]
    out += ["", "## Submissions that failed to grade", ""]
    if stats.failing:
        out += ["| student | submission | why |", "|---|---|---|"]
        out += [f"| {md_cell(o.student)} | {md_cell(o.origin)} | {md_cell(o.problem or '')} |" for o in stats.failing]
    else:
        out.append("None.")
    return "\n".join(out) + "\n"
