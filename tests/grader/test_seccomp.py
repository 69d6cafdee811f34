"""The system-call filter of a worker child: no processes, no exec, no reaching others; threads work."""

from __future__ import annotations

import os
import platform

import pytest

from grader.worker import seccomp

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"),
    reason="hardware: the filter is written for x86-64 and AArch64",
)

PROBES = {
    "fork": "os.fork()",
    "exec": "os.execv('/bin/true', ['/bin/true'])",
    "posix_spawn": "os.posix_spawn('/bin/true', ['/bin/true'], {})",
    "subprocess": "import subprocess; subprocess.run(['/bin/true'])",
    "signal the parent": "os.kill(os.getppid(), 0)",
    "a socket": "import socket; socket.socket()",
    "memfd_create": "os.memfd_create('x')",
    "chmod": "os.chmod('/dev/null', 0o666)",
    "utime": "os.utime('/dev/null')",
    "F_SETOWN": "import fcntl; r, w = os.pipe(); fcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())",
    "shared memory": "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
    "if libc.shmget(0, 4096, 0o1600) == -1 and ctypes.get_errno() == 1: raise PermissionError",
    "inotify": "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
    "if libc.inotify_init1(0) == -1 and ctypes.get_errno() == 1: raise PermissionError",
    "the parent's limits": "import resource; resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (4, 4))",
    "the parent's CPUs": "os.sched_setaffinity(os.getppid(), {0})",
    "a niceness": "os.setpriority(os.PRIO_PROCESS, 0, 5)",
    "a namespace": (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.unshare(0x10000000) == -1 and ctypes.get_errno() == 1: raise PermissionError"
    ),
}


def _in_filtered_child(code: str) -> str:
    """Run ``code`` in a forked child after the filter is installed; what happened, as text."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            assert seccomp.install()
            exec(code, {"os": os})
            outcome = b"ran"
        except PermissionError:
            outcome = b"EPERM"
        except BaseException as exc:
            outcome = type(exc).__name__.encode()
        os.write(w, outcome)
        os._exit(0)
    os.close(w)
    out = os.read(r, 100).decode()
    os.close(r)
    os.waitpid(pid, 0)
    return out


@pytest.mark.parametrize("what", sorted(PROBES))
def test_the_filter_refuses(what):
    assert _in_filtered_child(PROBES[what]) == "EPERM"


def test_threads_and_signals_to_itself_still_work():
    code = (
        "import threading, resource; out = []; t = threading.Thread(target=out.append, args=(1,)); "
        "t.start(); t.join(); assert out == [1]; os.kill(os.getpid(), 0); "
        "resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)); "
        "os.sched_setaffinity(0, os.sched_getaffinity(0))"
    )
    assert _in_filtered_child(code) == "ran"


def test_the_program_is_well_formed_for_both_machines():
    for machine in seccomp.SYSCALLS:
        program = seccomp.build(machine, 1234)
        assert program[-1] == (0x06, 0, 0, 0x7FFF0000)  # ends by allowing
        assert all(0 <= jt <= 255 and 0 <= jf <= 255 for _, jt, jf, _ in program)
