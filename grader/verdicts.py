"""Verdicts: from what a worker sent back to one exercise's :class:`~grader.results.Result`.

Everything judged here came from a process that ran student code, so it is
data to check, never to trust: :func:`read_document` decodes a payload with
the bounds of ``grader/worker/wire.py`` and :func:`well_formed` checks its
shape; any failure is the student's ``error``, never a grader problem.
Expected values and hints stay in this process.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Mapping

import numpy as np

from grader.compare import compare, inputs_modified
from grader.results import CallRecord, Result, Status
from grader.spec import Case, Exercise
from grader.worker import wire
from grader.worker.guard import FORBIDDEN_RULE

GRADCHECK_FLAG = 1e-5
#: References and hints run one at a time (see ``grader/runner.py``).
REFERENCE_LOCK = threading.RLock()
UNREADABLE = "returned something the grader cannot read"
#: The longest message a report carries for one exercise (and any text a worker sends).
MAX_MESSAGE = 20_000


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
    verdict = (
        "your backward disagrees with central differences of your forward"
        if bad
        else "your backward agrees with central differences of your forward"
    )
    return f"Gradient check (diagnostic): {verdict}: " + ", ".join(parts) + "."


def _param_name(params, i: int) -> str:
    return params[i] if params and i < len(params) else f"argument {i + 1}"


def modified_names(case: Case, after, params, upstream_only: bool = False) -> list[str]:
    """Names of the case inputs a call changed, from the post-call copies.

    ``upstream_only``: a backward answers only for its upstream gradients (the
    forward's inputs are the forward's business, graded with the forward).
    """
    before = wire.plain([list(case.args), dict(case.kwargs), list(case.upstream)])
    changed = []
    for path in inputs_modified(before, after):
        if upstream_only and not path.startswith("[2]"):
            continue
        # path looks like "[0][1]..." (args), "[1]['x']" (kwargs) or "[2][0]" (upstream)
        head, _, rest = path[1:].partition("]")
        tail = rest[rest.index("]") + 1 :] if rest.startswith("[") else ""
        inner = rest[1 : rest.index("]")] if rest.startswith("[") else ""
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
        except Exception:
            continue
        if text:
            return text
    return None


def _with_tb(message: str, record: dict) -> str:
    tb = record.get("traceback")
    return f"{message}\n{tb}" if tb else message


def _list_of(value, kind, limit: int = wire.MAX_ITEMS) -> bool:
    return type(value) is list and len(value) <= limit and all(isinstance(v, kind) for v in value)


def _optional(value, kind) -> bool:
    return value is None or isinstance(value, kind)


def _number(value, low: float = 0.0, high: float = 1e9) -> bool:
    """A plain number within [low, high] (a huge integer would overflow a float later)."""
    return type(value) in (int, float) and low <= value <= high


def _text(value, limit: int = MAX_MESSAGE) -> bool:
    return type(value) is str and len(value) <= limit


def _record_ok(rec: dict) -> bool:
    return (
        type(rec.get("index")) is int
        and _text(rec.get("outcome"), 40)
        and _number(rec.get("duration", 0.0))
        and (rec.get("message") is None or _text(rec["message"]))
        and (rec.get("traceback") is None or _text(rec["traceback"]))
        and _list_of(rec.get("warnings", []), str, 8)
        and all(len(w) <= 240 for w in rec.get("warnings", []))
    )


def _gradcheck_item(item) -> dict | None:
    """One checked item of a gradient-check report, rebuilt from its known fields only."""
    if type(item) is not dict or not _text(item.get("name"), 80):
        return None
    name = clean_text(item["name"])
    if _text(item.get("problem"), 200):
        return {"name": name, "problem": clean_text(item["problem"])}
    if _number(item.get("max_rel_error"), 0.0, 1e300) and _number(item.get("coords", 0), 0, 1e6):
        return {"name": name, "max_rel_error": float(item["max_rel_error"]), "coords": int(item.get("coords", 0))}
    return None


def clean_gradcheck(gc) -> dict | None:
    """A worker's gradient-check document with only what the grader reads; None if malformed."""
    if type(gc) is not dict:
        return None
    if "error" in gc:
        return {"error": clean_text(gc["error"])} if _text(gc["error"], 200) else None
    report = gc.get("report")
    if type(report) is not list or len(report) > 64:
        return None
    items = [_gradcheck_item(item) for item in report]
    return None if any(i is None for i in items) else {"report": items}


