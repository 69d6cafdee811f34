"""How the student kit's CI files install the grader (``nngrade-release``).

``requirements.txt`` and ``wheelhouse/`` are in the student's repository: a student
can edit the first and drop a forged wheel (an ``nnfund`` of the same version that
gives 100, or a ``numpy`` of a higher version) into the second. So the CI files
(``.github/workflows/classroom.yml``, a protected path in GitHub Classroom, and
``.gitlab-ci.yml``) never read ``requirements.txt``: the release writes into them
the sha256 of every grader wheel it put in ``wheelhouse/``, their install step
copies those wheels out, checks them (``sha256sum --check``: a changed one stops
the job before anything is installed), lets pip pick the one for the runner among
them alone (``--no-index --no-deps``), then installs nnfund's dependencies from
the package index (``pip install nnfund==VERSION``, nnfund being installed
already). A kit without wheels takes nnfund from the instructor's ``--find-links``
locations, pinned by version: those locations are trusted as they are.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

#: The file names the install step may copy (a wheel's name, nothing a shell could read otherwise).
WHEEL_NAME = re.compile(r"nnfund-[A-Za-z0-9_.+!-]+\.whl")
#: The CI files of the kit: path in the kit -> template in grader/kit/.
CI_FILES = {".github/workflows/classroom.yml": "classroom.yml", ".gitlab-ci.yml": "gitlab-ci.yml"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_commands(wheels: Sequence[Path], find_links: Sequence[str]) -> tuple[str, str]:
    """(the shell lines that check the grader's wheels, pip's options to find them)."""
    if wheels:
        names = [w.name for w in wheels]
        bad = [n for n in names if not WHEEL_NAME.fullmatch(n)]
        if bad:
            from grader.release import ReleaseError

            raise ReleaseError(f"not a grader wheel's name: {bad[0]}")
        sums = " ".join(shlex.quote(f"{sha256(w)}  {w.name}") for w in wheels)
        lines = [
            "# the grader wheels of this kit and their sha256 (a wheel that differs stops the job)",
            'grader="$(mktemp -d)"',
            f'cp {" ".join(f"wheelhouse/{n}" for n in names)} "$grader/"',
            f"printf '%s\\n' {sums} > \"$grader/SHA256SUMS\"",
            '(cd "$grader" && sha256sum --check --strict --quiet SHA256SUMS)',
        ]
        return "\n".join(lines), '--find-links "$grader"'
    if find_links:
        comment = "# no wheel in this kit: the grader from the instructor's locations, pinned by version"
        return comment, " ".join(f"--find-links {shlex.quote(link)}" for link in find_links)
    stop = (
        'echo "nngrade: this kit holds no grader wheel and names no place to get one: release it again'
        ' with --wheel, --wheel-from or --find-links" >&2\nexit 1'
    )
    return stop, ""


def install_commands(wheels: Sequence[Path], find_links: Sequence[str], version: str) -> str:
    """The CI files' install step (``grader/kit/install-grader.sh`` filled in)."""
    from grader.release import render

    fetch, find = fetch_commands(wheels, find_links)
    return render("install-grader.sh", {"VERSION": version, "FETCH": fetch, "FIND_GRADER": find}).rstrip("\n")
