"""Which graded functions an exercise calls, and calls answered by the grader (in the child).

Students structure their code as they like: ``perceptron_train`` may call
``perceptron_update``, which calls ``step``; ``two_layer_net_loss`` calls the
layers of ``backprop.py``. So the dependencies of an exercise are observed,
never assumed: after the student's module is loaded, every module-level
graded function of the student's modules (the exercise's own and the
siblings it imported) is replaced, wherever a module-level name refers to it,
by a thin wrapper that notes the call and calls the original. The grader
learns from the notes which graded functions each exercise used, and which
forward produced a backward's cache (the protocol calls the wrapped forward).

When the grader grades an exercise once more with correct dependencies, the
wrappers of the failing ones do not run the student's function: they send the
call's arguments (plain data, :mod:`.wire`) to the grader on the *ask* pipe and
return the value the grader computed with its reference, read from the
*answer* pipe. Only plain data crosses; the reference's code and objects stay
in the grader process.
"""

from __future__ import annotations

import functools
import os
import sys
import types

from .wire import MAX_PAYLOAD, DecodeError, decode, dumps, encode, loads

#: The most a single answer line may hold (the grader answers with plain data).
MAX_ANSWER = MAX_PAYLOAD


class DependencyUnavailable(Exception):
    """The grader could not answer a call to a dependency (e.g. arguments it cannot read)."""


#: How deep module-level containers are searched for graded functions: a registry
#: ``{"sigmoid": (sigmoid_forward, sigmoid_backward)}`` is two levels.
CONTAINER_DEPTH = 3


def _replace(value, wrappers: dict, depth: int):
    """``value`` with the graded functions in it (and in its dicts, lists and tuples,
    ``depth`` levels down) replaced by their wrappers; ``value`` itself when none."""
    found = wrappers.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    if depth <= 0:
        return value
    t = type(value)
    if t is dict:
        for k, v in list(dict.items(value)):
            new = _replace(v, wrappers, depth - 1)
            if new is not v:
                value[k] = new
    elif t is list:
        for i, v in enumerate(list.copy(value)):
            new = _replace(v, wrappers, depth - 1)
            if new is not v:
                value[i] = new
    elif t is tuple:
        items = [_replace(v, wrappers, depth - 1) for v in tuple.__iter__(value)]
        if any(new is not old for new, old in zip(items, tuple.__iter__(value))):
            return tuple(items)
    return value


class Asker:
    """The child's end of the ask/answer exchange with the grader."""

    def __init__(self, ask_fd: int, answer_fd: int) -> None:
        self.ask_fd = ask_fd
        self.answers = os.fdopen(answer_fd, "rb", buffering=1 << 16)

    def ask(self, name: str, args: tuple, kwargs: dict):
        data = dumps({"name": name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))}) + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(self.ask_fd, view) :]
        line = self.answers.readline(MAX_ANSWER + 1)
        try:
            doc = loads(line.rstrip(b"\n"), MAX_ANSWER)
            if type(doc) is not dict:
                raise DecodeError("not an answer")
            if "error" in doc:
                raise DependencyUnavailable(f"the grader could not compute {name} here: {doc['error']}")
            return decode(doc.get("value"))
        except DecodeError as exc:
            raise DependencyUnavailable(f"the grader's answer for {name} was unreadable ({exc})") from None


class Observer:
    """Wraps the graded functions of the student's modules; notes the calls."""

    def __init__(self, exercise: str, substitute=(), asker: Asker | None = None) -> None:
        self.exercise = exercise
        self.substitute = frozenset(substitute) - {exercise}  # an exercise is never answered for itself
        self.asker = asker
        self.called: dict[str, None] = {}  # insertion-ordered set

    def _wrapper(self, name: str, func):
        observer = self

        @functools.wraps(func)
        def graded(*args, **kwargs):
            if name != observer.exercise:
                observer.called[name] = None
            if name in observer.substitute and observer.asker is not None:
                return observer.asker.ask(name, args, kwargs)
            return func(*args, **kwargs)

        return graded

    def install(self, graded: dict[str, list[str]], *student_dirs: str) -> None:
        """Wrap ``graded`` (module -> function names) in every student module loaded.

        A module-level name of a student module that refers to a graded
        function (``from perceptron import step as s``) is pointed at the
        wrapper too. Module dicts are read directly: a student's module
        ``__getattr__`` never runs here.
        """
        # The student's modules were loaded from ``student_dirs`` (by path, or from
        # sys.path): a prefix test of their __file__ finds them without a system
        # call per loaded module (NumPy alone loads hundreds).
        prefixes = tuple({os.path.abspath(d) + os.sep for d in student_dirs})
        modules = []
        for mod in list(sys.modules.values()):
            path = mod.__dict__.get("__file__") if isinstance(mod, types.ModuleType) else None
            if isinstance(path, str) and path.startswith(prefixes):
                modules.append(mod)
        wrappers: dict[int, object] = {}
        for mod in modules:
            for name in graded.get(mod.__name__, ()):
                func = mod.__dict__.get(name)
                if type(func) is types.FunctionType and id(func) not in wrappers:
                    wrappers[id(func)] = (func, self._wrapper(name, func))
        for mod in modules:
            space = mod.__dict__
            for key, value in list(space.items()):
                replaced = _replace(value, wrappers, CONTAINER_DEPTH)
                if replaced is not value:
                    space[key] = replaced

    def calls(self) -> list[str]:
        return list(self.called)[:64]
