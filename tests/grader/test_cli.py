"""``nngrade`` end to end: through ``main(argv)`` and the real command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalogue import EXERCISES, MODULES
from grader.cli import main
from grader.results import ExitCode
from tests.grader.conftest import MODEL_EXERCISES, ROOT, STUBS_DIR, by_name, copy_model, grade_json


def run_nngrade(*argv: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line (``python -m grader.cli``, what the ``nngrade`` script runs)."""
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    """One full-catalogue run of the model answers."""
    tmp = tmp_path_factory.mktemp("model")
    sub = copy_model(tmp / "submission")
    code, report = grade_json(tmp, "--submission", str(sub), "--seed", "5")
    return code, report


@pytest.fixture(scope="module")
def stub_run(tmp_path_factory):
    """One full-catalogue run of the student stubs of the checkout."""
    tmp = tmp_path_factory.mktemp("stubs")
    return grade_json(tmp, "--submission", str(STUBS_DIR), "--seed", "5")


def test_model_answers_pass_every_exercise_they_cover(model_run):
    _, report = model_run
    results = by_name(report)
    not_passed = {n: results[n]["message"] for n in MODEL_EXERCISES if results[n]["status"] != "passed"}
    assert not not_passed
    assert all(results[n]["score"] == results[n]["max_score"] > 0 for n in MODEL_EXERCISES)


def test_correct_submission_gets_full_marks_and_exit_0(model_run):
    code, report = model_run
    assert report["score"] == report["max_score"] == sum(ex.points for ex in EXERCISES.values())
    assert code == ExitCode.ALL_PASSED


def test_report_lists_every_exercise_in_catalogue_order(model_run):
    _, report = model_run
    assert [e["name"] for e in report["exercises"]] == list(EXERCISES)
    assert report["seed"] == 5 and report["grader_version"]


def test_backward_reports_the_gradient_check_as_a_diagnostic(model_run):
    _, report = model_run
    entry = by_name(report)["affine_backward"]
    names = [item["name"] for item in entry["gradient_check"]["report"]]
    assert names == list(EXERCISES["affine_backward"].outputs)
    assert all(item["max_rel_error"] < 1e-5 for item in entry["gradient_check"]["report"])
    assert "Gradient check (diagnostic): your backward agrees" in entry["message"]


def test_stubs_are_not_implemented_everywhere_and_exit_1(stub_run):
    code, report = stub_run
    assert code == ExitCode.NOT_ALL_PASSED
    statuses = {e["name"]: e["status"] for e in report["exercises"]}
    assert set(statuses.values()) == {"not_implemented"}, statuses
    assert report["score"] == 0


def test_stub_backward_says_it_needs_the_forward_first(stub_run):
    _, report = stub_run
    assert "needs your affine_forward first" in by_name(report)["affine_backward"]["message"]


def test_same_seed_reproduces_the_run_exactly(tmp_path):
    sub = copy_model(tmp_path / "sub")
    names = ["softmax", "affine_backward", "perceptron_train"]
    _, first = grade_json(tmp_path, *names, "--submission", str(sub), "--seed", "123")
    _, second = grade_json(tmp_path, *names, "--submission", str(sub), "--seed", "123")
    _, other = grade_json(tmp_path, *names, "--submission", str(sub), "--seed", "124")
    cases = lambda r: [[c["case"] for c in e["calls"]] for e in r["exercises"]]  # noqa: E731
    assert cases(first) == cases(second)
    assert cases(first) != cases(other)


def test_named_exercises_and_modules_select_what_is_graded(tmp_path):
    sub = copy_model(tmp_path / "sub")
    code, report = grade_json(tmp_path, "relu", "losses", "--submission", str(sub), "--seed", "1")
    expected = ["relu"] + [n for n, ex in EXERCISES.items() if ex.module == "losses"]
    assert [e["name"] for e in report["exercises"]] == expected
    assert code == ExitCode.ALL_PASSED


def test_missing_module_and_function_are_not_implemented(tmp_path):
    sub = copy_model(tmp_path / "sub")
    (sub / "losses.py").unlink()
    text = (sub / "activations.py").read_text().replace("def relu_grad(", "def _renamed(")
    (sub / "activations.py").write_text(text)
    code, report = grade_json(tmp_path, "mse_loss", "relu_grad", "relu", "--submission", str(sub), "--seed", "1")
    results = by_name(report)
    assert results["mse_loss"]["status"] == "not_implemented"
    assert "no losses.py" in results["mse_loss"]["message"]
    assert results["relu_grad"]["status"] == "not_implemented"
    assert "has no function relu_grad" in results["relu_grad"]["message"]
    assert results["relu"]["status"] == "passed"
    assert code == ExitCode.NOT_ALL_PASSED


