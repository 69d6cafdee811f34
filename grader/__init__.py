"""nngrade: the auto-grader of the nnfund exercises.

Design (for the README)
=======================

Command line
------------
``nngrade [NAME ...] [options]`` grades every exercise of the catalogue, or
only the named ones (a module name such as ``conv`` stands for all of its
exercises; an unknown name is a usage error that suggests close matches).

=====================  =============================================================
option                 meaning (default)
=====================  =============================================================
``--submission DIR``   folder holding ``perceptron.py``, ``conv.py``, ... (``./exercises``)
``--seed N``           seed of the randomized cases (random; always reported)
``--list``             list the exercises with their points and descriptions
``--format F``         ``text`` | ``json`` | ``junit`` | ``gradescope`` | ``markdown`` (``text``)
``--output FILE``      write the report there instead of stdout
``--timeout SECONDS``  wall-clock limit per exercise, worker start included (10)
``--memory MB``        address-space limit (RLIMIT_AS) per exercise, at least 256 (1024)
``--jobs N``           exercises graded in parallel (the CPUs this process may use)
``--no-progress``      no progress bar (shown on stderr only when it is a terminal)
=====================  =============================================================

The text report is a table (exercise, points, status, one-line reason), the
full feedback of every exercise that did not pass, and a footer with the total
and the seed; colours only on a terminal and never with ``NO_COLOR`` set.
The same seed gives the same cases, whether an exercise is graded alone or
with the others.

Exit status (:class:`grader.results.ExitCode`): 0 every graded exercise
passed; 1 some did not; 2 grading could not run (bad arguments, missing or
unreadable submission folder, unknown exercise, unwritable ``--output``,
broken installation, a reference that failed, Ctrl-C), with a one-line message.

Statuses and scoring
--------------------
``passed``, ``failed`` (wrong output, wrong type / shape / dtype, an input
modified in place), ``error`` (the code raised, called ``sys.exit``, crashed
the worker or exceeded the memory limit), ``not_implemented`` (missing file or
function, ``NotImplementedError``; a backward whose forward is not implemented
yet), ``timeout``, ``forbidden`` (imports other than NumPy and the math-like
standard modules, ``open``/``exec``/``eval``/``__import__``/``importlib``/
``ctypes``, processes, sockets, reading the grader's files).

An exercise earns all its points when every case passes, else 0. Floats are
compared with ``|got - expected| <= atol + rtol*|expected|`` (default
``rtol=1e-6``, ``atol=1e-9``; some cases set their own), must be finite where
the reference is, and must be at least as precise as the reference's dtype;
integers must be integers and equal.

Feedback on an exercise that did not pass names the first failing case (its
label: worked example or random, shapes and parameters), the output
(``dw``), the first mismatching index with the expected and the returned
value, the maximum absolute and relative errors, and a hint when the mistake
is a recognisable one (a flipped kernel, a transposed result, a sum for a
mean, a missing bias or sqrt(dk), the wrong LSTM gate order or softmax axis,
...); or the modified input; or the student's exception with their traceback.
A backward runs on the cache of the student's own forward; its message ends
with a gradient check (central differences of ``sum(out * upstream)`` through
the student's forward at a few coordinates of each input, on the smallest
float64 case), a diagnostic that never changes the status.

Isolation
---------
Student code never runs in the grader process. A pool of ``--jobs`` worker
servers (``python -I grader/_worker.py``: fresh interpreters that import only
NumPy, with one BLAS/OpenMP thread) fork one child per exercise. The child
caps its address space (``--memory``) and CPU time, loads the student's file
by path, runs the cases and sends back only plain data (JSON, arrays as
dtype/shape/base64, no pickle) on a dedicated pipe; prints go to /dev/null.
The server kills a child at the time limit; the grader watches the servers and
replaces a broken one. References are computed and compared only in the grader
process, which decodes the answer strictly (numeric dtypes, bounded size and
depth) and itself decides whether inputs were modified.

Forbidden code is caught twice. Before running, a static check of the file's
AST: imports (anywhere, functions included) outside NumPy, ``math``,
``cmath``, ``numbers``, ``fractions``, ``decimal``, ``statistics``,
``random``, ``functools``, ``itertools``, ``operator``, ``collections``,
``typing``, ``dataclasses``, ``__future__``, ``warnings`` and the sibling
submission modules, and any use of ``__import__``, ``importlib``, ``exec``,
``eval``, ``compile``, ``open``, ``ctypes``, ``__builtins__``. A violation
inside an exercise's own function forbids that exercise; anywhere else, every
exercise of the module. While running, an audit hook in the child stops the
exercise as ``forbidden`` at the first import of the references, the grader,
the kernels, PyTorch, TensorFlow, JAX or SciPy (or of any non-allowed module
by the student's code), opening or changing files of the ``solutions``,
``csrc`` or ``grader`` packages, processes, sockets, signals or ctypes. The
hook reports and ends the child itself, so catching the error hides nothing.

Limits and statuses of a worker: over ``--timeout`` -> ``timeout``;
``MemoryError`` or killed at the memory limit -> ``error`` "exceeded the
memory limit of N MB"; ``sys.exit``/``SystemExit``/``KeyboardInterrupt`` or
any ``BaseException`` -> ``error`` saying so; ``os._exit`` or a crash ->
``error`` "the worker died (exit code N / signal)". Exceptions show the
student's traceback, trimmed to frames in their own files. Each exercise is
graded as if it were alone: the same result whatever the others do.
Ctrl-C stops the servers and their children at once (exit status 2).

Speed: the whole catalogue (46 exercises) of a correct submission grades in
about 1.1-1.4 s (1.6-2.0 s wall for the whole ``nngrade`` command) on 2 cores;
3.5-4 s when the machine is busy with other work.

Student-controlled text (exception messages, type names) reaches reports
without control characters, so it cannot drive a terminal or break XML.

JSON report (``--format json``)
-------------------------------
Top level: ``score``, ``max_score``, ``seed``, ``grader_version``, and the
extras ``submission`` (absolute path), ``duration`` (s), ``limits``
(``timeout``, ``memory_mb``), ``counts`` (status -> number of exercises).
``exercises``: one object per exercise, in catalogue order: ``name``,
``score``, ``max_score``, ``status``, ``message`` (the full feedback), and the
extras ``module``, ``cases_passed``, ``cases_total``, ``failed_case`` (label of
the first failing case or null), ``hint`` (recognised mistake or null),
``gradient_check`` (backward exercises: the numerical check of the student's
backward against central differences of their own forward, a diagnostic that
never changes the status: ``{"report": [{"name", "max_rel_error",
"coords"}]}``), ``duration`` (s), ``internal`` (true when the grader itself
failed) and ``calls`` (one record per graded call: ``case``, ``outcome``,
``duration``, ``error``).

Python API
----------
``grader.check(name, func, *, seed=0, forward=None)`` grades one function in
the current process (notebooks, nbgrader test cells): the same cases,
comparison and feedback; returns the result (attributes and a dict view:
``name``, ``score``, ``max_score``, ``status``, ``message``, ...) and raises
``AssertionError(message)`` unless it passed.
"""

from __future__ import annotations

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("nnfund")
except PackageNotFoundError:  # running from a checkout
    __version__ = "0.1.0"


def check(name, func, *, seed=0, forward=None):
    """Grade ``func`` as exercise ``name`` in this process; see :func:`grader.inprocess.check`."""
    from grader.inprocess import check as _check

    return _check(name, func, seed=seed, forward=forward)


__all__ = ["check", "__version__"]
