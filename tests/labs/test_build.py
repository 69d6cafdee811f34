"""exercises/labs/build.py: the committed notebooks are exactly what the sources build."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from tests.labs.runlab import LABS

sys.path.insert(0, str(LABS))
import build


def test_every_committed_notebook_is_in_sync_with_its_source():
    stale = [p.name for p, text in build.targets().items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"run python exercises/labs/build.py: {stale} out of date"


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    notebooks = {p.stem for p in LABS.glob("*.ipynb")}
    sources = {p.stem for p in (LABS / "src").glob("*.py")}
    assert notebooks == sources and len(notebooks) == 8


def test_check_mode_exits_1_on_a_stale_notebook_and_0_when_in_sync(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "01_toy.py").write_text("# %% [markdown]\n# # Toy\n# %%\nx = 1\n")
    monkeypatch.setattr(build, "HERE", tmp_path)
    monkeypatch.setattr(build, "SOURCES", src)
    assert build.main(["--check"]) == 1
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    (src / "01_toy.py").write_text("# %% [markdown]\n# # Toy\n# %%\nx = 2\n")
    assert build.main(["--check"]) == 1


def test_notebooks_are_valid_without_outputs_and_start_with_the_shared_bootstrap():
    for path in build.targets():
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# Lab {int(path.stem[:2])}:")
        assert code[0].source == build.BOOTSTRAP
        assert all(c.outputs == [] and c.execution_count is None for c in code)
        assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_markdown_cells_lose_their_comment_marks_and_unknown_markers_are_refused():
    cells = build.parse("ignored\n# %% [markdown]\n# # Title\n#\n# text\n# %%\nx = 1\n\n# %% [bootstrap]\n")
    assert cells == [("markdown", "# Title\n\ntext"), ("code", "x = 1"), ("code", build.BOOTSTRAP)]
    with pytest.raises(ValueError, match="unknown cell marker"):
        build.parse("# %% [raw]\nx\n")


def test_the_build_script_runs_as_a_command():
    done = subprocess.run([sys.executable, str(LABS / "build.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