def test_a_folder_holding_none_of_the_graded_modules_is_pointed_to_the_one_inside(tmp_path, capsys):
    """A kit's or a course's root instead of its exercises/ folder: 0 points, said out loud."""
    copy_model(tmp_path / "kit" / "exercises")
    code, _ = grade_json(tmp_path, "relu", "mse_loss", "--submission", str(tmp_path / "kit"), "--seed", "1")
    err = capsys.readouterr().err
    assert code == ExitCode.NOT_ALL_PASSED
    assert f"holds no activations.py or losses.py; did you mean --submission {tmp_path / 'kit' / 'exercises'}?" in err
    code, _ = grade_json(tmp_path, "relu", "--submission", str(tmp_path / "kit" / "exercises"), "--seed", "1")
    assert code == ExitCode.ALL_PASSED and "holds no" not in capsys.readouterr().err


def test_syntax_error_is_an_error_of_that_module_only(tmp_path):
    sub = copy_model(tmp_path / "sub")
    (sub / "losses.py").write_text("def mse_loss(y_hat, y):\n    return (\n")
    _, report = grade_json(tmp_path, "mse_loss", "relu", "--submission", str(sub), "--seed", "1")
    results = by_name(report)
    assert results["mse_loss"]["status"] == "error" and "does not parse" in results["mse_loss"]["message"]
    assert results["relu"]["status"] == "passed"


def test_forbidden_call_inside_one_function_forbids_that_exercise_only(tmp_path):
    sub = copy_model(tmp_path / "sub")
    path = sub / "activations.py"
    path.write_text(path.read_text() + "\n\ndef relu(z):\n    eval('1')\n    return np.maximum(z, 0)\n")
    _, report = grade_json(tmp_path, "relu", "relu_grad", "--submission", str(sub), "--seed", "1")
    results = by_name(report)
    assert results["relu"]["status"] == "forbidden" and "calls eval" in results["relu"]["message"]
    assert results["relu_grad"]["status"] == "passed"


def test_list_prints_every_exercise_with_points(capsys):
    assert main(["--list"]) == ExitCode.ALL_PASSED
    out = capsys.readouterr().out
    for name, ex in EXERCISES.items():
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert f"{ex.points} pt" in line
    assert f"total: {sum(ex.points for ex in EXERCISES.values())} points" in out
    assert all(f"{m}.py" in out for m in MODULES)


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["--submission", "/nonexistent/dir"], "no submission folder"),
        (["conv2d_foward"], "did you mean conv2d_forward"),
        (["conv2d"], "did you mean conv2d_forward or conv2d_backward?"),
        (["lstm"], "did you mean lstm_cell_forward, lstm_cell_backward, lstm_forward or lstm_backward?"),
        (["max_pool"], "did you mean max_pool2d_forward or max_pool2d_backward?"),
        (["pool2d_back"], "did you mean max_pool2d_backward or avg_pool2d_backward?"),
        (["transp"], "did you mean transposed_conv?"),
        (["zzz"], "unknown exercise 'zzz'; see nngrade --list"),
        (["--seed", "abc"], "not an integer"),
        (["--timeout", "0"], "must be positive"),
        (["--format", "pdf"], "invalid choice"),
        (["--memory", "64"], "at least 256"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, phrase, capsys):
    assert main(argv) == ExitCode.COULD_NOT_RUN
    err = capsys.readouterr().err
    assert phrase in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_output_is_a_usage_error(tmp_path, capsys):
    sub = copy_model(tmp_path / "sub")
    code = main(["relu", "--submission", str(sub), "--output", str(tmp_path / "no" / "such" / "file")])
    assert code == ExitCode.COULD_NOT_RUN
    assert "cannot write" in capsys.readouterr().err


