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

import dataclasses
import os
import sys
import types
from collections.abc import Callable

#: What student modules may import (top-level names); siblings are added per run.
ALLOWED_IMPORTS = frozenset(
    {
        "numpy",
        "math",
        "cmath",
        "numbers",
        "fractions",
        "decimal",
        "statistics",
        "random",
        "functools",
        "itertools",
        "operator",
        "collections",
        "typing",
        "dataclasses",
        "__future__",
        "warnings",
    }
)
#: Never importable from a worker, whoever asks: the grader, the references and
#: the frameworks that would do the work. (Process, socket and C-call modules may
#: be loaded by NumPy's own code, e.g. numpy.testing; their *use* is blocked.)
DENIED_IMPORTS = frozenset(
    {
        "solutions",
        "grader",
        "csrc",
        "torch",
        "tensorflow",
        "jax",
        "jaxlib",
        "scipy",
        "cffi",
        "numba",
        "sklearn",
        "keras",
        "cupy",
        "nngrade_worker",
    }
)
#: The sentence every forbidden verdict ends with.
FORBIDDEN_RULE = (
    "A submission may use NumPy and the math-like standard modules only, "
    "and may not reach the grader's files, processes or the network."
)
#: Audit events that are always blocked once student code may run (prefix match).
DENIED_EVENTS = (
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.",
    "socket.",
    "ctypes.",
    "os.kill",
    "os.killpg",
    "signal.",
)
#: Audit events whose path arguments may not point into the protected dirs
#: (listing directories stays allowed: the import system does it all the time).
PATH_EVENTS = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.link",
        "os.symlink",
        "os.utime",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.move",
    }
)
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

    rules = _Rules.of(student_dir, protected_dirs, siblings, report_fd)
    busy = [False]
    audit, getframe, text = sys.audit, sys._getframe, rules.text

    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            violation = rules.verdict(text(event), args)
            if violation is not None:
                rules.stop(violation)
        finally:
            busy[0] = False

    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        # The importing module's globals say who asks; called by hand without
        # them (``__builtins__["__import__"]("os")``), the calling frame does.
        caller = globals.get("__file__") if isinstance(globals, dict) else getframe(1).f_code.co_filename
        if level == 0 and rules.is_student(caller) and text(name).partition(".")[0] not in rules.allowed:
            audit(BLOCKED_EVENT, f"importing {text(name)}")
            raise ImportError(f"nngrade: importing {name} is not allowed in a submission")
        return real_import(name, globals, locals, fromlist, level)

    sys.addaudithook(hook)
    builtins.__import__ = guarded_import


@dataclasses.dataclass(frozen=True)
class _Rules:
    """What the guard checks, copied when it is installed (changing this module later changes
    nothing), with the functions it uses bound then too."""

    student_prefix: str
    protected: tuple[str, ...]
    allowed: frozenset
    report_fd: int
    importlib_dir: str
    denied_imports: frozenset = DENIED_IMPORTS
    denied_events: tuple[str, ...] = DENIED_EVENTS
    path_events: frozenset = PATH_EVENTS
    realpath: Callable = os.path.realpath
    fsdecode: Callable = os.fsdecode
    getframe: Callable = sys._getframe
    write: Callable = os.write
    exit_now: Callable = os._exit
    plain_str: Callable = str.__str__

    @classmethod
    def of(cls, student_dir: str, protected_dirs, siblings, report_fd: int) -> _Rules:
        return cls(
            os.path.realpath(student_dir) + os.sep,
            tuple(os.path.realpath(d) + os.sep for d in protected_dirs),
            ALLOWED_IMPORTS | frozenset(siblings),
            report_fd,
            os.path.dirname(os.__file__) + os.sep + "importlib" + os.sep,
        )

    def text(self, value) -> str:
        """An event argument as a plain string, without calling anything of the student's."""
        return self.plain_str(value) if isinstance(value, str) else "?"

    def is_student(self, filename) -> bool:
        return type(filename) is str and self.realpath(filename).startswith(self.student_prefix)

    def importer_is_student(self) -> bool:
        frame: types.FrameType | None = self.getframe(3)
        while frame is not None:
            fn = frame.f_code.co_filename
            if not (fn.startswith("<frozen") or fn.startswith(self.importlib_dir)):
                return self.is_student(fn)
            frame = frame.f_back
        return False

    def is_protected(self, path) -> bool:
        if type(path) not in (str, bytes) or not self.protected:
            return False
        full = self.realpath(self.fsdecode(path))
        return not full.startswith(self.student_prefix) and (
            full.startswith(self.protected) or full + os.sep in self.protected
        )

    def verdict(self, event: str, args) -> str | None:
        """The violation an audit event is, or None."""
        if event == BLOCKED_EVENT:
            return self.text(args[0])
        if event == "import":
            name = self.text(args[0])
            top = name.partition(".")[0]
            if top in self.denied_imports or (top not in self.allowed and self.importer_is_student()):
                return f"importing {name}"
            return None
        if event == "open":
            path = args[0]
            return (
                f"opening {os.path.basename(self.realpath(self.fsdecode(path)))} (grader files)"
                if self.is_protected(path)
                else None
            )
        if event in self.path_events:
            return f"{event}() on grader files" if any(self.is_protected(a) for a in args) else None
        return f"{event}()" if event.startswith(self.denied_events) else None

    def stop(self, what: str):
        """Report the violation on the result pipe and end the process at once."""
        doc = (
            '{"load": {"outcome": "ok"}, "cases": [], "params": null, "gradcheck": null, '
            '"violations": ["' + _plain_text(what) + '"]}'
        ).encode()
        while doc:
            try:
                doc = doc[self.write(self.report_fd, doc) :]
            except OSError:
                break
        self.exit_now(0)
