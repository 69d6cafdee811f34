"""Grading a submission: cases, references, workers in their sandbox, verdicts.

The grader process builds each exercise's cases (seeded), computes the
expected values with the references in ``solutions`` (trusted, in-process),
stages a private copy of the submission (``grader/sandbox.py``), sends only
the case inputs to a worker server (``grader/pool.py``; the worker's code is
``grader/worker/``) and judges the data that comes back
(``grader/verdicts.py``). References, expected values and comparisons never
leave this process; nothing from a student is unpickled.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import os
import shutil
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.dependencies import DEFAULT_CREDIT, AskBounds, builds_on, reference_answer, settle
from grader.forbidden import StaticReport, check_source
from grader.pool import ServerFailed, WorkerPool
from grader.results import Report, Result, Status
from grader.sandbox import MAX_MODULE_BYTES, Launcher, launcher, public, stage, unavailable
from grader.spec import Case, Exercise
from grader.verdicts import (
    REFERENCE_LOCK,
    UNREADABLE,
    _fail,
    judge,
    judge_gradcheck,
    judge_worker_header,
    read_document,
)
from grader.worker import wire
from grader.worker.guard import FORBIDDEN_RULE
from grader.worker.protocol import run_protocol

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Package dirs a worker without a sandbox may not open files in (the guard's courtesy check).
PROTECTED_DIRS = tuple(str(PROJECT_ROOT / d) for d in ("solutions", "csrc", "grader"))


@dataclass(frozen=True)
class Limits:
    """Per-exercise limits: wall clock (s) and address space (MB) of a worker."""

    timeout: float = 10.0
    memory_mb: int = 1024

    def as_dict(self) -> dict:
        return {"timeout": self.timeout, "memory_mb": self.memory_mb}


def case_rng(seed: int, name: str) -> np.random.Generator:
    """An exercise's generator: the same cases whether graded alone or with others."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def seed_of_files(secret: int, folder: Path) -> int:
    """The seed a secret seed grades ``folder``'s modules with: a keyed hash of their bytes.

    A fixed secret seed can be learned without being seen: a submission may put the
    inputs it receives in its error messages, and the next one ship the references'
    outputs for them as a table. Salted by the files, any change to them (such a
    table included) draws other cases, while the same files with the same secret
    are graded the same way (a regrade reproduces). Only the grader knows the secret;
    the workers see the derived seed at most, which says nothing of the next files'."""
    digest = hashlib.blake2b(key=secret.to_bytes(8, "big"), digest_size=8)
    for path in sorted(folder.glob("*.py")):
        data = path.read_bytes()
        digest.update(b"%d:%s:%d:" % (len(path.name), path.name.encode(), len(data)) + data)
    return int.from_bytes(digest.digest(), "big") >> 1  # a seed in 0 .. 2**63 - 1


# ----------------------------------------------------------------- references


class ReferenceError_(Exception):
    """The reference could not produce a case's value: a grader problem."""


#: References and hints hold REFERENCE_LOCK (grader/verdicts.py) and run one at a time,
#: although the threads of :func:`grade` share them and the kernels are proved
#: thread-safe (tests/csrc/test_concurrency.py): a wrong reference value was once seen
#: under concurrency, never reproduced, and the lock costs nothing measurable.


def reference_values(ex: Exercise, cases: list[Case], package: str = "solutions") -> list:
    """Expected values of ``cases``, by the exercise's protocol on the reference."""
    try:
        mod = importlib.import_module(f"{package}.{ex.module}")
        func = getattr(mod, ex.name)
        forward = getattr(mod, ex.forward) if ex.forward else None
    except (ImportError, AttributeError) as exc:
        raise ReferenceError_(f"the reference {package}.{ex.module}.{ex.name} is unavailable ({exc})") from None
    with REFERENCE_LOCK, np.errstate(all="ignore"):  # a reference's overflow is no news to students
        return _reference_values(ex, cases, package, func, forward)


def _reference_values(ex, cases, package, func, forward) -> list:
    out = []
    for case in cases:
        args, kwargs, upstream = copy.deepcopy((case.args, dict(case.kwargs), case.upstream))
        try:
            out.append(wire.plain(run_protocol(ex.kind, func, forward, args, kwargs, upstream)))
        except Exception as exc:
            raise ReferenceError_(f"the reference failed on case {case.label!r}: {type(exc).__name__}: {exc}") from None
    return out


