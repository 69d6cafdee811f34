"""The worker side of grading: everything that runs next to student code.

This package is copied, alone, into every worker's sandbox (see
``grader/sandbox.py``), so it imports nothing but the standard library and
NumPy, and its modules refer to each other by relative imports only:

* :mod:`.wire` - the plain-data format that crosses the process boundary, and
  the bounded decoder the grader applies to everything a worker sends back
  (the trust boundary: read it first when auditing);
* :mod:`.protocol` - how a graded call is made (function, higher-order,
  forward, backward), the numerical gradient check, trimmed tracebacks;
* :mod:`.scalar_functions` - the named scalar test functions a case may
  describe, built into callables for ``numerical_gradient`` (in the worker for
  the student, in the grader for the reference);
* :mod:`.guard` - the import rules and the friendly first line of defence
  (an audit hook that reports ``forbidden``); not a security boundary;
* :mod:`.seccomp` - the system-call filter a worker child installs before
  student code runs (no processes, no exec, no ptrace, no signals to others);
* :mod:`.observe` - in the child: which graded functions an exercise calls,
  and, in a regrade, calls to failing dependencies sent to the grader;
* :mod:`.relay` - the server's side of that ask/answer exchange;
* :mod:`.server` - the fork server and the child that runs one exercise.
"""
