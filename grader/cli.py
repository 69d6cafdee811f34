"""``nngrade``: the command line (options documented in the README, "Command line")."""

from __future__ import annotations

import argparse
import difflib
import io
import os
import random
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.dependencies import CREDIT_POLICIES, DEFAULT_CREDIT
from grader.files import write_atomic
from grader.reports import FORMATS
from grader.results import ExitCode, Result
from grader.runner import Limits, grade
from grader.sandbox import MODES, SandboxUnavailable, SubmissionRefused
from grader.spec import Exercise

MIN_MEMORY_MB = 256


class UsageError(Exception):
    """Grading cannot start: a one-line message, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump, exit 2
        raise UsageError(message)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError("must be between 0 and 2**63 - 1")
    return value


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``--timeout`` and ``--memory``: the per-exercise limits, the same for nngrade and nngrade batch."""
    p.add_argument(
        "--timeout",
        type=_positive(float),
        default=Limits.timeout,
        metavar="SECONDS",
        help=f"wall-clock limit per exercise (default: {Limits.timeout:g})",
    )
    p.add_argument(
        "--memory",
        type=_positive(int),
        default=Limits.memory_mb,
        metavar="MB",
        help=f"address-space limit per exercise worker (default: {Limits.memory_mb})",
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nngrade", description="Grade a submission of the nnfund NumPy exercises.")
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="exercises (or whole modules, e.g. conv) to grade; default: all"
    )
    p.add_argument(
        "--submission",
        metavar="DIR",
        help="folder with the student's modules, or their notebooks (.ipynb, e.g. "
        "nbgrader's submitted/<student>/<assignment>/) (default: ./exercises; in a student kit, "
        "only the kit's modules)",
    )
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, help="seed of the randomized cases (default: random, reported)")
    seeds.add_argument(
        "--seed-env",
        metavar="VAR",
        help="take the seed from the environment variable VAR and keep it secret: no report shows it "
        "(VAR unset or empty: a random seed, reported)",
    )
    p.add_argument("--list", action="store_true", help="list the exercises with their points and exit")
    p.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    add_limit_options(p)
    p.add_argument(
        "--jobs",
        type=_positive(int),
        default=None,
        metavar="N",
        help="exercises graded in parallel (default: the CPUs available)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    p.add_argument(
        "--credit",
        choices=sorted(CREDIT_POLICIES),
        default=DEFAULT_CREDIT,
        help="what an exercise that is right once the functions it calls are fixed earns: "
        "independent (its points; the default) or strict (nothing)",
    )
    p.add_argument(
        "--sandbox",
        choices=MODES,
        default="auto",
        help="isolate student code in an OS sandbox: auto (the strongest available, else "
        "none, with a warning), require (refuse to grade without one), off",
    )
    return p


def chosen_seed(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[int, bool]:
    """(seed, secret): ``--seed``, else the secret one of ``--seed-env``'s variable, else a
    random one. A bad secret is a usage error that does not repeat it."""
    text = environ.get(args.seed_env, "").strip() if args.seed_env else ""
    if text:
        try:
            return _seed(text), True
        except argparse.ArgumentTypeError:
            raise UsageError(
                f"the environment variable {args.seed_env} does not hold a seed (an integer from 0 to 2**63 - 1)"
            ) from None
    return (args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)), False


def load_catalogue() -> Mapping[str, Exercise]:
    from grader.catalogue import EXERCISES

    return EXERCISES


def select(catalogue: Mapping[str, Exercise], names: Sequence[str]) -> dict[str, Exercise]:
    """The named exercises (a module name stands for all of its exercises), in catalogue order."""
    if not names:
        return dict(catalogue)
    modules = {ex.module for ex in catalogue.values()}
    wanted: set[str] = set()
    for name in names:
        if name in catalogue:
            wanted.add(name)
        elif name in modules:
            wanted |= {n for n, ex in catalogue.items() if ex.module == name}
        else:
            close = suggestions(name, [*dict.fromkeys(ex.module for ex in catalogue.values()), *catalogue])
            hint = f"; did you mean {_or(close)}?" if close else "; see nngrade --list"
            raise UsageError(f"unknown exercise {name!r}{hint}")
    return {n: ex for n, ex in catalogue.items() if n in wanted}


#: At most this many names are suggested for an unknown one.
MAX_SUGGESTIONS = 6


def suggestions(name: str, known: Sequence[str]) -> list[str]:
    """What an unknown name probably meant, in ``known``'s order: the names it
    begins (``conv2d`` -> conv2d_forward, conv2d_backward), else the names that
    contain it (``pool``), else the close spellings (``conv2d_foward``)."""
    needle = name.lower()
    for matches in ([k for k in known if k.startswith(needle)], [k for k in known if needle in k]):
        if matches:
            return matches[:MAX_SUGGESTIONS]
    return difflib.get_close_matches(name, list(known), n=3)


def _or(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def list_exercises(catalogue: Mapping[str, Exercise], stream) -> None:
    width = max((len(n) for n in catalogue), default=0)
    module = None
    for name, ex in catalogue.items():
        if ex.module != module:
            module = ex.module
            stream.write(f"{module}.py\n")
        stream.write(f"  {name:<{width}}  {ex.points:>2} pt{'s' if ex.points != 1 else ' '}  {ex.description}\n")
    stream.write(
        f"total: {sum(ex.points for ex in catalogue.values())} points in {len(catalogue)} exercises; "
        "an exercise earns its points only when every one of its cases passes\n"
    )


def _progress(total: int, enabled: bool):
    """(callback, context) showing a rich progress bar on stderr, or doing nothing."""
    import contextlib

    if not enabled:
        return (lambda result: None), contextlib.nullcontext()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=total)

    def advance(result: Result) -> None:
        progress.update(task, advance=1, description=f"{result.name}: {result.status}")

    return advance, progress


