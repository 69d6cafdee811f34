"""The worker: runs student code, away from the grader.

Run as a script, never imported by student-facing code paths::

    python -I -S? path/to/_worker.py RESULT_FD

It is a small *fork server*: a fresh interpreter that imports only the standard
library and NumPy (never the grader, the references or the kernels), reads one
request per line on stdin, forks one child per request and answers on the
dedicated pipe ``RESULT_FD`` with one header line (JSON: exit code, signal,
timed out, payload size) followed by the child's payload. Each child:

* stays in the server's process group (so the grader can end a server and its
  child at once; the guard forbids the child any process of its own), sends
  its stdout/stderr to /dev/null (students' prints are never parsed), caps its
  address space (``RLIMIT_AS``) and, as a backstop, its CPU time;
* installs the runtime guard (:func:`install_guard`), loads the student module
  by file path, runs the exercise's call protocol (``grader/spec.py``) on every
  case, timing each call, and
* writes back only plain data encoded by :func:`encode` (JSON, arrays as
  dtype/shape/base64: no pickle), including copies of the inputs taken after
  the call, so the grader process decides whether the inputs were modified.

The server enforces the wall-clock limit of each child (``SIGKILL``); the
grader process in turn watches the server.

This file is also imported by the grader process for :func:`encode`,
:func:`decode` and :func:`run_protocol`, the one implementation of each, so
the in-process ``grader.check`` behaves exactly like a worker.
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import signal
import sys
import time
import traceback

import numpy as np

# --------------------------------------------------------------------------- codec

#: dtype kinds that may cross the process boundary: bool, ints, floats, complex.
NUMERIC_KINDS = frozenset("biufc")
MAX_DEPTH = 16
MAX_ITEMS = 10_000  # list/tuple/dict entries per container
MAX_ARRAY_BYTES = 256 << 20


class DecodeError(ValueError):
    """The payload is not plain numeric data; ``str(err)`` is student-readable."""


class Unsupported:
    """Decoded stand-in for a value that could not cross: carries its type name."""

    __slots__ = ("type_name", "reason")

    def __init__(self, type_name: str, reason: str = "") -> None:
        self.type_name = type_name
        self.reason = reason

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unsupported({self.type_name!r})"


def _type_name(obj) -> str:
    t = type(obj)
    mod = getattr(t, "__module__", "") or ""
    name = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
    full = name if mod in ("builtins", "") else f"{mod}.{name}"
    return str(full)[:80]


def encode(obj, _depth: int = 0):
    """Plain data -> a JSON-able document. Never calls methods a subclass overrides."""
    if _depth > MAX_DEPTH:
        return {"t": "unsupported", "type": _type_name(obj), "reason": "nested too deeply"}
    if obj is None:
        return None
    t = type(obj)
    if t is bool:
        return obj
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        arr = np.ndarray.view(obj, np.ndarray) if isinstance(obj, np.ndarray) else np.asarray(obj)
        if arr.dtype.kind not in NUMERIC_KINDS:
            return {"t": "unsupported", "type": f"ndarray of dtype {arr.dtype.str}"}
        arr = np.array(arr, order="C", copy=True)  # (ascontiguousarray would make 0-d 1-d)
        doc = {"t": "nd" if isinstance(obj, np.ndarray) else "np", "dtype": arr.dtype.str,
               "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}
        if type(obj) is not np.ndarray and isinstance(obj, np.ndarray):
            doc["subclass"] = _type_name(obj)
        return doc
    if isinstance(obj, bool):  # pragma: no cover - bool cannot be subclassed
        return bool(obj)
    if isinstance(obj, int):
        value = int.__int__(obj)
        if abs(value) < 2**63:
            return value
        return {"t": "unsupported", "type": "int", "reason": "too large"}
    if isinstance(obj, float):
        value = float.__float__(obj)
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if isinstance(obj, complex):
        value = complex.__complex__(obj) if hasattr(complex, "__complex__") else complex(obj.real, obj.imag)
        return {"t": "complex", "re": encode(value.real), "im": encode(value.imag)}
    if isinstance(obj, str):
        return {"t": "str", "v": str.__str__(obj)[:10_000]}
    if t in (tuple, list):
        if len(obj) > MAX_ITEMS:
            return {"t": "unsupported", "type": t.__name__, "reason": "too many items"}
        return {"t": t.__name__, "v": [encode(x, _depth + 1) for x in tuple.__iter__(obj)]} \
            if t is tuple else {"t": "list", "v": [encode(x, _depth + 1) for x in list.__iter__(obj)]}
    if t is dict:
        if len(obj) > MAX_ITEMS:
            return {"t": "unsupported", "type": "dict", "reason": "too many items"}
        items = list(dict.items(obj))
        if not all(type(k) is str for k, _ in items):
            return {"t": "unsupported", "type": "dict", "reason": "keys are not all strings"}
        return {"t": "dict", "v": [[k, encode(v, _depth + 1)] for k, v in items]}
    return {"t": "unsupported", "type": _type_name(obj)}


def decode(doc, _depth: int = 0, _budget: list | None = None):
    """A document from :func:`encode` -> plain data, strictly.

    Only JSON scalars and the tagged objects :func:`encode` writes are accepted;
    arrays must have a numeric dtype and a byte count matching their shape.
    Values that could not be encoded come back as :class:`Unsupported`.
    Anything malformed raises :class:`DecodeError`.
    """
    if _budget is None:
        _budget = [MAX_ARRAY_BYTES]
    if _depth > MAX_DEPTH + 1:
        raise DecodeError("nested too deeply")
    if doc is None or type(doc) in (bool, int):
        return doc
    if type(doc) is float:
        return doc
    if type(doc) is not dict:
        raise DecodeError(f"unexpected {type(doc).__name__} in the payload")
    tag = doc.get("t")
    if tag in ("nd", "np"):
        try:
            dtype = np.dtype(str(doc["dtype"]))
            shape = tuple(int(n) for n in doc["shape"])
            raw = base64.b64decode(doc["data"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"malformed array ({exc})") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise DecodeError(f"non-numeric dtype {dtype.str}")
        if len(shape) > 32 or any(n < 0 for n in shape):
            raise DecodeError("malformed shape")
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise DecodeError("array data does not match its shape")
        _budget[0] -= len(raw)
        if _budget[0] < 0:
            raise DecodeError("the output is too large")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return arr if tag == "nd" else arr[()]
    if tag == "float":
        value = doc.get("v")
        if value not in ("nan", "inf", "-inf"):
            raise DecodeError("malformed float")
        return float(value)
    if tag == "complex":
        return complex(decode(doc.get("re"), _depth + 1, _budget), decode(doc.get("im"), _depth + 1, _budget))
    if tag == "str":
        value = doc.get("v")
        if type(value) is not str:
            raise DecodeError("malformed string")
        return value
    if tag in ("tuple", "list"):
        items = doc.get("v")
        if type(items) is not list or len(items) > MAX_ITEMS:
            raise DecodeError("malformed sequence")
        out = [decode(x, _depth + 1, _budget) for x in items]
        return tuple(out) if tag == "tuple" else out
    if tag == "dict":
        items = doc.get("v")
        if type(items) is not list or len(items) > MAX_ITEMS:
            raise DecodeError("malformed dict")
        out = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise DecodeError("malformed dict item")
            out[pair[0]] = decode(pair[1], _depth + 1, _budget)
        return out
    if tag == "unsupported":
        return Unsupported(str(doc.get("type", "?"))[:80], str(doc.get("reason", ""))[:80])
    raise DecodeError(f"unknown tag {str(tag)[:20]!r}")


# ------------------------------------------------------------------------ protocol


class ForwardProblem(Exception):
    """A backward could not run because the student's forward failed.

    ``kind`` is ``"not_implemented"``, ``"raised"`` or ``"bad_return"``;
    ``__cause__`` holds the forward's own exception, if any.
    """

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail)
        self.kind = kind


class BadReturn(Exception):
    """A forward did not return ``(out..., cache)``."""


def split_forward(res):
    """``(out..., cache)`` -> (outputs compared, cache); outputs unwrapped when one."""
    if type(res) is not tuple or len(res) < 2:
        raise BadReturn(f"should return a tuple (out, cache), got {_type_name(res)}"
                        + (f" of length {len(res)}" if type(res) is tuple else ""))
    outs = res[:-1]
    return (outs[0] if len(outs) == 1 else outs), res[-1]


def run_protocol(kind: str, func, forward, args, kwargs, upstream):
    """One graded call by the protocol of ``grader/spec.py``; returns the compared value."""
    if kind == "function":
        return func(*args, **kwargs)
    if kind == "forward":
        return split_forward(func(*args, **kwargs))[0]
    if forward is None:
        raise ForwardProblem("not_implemented", "is missing")
    try:
        res = forward(*args, **kwargs)
        _, cache = split_forward(res)
    except NotImplementedError:
        raise ForwardProblem("not_implemented", "raised NotImplementedError") from None
    except BadReturn as exc:
        raise ForwardProblem("bad_return", str(exc)) from None
    except Exception as exc:
        raise ForwardProblem("raised", f"raised {type(exc).__name__}") from exc
    return func(*upstream, cache)


def loss_of_forward(forward, args, kwargs, upstream) -> float:
    """``sum(out_i * upstream_i)`` over the forward's outputs before the cache."""
    res = forward(*args, **kwargs)
    outs = res[:-1]
    return float(sum(np.sum(np.asarray(o, dtype=np.float64) * np.asarray(u, dtype=np.float64))
                     for o, u in zip(outs, upstream)))


