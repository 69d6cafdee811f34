"""labkit: finding the student's exercises/, their functions, LabStop's one sentence, results."""

from __future__ import annotations

import json
import sys

import pytest

from tests.labs.runlab import LABS

sys.path.insert(0, str(LABS))
import labkit


@pytest.fixture
def course(tmp_path, monkeypatch):
    (tmp_path / "exercises" / "labs").mkdir(parents=True)
    (tmp_path / "exercises" / "toy.py").write_text(
        "import numpy as np\n"
        "def done(x):\n    return 2 * x\n"
        "def todo(x):\n    raise NotImplementedError('toy: your code here')\n"
        "def broken(x):\n    return x[10]\n"
        "LIMIT = 3\n"
    )
    monkeypatch.delenv(labkit.EXERCISES_ENV, raising=False)
    monkeypatch.setattr(labkit, "_modules", {})
    return tmp_path


def test_exercises_are_found_from_the_root_and_from_exercises_labs(course):
    assert labkit.find_exercises(course) == course / "exercises"
    assert labkit.find_exercises(course / "exercises" / "labs") == course / "exercises"


def test_the_environment_variable_wins_and_a_wrong_one_is_one_sentence(course, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.setenv(labkit.EXERCISES_ENV, str(course / "exercises"))
    assert labkit.find_exercises(elsewhere) == course / "exercises"
    monkeypatch.setenv(labkit.EXERCISES_ENV, str(elsewhere / "nope"))
    with pytest.raises(labkit.LabStop, match="is not a folder"):
        labkit.find_exercises(elsewhere)


def test_no_exercises_folder_anywhere_is_a_labstop(tmp_path_factory, monkeypatch):
    monkeypatch.delenv(labkit.EXERCISES_ENV, raising=False)
    lonely = tmp_path_factory.mktemp("lonely")
    if any((p / "exercises").is_dir() for p in (lonely, *lonely.parents)):
        pytest.fail("the temporary folder has an exercises/ above it; this test needs one without")
    with pytest.raises(labkit.LabStop, match="No exercises/ folder"):
        labkit.find_exercises(lonely)


def test_use_returns_working_functions_and_stops_on_stubs_and_absent_names(course, monkeypatch):
    monkeypatch.chdir(course)
    done = labkit.use("toy", "done")
    assert done(21) == 42 and done.__name__ == "done"
    todo, done2 = labkit.use("toy", "todo", "done")
    with pytest.raises(labkit.LabStop) as stop:
        todo(1)
    assert str(stop.value) == (
        "This cell needs your todo from exercises/toy.py, which is not implemented yet: "
        "write it (`nngrade todo` checks it), then run this cell again."
    )
    assert stop.value.__suppress_context__
    with pytest.raises(labkit.LabStop, match="your later from exercises/toy.py, which does not define it"):
        labkit.use("toy", "later")
    with pytest.raises(labkit.LabStop, match="your LIMIT from exercises/toy.py, which does not define it"):
        labkit.use("toy", "LIMIT")
    with pytest.raises(labkit.LabStop, match=r"This lab needs exercises/absent\.py, which is not in"):
        labkit.use("absent", "f")


def test_the_students_own_errors_keep_their_traceback(course, monkeypatch):
    monkeypatch.chdir(course)
    with pytest.raises(TypeError):
        labkit.use("toy", "broken")(5)


def test_labstop_renders_as_one_line_in_ipython():
    assert labkit.LabStop("one sentence.")._render_traceback_() == ["LabStop: one sentence."]


def test_save_results_writes_plain_json_in_the_working_folder(tmp_path, monkeypatch, capsys):
    import numpy as np

    monkeypatch.chdir(tmp_path)
    path = labkit.save_results(
        "09_toy", {"acc": np.float64(0.123456789), "tiny": 1.23456789e-9, "curve": np.arange(3), 1: (True, "x")}
    )
    assert path == tmp_path / "lab_results" / "09_toy.json"
    assert json.loads(path.read_text()) == {"acc": 0.123457, "tiny": 1.23457e-9, "curve": [0, 1, 2], "1": [True, "x"]}
    assert "lab_results/09_toy.json" in capsys.readouterr().out


def test_missing_lab_dependencies_are_one_sentence_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    with pytest.raises(
        labkit.LabStop, match=r"need matplotlib and scikit-learn \(sklearn is missing\).*nnfund\[labs\]"
    ):
        labkit.lab_dependencies()