def _quiet_on_broken_pipe(write, *args) -> None:
    """Write; if the reader went away (``nngrade --list | head``), stop quietly."""
    try:
        write(*args)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet too


def check_writable(path: str) -> None:
    """A usage error now, rather than after grading, when ``path`` cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path!r}: it is a folder")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path!r}: its folder does not exist or is not writable")


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` all at once: a temporary file beside it, flushed, renamed over it.

    Only a regular file (or none) is replaced; a device or FIFO (``/dev/stdout``) is written to.
    """
    try:
        target = os.stat(path)  # through any link
    except FileNotFoundError:
        target = None
    if target is not None and not stat.S_ISREG(target.st_mode):  # a device, a FIFO: written in place
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    write_atomic(Path(os.path.realpath(path)), text)  # through a link, to the file it names


def notebook_modules(folder: Path, catalogue: Mapping[str, Exercise]):
    """None when ``folder`` holds modules; else a temporary folder of the modules its notebooks make."""
    from grader.notebooks.extract import ExtractError, notebook_folder, write_modules

    try:
        notebooks = notebook_folder(folder, {ex.module for ex in catalogue.values()})
        if notebooks is None:
            return None
        modules = tempfile.TemporaryDirectory(prefix="nngrade-notebooks-")
        try:
            write_modules(notebooks, Path(modules.name), catalogue)
        except BaseException:
            modules.cleanup()
            raise
        return modules
    except ExtractError as exc:
        raise UsageError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run nngrade; returns the exit status (see :class:`ExitCode`)."""
    from grader import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["batch"]:  # grading a class: grader/batch/cli.py
        from grader.batch.cli import main as batch_main

        return batch_main(argv[1:])
    modules = None
    try:
        args = build_parser().parse_args(argv)
        if args.memory < MIN_MEMORY_MB:
            raise UsageError(f"--memory must be at least {MIN_MEMORY_MB} MB (NumPy needs room to import)")
        seed, seed_secret = chosen_seed(args, os.environ)
        try:
            catalogue = load_catalogue()
        except Exception as exc:
            raise UsageError(f"the exercise catalogue could not be loaded ({type(exc).__name__}: {exc})") from None
        from grader.kitinfo import kit_modules

        submission = Path(args.submission or "exercises")
        # In a student kit, "everything" is the kit's modules, not the whole catalogue; but
        # only for the student's own check (no --submission): nnfund-kit.json sits in the
        # student's repository, and an edited one must not shrink what an instructor grades.
        in_kit = [] if args.submission else kit_modules(submission, catalogue)
        if args.list:
            _quiet_on_broken_pipe(list_exercises, select(catalogue, in_kit), sys.stdout)
            return ExitCode.ALL_PASSED
        chosen = select(catalogue, args.names or in_kit)
        if not submission.is_dir():
            raise UsageError(f"no submission folder {str(submission)!r} (use --submission DIR)")
        if not os.access(submission, os.R_OK | os.X_OK):
            raise UsageError(f"the submission folder {str(submission)!r} is not readable")
        if args.output:
            check_writable(args.output)
        modules = notebook_modules(submission, catalogue)
    except UsageError as exc:
        print(f"nngrade: error: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN

    from grader.kitinfo import version_warning

    stale = version_warning(submission, __version__)
    if stale:
        print(f"nngrade: warning: {stale}", file=sys.stderr)
    wanted = dict.fromkeys(ex.module for ex in chosen.values())
    if modules is None and wanted and not any((submission / f"{m}.py").is_file() for m in wanted):
        inner = next((d for d in ("exercises", "submission") if (submission / d).is_dir()), None)
        hint = f"; did you mean --submission {submission / inner}?" if inner else ""
        print(
            f"nngrade: warning: {submission} holds no {' or '.join(f'{m}.py' for m in wanted)}{hint}", file=sys.stderr
        )
    show = not args.no_progress and sys.stderr.isatty()
    advance, context = _progress(len(chosen), show)
    try:
        with context:
            report = grade(
                Path(modules.name) if modules else submission,
                chosen,
                seed=seed,
                limits=Limits(args.timeout, args.memory),
                jobs=args.jobs,
                on_result=advance,
                version=__version__,
                sandbox=args.sandbox,
                credit=args.credit,
                secret_seed=seed_secret,
            )
        report.submission = str(submission.resolve())
        report.seed_secret = seed_secret
        if not report.sandboxed and args.sandbox == "auto":
            print(f"nngrade: warning: {report.isolation_text}", file=sys.stderr)
        # Every worker has ended: only now is the report written, and only by this process.
        if args.output:
            text = io.StringIO()
            FORMATS[args.format]().write(report, text, False)
            write_atomically(args.output, text.getvalue())
        else:
            _quiet_on_broken_pipe(FORMATS[args.format]().write, report, sys.stdout, sys.stdout.isatty())
    except (SandboxUnavailable, SubmissionRefused) as exc:
        print(f"nngrade: error: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN
    except OSError as exc:
        print(f"nngrade: error: cannot write {args.output!r}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN
    except KeyboardInterrupt:
        print("nngrade: error: interrupted", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN
    finally:
        if modules is not None:
            modules.cleanup()
    if any(r.internal for r in report.results):
        print("nngrade: error: the grader could not compute some references (see the report)", file=sys.stderr)
        return ExitCode.COULD_NOT_RUN
    return report.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
