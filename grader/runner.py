"""Grading a submission: cases, references, workers, verdicts.

The grader process builds each exercise's cases (seeded), computes the
expected values with the references in ``solutions`` (trusted, in-process),
sends only the case inputs to a worker (``grader/_worker.py``, a fork server
in a fresh interpreter that preloaded NumPy only), and judges the plain data
that comes back (:func:`judge`). References and comparisons never leave this
process; nothing from a student is unpickled.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from grader import _worker
from grader.compare import compare, inputs_modified
from grader.forbidden import StaticReport, check_source
from grader.results import CallRecord, Report, Result, Status
from grader.spec import Case, Exercise

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Package dirs a worker may not open files in (the runtime guard).
PROTECTED_DIRS = tuple(str(PROJECT_ROOT / d) for d in ("solutions", "csrc", "grader"))
WORKER_SCRIPT = str(Path(_worker.__file__).resolve())
#: Extra seconds the grader waits for a worker server beyond the exercise's limit.
SERVER_GRACE = 10.0
GRADCHECK_FLAG = 1e-5
FORBIDDEN_RULE = ("A submission may use NumPy and the math-like standard modules only, "
                  "and may not reach the grader's files, processes or the network.")


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


def plain(value):
    """A reference value in exactly the form a decoded worker value has."""
    return _worker.decode(json.loads(json.dumps(_worker.encode(value))))


# ----------------------------------------------------------------- references


#: References and hints run one at a time, although the worker threads of :func:`grade`
#: share them and the kernels are proved thread-safe (tests/csrc/test_concurrency.py):
#: a wrong reference value was once seen under concurrency, never reproduced, and the
#: lock costs nothing measurable (the whole catalogue grades in about a second).
REFERENCE_LOCK = threading.RLock()


class ReferenceError_(Exception):
    """The reference could not produce a case's value: a grader problem."""


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
            out.append(plain(_worker.run_protocol(ex.kind, func, forward, args, kwargs, upstream)))
        except Exception as exc:  # noqa: BLE001 - reported as a grader problem
            raise ReferenceError_(f"the reference failed on case {case.label!r}: "
                                  f"{type(exc).__name__}: {exc}") from None
    return out


# --------------------------------------------------------------------- verdicts


def _size(case: Case) -> int:
    return sum(np.size(a) for a in (*case.args, *case.upstream) if isinstance(a, np.ndarray))


def gradcheck_request(ex: Exercise, cases: list[Case], seed: int) -> dict | None:
    """Which case the numerical gradient check uses (the smallest float64 one), and how."""
    if ex.kind != "backward" or not ex.wrt or not cases:
        return None
    def key(i: int):  # float64 cases first (central differences need the precision), then size
        arrays = [a for a in (*cases[i].args, *cases[i].upstream) if isinstance(a, np.ndarray)]
        return (any(a.dtype.kind == "f" and a.dtype != np.float64 for a in arrays), _size(cases[i]))

    idx = min(range(len(cases)), key=key)
    return {"case": idx, "wrt": list(ex.wrt), "names": list(ex.outputs), "seed": seed}


def describe_gradcheck(doc) -> str | None:
    """The diagnostic line for a worker's gradient-check document."""
    if not doc:
        return None
    if "error" in doc:
        return f"Gradient check (diagnostic): could not run ({doc['error']})."
    parts, bad = [], False
    for item in doc.get("report", []):
        if "problem" in item:
            parts.append(f"{item['name']} {item['problem']}")
            bad = True
        else:
            err = float(item["max_rel_error"])
            bad |= err > GRADCHECK_FLAG
            parts.append(f"{item['name']} rel. error {err:.1e}")
    if not parts:
        return None
    verdict = ("your backward disagrees with central differences of your forward"
               if bad else "your backward agrees with central differences of your forward")
    return f"Gradient check (diagnostic): {verdict}: " + ", ".join(parts) + "."


def _param_name(params, i: int) -> str:
    return params[i] if params and i < len(params) else f"argument {i + 1}"