def _size(case: Case) -> int:
    return sum(np.size(a) for a in (*case.args, *case.upstream) if isinstance(a, np.ndarray))


def gradcheck_order(cases: list[Case]) -> list[int]:
    """Case indices in the order a numerical gradient check prefers them: float64
    cases first (central differences need the precision), then the smallest."""

    def key(i: int):
        arrays = [a for a in (*cases[i].args, *cases[i].upstream) if isinstance(a, np.ndarray)]
        return (any(a.dtype.kind == "f" and a.dtype != np.float64 for a in arrays), _size(cases[i]))

    return sorted(range(len(cases)), key=key)


def gradcheck_request(ex: Exercise, cases: list[Case], seed: int) -> dict | None:
    """Which case the numerical gradient check uses (the smallest float64 one), and how."""
    if ex.kind != "backward" or not ex.wrt or not cases:
        return None
    return {"case": gradcheck_order(cases)[0], "wrt": list(ex.wrt), "names": list(ex.outputs), "seed": seed}


# ---------------------------------------------------------------------- grading


class Grader:
    """Grades exercises of one staged submission; see :func:`grade`."""

    def __init__(
        self,
        submission: Path,
        staging: Path,
        exercises: Mapping[str, Exercise],
        seed: int,
        limits: Limits,
        reference_package: str = "solutions",
        catalogue: Mapping[str, Exercise] | None = None,
    ) -> None:
        self.submission = Path(submission).resolve()
        self.staged = staging / "submission"
        self.exercises = exercises
        #: Every graded function (the worker observes calls to all of them).
        self.catalogue = {**(catalogue or {}), **exercises}
        self.graded: dict[str, list[str]] = {}
        for name, ex in self.catalogue.items():
            self.graded.setdefault(ex.module, []).append(name)
        self.seed = seed
        self.limits = limits
        self.reference_package = reference_package
        self.modules = tuple(dict.fromkeys(ex.module for ex in exercises.values()))
        self.sandboxed = False
        self._static: dict[str, StaticReport | None] = {}
        self._static_lock = threading.Lock()

    def static_report(self, module: str) -> StaticReport | None:
        """The static check of ``module``'s file (None when there is no file)."""
        with self._static_lock:
            if module not in self._static:
                self._static[module] = self._check(module)
            return self._static[module]

    def _check(self, module: str) -> StaticReport | None:
        name = f"{module}.py"
        original = self.submission / name
        if not os.path.lexists(original):
            return None
        if os.path.dirname(os.path.realpath(original)) != str(self.submission):
            return StaticReport(module_wide=[f"{name} links to a file outside the submission folder"])
        staged = self.staged / name
        if not staged.is_file():
            return StaticReport(
                syntax_error=f"{name} cannot be read (not a regular file of its own, "
                f"or larger than {MAX_MODULE_BYTES >> 20} MB)"
            )
        try:
            source = staged.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            return StaticReport(syntax_error=f"{name} cannot be read ({exc})")
        names = [e.name for e in self.exercises.values() if e.module == module]
        return check_source(source, name, names, self.modules)

    def grade_one(self, ex: Exercise, pool: WorkerPool, worker_dir: str) -> Result:
        start = time.perf_counter()
        try:
            result = self._grade_one(ex, pool, worker_dir)
        except Exception as exc:
            result = _fail(
                Result(ex.name, ex.module, 0, ex.points, Status.ERROR),
                Status.ERROR,
                f"Grader problem, not yours: {type(exc).__name__}: {exc}.",
            )
            result.internal = True
        result.duration = time.perf_counter() - start
        return result

    def _grade_one(self, ex: Exercise, pool: WorkerPool, worker_dir: str) -> Result:
        res = Result(ex.name, ex.module, 0, ex.points, Status.ERROR)
        module_file = f"{ex.module}.py"
        static = self.static_report(ex.module)
        if static is None:
            return _fail(res, Status.NOT_IMPLEMENTED, f"There is no {module_file} in the submission.")
        if static.syntax_error:
            return _fail(res, Status.ERROR, static.syntax_error)
        found = static.violations_for(ex.name, ex.forward)
        if found:
            return _fail(
                res, Status.FORBIDDEN, f"Forbidden in {module_file}: " + "; ".join(found) + ". " + FORBIDDEN_RULE
            )
        cases = ex.cases(case_rng(self.seed, ex.name))
        res.cases_total = len(cases)
        try:
            expected = reference_values(ex, cases, self.reference_package)
        except ReferenceError_ as exc:
            res.internal = True
            return _fail(res, Status.ERROR, f"Grader problem, not yours: {exc}.")
        request = build_request(ex, cases, f"{worker_dir}/{module_file}", self.modules, self.limits, self.seed)
        if self.sandboxed:  # nothing of the host's layout enters a sandbox
            request["protected"] = []
        request["graded"] = self.graded
        header, payload = pool.run(request)
        verdict = judge_worker_header(header, self.limits)
        if verdict is not None:
            return _fail(res, *verdict)
        doc = read_document(payload)
        if doc is None:
            return _fail(
                res, Status.ERROR, f"{ex.name} {UNREADABLE}: its results were malformed, too large or not finite."
            )
        return judge(ex, cases, expected, doc, module_file)

    def regrade(
        self,
        ex: Exercise,
        failing: list[str],
        substitute: frozenset,
        gradcheck: bool,
        pool: WorkerPool,
        worker_dir: str,
    ) -> tuple[bool, str]:
        """Grade ``ex`` once more with correct dependencies (see grader/dependencies.py):
        the calls to ``substitute`` are answered with the reference's values; with
        ``gradcheck``, a backward is judged by a gradient check against the
        student's own forward. (right?, one line saying how it went)."""
        cases = ex.cases(case_rng(self.seed, ex.name))
        module_file = f"{ex.module}.py"
        request = build_request(ex, cases, f"{worker_dir}/{module_file}", self.modules, self.limits, self.seed)
        request.update(graded=self.graded, substitute=sorted(substitute))
        if self.sandboxed:  # nothing of the host's layout enters a sandbox
            request["protected"] = []
        answer = reference_answer(self.catalogue, substitute, ex.name, AskBounds(cases), self.reference_package)
        if gradcheck:
            chosen = sorted(gradcheck_order(cases)[:REGRADE_CASES])
            request.update(
                mode="gradcheck",
                cases=[request["cases"][i] for i in chosen],
                gradcheck={**gradcheck_request(ex, cases, self.seed), "coords": REGRADE_COORDS},
            )
        header, payload = pool.run(request, answer)
        problem = judge_worker_header(header, self.limits)
        doc = read_document(payload) if problem is None else None
        answered = [d for d in failing if d in substitute] + sorted(substitute.difference(failing))
        again = f"Graded again with correct {_listing(answered)}" if answered else "Graded again"
        # Only fixed phrases from here on: the regrade's child held the reference's answers,
        # so nothing it wrote (messages, warnings, values) may reach the report.
        if doc is None:
            return False, f"{again}, it did not finish ({problem[0] if problem else Status.ERROR})."
        if gradcheck:
            return judge_gradcheck(doc, ex)
        try:
            expected = reference_values(ex, cases, self.reference_package)
        except ReferenceError_:
            return False, f"{again}, the grader failed."
        result = judge(ex, cases, expected, doc, module_file)
        if result.passed:
            return True, f"{again[0].lower()}{again[1:]}, all {len(cases)} cases pass"
        case = _first(cases, result.failed_case)
        where = f" in case {cases.index(case) + 1} of {len(cases)} ({case.label})" if case else ""
        return False, f"{again}, it still fails ({result.status}{where})."


