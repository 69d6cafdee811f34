"""The README's lab pictures: produced by exercises/labs/make_figures.py, and the labs'
dependencies declared where CI installs them."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from tests.labs.runlab import LABS, MODEL, REPO

sys.path.insert(0, str(LABS))
import make_figures

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_shows_exactly_the_committed_figures_that_the_script_makes():
    shown = set(re.findall(r"!\[[^\]]*\]\(exercises/labs/figures/(\w+)\.png\)", README))
    assert shown == set(make_figures.FIGURES)
    for name in shown:
        assert (LABS / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_figure_is_drawn_by_its_lab():
    for name, lab in make_figures.FIGURES.items():
        assert f'lab.show(fig, "{name}")' in (LABS / "src" / f"{lab}.py").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_figures_script_regenerates_every_figure_from_the_model_answers(tmp_path):
    done = subprocess.run(
        [sys.executable, str(LABS / "make_figures.py"), "--answers", str(MODEL), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    made = {p.stem for p in tmp_path.glob("*.png")}
    assert made == set(make_figures.FIGURES)
    assert all(p.stat().st_size > 5000 for p in tmp_path.glob("*.png"))


def test_plots_and_data_sets_are_dependencies_of_the_labs_and_the_tests_only():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements):
        return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() for r in requirements}

    extras = project["optional-dependencies"]
    assert {"matplotlib", "scikit-learn"} <= names(extras["labs"])
    assert {"matplotlib", "scikit-learn"} <= names(extras["test"])
    assert not {"matplotlib", "scikit-learn"} & names(project["dependencies"])


def test_the_labs_helpers_import_numpy_alone():
    """labkit and labdata run before the labs' extras are checked (labdata imports
    scikit-learn inside digits() only)."""
    for helper in ("labkit.py", "labdata.py"):
        source = (LABS / helper).read_text(encoding="utf-8")
        top_level = re.findall(r"^(?:import|from) (\w+)", source, re.M)
        assert set(top_level) <= {
            "__future__",
            "functools",
            "importlib",
            "json",
            "os",
            "sys",
            "pathlib",
            "tempfile",
            "numpy",
        }, (helper, top_level)