def modified_names(case: Case, after, params, upstream_only: bool = False) -> list[str]:
    """Names of the case inputs a call changed, from the post-call copies.

    ``upstream_only``: a backward answers only for its upstream gradients (the
    forward's inputs are the forward's business, graded with the forward).
    """
    before = plain([list(case.args), dict(case.kwargs), list(case.upstream)])
    changed = []
    for path in inputs_modified(before, after):
        if upstream_only and not path.startswith("[2]"):
            continue
        # path looks like "[0][1]..." (args), "[1]['x']" (kwargs) or "[2][0]" (upstream)
        head, _, rest = path[1:].partition("]")
        tail = rest[rest.index("]") + 1:] if rest.startswith("[") else ""
        inner = rest[1:rest.index("]")] if rest.startswith("[") else ""
        if head == "0" and inner.isdigit():
            changed.append(_param_name(params, int(inner)) + tail)
        elif head == "1":
            changed.append(inner.strip("'") + tail)
        elif head == "2":
            changed.append("the upstream gradient" + (f" {int(inner) + 1}" if len(case.upstream) > 1 else ""))
        else:
            changed.append("an input")
    return changed


def _first_hint(ex: Exercise, case: Case, got) -> str | None:
    for hint in ex.hints:
        try:
            with REFERENCE_LOCK, np.errstate(all="ignore"):
                text = hint(case, got)
        except Exception:  # noqa: BLE001 - a hint never breaks grading
            continue
        if text:
            return text
    return None


def _with_tb(message: str, record: dict) -> str:
    tb = record.get("traceback")
    return f"{message}\n{tb}" if tb else message


def _list_of(value, kind) -> bool:
    return type(value) is list and all(isinstance(v, kind) for v in value)


def well_formed(doc) -> bool:
    """Does a worker's result document have the shape :func:`judge` reads?"""
    if type(doc) is not dict or not isinstance(doc.get("load"), dict):
        return False
    if not _list_of(doc.get("cases", []), dict) or not _list_of(doc.get("violations", []), str):
        return False
    if doc.get("params") is not None and not _list_of(doc["params"], str):
        return False
    if not all(isinstance(rec.get("index"), int) and isinstance(rec.get("outcome"), str)
               and isinstance(rec.get("duration", 0.0), (int, float)) for rec in doc.get("cases", [])):
        return False
    gc = doc.get("gradcheck")
    if gc is None:
        return True
    if type(gc) is not dict or not _list_of(gc.get("report", []), dict):
        return False
    return all(isinstance(item.get("name"), str) and (isinstance(item.get("problem"), str) or isinstance(
        item.get("max_rel_error"), (int, float))) for item in gc.get("report", []))


def judge(ex: Exercise, cases: list[Case], expected: list, doc: dict, module_file: str) -> Result:
    """The verdict on a worker's plain result document (see ``_worker.run_exercise``)."""
    res = Result(ex.name, ex.module, 0, ex.points, Status.PASSED, cases_total=len(cases))
    violations = doc.get("violations") or []
    load = doc.get("load") or {}
    if violations:
        return _fail(res, Status.FORBIDDEN, "Forbidden: " + "; ".join(dict.fromkeys(map(str, violations)))
                     + ". " + FORBIDDEN_RULE)
    outcome = load.get("outcome")
    if outcome == "missing":
        return _fail(res, Status.NOT_IMPLEMENTED, f"{module_file} {load.get('message')}.")
    if outcome != "ok":
        return _fail(res, Status.ERROR, _with_tb(f"Importing {module_file} {load.get('message')}.", load))

    params = doc.get("params")
    gradcheck = describe_gradcheck(doc.get("gradcheck"))
    res.gradient_check = doc.get("gradcheck")
    records = doc.get("cases") or []
    total = len(cases)
    for i, (case, exp, rec) in enumerate(zip(cases, expected, records)):
        where = f"case {i + 1} of {total} ({case.label})"
        if rec.get("index") != i:
            return _fail(res, Status.ERROR, "The worker's results are out of order; "
                         "did the code tamper with the grader's worker?")
        duration = float(rec.get("duration", 0.0))
        kind = rec.get("outcome")
        if kind != "ok":
            status, message = _call_problem(ex, kind, str(rec.get("message", "")), rec, where)
            res.calls.append(CallRecord(case.label, kind, duration, message.splitlines()[0]))
            res.failed_case = case.label
            return _fail(res, status, message, gradcheck)
        try:
            got = _worker.decode(rec.get("value"))
        except _worker.DecodeError as exc:
            res.calls.append(CallRecord(case.label, "failed", duration, str(exc)))
            res.failed_case = case.label
            return _fail(res, Status.FAILED, f"Returned data the grader cannot read ({exc}), in {where}.")
        rtol = ex.rtol if case.rtol is None else case.rtol
        atol = ex.atol if case.atol is None else case.atol
        mismatch = compare(exp, got, rtol, atol, ex.outputs)
        try:
            changed = modified_names(case, _worker.decode(rec.get("inputs_after")), params,
                                     upstream_only=ex.kind == "backward")
        except _worker.DecodeError:
            changed = ["an input"]
        if mismatch is None and not changed:
            res.cases_passed += 1
            res.calls.append(CallRecord(case.label, "passed", duration))
            continue
        lines = []
        if mismatch is not None:
            lines.append(f"Wrong output in {where}: {mismatch.describe()}.")
            res.hint = _first_hint(ex, case, got)
        if changed:
            lines.append(f"You modified the input {', '.join(changed)} in place"
                         + ("; " if mismatch else f" in {where}; ")
                         + "copy it before changing it, a function must not modify its inputs.")
        if res.hint:
            lines.append(f"Hint: {res.hint}")
        res.calls.append(CallRecord(case.label, "failed", duration, lines[0]))
        res.failed_case = case.label
        return _fail(res, Status.FAILED, "\n".join(lines), gradcheck)
    if len(records) < total:  # only when the worker was tampered with
        return _fail(res, Status.ERROR, "The worker returned fewer results than cases; "
                     "did the code tamper with the grader's worker?")
    res.score = ex.points
    res.message = f"All {total} cases passed." + (f"\n{gradcheck}" if gradcheck else "")
    return res


