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
* signals routed to another process through ``fcntl`` (``F_SETOWN``,
  ``F_SETSIG``) or ``ioctl`` (``FIOSETOWN``, ``SIOCSPGRP``), and ``TIOCSTI``;
* sockets, namespaces, mounts, ``chroot``, ``bpf``, ``perf_event_open``, key
  rings, ``userfaultfd``, io_uring and ``personality``;
* ``memfd_create``/``memfd_secret``, System V and POSIX IPC (memory that
  ``RLIMIT_AS`` does not count);
* inotify and fanotify (watching what others open), and limits, CPU affinity
  or priorities of any process but itself;
* changing the metadata of any file (``chmod``, ``chown``, ``utime``,
  extended attributes, ``mknod``): the device nodes the sandbox binds in are
  the host's own inodes.

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
_OFF_NR, _OFF_ARCH, _OFF_ARG0, _OFF_ARG1 = 0, 4, 16, 24
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2

#: Refused outright (where the machine has the call).
DENY = (
    "fork",
    "vfork",
    "execve",
    "execveat",  # no other program
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",  # no other process's memory
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "socket",
    "socketpair",  # no network, no IPC sockets
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",  # no namespaces or mounts
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "personality",
    "memfd_create",
    "memfd_secret",  # memory outside RLIMIT_AS
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "mknod",
    "mknodat",  # no metadata of mounted
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",  # files
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semctl",
    "semtimedop",  # System V and
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",  # POSIX IPC: memory
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",  # nobody's limit sees
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",  # watching
    "setpriority",
    "ioprio_set",
    "sched_setscheduler",
    "sched_setparam",
    "sched_setattr",  # others
)
#: Allowed only when their first argument is the caller's own pid.
SELF_ONLY = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
#: Allowed only on the caller itself: its own pid, or 0 ("this process").
SELF_OR_ZERO = ("prlimit64", "sched_setaffinity")
#: Allowed unless their second argument (the command) is one of these: signals routed to
#: another process (F_SETOWN, F_SETOWN_EX, F_SETSIG; FIOSETOWN, SIOCSPGRP) and typing into
#: a terminal (TIOCSTI).
COMMANDS = {"fcntl": (8, 15, 10), "ioctl": (0x8901, 0x8902, 0x5412)}

#: Per machine: (audit arch, {name: number}); AArch64 lacks the legacy calls (fork, chmod, ...).
SYSCALLS = {
    "x86_64": (
        0xC000003E,
        {
            "fork": 57,
            "vfork": 58,
            "clone": 56,
            "clone3": 435,
            "execve": 59,
            "execveat": 322,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "kcmp": 312,
            "pidfd_open": 434,
            "pidfd_getfd": 438,
            "pidfd_send_signal": 424,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "rt_sigqueueinfo": 129,
            "rt_tgsigqueueinfo": 297,
            "socket": 41,
            "socketpair": 53,
            "unshare": 272,
            "setns": 308,
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "chroot": 161,
            "bpf": 321,
            "perf_event_open": 298,
            "keyctl": 250,
            "add_key": 248,
            "request_key": 249,
            "userfaultfd": 323,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "personality": 135,
            "memfd_create": 319,
            "memfd_secret": 447,
            "chmod": 90,
            "fchmod": 91,
            "fchmodat": 268,
            "fchmodat2": 452,
            "chown": 92,
            "fchown": 93,
            "lchown": 94,
            "fchownat": 260,
            "utime": 132,
            "utimes": 235,
            "futimesat": 261,
            "utimensat": 280,
            "mknod": 133,
            "mknodat": 259,
            "setxattr": 188,
            "lsetxattr": 189,
            "fsetxattr": 190,
            "removexattr": 197,
            "lremovexattr": 198,
            "fremovexattr": 199,
            "fcntl": 72,
            "ioctl": 16,
            "shmget": 29,
            "shmat": 30,
            "shmctl": 31,
            "shmdt": 67,
            "semget": 64,
            "semop": 65,
            "semctl": 66,
            "semtimedop": 220,
            "msgget": 68,
            "msgsnd": 69,
            "msgrcv": 70,
            "msgctl": 71,
            "mq_open": 240,
            "mq_unlink": 241,
            "mq_timedsend": 242,
            "mq_timedreceive": 243,
            "mq_notify": 244,
            "mq_getsetattr": 245,
            "inotify_init": 253,
            "inotify_init1": 294,
            "inotify_add_watch": 254,
            "fanotify_init": 300,
            "fanotify_mark": 301,
            "setpriority": 141,
            "ioprio_set": 251,
            "sched_setscheduler": 144,
            "sched_setparam": 142,
            "sched_setattr": 314,
            "prlimit64": 302,
            "sched_setaffinity": 203,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "clone": 220,
            "clone3": 435,
            "execve": 221,
            "execveat": 281,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "kcmp": 272,
            "pidfd_open": 434,
            "pidfd_getfd": 438,
            "pidfd_send_signal": 424,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "rt_sigqueueinfo": 138,
            "rt_tgsigqueueinfo": 240,
            "socket": 198,
            "socketpair": 199,
            "unshare": 97,
            "setns": 268,
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "chroot": 51,
            "bpf": 280,
            "perf_event_open": 241,
            "keyctl": 219,
            "add_key": 217,
            "request_key": 218,
            "userfaultfd": 282,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "personality": 92,
            "memfd_create": 279,
            "memfd_secret": 447,
            "fchmod": 52,
            "fchmodat": 53,
            "fchmodat2": 452,
            "fchown": 55,
            "fchownat": 54,
            "utimensat": 88,
            "mknodat": 33,
            "setxattr": 5,
            "lsetxattr": 6,
            "fsetxattr": 7,
            "removexattr": 14,
            "lremovexattr": 15,
            "fremovexattr": 16,
            "fcntl": 25,
            "ioctl": 29,
            "mq_open": 180,
            "mq_unlink": 181,
            "mq_timedsend": 182,
            "mq_timedreceive": 183,
            "mq_notify": 184,
            "mq_getsetattr": 185,
            "msgget": 186,
            "msgctl": 187,
            "msgrcv": 188,
            "msgsnd": 189,
            "semget": 190,
            "semctl": 191,
            "semtimedop": 192,
            "semop": 193,
            "shmget": 194,
            "shmctl": 195,
            "shmat": 196,
            "shmdt": 197,
            "inotify_init1": 26,
            "inotify_add_watch": 27,
            "fanotify_init": 262,
            "fanotify_mark": 263,
            "setpriority": 140,
            "ioprio_set": 30,
            "sched_setscheduler": 119,
            "sched_setparam": 118,
            "sched_setattr": 274,
            "prlimit64": 261,
            "sched_setaffinity": 122,
        },
    ),
}


