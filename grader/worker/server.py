"""The fork server: runs student code, one child per exercise, away from the grader.

Started by ``grader/pool.py``, inside the sandbox of ``grader/sandbox.py``
(or, without one, as a plain process), as::

    python -I -S -c "<put the worker's folder on sys.path>; main()" RESULT_FD CONFIG_JSON

It imports only the standard library and NumPy (never the grader, the
references or the kernels: they are not even in its sandbox), makes itself
non-dumpable (no process of the same uid may open its ``/proc`` files or
attach to it), applies the rlimits of CONFIG, answers a ``hello`` line
saying what isolation it could set up, then reads one request per line on
stdin. For each it forks a child and answers on ``RESULT_FD`` with one
header line (JSON: exit code, signal, timed out, payload size) and the
child's payload. Each child:

* sends its stdout/stderr to /dev/null (students' prints are never parsed),
  closes the server's result pipe, caps its address space and CPU time;
* installs the system-call filter (:mod:`.seccomp`: no processes, no exec,
  no ptrace, no signals to others), then the guard (:mod:`.guard`);
* loads the student module by file path, runs the exercise's call protocol
  (:mod:`.protocol`) on every case, and writes back only plain data
  (:mod:`.wire`), including copies of the inputs taken after each call so the
  grader decides whether inputs were modified.

The server enforces each child's wall-clock limit (``SIGKILL``); the grader
watches the server, and the sandbox dies with the grader.
"""

from __future__ import annotations

import json
import math
import os
import resource
import select
import signal
import sys
import time

from . import seccomp
from .guard import install_guard
from .observe import Asker, Observer
from .protocol import describe_base_exception, gradcheck_cases, run_cases, run_gradcheck, trimmed_traceback
from .relay import LineReader, Relay
from .wire import EXIT_BROKEN, EXIT_MEMORY, MAX_PAYLOAD, decode, dumps

RLIMITS = {
    "nofile": resource.RLIMIT_NOFILE,
    "fsize": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
    "nproc": resource.RLIMIT_NPROC,
}


