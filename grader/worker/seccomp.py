"""A system-call filter for the child that runs student code (Linux, x86-64 and AArch64).

Installed after the fork and before the student's module is loaded, it is the
second layer under the sandbox's namespaces. It makes these calls fail with
``EPERM`` (the caller sees an ordinary ``OSError``):

* creating processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``;
  ``clone3`` answers ``ENOSYS`` so the C library falls back to ``clone``):
  threads stay possible, processes do not, so nothing outlives its exercise;
* ``execve``/``execveat``: no other program, interpreter or not;
* ``ptrace``, ``process_vm_readv``/``writev``, ``kcmp``, ``pidfd_*``: no
  reading or steering another process;
* signals to any process but itself (``kill``, ``tkill``, ``tgkill``,
  ``rt_(tg)sigqueueinfo`` unless the target is its own pid);
* sockets, namespaces, mounts, ``chroot``, ``bpf``, ``perf_event_open``, key
  rings, ``userfaultfd``, io_uring and ``personality``.

A system call of another architecture kills the process. The filter is built
here as classic BPF, so nothing beyond the standard library is needed;
``install`` returns False where the kernel or platform has no seccomp.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_CLONE_THREAD = 0x00010000
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2

#: Per machine: (audit arch, {name: number}); "fork" and "vfork" do not exist on AArch64.
SYSCALLS = {
    "x86_64": (0xC000003E, {
        "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59, "execveat": 322,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424,
        "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
        "socket": 41, "socketpair": 53, "unshare": 272, "setns": 308, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "bpf": 321, "perf_event_open": 298,
        "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "personality": 135,
    }),
    "aarch64": (0xC00000B7, {
        "clone": 220, "clone3": 435, "execve": 221, "execveat": 281,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424,
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "socket": 198, "socketpair": 199, "unshare": 97, "setns": 268, "mount": 40,
        "umount2": 39, "pivot_root": 41, "chroot": 51, "bpf": 280, "perf_event_open": 241,
        "keyctl": 219, "add_key": 217, "request_key": 218, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "personality": 92,
    }),
}
#: Calls allowed only when their first argument is the caller's own pid.
SELF_ONLY = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> tuple:
    return (code, jt, jf, k & 0xFFFFFFFF)


def _target(name: str) -> str:
    return {"clone": "clone", "clone3": "enosys"}.get(name, "self" if name in SELF_ONLY else "eperm")


def build(machine: str, pid: int) -> list[tuple]:
    """The filter program for ``machine`` as ``(code, jt, jf, k)`` instructions.

    Layout: the architecture check, one jump per listed call (x86-64 also
    sends the x32 numbers to ENOSYS), "allow" for everything else, then the
    shared blocks the jumps land on: the clone-flags test, the own-pid test,
    and the three returns.
    """
    arch, numbers = SYSCALLS[machine]
    jumps = [(_JGE, 0x40000000, "enosys")] if machine == "x86_64" else []
    jumps += [(_JEQ, nr, _target(name)) for name, nr in numbers.items()]
    base = 4 + len(jumps) + 1
    at = {"clone": base, "self": base + 2, "enosys": base + 4, "eperm": base + 5, "allow": base + 6}
    program = [_insn(_LD_W_ABS, _OFF_ARCH), _insn(_JEQ, arch, 1, 0), _insn(_RET, _KILL_PROCESS),
               _insn(_LD_W_ABS, _OFF_NR)]
    for code, k, target in jumps:
        program.append(_insn(code, k, at[target] - (len(program) + 1), 0))
    program.append(_insn(_RET, _ALLOW))
    for test, k in ((_JSET, _CLONE_THREAD), (_JEQ, pid)):  # at "clone", then at "self"
        program.append(_insn(_LD_W_ABS, _OFF_ARG0))
        here = len(program) + 1
        program.append(_insn(test, k, at["allow"] - here, at["eperm"] - here))
    program += [_insn(_RET, _ERRNO | errno.ENOSYS), _insn(_RET, _ERRNO | errno.EPERM), _insn(_RET, _ALLOW)]
    if len(program) != at["allow"] + 1 or max(max(i[1], i[2]) for i in program) > 255:
        raise ValueError("malformed filter program")
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> bool:
    """Install the filter in this process (for good); False where that is not possible."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if machine not in SYSCALLS or not hasattr(os, "fork"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        program = build(machine, os.getpid())
        raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
        buf = ctypes.create_string_buffer(raw, len(raw))
        prog = _SockFprog(len(program), ctypes.cast(buf, ctypes.c_void_p))
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
    except (OSError, AttributeError, ValueError):
        return False


def set_not_dumpable() -> bool:
    """``PR_SET_DUMPABLE 0``: other processes of the same uid cannot open our /proc files."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