def test_seed_env_grades_with_the_secret_seed_and_reports_none(tmp_path, monkeypatch, capsys):
    """--seed-env VAR: the kit's CI passes the instructor's secret this way, so that neither a
    report nor an artifact shows it; unset or empty, the seed is random and reported.
    The cases are drawn from the secret salted by the graded files: the same files are
    graded the same way, and any edit (a table of answers for the cases an earlier run
    showed, say) draws other cases."""
    sub = copy_model(tmp_path / "sub")
    names = ["softmax", "perceptron_train"]
    _, public = grade_json(tmp_path, *names, "--submission", str(sub), "--seed", "31415926")
    monkeypatch.setenv("COURSE_SEED", "31415926")
    _, secret = grade_json(tmp_path, *names, "--submission", str(sub), "--seed-env", "COURSE_SEED")
    _, again = grade_json(tmp_path, *names, "--submission", str(sub), "--seed-env", "COURSE_SEED")
    cases = lambda r: [[c["case"] for c in e["calls"]] for e in r["exercises"]]  # noqa: E731
    assert cases(secret) == cases(again) != cases(public)  # reproducible, and not the bare seed's
    assert (secret["seed"], secret["seed_secret"], public["seed_secret"]) == (None, True, False)
    assert "31415926" not in json.dumps(secret)  # ... which it does not show
    (sub / "activations.py").write_text((sub / "activations.py").read_text() + "\n# one more line\n")
    _, edited = grade_json(tmp_path, *names, "--submission", str(sub), "--seed-env", "COURSE_SEED")
    assert edited["score"] == secret["score"] and cases(edited) != cases(secret)
    monkeypatch.setenv("COURSE_SEED", "")
    _, empty = grade_json(tmp_path, "relu", "--submission", str(sub), "--seed-env", "COURSE_SEED")
    assert isinstance(empty["seed"], int) and empty["seed_secret"] is False
    monkeypatch.setenv("COURSE_SEED", "not-a-seed-4242")
    assert main(["relu", "--submission", str(sub), "--seed-env", "COURSE_SEED"]) == ExitCode.COULD_NOT_RUN
    err = capsys.readouterr().err
    assert "COURSE_SEED does not hold a seed" in err and "4242" not in err  # a bad secret is not repeated
    assert main(["relu", "--seed", "1", "--seed-env", "COURSE_SEED"]) == ExitCode.COULD_NOT_RUN
    assert "not allowed with argument" in capsys.readouterr().err


def test_real_command_grades_and_reports_the_random_seed(tmp_path):
    sub = copy_model(tmp_path / "sub")
    done = run_nngrade("relu", "softmax", "--submission", str(sub), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report["seed"], int)
    assert {e["status"] for e in report["exercises"]} == {"passed"}


def test_real_command_text_report_has_table_total_and_seed_without_colour(tmp_path):
    sub = copy_model(tmp_path / "sub")
    text = (sub / "activations.py").read_text() + "\n\ndef relu(z):\n    return np.maximum(z, 0) * 2\n"
    (sub / "activations.py").write_text(text)
    done = run_nngrade("relu", "sigmoid", "--submission", str(sub), "--seed", "9")
    assert done.returncode == 1
    out = done.stdout
    assert "relu" in out and "0/1" in out and "failed" in out and "passed" in out
    assert "Seed 9: rerun with --seed 9" in out and "Total:" in out
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert "Wrong output" in out


def test_real_command_default_submission_is_exercises_of_the_cwd(tmp_path):
    copy_model(tmp_path / "exercises")
    done = run_nngrade("relu", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["submission"] == str((tmp_path / "exercises").resolve())


def test_real_command_usage_error_exit_2(tmp_path):
    done = run_nngrade("--submission", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.startswith("nngrade: error:") and "Traceback" not in done.stderr


def test_a_failing_reference_is_a_grader_problem_exit_2(tmp_path, monkeypatch, capsys):
    import grader.runner as runner

    def broken(*args, **kwargs):
        raise runner.ReferenceError_("the reference exploded")

    monkeypatch.setattr(runner, "reference_values", broken)
    sub = copy_model(tmp_path / "sub")
    code, report = grade_json(tmp_path, "relu", "--submission", str(sub), "--seed", "1")
    entry = by_name(report)["relu"]
    assert code == ExitCode.COULD_NOT_RUN
    assert entry["status"] == "error" and entry["internal"] is True
    assert entry["message"].startswith("Grader problem, not yours") and "Traceback" not in entry["message"]
    assert "could not compute some references" in capsys.readouterr().err


def test_installed_nngrade_script_grades_and_exits_like_main(tmp_path):
    assert shutil.which("nngrade"), "the package is installed (pip install -e .) with its nngrade script"
    sub = copy_model(tmp_path / "sub")
    done = subprocess.run(
        ["nngrade", "relu", "--submission", str(sub), "--seed", "3", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["exercises"][0]["status"] == "passed"
    missing = subprocess.run(
        ["nngrade", "--submission", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert missing.returncode == 2 and missing.stderr.startswith("nngrade: error:")