def numerical_gradient_check(forward, args, kwargs, upstream, grads, wrt, names, seed=0,
                             coords=3, h=1e-6):
    """Compare a backward's gradients with central differences of the forward.

    ``grads`` is what the backward returned (one array, or a tuple in ``wrt``
    order). Returns a list of ``{"name", "max_rel_error", "coords"}`` or
    ``{"name", "problem"}`` dicts: plain data, for a diagnostic line.
    """
    rng = np.random.default_rng(seed)
    grads = grads if (type(grads) in (tuple, list) and len(wrt) > 1) else (grads,)
    report = []
    for k, index in enumerate(wrt):
        name = names[k] if k < len(names) else f"gradient {k + 1}"
        if k >= len(grads):
            report.append({"name": name, "problem": "missing from the backward's output"})
            continue
        x = args[index]
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            continue
        g = grads[k]
        if not isinstance(g, np.ndarray) or g.shape != x.shape:
            report.append({"name": name, "problem": "has the wrong shape"})
            continue
        worst = 0.0
        flat_coords = rng.choice(x.size, size=min(coords, x.size), replace=False)
        for flat in flat_coords:
            idx = np.unravel_index(int(flat), x.shape)
            plus = [np.array(a, dtype=np.float64) if i == index else a for i, a in enumerate(args)]
            minus = [np.array(a, dtype=np.float64) if i == index else a for i, a in enumerate(args)]
            plus[index][idx] += h
            minus[index][idx] -= h
            numeric = (loss_of_forward(forward, plus, kwargs, upstream)
                       - loss_of_forward(forward, minus, kwargs, upstream)) / (2 * h)
            analytic = float(g[idx])
            denom = max(abs(numeric) + abs(analytic), 1e-7)
            worst = max(worst, abs(numeric - analytic) / denom)
        report.append({"name": name, "max_rel_error": worst, "coords": int(len(flat_coords))})
    return report