#: How a call that did not return normally is graded: outcome -> (status, message template).
CALL_PROBLEMS: Mapping[str, tuple[Status, str]] = {
    "not_implemented": (Status.NOT_IMPLEMENTED, "Not implemented yet: {name} {msg}."),
    "raised": (Status.ERROR, "{name} {msg} in {where}:"),
    "memory": (Status.ERROR, "{name} {msg} in {where}."),
    "bad_return": (Status.FAILED, "{name} {msg} in {where}."),
    "forward_not_implemented": (Status.NOT_IMPLEMENTED,
                                "{name} needs your {forward} first: {forward} {msg}."),
    "forward_raised": (Status.ERROR, "{name} could not run: your {forward} {msg} in {where}:"),
    "forward_bad_return": (Status.FAILED, "{name} could not run: your {forward} {msg} in {where}."),
}


def _call_problem(ex: Exercise, kind: str, msg: str, rec: dict, where: str) -> tuple[Status, str]:
    status, template = CALL_PROBLEMS.get(kind, (Status.ERROR, "{name}: {msg} in {where}."))
    text = template.format(name=ex.name, forward=ex.forward, msg=msg, where=where)
    if text.endswith(":"):
        text = _with_tb(text, rec) if rec.get("traceback") else text[:-1] + "."
    return status, text


#: Control characters (all but newline and tab) a student's text may carry into a report.
_CONTROL = {c: "?" for c in (*range(0, 9), *range(11, 32), 127)}


def clean_text(text: str) -> str:
    """Student-controlled text made safe for terminals and XML: no control characters."""
    return str(text).translate(_CONTROL)


def _fail(res: Result, status: Status, message: str, extra: str | None = None) -> Result:
    res.status = status
    res.score = 0
    res.message = clean_text(message + (f"\n{extra}" if extra else ""))
    for call in res.calls:
        call.error = clean_text(call.error) if call.error is not None else None
    return res