def _first(cases: list[Case], label: str | None) -> Case | None:
    """The case labelled ``label`` (labels come from the catalogue, never from a worker)."""
    return next((c for c in cases if c.label == label), None)


#: Coordinates per gradient of the regrade's gradient check, and how many cases it uses.
REGRADE_COORDS, REGRADE_CASES = 6, 3


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def build_request(ex: Exercise, cases: list[Case], path: str, siblings, limits: Limits, seed: int) -> dict:
    """What a worker gets: where the code is, the protocol, the case inputs, the limits."""
    return {
        "path": path,
        "module": ex.module,
        "name": ex.name,
        "kind": ex.kind,
        "forward": ex.forward,
        "cases": [
            {
                "args": wire.encode(tuple(c.args)),
                "kwargs": wire.encode(dict(c.kwargs)),
                "upstream": wire.encode(tuple(c.upstream)),
            }
            for c in cases
        ],
        "gradcheck": gradcheck_request(ex, cases, seed),
        "timeout": limits.timeout,
        "memory_mb": limits.memory_mb,
        "protected": list(PROTECTED_DIRS),
        "siblings": list(siblings),
    }


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def start_pool(jobs: int, mode: str, staging: Path, memory_mb: int = Limits.memory_mb) -> tuple[WorkerPool, Launcher]:
    """Worker servers for ``--sandbox mode``: a sandbox that fails to start is, under
    ``auto``, replaced by plain workers whose report says why; under ``require``, an error."""
    launch = launcher(mode, staging)
    try:
        pool = WorkerPool(jobs, launch, memory_mb)
    except ServerFailed as exc:
        if not launch.sandboxed:
            raise
        launch = unavailable(mode, staging, f"bubblewrap failed to start ({str(exc)[:300]})")
        pool = WorkerPool(jobs, launch, memory_mb)
    hello = pool.hello
    launch.isolation.update({k: hello[k] for k in ("seccomp", "no_new_privs", "not_dumpable", "rlimits") if k in hello})
    if launch.sandboxed:
        launch.isolation["cgroup"] = pool.cgroup
    return pool, launch