def _gradcheck_all_ok(doc) -> bool:
    """A regrade's gradient checks (``{"reports": [[item, ...], ...]}`` or ``{"error"}``)."""
    if doc is None:
        return True
    if type(doc) is not dict:
        return False
    if "error" in doc:
        return _text(doc["error"], 200)
    reports = doc.get("reports")
    return _list_of(reports, list, 16) and all(clean_gradcheck({"report": r}) is not None for r in reports)


def _gradcheck_ok(gc) -> bool:
    return gc is None or clean_gradcheck(gc) is not None


def well_formed(doc) -> bool:
    """Does a worker's result document have the shape :func:`judge` reads?

    (Numbers in it are finite: :func:`grader.worker.wire.loads` rejects the rest.)
    """
    if type(doc) is not dict or not isinstance(doc.get("load"), dict):
        return False
    load = doc["load"]
    if any(load.get(key) is not None and not _text(load[key]) for key in ("outcome", "message", "traceback")):
        return False
    if (
        not _list_of(doc.get("cases", []), dict)
        or not _list_of(doc.get("violations", []), str, 64)
        or not all(len(v) <= 200 for v in doc.get("violations", []))
    ):
        return False
    if doc.get("params") is not None and not (
        _list_of(doc["params"], str, 64) and all(len(p) <= 80 for p in doc["params"])
    ):
        return False
    if not (
        _list_of(doc.get("observed", []), str, 64)
        and all(len(n) <= 80 for n in doc.get("observed", []))
        and _gradcheck_all_ok(doc.get("gradcheck_all"))
    ):
        return False
    return all(_record_ok(rec) for rec in doc.get("cases", [])) and _gradcheck_ok(doc.get("gradcheck"))


def read_document(payload: bytes) -> dict | None:
    """A worker's payload as a well-formed result document, or None: bounded, never trusted."""
    try:
        doc = wire.loads(payload)
    except wire.DecodeError:
        return None
    return doc if well_formed(doc) else None


