"""The batch worker: grades one submission per request, exactly as ``nngrade`` would.

``python -m grader.batch.task FD`` reads one JSON request per line on stdin
and answers one JSON line per request on file descriptor ``FD`` (anything
else printed goes to stderr, never into the answers). A request carries the
student's files (base64), so the worker needs no shared file system (a Dask
worker on another machine grades the same bytes): they are written to a fresh
temporary folder, notebooks are turned into modules there, and
:func:`grader.runner.grade` grades that folder, its student code in the
sandboxed workers it starts. The answer is the report as ``nngrade --format
json`` writes it; the batch driver validates it before using it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path


class Refused(Exception):
    """This submission cannot be graded (a one-line reason for the class summary)."""


def _write_files(folder: Path, files: dict, outside: Path) -> None:
    folder.mkdir()
    for name, content in files.items():
        if not isinstance(name, str) or "/" in name or name.startswith(".") or "\0" in name:
            raise Refused(f"unsafe file name {name!r}")
        if content is None:  # a link in the original: a link out of the folder here, as nngrade sees it
            os.symlink(outside, folder / name)
        else:
            (folder / name).write_bytes(base64.b64decode(content, validate=True))


def notebooks_to_modules(notebooks: Path, modules: Path) -> None:
    """Write the modules of the notebooks in ``notebooks`` into the folder ``modules``.

    The narrow interface the batch needs from the notebook support, wired to
    its extraction (``grader.notebooks.extract``: the one piece of code that
    reads a student's notebook, as ``nngrade --submission`` does).
    """
    try:
        from grader.notebooks.extract import ExtractError, write_modules
    except ImportError:
        raise Refused(
            "notebook submissions need the notebook support of nngrade, which this installation lacks"
        ) from None
    from grader.catalogue import EXERCISES

    try:
        write_modules(notebooks, modules, EXERCISES)
    except ExtractError as exc:
        raise Refused(str(exc)) from None


def grade_request(request: dict) -> dict:
    """The JSON report (a dict) of one request; raises :class:`Refused`."""
    from grader import __version__
    from grader.catalogue import EXERCISES
    from grader.reports import JsonReport
    from grader.runner import Limits, grade

    exercises = {n: EXERCISES[n] for n in request["exercises"]}
    with tempfile.TemporaryDirectory(prefix="nngrade-batch-") as tmp:
        root = Path(tmp)
        outside = root / "outside.py"
        outside.write_text("")
        submission = root / "submission"
        if request["kind"] == "notebooks":
            _write_files(root / "notebooks", request["files"], outside)
            submission.mkdir()
            notebooks_to_modules(root / "notebooks", submission)
        else:
            _write_files(submission, request["files"], outside)
        report = grade(
            submission,
            exercises,
            seed=request["seed"],
            limits=Limits(**request["limits"]),
            jobs=request.get("jobs") or 1,
            version=__version__,
            sandbox=request["sandbox"],
        )
        text = io.StringIO()
        JsonReport().write(report, text, False)
    return json.loads(text.getvalue())


def answer(request: dict) -> dict:
    """The answer line's object: ``{"id", "report"}`` or ``{"id", "problem"[, "fatal"]}``."""
    reply = {"id": request.get("id")}
    try:
        reply["report"] = grade_request(request)
    except Refused as exc:
        reply["problem"] = str(exc)
    except Exception as exc:
        from grader.sandbox import SandboxUnavailable

        if isinstance(exc, SandboxUnavailable):  # --sandbox require: no submission can be graded here
            reply["problem"], reply["fatal"] = str(exc), True
        else:
            reply["problem"] = f"the grader failed: {type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
    return reply


def serve(fd: int) -> None:
    """Answer requests from stdin on ``fd`` until stdin closes."""
    out = os.fdopen(fd, "w", encoding="utf-8")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the answers
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            request = {}
        reply = answer(request) if isinstance(request, dict) else {"problem": "malformed request"}
        out.write(json.dumps(reply, allow_nan=False) + "\n")
        out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
