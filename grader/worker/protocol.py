"""How a graded call is made, recorded and checked (the same in a worker and in-process).

The protocol of each exercise kind is described in ``grader/spec.py``:
``function`` compares the return value, ``higher_order`` too, after turning
the first argument (a plain description) into the scalar function it names
(:mod:`.scalar_functions`), ``forward`` compares the outputs before the cache,
``backward`` runs the student's forward for the cache, then the backward on
the upstream gradients.
"""

from __future__ import annotations

import os
import time
import traceback
import warnings

import numpy as np

from .scalar_functions import build
from .wire import decode, encode, type_name

#: At most this many of the student's frames, and characters, in a traceback.
MAX_FRAMES = 12
MAX_TRACEBACK = 4000


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
        raise BadReturn(
            f"should return a tuple (out, cache), got {type_name(res)}"
            + (f" of length {len(res)}" if type(res) is tuple else "")
        )
    outs = res[:-1]
    return (outs[0] if len(outs) == 1 else outs), res[-1]


def run_protocol(kind: str, func, forward, args, kwargs, upstream):
    """One graded call by the protocol of ``grader/spec.py``; returns the compared value."""
    if kind == "function":
        return func(*args, **kwargs)
    if kind == "higher_order":  # args[0] describes a scalar function of args[1]
        return func(build(args[0], args[1]), *args[1:], **kwargs)
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
        raise ForwardProblem("raised", f"raised {type(exc).__name__[:80]}") from exc
    return func(*upstream, cache)


def loss_of_forward(forward, args, kwargs, upstream) -> float:
    """``sum(out_i * upstream_i)`` over the forward's outputs before the cache."""
    res = forward(*args, **kwargs)
    outs = res[:-1]
    return float(
        sum(np.sum(np.asarray(o, dtype=np.float64) * np.asarray(u, dtype=np.float64)) for o, u in zip(outs, upstream))
    )


def numerical_gradient_check(forward, args, kwargs, upstream, grads, wrt, names, seed=0, coords=3, h=1e-6):
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
            numeric = (
                loss_of_forward(forward, plus, kwargs, upstream) - loss_of_forward(forward, minus, kwargs, upstream)
            ) / (2 * h)
            analytic = float(g[idx])
            denom = max(abs(numeric) + abs(analytic), 1e-7)
            worst = max(worst, abs(numeric - analytic) / denom)
        if not np.isfinite(worst):
            report.append({"name": name, "problem": "is not finite"})
            continue
        report.append({"name": name, "max_rel_error": worst, "coords": int(len(flat_coords))})
    return report


def trimmed_traceback(exc: BaseException, keep) -> str:
    """The traceback of ``exc`` limited to frames whose file satisfies ``keep``, capped."""
    summary = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    frames = [f for f in summary if keep(f.filename)]  # only these lines are read from disk
    lines = []
    if len(frames) > MAX_FRAMES:
        lines.append(f"  ... {len(frames) - MAX_FRAMES} earlier frames of your code left out ...")
        frames = frames[-MAX_FRAMES:]
    for f in frames:
        lines.append(f'  File "{os.path.basename(f.filename)}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()[:200]}")
    try:
        text = str(exc)
    except BaseException:  # a student's __str__ may itself raise
        text = "<unprintable exception>"
    name = type(exc).__name__[:80]
    lines.append(f"{name}: {text}"[:2000] if text else name)
    out = "\n".join(lines)
    return out if len(out) <= MAX_TRACEBACK else "...\n" + out[-MAX_TRACEBACK:]


def describe_base_exception(exc: BaseException, memory_mb) -> tuple[str, str]:
    """(outcome, student-readable message) for an exception out of student code."""
    if isinstance(exc, NotImplementedError):
        return "not_implemented", "raised NotImplementedError"
    if isinstance(exc, MemoryError):
        return "memory", f"exceeded the memory limit of {memory_mb} MB"
    if isinstance(exc, SystemExit):
        return "raised", f"called sys.exit({repr(exc.code)[:40]}); a function must return, not exit"
    if isinstance(exc, KeyboardInterrupt):
        return "raised", "raised KeyboardInterrupt"
    if not isinstance(exc, Exception):
        return "raised", f"raised {type(exc).__name__[:80]}, which is not an Exception"
    return "raised", f"raised {type(exc).__name__[:80]}"


#: At most this many distinct warnings, of at most MAX_WARNING characters, per call.
MAX_WARNINGS, MAX_WARNING = 5, 200


def _warning_texts(caught) -> list[str]:
    """The distinct warnings a call raised: ``"RuntimeWarning: overflow encountered in exp"``."""
    texts: dict[str, None] = {}
    for w in caught:
        try:
            text = f"{str(getattr(w.category, '__name__', 'Warning'))}: {str(w.message)}"
        except BaseException:
            text = "a warning that cannot be printed"
        texts[text[:MAX_WARNING]] = None
        if len(texts) >= MAX_WARNINGS:
            break
    return list(texts)


def run_cases(kind, func, forward, cases, keep, memory_mb=None) -> list[dict]:
    """Run the protocol on each ``(args, kwargs, upstream)``; one plain record per call.

    A record is ``{"index", "outcome", "duration", "value" | "message" [, "traceback"],
    "inputs_after" [, "warnings"]}`` (pytest style: the result or the exception,
    the time, and the warnings the call raised, floating-point ones included:
    NumPy warns on overflow, invalid values and division by zero during it).
    Stops at the first call that does not return normally.
    """
    records = []
    for index, (args, kwargs, upstream) in enumerate(cases):
        record = {"index": index, "outcome": "ok", "duration": 0.0}
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn"):
            warnings.simplefilter("always")
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
            except BaseException as exc:
                record["duration"] = time.perf_counter() - start
                record["outcome"], record["message"] = describe_base_exception(exc, memory_mb)
                record["traceback"] = trimmed_traceback(exc, keep)
        found = _warning_texts(caught)
        if found:
            record["warnings"] = found
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
        return {
            "report": numerical_gradient_check(
                forward, args, kwargs, upstream, grads, gc["wrt"], gc["names"], gc.get("seed", 0)
            )
        }
    except BaseException as exc:
        return {"error": f"{type(exc).__name__} during the check"}


def gradcheck_cases(func, forward, encoded_cases: list, gc: dict) -> dict:
    """A backward judged against the student's own forward: the numerical gradient
    check on each of ``encoded_cases`` (fresh inputs), with ``gc["coords"]``
    coordinates per gradient. Plain data: ``{"reports": [[item, ...], ...]}`` or
    ``{"error": ...}`` (see :func:`numerical_gradient_check`)."""
    if forward is None:
        return {"error": "the forward is missing"}
    reports = []
    for encoded in encoded_cases:
        args, kwargs, upstream = (decode(encoded[k]) for k in ("args", "kwargs", "upstream"))
        try:
            with np.errstate(all="ignore"):
                grads = run_protocol("backward", func, forward, args, kwargs, upstream)
                reports.append(
                    numerical_gradient_check(
                        forward,
                        args,
                        kwargs,
                        upstream,
                        grads,
                        gc["wrt"],
                        gc["names"],
                        gc.get("seed", 0),
                        int(gc.get("coords", 3)),
                    )
                )
        except BaseException as exc:
            return {"error": f"{type(exc).__name__} during the check"}
    return {"reports": reports}