def grade(
    submission,
    exercises: Mapping[str, Exercise],
    *,
    seed: int,
    limits: Limits = Limits(),
    jobs: int | None = None,
    on_result: Callable[[Result], None] | None = None,
    reference_package: str = "solutions",
    version: str = "",
    sandbox: str = "auto",
    credit: str = DEFAULT_CREDIT,
    catalogue: Mapping[str, Exercise] | None = None,
    secret_seed: bool = False,
) -> Report:
    """Grade ``exercises`` (name -> Exercise, in report order) of ``submission``.

    ``sandbox``: ``auto`` (the strongest isolation available, else plain
    workers and a report that says so), ``require`` (raise
    :class:`grader.sandbox.SandboxUnavailable` without a sandbox) or ``off``.
    ``credit``: what an exercise that is right once its failing dependencies
    are fixed earns (``grader/dependencies.py``); ``catalogue``: every graded
    function (default: the course's), whose calls are observed; ``secret_seed``:
    ``seed`` is the instructor's secret, and the cases are drawn from
    :func:`seed_of_files` of it and the staged modules.
    """
    if catalogue is None:
        from grader.catalogue import EXERCISES as catalogue
    start = time.perf_counter()
    staging = stage(Path(submission))
    if secret_seed:
        seed = seed_of_files(seed, staging / "submission")
    try:
        jobs = max(1, min(jobs or default_jobs(), len(exercises) or 1))
        pool, launch = start_pool(jobs, sandbox, staging, limits.memory_mb)
        grader = Grader(Path(submission), staging, exercises, seed, limits, reference_package, catalogue)
        grader.sandboxed = launch.sandboxed
        results: dict[str, Result] = {}
        executor = ThreadPoolExecutor(max_workers=jobs)
        where = launch.submission_dir()
        try:
            futures = {executor.submit(grader.grade_one, ex, pool, where): name for name, ex in exercises.items()}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_result is not None:
                    on_result(results[futures[future]])
            # The verdicts of the dependencies not asked for, to find the root causes: only
            # those the catalogue declares (the observed calls are the student's to forge, and
            # each extra function graded costs up to a timeout).
            extra = sorted(
                {
                    d
                    for r in results.values()
                    if not r.passed
                    for d in r.depends_on
                    if d not in results and d in builds_on(r.name, grader.catalogue)
                }
            )
            hidden = dict(zip(extra, executor.map(lambda d: grader.grade_one(grader.catalogue[d], pool, where), extra)))
            settle(
                {**results, **hidden},
                grader.catalogue,
                lambda ex, failing, substitute, check: grader.regrade(ex, failing, substitute, check, pool, where),
                credit,
                run=lambda fn, items: list(executor.map(fn, items)),
                reported=results,
            )
        except BaseException:  # Ctrl-C: stop the servers now rather than wait for every exercise
            executor.shutdown(wait=False, cancel_futures=True)
            pool.close(kill=True)
            raise
        executor.shutdown()
        pool.close(kill=True)  # every worker process has ended before the report exists
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Report(
        [results[n] for n in exercises],
        seed,
        str(grader.submission),
        version,
        time.perf_counter() - start,
        limits.as_dict(),
        public(launch.isolation),
        credit,
    )
