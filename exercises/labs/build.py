"""Turn the labs' sources (src/NN_name.py) into notebooks (NN_name.ipynb).

The sources are plain Python in the "percent" cell format: a line ``# %%``
starts a code cell, ``# %% [markdown]`` a markdown cell whose lines are
comments (``# `` is removed), and ``# %% [bootstrap]`` the shared first code
cell that finds your exercises/ folder and imports the labs' helpers. Edit the
sources, never the notebooks, then run

    python exercises/labs/build.py          # writes every notebook
    python exercises/labs/build.py --check  # exit 1 if a notebook is out of date

The notebooks are written without outputs and with stable cell ids, so a
rebuild of an unchanged source gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"

#: the first code cell of every lab: find exercises/labs (which holds labkit.py) and import it.
BOOTSTRAP = """\
# Finds your code: $NNFUND_EXERCISES, else the first exercises/ in this folder or a
# parent (the course root, the kit's root or exercises/labs all work), else the
# course notebooks next to this one (an nbgrader assignment).
import os, sys
from pathlib import Path
_here = Path.cwd().resolve()
_places = [Path(os.environ["NNFUND_EXERCISES"]) / "labs"] if os.environ.get("NNFUND_EXERCISES") else []
_places += [_here] + [r / "exercises" / "labs" for r in (_here, *_here.parents)]
_labs = next((p for p in _places if (p / "labkit.py").is_file()), None)
if _labs is None:
    raise RuntimeError("labkit.py not found: start Jupyter in your course folder")
sys.path.insert(0, str(_labs))
import labkit as lab
lab.lab_dependencies()"""

MARKERS = {"# %%": "code", "# %% [markdown]": "markdown", "# %% [bootstrap]": "bootstrap"}


def parse(text: str) -> list[tuple[str, str]]:
    """The (kind, source) cells of a percent-format file; text before the first marker is dropped."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        kind = MARKERS.get(line.rstrip())
        if kind:
            cells.append((kind, []))
        elif line.startswith("# %%"):
            raise ValueError(f"unknown cell marker {line!r} (known: {sorted(MARKERS)})")
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        elif kind == "bootstrap":
            kind, lines = "code", BOOTSTRAP.splitlines()
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def notebook(source: Path) -> str:
    """The .ipynb text (nbformat 4.5 JSON) of one lab source."""
    cells = []
    for index, (kind, text) in enumerate(parse(source.read_text(encoding="utf-8"))):
        cell = {
            "cell_type": kind,
            "id": f"{source.stem}-{index:02d}",
            "metadata": {},
            "source": text.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def targets() -> dict[Path, str]:
    """notebook path -> its expected text, for every source."""
    return {HERE / f"{src.stem}.ipynb": notebook(src) for src in sorted(SOURCES.glob("[0-9]*.py"))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks out of date")
    args = parser.parse_args(argv)
    stale = [path for path, text in targets().items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.name} (run python {Path(__file__).name})")
        return 1 if stale else 0
    for path in stale:
        path.write_text(targets()[path], encoding="utf-8")
        print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