def trimmed_traceback(exc: BaseException, keep) -> str:
    """The traceback of ``exc`` limited to frames whose file satisfies ``keep``."""
    summary = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    frames = [f for f in summary if keep(f.filename)]  # only these lines are read from disk
    lines = []
    for f in frames:
        lines.append(f'  File "{os.path.basename(f.filename)}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()}")
    try:
        text = str(exc)
    except BaseException:  # a student's __str__ may itself raise
        text = "<unprintable exception>"
    lines.append(f"{type(exc).__name__}: {text}"[:2000] if text else type(exc).__name__)
    return "\n".join(lines)


# ----------------------------------------------------------------------- guard

#: What student modules may import (top-level names); siblings are added per run.
ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "cmath", "numbers", "fractions", "decimal", "statistics", "random",
    "functools", "itertools", "operator", "collections", "typing", "dataclasses",
    "__future__", "warnings",
})
#: Never importable from a worker, whoever asks: the grader, the references and
#: the frameworks that would do the work. (Process, socket and C-call modules may
#: be loaded by NumPy's own code, e.g. numpy.testing; their *use* is blocked.)
DENIED_IMPORTS = frozenset({
    "solutions", "grader", "csrc", "torch", "tensorflow", "jax", "jaxlib", "scipy",
    "cffi", "numba", "sklearn", "keras", "cupy",
})
#: Audit events that are always blocked once student code may run (prefix match).
DENIED_EVENTS = ("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "pty.", "socket.", "ctypes.", "os.kill", "os.killpg", "signal.")


#: Audit events whose path arguments may not point into the protected dirs
#: (listing directories stays allowed: the import system does it all the time).
PATH_EVENTS = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                         "os.truncate", "os.link", "os.symlink", "os.utime",
                         "shutil.rmtree", "shutil.copyfile", "shutil.move"})
