"""The Gradescope autograder archive of the student kit (``nngrade-release --gradescope``).

Gradescope's autograder specification: a zip with ``setup.sh`` (run once, as root,
when the image is built) and ``run_autograder`` (run per submission) at its root;
it is unpacked into ``/autograder/source``; the student's files are in
``/autograder/submission``; ``run_autograder`` must leave
``/autograder/results/results.json`` (``score``, and ``tests`` with ``name``,
``score``, ``max_score``, ``status``, ``output``, ``visibility``: nngrade's
``--format gradescope``). Our archive adds ``wheelhouse/`` (the student wheels
for Linux, which hold no answer in readable form) and ``seed``: a seed drawn
here, which students never see, so the official grade's random cases are unknown
to them.

Both scripts take ``NNGRADE_AUTOGRADER_ROOT`` (default ``/autograder``), so the
project's tests run them on a simulated tree.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

ARCHIVE = "autograder.zip"
_WHEEL_PYTHON = re.compile(r"-cp(\d)(\d+)-[^-]+-([^-]+)\.whl$")


def linux_wheels(wheels: Sequence[Path]) -> tuple[list[Path], str]:
    """The Linux x86-64 wheels (Gradescope's machines) and the Python version they need."""
    chosen, versions = [], set()
    for wheel in wheels:
        match = _WHEEL_PYTHON.search(wheel.name)
        if match and "linux" in match.group(3) and "x86_64" in match.group(3):
            chosen.append(wheel)
            versions.add(f"{match.group(1)}.{match.group(2)}")
    if not chosen:
        from grader.release import ReleaseError

        raise ReleaseError(
            "Gradescope needs a Linux x86-64 student wheel; build on Linux (--wheel) "
            "or give the cibuildwheel wheels with --wheel-from"
        )
    return chosen, min(versions, key=lambda v: tuple(map(int, v.split("."))))


def write_autograder(
    dest: Path, wheels: Sequence[Path], version: str, modules: Sequence[str], seed: int | None = None
) -> Path:
    """Write ``dest/autograder.zip`` grading the kit's ``modules``; returns its path."""
    from grader.release import render

    chosen, python = linux_wheels(wheels)
    values = {"VERSION": version, "PYTHON": python, "MODULES": " ".join(modules)}
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / ARCHIVE
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, template in (("setup.sh", "gradescope_setup.sh"), ("run_autograder", "gradescope_run_autograder")):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, render(template, values))
        archive.writestr("seed", f"{seed}\n")
        for wheel in chosen:
            archive.write(wheel, f"wheelhouse/{wheel.name}")
    return path
