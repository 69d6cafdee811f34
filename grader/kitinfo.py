"""The student kit's record of the grader it was released for (``nnfund-kit.json``).

``nngrade-release`` writes the file at the kit's root; ``nngrade`` reads it when
it grades a folder inside a kit and says so when its own version differs, since
another version may grade other cases or give other points.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The kit's record, at the root of the kit (next to ``exercises/``).
KIT_FILE = "nnfund-kit.json"


def find_kit_record(submission: Path) -> tuple[Path, dict] | None:
    """The kit record for a submission folder: looked for in the folder itself, its
    parent (the kit's ``exercises/``) and the current directory; None outside a kit."""
    candidates = [submission, submission.parent, Path.cwd()]
    for folder in candidates:
        path = folder.resolve() / KIT_FILE
        if path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return path, {}
            return path, record if isinstance(record, dict) else {}
    return None


def kit_modules(submission: Path, catalogue) -> list[str]:
    """The modules of the kit around ``submission`` that the catalogue knows (all of them
    when there is no kit or its record names none)."""
    found = find_kit_record(submission)
    modules = found[1].get("modules") if found else None
    if not isinstance(modules, list):
        return []
    known = {ex.module for ex in catalogue.values()}
    return [m for m in modules if isinstance(m, str) and m in known]


def version_warning(submission: Path, running: str) -> str | None:
    """One line when the kit around ``submission`` was released for another grader version."""
    found = find_kit_record(submission)
    if found is None:
        return None
    path, record = found
    wanted = record.get("grader_version")
    if not isinstance(wanted, str) or not wanted:
        return f"{path} does not say which grader version this kit needs"
    if wanted == running:
        return None
    return (
        f"this kit was released for grader {wanted}, but nngrade {running} is grading it; "
        f"results may differ from the official ones (pip install -r requirements.txt "
        f"installs {wanted})"
    )
