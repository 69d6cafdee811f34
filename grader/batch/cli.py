"""``nngrade batch SUBMISSIONS --out DIR``: grade a class (options in :func:`build_parser`).

Exit status: 0 every submission was graded; 1 some failed to grade (listed in
``DIR/summary.md``); 2 the batch could not run (bad arguments, unreadable
SUBMISSIONS, unwritable DIR, no sandbox with ``--sandbox require``, Ctrl-C).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from grader.batch import engine as engines
from grader.batch.cache import Cache, grader_fingerprint, task_key
from grader.batch.html import page
from grader.batch.outputs import SUFFIXES, Outcome, grades_csv, report_paths, write_reports
from grader.batch.sources import SourceError, Submission, discover
from grader.batch.summary import class_stats, markdown
from grader.batch.validate import BadAnswer, FatalAnswer, check_answer
from grader.cli import MIN_MEMORY_MB, UsageError, _Parser, _positive, _seed, add_limit_options, load_catalogue, select
from grader.files import write_atomic
from grader.runner import Limits, default_jobs
from grader.sandbox import MODES as SANDBOX_MODES

#: Seconds a submission's grading may take beyond its exercises' time limits (worker start-up).
DEADLINE_MARGIN = 60.0
#: ... and beyond each exercise's limit (a worker server replaced after a timeout).
EXERCISE_MARGIN = 5.0


def _formats(text: str) -> list[str]:
    chosen = list(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in SUFFIXES]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"formats are a comma-separated list of {', '.join(SUFFIXES)}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nngrade batch", description="Grade a class's submissions, in parallel.")
    p.add_argument(
        "submissions",
        metavar="SUBMISSIONS",
        help="a folder of student folders, nbgrader's submitted/ (or its course folder), "
        "a Gradescope export (.zip or folder), or a text file listing git clones",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="exercises or modules to grade (default: all)")
    p.add_argument("--out", metavar="DIR", required=True, help="where grades, reports and summary go")
    p.add_argument(
        "--jobs",
        type=_positive(int),
        default=None,
        metavar="N",
        help="submissions graded at once (default: every core this process may use)",
    )
    p.add_argument("--seed", type=_seed, help="seed of everyone's cases (default: DIR's earlier seed, else random)")
    p.add_argument(
        "--seed-per-student", action="store_true", help="derive a different seed for each student from --seed"
    )
    p.add_argument("--dask", metavar="ADDRESS", help="grade on this Dask distributed scheduler")
    p.add_argument(
        "--format",
        type=_formats,
        default=["json"],
        metavar="F[,F...]",
        help=f"each student's report formats: {', '.join(SUFFIXES)} (default: json)",
    )
    p.add_argument(
        "--sandbox", choices=SANDBOX_MODES, default="auto", help="OS sandbox of the student code (default: auto)"
    )
    add_limit_options(p)
    p.add_argument("--assignment", metavar="NAME", help="nbgrader: the assignment to grade")
    p.add_argument("--regrade", action="store_true", help="ignore the cached results in DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    return p


def student_seed(seed: int, student: str, per_student: bool) -> int:
    if not per_student:
        return seed
    return int(hashlib.sha256(f"{seed}:{student}".encode()).hexdigest()[:15], 16) % 2**31


def _progress(total: int, done: int, enabled: bool):
    """(advance(description), context): a rich progress bar with an ETA on stderr, or nothing."""
    import contextlib

    if not enabled:
        return (lambda description: None), contextlib.nullcontext()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("grading the class"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=total, completed=done)
    return (lambda description: progress.update(task, advance=1, description=description)), progress


class Batch:
    """One run: the submissions, the cache, the outcomes so far."""

    def __init__(self, args, chosen: dict, subs: list[Submission], layout: str, seed: int) -> None:
        self.args, self.layout, self.seed = args, layout, seed
        self.out = Path(args.out)
        self.points = {n: ex.points for n, ex in chosen.items()}
        self.limits = Limits(args.timeout, args.memory)
        self.cache = Cache(self.out)
        self.outcomes: dict[int, Outcome] = {}
        self.pending: list[tuple[int, Submission, str, int]] = []  # (id, submission, key, seed)
        self.by_key: dict[str, int] = {}  # cache key -> the submission graded for it
        self.copies: dict[int, list[int]] = {}  # graded submission -> all with its key (itself first)
        self.subs = subs
        self.started: dict[int, float] = {}
        self.deadline = DEADLINE_MARGIN + len(chosen) * (args.timeout + EXERCISE_MARGIN)

    def plan(self) -> None:
        """Outcomes of the cached and the unreadable submissions; the rest is pending."""
        for i, sub in enumerate(self.subs):
            seed = student_seed(self.seed, sub.student, self.args.seed_per_student)
            if sub.problem is not None:
                self.finish(i, Outcome(sub.student, sub.origin, None, sub.problem, 0.0))
                continue
            key = task_key(sub.digest(), list(self.points), seed, self.limits.as_dict(), self.args.sandbox)
            hit = None if self.args.regrade else self.cache.get(key)
            if hit is not None:
                try:
                    report = check_answer(json.dumps({"id": i, "report": hit["report"]}), i, self.points, seed)
                except BadAnswer:
                    hit = None
            if hit is not None:
                report["submission"] = sub.origin
                self.outcomes[i] = Outcome(sub.student, sub.origin, report, None, hit["wall"], cached=True)
            else:
                first = self.by_key.setdefault(key, i)
                if first == i:
                    self.pending.append((i, sub, key, seed))
                self.copies.setdefault(first, []).append(i)  # identical files: graded once
        self.pending_by_id = {p[0]: p for p in self.pending}

    def request(self, i: int, sub: Submission, seed: int, inner_jobs: int) -> str:
        import base64

        files = {n: None if c is None else base64.b64encode(c).decode() for n, c in sub.files.items()}
        req = {
            "id": i,
            "student": sub.student,
            "kind": sub.kind,
            "files": files,
            "exercises": list(self.points),
            "seed": seed,
            "limits": self.limits.as_dict(),
            "jobs": inner_jobs,
            "sandbox": self.args.sandbox,
        }
        return json.dumps(req)

    def tasks(self, inner_jobs: int):
        for i, sub, _, seed in self.pending:
            self.started[i] = time.monotonic()
            yield engines.Task(i, self.request(i, sub, seed, inner_jobs), self.deadline)

    def answered(self, i: int, text: str | None, problem: str | None) -> list[Outcome]:
        """Validate an answer, cache and write it; the outcomes of the students it grades."""
        _, sub, key, seed = self.pending_by_id[i]
        wall = time.monotonic() - self.started.get(i, time.monotonic())
        report = None
        if problem is None:
            try:
                report = check_answer(text, i, self.points, seed)
            except FatalAnswer:
                raise
            except BadAnswer as exc:
                problem = str(exc)
        if report is not None:
            self.cache.put(key, report, None, wall)
        outcomes = []
        for j in self.copies[i]:
            other = self.subs[j]
            mine = None if report is None else {**report, "submission": other.origin}
            outcomes.append(self.finish(j, Outcome(other.student, other.origin, mine, problem, wall)))
        return outcomes

    def finish(self, i: int, outcome: Outcome) -> Outcome:
        self.outcomes[i] = outcome
        if outcome.graded:
            write_reports(self.out, outcome, self.args.format)
        else:  # no stale report of an earlier run next to a failure
            for path in report_paths(self.out, outcome.student, list(SUFFIXES)).values():
                path.unlink(missing_ok=True)
        return outcome

    def write_class(self, wall: float) -> None:
        outcomes = [self.outcomes[i] for i in sorted(self.outcomes)]
        for o in outcomes:
            if o.cached:
                write_reports(self.out, o, self.args.format)
        stats = class_stats(
            outcomes, self.points, seed=self.seed, grader=grader_fingerprint(), layout=self.layout, wall=wall
        )
        write_atomic(self.out / "grades.csv", grades_csv(outcomes, list(self.points)))
        write_atomic(self.out / "summary.md", markdown(stats))
        write_atomic(self.out / "summary.html", page(stats))


def _prepare(argv):
    args = build_parser().parse_args(argv)
    if args.memory < MIN_MEMORY_MB:
        raise UsageError(f"--memory must be at least {MIN_MEMORY_MB} MB (NumPy needs room to import)")
    try:
        catalogue = load_catalogue()
    except Exception as exc:
        raise UsageError(f"the exercise catalogue could not be loaded ({type(exc).__name__}: {exc})") from None
    chosen = select(catalogue, args.names)
    modules = tuple(dict.fromkeys(ex.module for ex in catalogue.values()))
    try:
        layout, subs = discover(Path(args.submissions), modules, args.assignment)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    # the output folder inside a folder of student folders is not a student
    subs = [s for s in subs if not Path(s.origin).resolve().is_relative_to(out.resolve())]
    if not subs:
        raise UsageError(f"no submissions found in {args.submissions!r} besides --out")
    manifest = out / "batch.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        earlier = json.loads(manifest.read_text()) if manifest.is_file() else {}
        seed = args.seed if args.seed is not None else earlier.get("seed")
        if not isinstance(seed, int) or not 0 <= seed < 2**63:
            seed = random.SystemRandom().randrange(2**31)
        write_atomic(manifest, json.dumps({"seed": seed, "submissions": str(args.submissions)}, indent=2))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use --out {args.out!r}: {getattr(exc, 'strerror', None) or exc}") from None
    return Batch(args, chosen, subs, layout, seed)


def run(batch: Batch) -> int:
    """Grade what is not cached, write everything; the exit status."""
    args, start = batch.args, time.monotonic()
    batch.plan()
    cached = sum(o.cached for o in batch.outcomes.values())
    jobs = args.jobs or default_jobs()
    engine = engines.DaskEngine(args.dask) if args.dask else engines.LocalEngine(jobs)
    inner = 1 if args.dask else max(1, jobs // max(1, len(batch.pending)))
    advance, context = _progress(len(batch.subs), len(batch.outcomes), not args.no_progress and sys.stderr.isatty())

    def on_answer(i, text, problem):
        for o in batch.answered(i, text, problem):
            advance(
                f"{o.student}: " + (f"{o.report['score']}/{o.report['max_score']}" if o.graded else "failed to grade")
            )

    with context:
        if batch.pending:
            engine.run(batch.tasks(inner), on_answer)
    batch.write_class(time.monotonic() - start)
    failing = [o for o in batch.outcomes.values() if not o.graded]
    dupes = sum(len(copies) - 1 for copies in batch.copies.values())
    print(
        f"nngrade batch: {len(batch.subs)} submissions, {len(batch.subs) - len(failing)} graded "
        f"({cached} from the cache{f', {dupes} identical to another' if dupes else ''}), "
        f"{len(failing)} failed to grade; seed {batch.seed}; see {Path(args.out) / 'summary.md'}"
    )
    return 1 if failing else 0


def main(argv: Sequence[str] | None = None) -> int:
    batch = None
    try:
        batch = _prepare(argv)
        return run(batch)
    except KeyboardInterrupt:
        done = len(batch.outcomes) if batch else 0
        total = len(batch.subs) if batch else 0
        print(
            f"nngrade batch: error: interrupted; {done} of {total} results are saved in "
            f"{batch.args.out if batch else 'DIR'} (rerun the same command to grade the rest)",
            file=sys.stderr,
        )
    except (UsageError, FatalAnswer) as exc:
        print(f"nngrade batch: error: {exc}", file=sys.stderr)
    except OSError as exc:  # a Dask scheduler that cannot be reached, a full or unwritable DIR
        print(f"nngrade batch: error: {exc.strerror or exc}", file=sys.stderr)
    return 2