def _assemble(items: list) -> list[tuple]:
    """Labels (strings) and ``(code, k, jt, jf)`` with label or 0 jumps -> BPF instructions."""
    where, count = {}, 0
    for item in items:
        if isinstance(item, str):
            where[item] = count
        else:
            count += 1
    program: list[tuple] = []
    for item in items:
        if isinstance(item, str):
            continue
        code, k, jt, jf = item
        here = len(program) + 1
        offsets = [where[j] - here if isinstance(j, str) else j for j in (jt, jf)]
        if not all(0 <= o <= 255 for o in offsets):
            raise ValueError("filter jump out of range")
        program.append((code, offsets[0], offsets[1], k & 0xFFFFFFFF))
    return program


def build(machine: str, pid: int) -> list[tuple]:
    """The filter program for ``machine`` as ``(code, jt, jf, k)`` instructions.

    Layout: the architecture check; one jump per listed call (x86-64 also sends
    the x32 numbers to ENOSYS); "allow" for everything else; then the blocks the
    jumps land on (clone flags, own pid, forbidden commands) and the returns.
    """
    arch, nr = SYSCALLS[machine]
    items: list = [
        (_LD_W_ABS, _OFF_ARCH, 0, 0),
        (_JEQ, arch, 1, 0),
        (_RET, _KILL_PROCESS, 0, 0),
        (_LD_W_ABS, _OFF_NR, 0, 0),
    ]
    if machine == "x86_64":  # the x32 ABI's numbers have bit 30 set
        items.append((_JGE, 0x40000000, "enosys", 0))
    items += [(_JEQ, nr[name], "eperm", 0) for name in DENY if name in nr]
    items += [(_JEQ, nr["clone"], "clone", 0), (_JEQ, nr["clone3"], "enosys", 0)]
    items += [(_JEQ, nr[name], "self", 0) for name in SELF_ONLY]
    items += [(_JEQ, nr[name], "self_or_zero", 0) for name in SELF_OR_ZERO]
    items += [(_JEQ, nr[name], name, 0) for name in COMMANDS]
    items += [
        (_RET, _ALLOW, 0, 0),
        "clone",
        (_LD_W_ABS, _OFF_ARG0, 0, 0),
        (_JSET, _CLONE_THREAD, "allow", "eperm"),
        "self",
        (_LD_W_ABS, _OFF_ARG0, 0, 0),
        (_JEQ, pid, "allow", "eperm"),
        "self_or_zero",
        (_LD_W_ABS, _OFF_ARG0, 0, 0),
        (_JEQ, 0, "allow", 0),
        (_JEQ, pid, "allow", "eperm"),
    ]
    for name, commands in COMMANDS.items():
        items += [name, (_LD_W_ABS, _OFF_ARG1, 0, 0)]
        items += [(_JEQ, command, "eperm", 0) for command in commands]
        items.append((_RET, _ALLOW, 0, 0))
    items += [
        "enosys",
        (_RET, _ERRNO | errno.ENOSYS, 0, 0),
        "eperm",
        (_RET, _ERRNO | errno.EPERM, 0, 0),
        "allow",
        (_RET, _ALLOW, 0, 0),
    ]
    return _assemble(items)


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