BLOCKED_EVENT = "nngrade.blocked"


def _plain_text(text: str) -> str:
    """A message safe to put between JSON quotes without the json module."""
    return "".join(c if (c.isalnum() or c in " ._-()/:,") else "?" for c in str(text)[:200])


def install_guard(student_dir: str, protected_dirs, siblings, report_fd: int) -> None:
    """The runtime half of ``forbidden`` (the static half is grader.forbidden).

    An audit hook watches: first-time imports of denied modules (whoever asks)
    and of non-allowed modules requested by the student's files; opening, or
    changing, files inside the protected package dirs; processes, sockets,
    ctypes and signals. A wrapper of ``__import__`` also catches imports of
    modules already loaded (it reports through the hook).

    On the first violation the hook itself writes a ``forbidden`` result on
    ``report_fd`` and ends the process at once: nothing the student code does
    afterwards (catching the error, clearing lists reachable through frames,
    patching modules) can hide it. The hook is unreachable from Python code
    (audit hooks cannot be listed or removed) and holds its own references.
    """
    import builtins

    student_prefix = os.path.realpath(student_dir) + os.sep
    protected = tuple(os.path.realpath(d) + os.sep for d in protected_dirs)
    allowed = ALLOWED_IMPORTS | frozenset(siblings)
    importlib_dir = os.path.dirname(os.__file__) + os.sep + "importlib" + os.sep
    busy = [False]
    getframe, realpath, fsdecode, audit = sys._getframe, os.path.realpath, os.fsdecode, sys.audit
    write, exit_now = os.write, os._exit

    def is_student(filename) -> bool:
        return isinstance(filename, str) and realpath(filename).startswith(student_prefix)

    def stop(what: str):
        doc = ('{"load": {"outcome": "ok"}, "cases": [], "params": null, "gradcheck": null, '
               '"violations": ["' + _plain_text(what) + '"]}').encode()
        while doc:
            try:
                doc = doc[write(report_fd, doc):]
            except OSError:
                break
        exit_now(0)

    def importer_is_student() -> bool:
        frame = getframe(2)
        while frame is not None:
            fn = frame.f_code.co_filename
            if fn.startswith("<frozen") or fn.startswith(importlib_dir):
                frame = frame.f_back
                continue
            return is_student(fn)
        return False

    def is_protected(path) -> bool:
        if not isinstance(path, (str, bytes)) or not protected:
            return False
        full = realpath(fsdecode(path))
        return not full.startswith(student_prefix) and (full.startswith(protected) or full + os.sep in protected)

    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            if event == BLOCKED_EVENT:
                stop(str(args[0]))
            elif event == "import":
                name = str(args[0])
                top = name.partition(".")[0]
                if top in DENIED_IMPORTS or (top not in allowed and importer_is_student()):
                    stop(f"importing {name}")
            elif event == "open":
                if is_protected(args[0]):
                    stop(f"opening {os.path.basename(realpath(fsdecode(args[0])))} (grader files)")
            elif event in PATH_EVENTS:
                if any(is_protected(a) for a in args):
                    stop(f"{event}() on grader files")
            elif event.startswith(DENIED_EVENTS):
                stop(f"{event}()")
        finally:
            busy[0] = False

    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        # The importing module's globals say who asks; called by hand without
        # them (``__builtins__["__import__"]("os")``), the calling frame does.
        caller = globals.get("__file__") if isinstance(globals, dict) else getframe(1).f_code.co_filename
        if level == 0 and is_student(caller) and str(name).partition(".")[0] not in allowed:
            audit(BLOCKED_EVENT, f"importing {name}")
            raise ImportError(f"nngrade: importing {name} is not allowed in a submission")
        return real_import(name, globals, locals, fromlist, level)

    sys.addaudithook(hook)
    builtins.__import__ = guarded_import