def judge(ex: Exercise, cases: list[Case], expected: list, doc: dict, module_file: str) -> Result:
    """The verdict on a worker's plain result document (see ``grader/worker/server.py``)."""
    res = Result(ex.name, ex.module, 0, ex.points, Status.PASSED, cases_total=len(cases))
    violations = doc.get("violations") or []
    load = doc.get("load") or {}
    if violations:
        return _fail(
            res,
            Status.FORBIDDEN,
            "Forbidden: " + "; ".join(dict.fromkeys(map(str, violations))) + ". " + FORBIDDEN_RULE,
        )
    outcome = load.get("outcome")
    if outcome == "missing":
        return _fail(res, Status.NOT_IMPLEMENTED, f"{module_file} {load.get('message')}.")
    if outcome != "ok":
        return _fail(res, Status.ERROR, _with_tb(f"Importing {module_file} {load.get('message')}.", load))

    res.depends_on = [name for name in doc.get("observed") or [] if name != ex.name]
    params = doc.get("params")
    res.gradient_check = clean_gradcheck(doc.get("gradcheck"))
    gradcheck = describe_gradcheck(res.gradient_check)
    records = doc.get("cases") or []
    total = len(cases)
    for i, (case, exp, rec) in enumerate(zip(cases, expected, records)):
        where = f"case {i + 1} of {total} ({case.label})"
        if rec.get("index") != i:
            return _fail(
                res,
                Status.ERROR,
                "The worker's results are out of order; did the code tamper with the grader's worker?",
            )
        duration = float(rec.get("duration", 0.0))
        kind = rec.get("outcome")
        warned = rec.get("warnings") or []
        unstable = [w for w in warned if ex.stable and w.startswith("RuntimeWarning") and STABILITY_WARNINGS.search(w)]
        if kind == "ok" and unstable:
            res.calls.append(CallRecord(case.label, "failed", duration, warning_category(unstable[0])))
            res.failed_case = case.label
            res.hint = ex.stable
            return _fail(
                res,
                Status.FAILED,
                f"Your code warned in {where}: "
                f"{'; '.join(dict.fromkeys(map(warning_category, unstable)))}; this exercise "
                f"promises numerically stable results, without overflow or invalid values.\n"
                f"Hint: {ex.stable}",
                gradcheck,
            )
        res.warnings += [f"{warning_category(w)} (in {where})" for w in warned][: MAX_WARNINGS - len(res.warnings)]
        if kind != "ok":
            status, message = _call_problem(ex, kind, str(rec.get("message", "")), rec, where)
            res.calls.append(CallRecord(case.label, kind, duration, message.splitlines()[0]))
            res.failed_case = case.label
            return _fail(res, status, message, gradcheck)
        try:
            got = wire.decode(rec.get("value"))
        except wire.DecodeError as exc:
            res.calls.append(CallRecord(case.label, "error", duration, str(exc)))
            res.failed_case = case.label
            return _fail(res, Status.ERROR, f"{ex.name} {UNREADABLE} ({exc}), in {where}.")
        rtol = ex.rtol if case.rtol is None else case.rtol
        atol = ex.atol if case.atol is None else case.atol
        mismatch = compare(exp, got, rtol, atol, ex.outputs)
        try:
            changed = modified_names(
                case, wire.decode(rec.get("inputs_after")), params, upstream_only=ex.kind == "backward"
            )
        except wire.DecodeError:
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
            lines.append(
                f"You modified the input {', '.join(changed)} in place"
                + ("; " if mismatch else f" in {where}; ")
                + (ex.modified_advice or "copy it before changing it, a function must not modify its inputs.")
            )
        if res.hint:
            lines.append(f"Hint: {res.hint}")
        res.calls.append(CallRecord(case.label, "failed", duration, lines[0]))
        res.failed_case = case.label
        return _fail(res, Status.FAILED, "\n".join(lines), gradcheck)
    if len(records) < total:  # only when the worker was tampered with
        return _fail(
            res,
            Status.ERROR,
            "The worker returned fewer results than cases; did the code tamper with the grader's worker?",
        )
    res.score = ex.points
    res.message = clean_text(
        f"All {total} cases passed." + (f"\n{gradcheck}" if gradcheck else "") + _warning_lines(res)
    )
    return res


#: Floating-point warnings that break a promise of stability (NumPy's wording).
STABILITY_WARNINGS = re.compile(r"overflow encountered|invalid value encountered")
#: NumPy's floating-point warnings, by what they say.
FLOAT_WARNINGS = {
    "overflow": "overflow encountered",
    "invalid value": "invalid value encountered",
    "divide by zero": "divide by zero encountered",
    "underflow": "underflow encountered",
}


def warning_category(text: str) -> str:
    """A warning as the feedback prints it: its category and, for NumPy's floating-point
    warnings, what went wrong ("RuntimeWarning: overflow"); never the rest of its text,
    which the student's code chose."""
    category = re.match(r"[A-Za-z_][A-Za-z0-9_]{0,39}", text)
    name = category.group(0) if category else "Warning"
    found = next((k for k, phrase in FLOAT_WARNINGS.items() if phrase in text), None)
    return f"{name}: {found}" if found and name == "RuntimeWarning" else name


#: At most this many warnings are kept for an exercise's feedback.
MAX_WARNINGS = 5


def _warning_lines(res: Result) -> str:
    return "".join(f"\nWarning from your code: {w}" for w in res.warnings)


#: How a call that did not return normally is graded: outcome -> (status, message template).
CALL_PROBLEMS: Mapping[str, tuple[Status, str]] = {
    "not_implemented": (Status.NOT_IMPLEMENTED, "Not implemented yet: {name} {msg}."),
    "raised": (Status.ERROR, "{name} {msg} in {where}:"),
    "memory": (Status.ERROR, "{name} {msg} in {where}."),
    "bad_return": (Status.FAILED, "{name} {msg} in {where}."),
    "forward_not_implemented": (Status.NOT_IMPLEMENTED, "{name} needs your {forward} first: {forward} {msg}."),
    "forward_raised": (Status.ERROR, "{name} could not run: your {forward} {msg} in {where}:"),
    "forward_bad_return": (Status.FAILED, "{name} could not run: your {forward} {msg} in {where}."),
}


