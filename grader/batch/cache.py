"""The batch's resumable cache: one validated report per (submission content, grading setup).

A result is stored as ``DIR/.nngrade-cache/<key>.json`` the moment it is
validated, written atomically (a temporary file renamed into place), so an
interrupted run loses only the submissions being graded. The key hashes the
submission's graded files (:meth:`Submission.digest`: two identical
submissions are graded once), the grader's
fingerprint (its version and the bytes of the grader, the references and the
kernels: a changed grader regrades everyone), the exercises, the seed, the
limits and the isolation asked for.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from grader.files import write_atomic

CACHE_DIR = ".nngrade-cache"
#: What the fingerprint reads: the packages whose code decides a grade.
FINGERPRINT_PACKAGES = ("grader", "solutions", "csrc")
FINGERPRINT_SUFFIXES = (".py", ".pyx", ".pxi", ".pxd", ".h", ".so", ".pyd")


@lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """The grader's version and a digest of its code, references and kernels."""
    from grader import __version__

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256(__version__.encode())
    for package in FINGERPRINT_PACKAGES:
        base = root / package
        for path in sorted(base.rglob("*")):
            if path.suffix in FINGERPRINT_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:16]}"


def task_key(digest: str, exercises: list[str], seed: int, limits: dict, sandbox: str) -> str:
    """The cache key of grading a submission (content ``digest``) under this setup."""
    setup = {
        "grader": grader_fingerprint(),
        "submission": digest,
        "exercises": exercises,
        "seed": seed,
        "limits": limits,
        "sandbox": sandbox,
    }
    return hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()


class Cache:
    """Validated reports (and grading problems) by key, under ``out/.nngrade-cache``."""

    def __init__(self, out: Path) -> None:
        self.folder = out / CACHE_DIR

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored entry ``{"report": dict | None, "problem": str | None, "wall": float}``."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, key: str, report: dict | None, problem: str | None, wall: float) -> None:
        entry = {"key": key, "report": report, "problem": problem, "wall": round(wall, 3)}
        write_atomic(self._path(key), json.dumps(entry, allow_nan=False))