def judge_worker_header(header: dict, limits: Limits) -> tuple[Status, str] | None:
    """A verdict when the worker did not come back with a payload, else None."""
    if header.get("lost"):
        return Status.ERROR, f"The worker stopped responding ({header.get('detail', 'no answer')})."
    if header.get("timed_out"):
        return Status.TIMEOUT, (f"Took longer than the limit of {limits.timeout:g} s "
                                "(an endless loop? set the limit with --timeout).")
    if header.get("too_large"):
        return Status.ERROR, "Returned far too much data."
    sig, code = header.get("signal"), header.get("exit_code")
    if sig is not None:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return Status.ERROR, (f"The worker was killed ({name}); it probably exceeded the memory "
                                  f"limit of {limits.memory_mb} MB.")
        return Status.ERROR, f"The worker died (killed by signal {name}); a crash in native code?"
    if code == 4:
        return Status.ERROR, ("The worker could not send the results back (exit code 4); "
                              "did the code change NumPy or the standard library?")
    if code == 3:
        return Status.ERROR, f"Exceeded the memory limit of {limits.memory_mb} MB."
    if code != 0 or not header.get("nbytes"):
        return Status.ERROR, f"The worker died (exit code {code}); did the code call os._exit()?"
    return None


# ------------------------------------------------------------------------ pool


class WorkerServer:
    """One fork server (a fresh ``python -I _worker.py``) and its result pipe."""

    def __init__(self) -> None:
        rfd, wfd = os.pipe()
        env = dict(os.environ)
        env.update({k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")})
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER_SCRIPT, str(wfd)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(wfd,), env=env, start_new_session=True, cwd="/",
        )
        os.close(wfd)
        self.rfd = rfd
        self.buffer = b""

    def _read(self, n: int | None, deadline: float) -> bytes:
        """``n`` bytes (or, with None, up to and including a newline) before ``deadline``."""
        while True:
            if n is None and b"\n" in self.buffer:
                line, _, self.buffer = self.buffer.partition(b"\n")
                return line
            if n is not None and len(self.buffer) >= n:
                data, self.buffer = self.buffer[:n], self.buffer[n:]
                return data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer in time")
            ready, _, _ = select.select([self.rfd], [], [], remaining)
            if ready:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise EOFError("the worker server exited")
                self.buffer += chunk

    def run(self, request: dict) -> tuple[dict, bytes]:
        deadline = time.monotonic() + float(request["timeout"]) + SERVER_GRACE
        self.proc.stdin.write(json.dumps(request, allow_nan=False).encode() + b"\n")
        self.proc.stdin.flush()
        header = json.loads(self._read(None, deadline))
        payload = self._read(int(header["nbytes"]), deadline)
        return header, payload

    def close(self, kill: bool = False) -> None:
        if kill:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.rfd)