def _call_problem(ex: Exercise, kind: str, msg: str, rec: dict, where: str) -> tuple[Status, str]:
    status, template = CALL_PROBLEMS.get(kind, (Status.ERROR, "{name}: {msg} in {where}."))
    text = template.format(name=ex.name, forward=ex.forward, msg=msg, where=where)
    if text.endswith(":"):
        text = _with_tb(text, rec) if rec.get("traceback") else text[:-1] + "."
    return status, text


#: Characters a student's text may not carry into a report, each replaced by "?": C0 and C1
#: controls but newline and tab (terminal escapes), bidirectional overrides (text that reads
#: otherwise than it is), and the non-characters XML refuses.
_CONTROL = {
    c: "?"
    for c in (
        *range(0, 9),
        *range(11, 32),
        *range(127, 160),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0xFFFE,
        0xFFFF,
    )
}


def clean_text(text: str) -> str:
    """Student-controlled text made safe for terminals, XML and UTF-8, and capped in length."""
    text = str(text)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "\n... (cut)"
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    return text.translate(_CONTROL)


def _fail(res: Result, status: Status, message: str, extra: str | None = None) -> Result:
    res.status = status
    res.score = 0
    res.message = clean_text(message + (f"\n{extra}" if extra else "") + _warning_lines(res))
    res.warnings = [clean_text(w) for w in res.warnings]
    for call in res.calls:
        call.error = clean_text(call.error) if call.error is not None else None
    return res


def judge_worker_header(header: dict, limits) -> tuple[Status, str] | None:
    """A verdict when the worker did not come back with a payload, else None."""
    if header.get("lost"):
        return Status.ERROR, f"The worker stopped responding ({header.get('detail', 'no answer')})."
    if header.get("timed_out"):
        return Status.TIMEOUT, (
            f"Took longer than the limit of {limits.timeout:g} s (an endless loop? set the limit with --timeout)."
        )
    if header.get("too_large"):
        return Status.ERROR, "Returned far too much data."
    sig, code = header.get("signal"), header.get("exit_code")
    if sig is not None:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return Status.ERROR, (
                f"The worker was killed ({name}); it probably exceeded the memory limit of {limits.memory_mb} MB."
            )
        return Status.ERROR, f"The worker died (killed by signal {name}); a crash in native code?"
    if code == wire.EXIT_BROKEN:
        return Status.ERROR, (
            "The worker could not send the results back (exit code 4); "
            "did the code change NumPy or the standard library?"
        )
    if code == wire.EXIT_MEMORY:
        return Status.ERROR, f"Exceeded the memory limit of {limits.memory_mb} MB."
    if code != 0 or not header.get("nbytes"):
        return Status.ERROR, f"The worker died (exit code {code}); did the code call os._exit()?"
    return None


def judge_gradcheck(doc: dict, ex: Exercise) -> tuple[bool, str]:
    """Is a backward right against the student's own forward? From a gradcheck-mode document."""
    found = doc.get("gradcheck_all") or {}
    against = f"Judged by a gradient check against your own {ex.forward}"
    if doc.get("violations"):
        return False, f"{against}, it was stopped: forbidden: " + "; ".join(map(str, doc["violations"])) + "."
    if (doc.get("load") or {}).get("outcome") != "ok":
        return False, f"{against}, it could not run: {ex.module}.py could not be loaded."
    if found.get("error") or not found.get("reports"):
        return False, f"{against}, it could not run ({found.get('error', 'no result')})."
    worst, checked = 0.0, 0
    for report in found["reports"]:
        for item in report:
            if "problem" in item:
                return False, f"{against}: its {item['name']} {item['problem']}."
            worst = max(worst, float(item["max_rel_error"]))
            checked += 1
    if not checked:
        return False, f"{against}, there was nothing to check."
    if worst > GRADCHECK_FLAG:
        return False, f"{against}, it disagrees with central differences (rel. error {worst:.1e})."
    return True, (
        f"your {ex.name} agrees with central differences of your own {ex.forward} on "
        f"{len(found['reports'])} cases (rel. error at most {worst:.1e})"
    )
