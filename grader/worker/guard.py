"""The import rules of a submission, and the guard: the friendly first line of defence.

The guard gives students a clear ``forbidden`` verdict ("importing torch")
the moment their code reaches for something the course forbids. It is *not*
a security boundary (an audit hook never is: CPython's documentation says
so); the operating-system sandbox of ``grader/sandbox.py`` and the system-call
filter of :mod:`.seccomp` are. Nothing depends on the guard for safety.

The rules here are the one source of truth: the static check
(``grader/forbidden.py``) imports them too.
"""

from __future__ import annotations

import os
import sys
import types

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
    "cffi", "numba", "sklearn", "keras", "cupy", "nngrade_worker",
})
#: The sentence every forbidden verdict ends with.
FORBIDDEN_RULE = ("A submission may use NumPy and the math-like standard modules only, "
                  "and may not reach the grader's files, processes or the network.")
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
    (audit hooks cannot be listed or removed), holds its own copies of the
    rules (changing this module's globals changes nothing) and never calls a
    method of an event's argument (a ``str`` subclass's ``__str__`` would run
    inside the hook).
    """
    import builtins

    student_prefix = os.path.realpath(student_dir) + os.sep
    protected = tuple(os.path.realpath(d) + os.sep for d in protected_dirs)
    allowed = ALLOWED_IMPORTS | frozenset(siblings)
    importlib_dir = os.path.dirname(os.__file__) + os.sep + "importlib" + os.sep
    busy = [False]
    getframe, realpath, fsdecode, audit = sys._getframe, os.path.realpath, os.fsdecode, sys.audit
    write, exit_now = os.write, os._exit
    denied_imports, denied_events, path_events = DENIED_IMPORTS, DENIED_EVENTS, PATH_EVENTS
    plain_str, str_type = str.__str__, str

    def text(value) -> str:
        """An event argument as a plain string, without calling anything of the student's."""
        return plain_str(value) if isinstance(value, str_type) else "?"

    def is_student(filename) -> bool:
        return type(filename) is str_type and realpath(filename).startswith(student_prefix)

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
        frame: types.FrameType | None = getframe(2)
        while frame is not None:
            fn = frame.f_code.co_filename
            if fn.startswith("<frozen") or fn.startswith(importlib_dir):
                frame = frame.f_back
                continue
            return is_student(fn)
        return False

    def is_protected(path) -> bool:
        if type(path) not in (str_type, bytes) or not protected:
            return False
        full = realpath(fsdecode(path))
        return not full.startswith(student_prefix) and (full.startswith(protected) or full + os.sep in protected)

    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            event = text(event)
            if event == BLOCKED_EVENT:
                stop(text(args[0]))
            elif event == "import":
                name = text(args[0])
                top = name.partition(".")[0]
                if top in denied_imports or (top not in allowed and importer_is_student()):
                    stop(f"importing {name}")
            elif event == "open":
                if is_protected(args[0]):
                    stop(f"opening {os.path.basename(realpath(fsdecode(args[0])))} (grader files)")
            elif event in path_events:
                if any(is_protected(a) for a in args):
                    stop(f"{event}() on grader files")
            elif event.startswith(denied_events):
                stop(f"{event}()")
        finally:
            busy[0] = False

    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        # The importing module's globals say who asks; called by hand without
        # them (``__builtins__["__import__"]("os")``), the calling frame does.
        caller = globals.get("__file__") if isinstance(globals, dict) else getframe(1).f_code.co_filename
        if level == 0 and is_student(caller) and text(name).partition(".")[0] not in allowed:
            audit(BLOCKED_EVENT, f"importing {text(name)}")
            raise ImportError(f"nngrade: importing {name} is not allowed in a submission")
        return real_import(name, globals, locals, fromlist, level)

    sys.addaudithook(hook)
    builtins.__import__ = guarded_import