def load_student_module(path: str, module: str):
    """Execute the student's file as module ``module``; registered in sys.modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    spec.loader.exec_module(mod)
    return mod


def _load_problem(exc: BaseException, memory_mb, keep) -> dict:
    outcome, message = describe_base_exception(exc, memory_mb)
    return {"outcome": "import_" + outcome, "message": message, "traceback": trimmed_traceback(exc, keep)}


def run_exercise(req: dict, report_fd: int) -> dict:
    """Everything a child does for one exercise; returns the plain result document.

    A violation of the guard does not return: the guard reports it on
    ``report_fd`` itself and ends the process.
    """
    violations: list = []
    # the folder, resolved; not the file's own target (a link into solutions/ stays outside)
    student_dir = os.path.realpath(os.path.dirname(os.path.abspath(req["path"])))
    keep = lambda fn: isinstance(fn, str) and os.path.realpath(fn).startswith(student_dir + os.sep)  # noqa: E731
    memory_mb = req.get("memory_mb")
    result: dict = {"load": None, "cases": [], "violations": violations, "params": None, "gradcheck": None}
    cases = [(decode(c["args"]), decode(c["kwargs"]), decode(c["upstream"])) for c in req["cases"]]
    sys.path.append(student_dir)  # after the standard library: a student's json.py shadows nothing
    if req.get("guard", True):  # off only in the tests that prove the sandbox holds without it
        install_guard(student_dir, req.get("protected", ()), req.get("siblings", ()), report_fd)

    try:
        mod = load_student_module(req["path"], req["module"])
        observer = Observer(
            req["name"],
            req.get("substitute") or (),
            Asker(req["ask_fd"], req["answer_fd"]) if "ask_fd" in req else None,
        )
        observer.install(req.get("graded") or {}, student_dir, os.path.dirname(os.path.abspath(req["path"])))
        # a module-level __getattr__ is student code too
        func = getattr(mod, req["name"], None)
        forward = getattr(mod, req["forward"], None) if req.get("forward") else None
    except BaseException as exc:
        result["load"] = _load_problem(exc, memory_mb, keep)
        return result
    if not callable(func):
        result["load"] = {"outcome": "missing", "message": f"has no function {req['name']}"}
        return result
    if req.get("forward") and not callable(forward):
        forward = None
    result["load"] = {"outcome": "ok"}
    try:
        import inspect

        target = forward if req["kind"] == "backward" and forward is not None else func
        result["params"] = [str(p)[:80] for p in inspect.signature(target).parameters][:32]
    except BaseException:
        pass

    if req.get("mode") == "gradcheck":  # a backward judged against the student's own forward
        result["gradcheck_all"] = gradcheck_cases(func, forward, req["cases"], req["gradcheck"])
        result["observed"] = observer.calls()
        return result
    result["cases"] = run_cases(req["kind"], func, forward, cases, keep, memory_mb)
    result["observed"] = observer.calls()
    gc = req.get("gradcheck")
    if gc is not None:
        result["gradcheck"] = run_gradcheck(func, forward, req["cases"][gc["case"]], result["cases"], gc)
    return result


def _child(req: dict, wfd: int) -> None:
    """In the forked child: isolate, run, write the payload, exit without cleanup."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        memory_mb = req.get("memory_mb")
        if memory_mb:
            limit = int(memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # A CPU-time backstop: should the server die, a spinning child still ends.
        cpu = int(math.ceil(float(req.get("timeout", 10.0)))) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        if req.get("seccomp") and not seccomp.install():
            raise OSError("the system-call filter could not be installed")
        payload = dumps(run_exercise(req, wfd))
        with os.fdopen(wfd, "wb", closefd=True) as out:
            out.write(payload)
    except MemoryError:
        code = EXIT_MEMORY
    except BaseException:
        code = EXIT_BROKEN
    os._exit(code)


def _collect(rfd: int, pid: int, timeout: float, relay=None) -> tuple[dict, bytes]:
    """Read a child's payload and wait for it, within its time; the header and the payload.

    ``relay``: the child's asks (a :class:`.relay.Relay`), passed to the grader and
    answered while the child runs.
    """
    deadline = time.monotonic() + timeout
    chunks, size, timed_out, too_large = [], 0, False, False
    start = time.monotonic()
    watched = [rfd] + ([relay.ask_r] if relay is not None else [])
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(watched, [], [], remaining)
        if not ready:
            continue
        if relay is not None and relay.ask_r in ready:
            state = relay.pump(deadline)
            if state == "closed":
                watched.remove(relay.ask_r)
            elif state == "too_large":
                too_large = True
                break
            elif state == "timed_out":
                timed_out = True
                break
            if rfd not in ready:
                continue
        chunk = os.read(rfd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_PAYLOAD:
            too_large = True
            break
        chunks.append(chunk)
    os.close(rfd)
    if timed_out or too_large:
        _kill(pid)
    # A child may close its pipe and linger: give it the rest of its time, then kill.
    status = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.monotonic() > deadline:
            timed_out = True
            _kill(pid)
            status = os.waitpid(pid, 0)[1]
        else:
            time.sleep(0.002)
    payload = b"" if (timed_out or too_large) else b"".join(chunks)
    header = {
        "timed_out": timed_out,
        "too_large": too_large,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "elapsed": time.monotonic() - start,
        "nbytes": len(payload),
    }
    return header, payload


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def serve_one(req: dict, out, stdin: LineReader | None = None) -> None:
    rfd, wfd = os.pipe()
    relay = Relay(out, stdin, req.get("id")) if stdin is not None else None
    if relay is not None:
        req.update(relay.child_fds())
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        try:
            os.close(out.fileno())
            if relay is not None:
                os.close(relay.ask_r)
                os.close(relay.answer_w)
        except OSError:
            pass
        _child(req, wfd)
    os.close(wfd)
    if relay is not None:
        relay.after_fork()
    try:
        header, payload = _collect(rfd, pid, float(req.get("timeout", 10.0)), relay)
    finally:
        if relay is not None:
            relay.close()
    header["id"] = req.get("id")
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


def _probe_seccomp() -> bool:
    """Can a child install the filter? (Forked once at start, so the hello line can say.)"""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if seccomp.install() else 1)
    status = os.waitpid(pid, 0)[1]
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def setup(config: dict) -> dict:
    """Harden the server itself; returns what the hello line reports."""
    dumpable = seccomp.set_not_dumpable()
    applied = {}
    for name, value in (config.get("rlimits") or {}).items():
        if name in RLIMITS and value is not None:
            try:
                resource.setrlimit(RLIMITS[name], (int(value), int(value)))
                applied[name] = int(value)
            except (ValueError, OSError):
                pass
    no_new_privs = None
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("NoNewPrivs:"):
                    no_new_privs = line.split()[1] == "1"
    except OSError:
        pass
    return {
        "seccomp": _probe_seccomp(),
        "not_dumpable": dumpable,
        "rlimits": applied,
        "uid": os.getuid(),
        "no_new_privs": no_new_privs,
        "python": sys.version.split()[0],
        "numpy": sys.modules["numpy"].__version__,
    }


def main() -> None:
    """Answer requests (one JSON object per line on stdin) until stdin closes."""
    import importlib.util  # noqa: F401 - preloaded, so the guard never sees the worker's own imports
    import inspect  # noqa: F401

    import numpy  # noqa: F401

    result_fd = int(sys.argv[1])
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    out = os.fdopen(result_fd, "wb")
    hello = setup(config)
    out.write(json.dumps({"hello": hello}).encode() + b"\n")
    out.flush()
    stdin = LineReader(sys.stdin.fileno())
    while True:
        line = stdin.readline()
        if line is None:
            break
        if not line.strip():
            continue
        req = json.loads(line)
        if "answer" in req:  # an answer that came after its child's time was up
            continue
        req["seccomp"] = hello["seccomp"]
        serve_one(req, out, stdin)