# ----------------------------------------------------------------------- child


def load_student_module(path: str, module: str):
    """Execute the student's file as module ``module``; registered in sys.modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    spec.loader.exec_module(mod)
    return mod


def describe_base_exception(exc: BaseException, memory_mb) -> tuple[str, str]:
    """(outcome, student-readable message) for an exception out of student code."""
    if isinstance(exc, NotImplementedError):
        return "not_implemented", "raised NotImplementedError"
    if isinstance(exc, MemoryError):
        return "memory", f"exceeded the memory limit of {memory_mb} MB"
    if isinstance(exc, SystemExit):
        return "raised", f"called sys.exit({exc.code!r}); a function must return, not exit"
    if isinstance(exc, KeyboardInterrupt):
        return "raised", "raised KeyboardInterrupt"
    if not isinstance(exc, Exception):
        return "raised", f"raised {type(exc).__name__}, which is not an Exception"
    return "raised", f"raised {type(exc).__name__}"


def run_cases(kind, func, forward, cases, keep, memory_mb=None) -> list[dict]:
    """Run the protocol on each ``(args, kwargs, upstream)``; one plain record per call.

    A record is ``{"index", "outcome", "duration", "value" | "message" [, "traceback"],
    "inputs_after"}`` (pytest style: the result or the exception, and the time).
    Stops at the first call that does not return normally.
    """
    records = []
    for index, (args, kwargs, upstream) in enumerate(cases):
        record = {"index": index, "outcome": "ok", "duration": 0.0}
        start = time.perf_counter()
        try:
            value = run_protocol(kind, func, forward, args, kwargs, upstream)
            record["duration"] = time.perf_counter() - start
            record["value"] = encode(value)
        except ForwardProblem as exc:
            record["duration"] = time.perf_counter() - start
            record["outcome"] = "forward_" + exc.kind
            record["message"] = str(exc)
            if exc.__cause__ is not None:
                record["traceback"] = trimmed_traceback(exc.__cause__, keep)
        except BadReturn as exc:
            record["duration"] = time.perf_counter() - start
            record["outcome"] = "bad_return"
            record["message"] = str(exc)
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, ... too
            record["duration"] = time.perf_counter() - start
            record["outcome"], record["message"] = describe_base_exception(exc, memory_mb)
            record["traceback"] = trimmed_traceback(exc, keep)
        record["inputs_after"] = encode([list(args), dict(kwargs), list(upstream)])
        records.append(record)
        if record["outcome"] != "ok":
            break  # the first failing call decides; later calls cost time, prove nothing
    return records


def run_gradcheck(func, forward, encoded_case: dict, records: list, gc: dict):
    """The numerical gradient check on one case (fresh inputs), as plain data, or None."""
    idx = gc["case"]
    if forward is None or idx >= len(records) or records[idx]["outcome"] != "ok":
        return None
    args, kwargs, upstream = (decode(encoded_case[k]) for k in ("args", "kwargs", "upstream"))
    try:
        grads = run_protocol("backward", func, forward, args, kwargs, upstream)
        return {"report": numerical_gradient_check(forward, args, kwargs, upstream, grads,
                                                   gc["wrt"], gc["names"], gc.get("seed", 0))}
    except BaseException as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__} during the check"}


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
    result: dict = {"load": None, "cases": [], "violations": violations, "params": None,
                    "gradcheck": None}
    cases = [(decode(c["args"]), decode(c["kwargs"]), decode(c["upstream"])) for c in req["cases"]]
    sys.path.append(student_dir)  # after the standard library: a student's json.py shadows nothing
    install_guard(student_dir, req.get("protected", ()), req.get("siblings", ()), report_fd)

    try:
        mod = load_student_module(req["path"], req["module"])
    except BaseException as exc:  # noqa: BLE001 - anything the student's import does
        outcome, message = describe_base_exception(exc, memory_mb)
        result["load"] = {"outcome": "import_" + outcome, "message": message,
                          "traceback": trimmed_traceback(exc, keep)}
        return result
    try:  # a module-level __getattr__ is student code too
        func = getattr(mod, req["name"], None)
        forward = getattr(mod, req["forward"], None) if req.get("forward") else None
    except BaseException as exc:  # noqa: BLE001
        outcome, message = describe_base_exception(exc, memory_mb)
        result["load"] = {"outcome": "import_" + outcome, "message": message,
                          "traceback": trimmed_traceback(exc, keep)}
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
        result["params"] = [str(p) for p in inspect.signature(target).parameters][:32]
    except BaseException:  # noqa: BLE001 - names are a nicety; a student's __signature__ may misbehave
        pass

    result["cases"] = run_cases(req["kind"], func, forward, cases, keep, memory_mb)
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
        import resource
        memory_mb = req.get("memory_mb")
        if memory_mb:
            limit = int(memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # A CPU-time backstop: should the server die, a spinning child still ends.
        cpu = int(math.ceil(float(req.get("timeout", 10.0)))) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        payload = json.dumps(run_exercise(req, wfd), allow_nan=False).encode()
        with os.fdopen(wfd, "wb", closefd=True) as out:
            out.write(payload)
    except MemoryError:
        code = 3
    except BaseException:  # noqa: BLE001 - the worker's own failure: exit code tells
        code = 4
    os._exit(code)


# ---------------------------------------------------------------------- server

MAX_PAYLOAD = 512 << 20


def _serve_one(req: dict, out) -> None:
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        try:
            out_fd = out.fileno()
            os.close(out_fd)
        except OSError:
            pass
        _child(req, wfd)
    os.close(wfd)
    deadline = time.monotonic() + float(req.get("timeout", 10.0))
    chunks, size, timed_out, too_large = [], 0, False, False
    start = time.monotonic()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([rfd], [], [], remaining)
        if not ready:
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
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    # A child may close its pipe and linger: give it the rest of its time, then kill.
    status = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.monotonic() > deadline:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
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
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


def serve(result_fd: int) -> None:
    """Answer requests (one JSON object per line on stdin) until stdin closes."""
    out = os.fdopen(result_fd, "wb")
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        _serve_one(json.loads(line), out)


if __name__ == "__main__":
    # Preload what children need, so the guard never sees the worker's own imports.
    import importlib.util  # noqa: F401
    import inspect  # noqa: F401
    import resource  # noqa: F401

    serve(int(sys.argv[1]))