class WorkerPool:
    """``jobs`` fork servers, each serving one exercise at a time; broken ones are replaced."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.all: list[WorkerServer] = []
        self.lock = threading.Lock()
        for _ in range(jobs):
            self._add()

    def _add(self) -> None:
        server = WorkerServer()
        with self.lock:
            self.all.append(server)
        self.idle.put(server)

    def run(self, request: dict) -> tuple[dict, bytes]:
        server = self.idle.get()
        try:
            result = server.run(request)
        except (OSError, ValueError, TimeoutError, EOFError, KeyError) as exc:
            try:
                os.killpg(server.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            server.close()
            self._add()
            return {"lost": True, "detail": str(exc)}, b""
        self.idle.put(server)
        return result

    def close(self, kill: bool = False) -> None:
        for server in self.all:
            try:
                server.close(kill)
            except OSError:
                pass


# ---------------------------------------------------------------------- grading


class Grader:
    """Grades exercises of one submission folder; see :func:`grade`."""

    def __init__(self, submission: Path, exercises: Mapping[str, Exercise], seed: int,
                 limits: Limits, reference_package: str = "solutions") -> None:
        self.submission = Path(submission).resolve()
        self.exercises = exercises
        self.seed = seed
        self.limits = limits
        self.reference_package = reference_package
        self.modules = tuple(dict.fromkeys(ex.module for ex in exercises.values()))
        self._static: dict[str, StaticReport | None] = {}
        self._static_lock = threading.Lock()

    def static_report(self, module: str) -> StaticReport | None:
        """The static check of ``module``'s file (None when there is no file)."""
        with self._static_lock:
            if module not in self._static:
                path = self.submission / f"{module}.py"
                if not path.is_file():
                    self._static[module] = None
                elif path.resolve().parent != self.submission:
                    self._static[module] = StaticReport(module_wide=[
                        f"{path.name} links to a file outside the submission folder"])
                else:
                    try:
                        source = path.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError) as exc:
                        report = StaticReport(syntax_error=f"{path.name} cannot be read ({exc})")
                    else:
                        names = [e.name for e in self.exercises.values() if e.module == module]
                        report = check_source(source, path.name, names, self.modules)
                    self._static[module] = report
            return self._static[module]

    def grade_one(self, ex: Exercise, pool: WorkerPool) -> Result:
        start = time.perf_counter()
        try:
            result = self._grade_one(ex, pool)
        except Exception as exc:  # noqa: BLE001 - a grader bug: one line, never a traceback
            result = _fail(Result(ex.name, ex.module, 0, ex.points, Status.ERROR), Status.ERROR,
                           f"Grader problem, not yours: {type(exc).__name__}: {exc}.")
            result.internal = True
        result.duration = time.perf_counter() - start
        return result

    def _grade_one(self, ex: Exercise, pool: WorkerPool) -> Result:
        res = Result(ex.name, ex.module, 0, ex.points, Status.ERROR)
        module_file = f"{ex.module}.py"
        static = self.static_report(ex.module)
        if static is None:
            return _fail(res, Status.NOT_IMPLEMENTED, f"There is no {module_file} in the submission.")
        if static.syntax_error:
            return _fail(res, Status.ERROR, static.syntax_error)
        found = static.violations_for(ex.name, ex.forward)
        if found:
            return _fail(res, Status.FORBIDDEN, f"Forbidden in {module_file}: " + "; ".join(found)
                         + ". " + FORBIDDEN_RULE)
        cases = ex.cases(case_rng(self.seed, ex.name))
        res.cases_total = len(cases)
        try:
            expected = reference_values(ex, cases, self.reference_package)
        except ReferenceError_ as exc:
            res.internal = True
            return _fail(res, Status.ERROR, f"Grader problem, not yours: {exc}.")
        request = build_request(ex, cases, self.submission / module_file, self.modules, self.limits,
                                self.seed)
        header, payload = pool.run(request)
        verdict = judge_worker_header(header, self.limits)
        if verdict is not None:
            return _fail(res, *verdict)
        try:
            doc = json.loads(payload)
        except (ValueError, RecursionError):
            doc = None
        if not well_formed(doc):
            return _fail(res, Status.ERROR, "The worker sent back unreadable results; "
                         "did the code write to the grader's pipe?")
        return judge(ex, cases, expected, doc, module_file)


def build_request(ex: Exercise, cases: list[Case], path: Path, siblings, limits: Limits, seed: int) -> dict:
    """What a worker gets: where the code is, the protocol, the case inputs, the limits."""
    return {
        "path": str(path), "module": ex.module, "name": ex.name, "kind": ex.kind,
        "forward": ex.forward,
        "cases": [{"args": _worker.encode(tuple(c.args)), "kwargs": _worker.encode(dict(c.kwargs)),
                   "upstream": _worker.encode(tuple(c.upstream))} for c in cases],
        "gradcheck": gradcheck_request(ex, cases, seed),
        "timeout": limits.timeout, "memory_mb": limits.memory_mb,
        "protected": list(PROTECTED_DIRS), "siblings": list(siblings),
    }


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def grade(submission, exercises: Mapping[str, Exercise], *, seed: int, limits: Limits = Limits(),
          jobs: int | None = None, on_result: Callable[[Result], None] | None = None,
          reference_package: str = "solutions", version: str = "") -> Report:
    """Grade ``exercises`` (name -> Exercise, in report order) of ``submission``."""
    start = time.perf_counter()
    grader = Grader(Path(submission), exercises, seed, limits, reference_package)
    jobs = max(1, min(jobs or default_jobs(), len(exercises) or 1))
    results: dict[str, Result] = {}
    pool = WorkerPool(jobs)
    executor = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {executor.submit(grader.grade_one, ex, pool): name for name, ex in exercises.items()}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result is not None:
                on_result(results[futures[future]])
    except BaseException:  # Ctrl-C: stop the servers now rather than wait for every exercise
        executor.shutdown(wait=False, cancel_futures=True)
        pool.close(kill=True)
        raise
    executor.shutdown()
    pool.close()
    return Report([results[n] for n in exercises], seed, str(grader.submission), version,
                  time.perf_counter() - start, limits.as_dict())
