"""A control group per sandboxed worker server: a ceiling on its processes and its memory.

Within a sandbox, ``RLIMIT_AS`` limits each process's address space, but
not memory that no address space counts, and ``RLIMIT_NPROC`` does not apply
where the sandbox's uid is root outside. A cgroup bounds both for the whole
server and everything it starts: at most :data:`PIDS_MAX` tasks (threads
included) and the exercise's memory limit plus a margin for the server.

A cgroup can be made only where the grader may write the cgroup filesystem:
as root (CI, Gradescope, Docker), or where the administrator delegated one.
Elsewhere :meth:`Cgroup.create` returns None and the report says so; a student
on their own machine is bounded by ``RLIMIT_NPROC`` instead. Both cgroup v2
(one hierarchy) and v1 (``pids`` and ``memory`` hierarchies) are handled.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
#: Tasks (processes and threads) one worker server may have at once.
PIDS_MAX = 64
#: Memory a server may use beyond an exercise's own limit (Python, NumPy, its private /tmp).
SERVER_MARGIN_MB = 256
PREFIX = "nngrade-"


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


class Cgroup:
    """One worker server's cgroup: one folder (v2) or one per hierarchy (v1)."""

    def __init__(self, version: int, folders: list[Path], memory_mb: int) -> None:
        self.version = version
        self.folders = folders
        self.memory_mb = memory_mb

    @classmethod
    def create(cls, memory_mb: int) -> Cgroup | None:
        """A new cgroup limiting pids and memory, or None where none can be made."""
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        limit = (memory_mb + SERVER_MARGIN_MB) << 20
        for make in (cls._v2, cls._v1):
            try:
                group = make(name, limit, memory_mb + SERVER_MARGIN_MB)
            except OSError:
                continue
            if group is not None:
                return group
        return None

    @classmethod
    def _v2(cls, name: str, limit: int, memory_mb: int) -> Cgroup | None:
        controllers = ROOT / "cgroup.controllers"
        if not controllers.exists() or not os.access(ROOT, os.W_OK):
            return None
        enabled = (ROOT / "cgroup.subtree_control").read_text().split()
        missing = [c for c in ("pids", "memory") if c not in enabled]
        if missing:
            _write(ROOT / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
        _reap(ROOT)
        folder = ROOT / name
        folder.mkdir()
        group = cls(2, [folder], memory_mb)
        try:
            _write(folder / "pids.max", str(PIDS_MAX))
            _write(folder / "memory.max", str(limit))
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def _v1(cls, name: str, limit: int, memory_mb: int) -> Cgroup | None:
        pids, memory = ROOT / "pids", ROOT / "memory"
        if not (pids / "cgroup.procs").exists() or not (memory / "cgroup.procs").exists():
            return None
        if not os.access(pids, os.W_OK) or not os.access(memory, os.W_OK):
            return None
        folders: list[Path] = []
        group = cls(1, folders, memory_mb)
        try:
            for hierarchy in (pids, memory):
                _reap(hierarchy)
                (hierarchy / name).mkdir()
                folders.append(hierarchy / name)
            _write(pids / name / "pids.max", str(PIDS_MAX))
            _write(memory / name / "memory.limit_in_bytes", str(limit))
        except OSError:
            group.remove()
            raise
        return group

    def add(self, pid: int) -> None:
        """Move process ``pid`` in (before it starts anything: its children follow it)."""
        for folder in self.folders:
            _write(folder / "cgroup.procs", str(pid))

    def remove(self) -> None:
        """Remove the folders once their processes have gone (a moment after a kill)."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)

    def describe(self) -> dict:
        return {"version": self.version, "pids_max": PIDS_MAX, "memory_max_mb": self.memory_mb}


def _reap(hierarchy: Path) -> None:
    """Remove folders left by graders that died without cleaning up (their pid is gone)."""
    for folder in hierarchy.glob(f"{PREFIX}*"):
        owner = folder.name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                folder.rmdir()
            except OSError:
                pass
