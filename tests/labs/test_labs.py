"""Every lab runs headless with the model answers in place of the student's code
and reaches the figures it promises; with the stubs it stops with one sentence.

Each lab is executed with nbclient in a fresh course folder (tmp_path) whose
exercises/ holds copies of solutions/model/*.py (or of the real stubs), exactly
as a student's checkout or kit would. Timings are not asserted (see README).
"""

from __future__ import annotations

import json
import math
import re

import pytest

from tests.labs.runlab import LABS, MODEL, STUBS, course_folder, errors, execute_notebook, run_lab

LAB_NAMES = sorted(p.stem for p in LABS.glob("[0-9][0-9]_*.ipynb"))


def test_there_is_a_lab_per_part_of_the_course_numbered_in_course_order():
    assert LAB_NAMES == [
        "01_perceptron",
        "02_noisy_xor",
        "03_digits",
        "04_optimisers_regularisation",
        "05_cnn",
        "06_autoencoder",
        "07_rnn_lstm",
        "08_transformer",
    ]


# -- the promised figures, one checker per lab ---------------------------------------


def perceptron(r):
    for gate in ("OR", "AND"):
        assert r[gate]["converged"] and r[gate]["updates"][-1] == 0 and r[gate]["accuracy"] == 1.0, r[gate]
    assert not r["XOR"]["converged"] and min(r["XOR"]["updates"]) >= 1, r["XOR"]
    assert r["XOR"]["epochs"] == 12 and r["XOR"]["accuracy"] < 1.0


def noisy_xor(r):
    assert r["test_accuracy"] >= 0.9
    assert r["final_loss"] < r["initial_loss"] / 5
    assert r["equal_init_hidden_weight_spread"] <= 1e-12  # the hidden units stayed identical
    assert r["equal_init_test_accuracy"] < 0.8  # one tanh unit cannot draw XOR


def digits(r):
    assert abs(r["initial_loss"] - math.log(10)) < 0.01
    assert r["overfit20_accuracy"] == 1.0 and r["overfit20_loss"] < 0.1
    assert r["mlp"]["test_accuracy"] >= 0.95
    assert r["logreg"]["test_accuracy"] >= 0.9
    assert r["misclassified_test"] == round((1 - r["mlp"]["test_accuracy"]) * 300)


def optimisers_regularisation(r):
    opt = r["optimisers"]
    assert set(opt) == {"SGD", "momentum", "RMSprop", "Adam"}
    for name, figures in opt.items():
        assert figures["val_accuracy"] >= 0.9, name
        assert figures["last_epoch_loss"] < figures["first_epoch_loss"] / 3, name
    assert opt["momentum"]["last_epoch_loss"] < opt["SGD"]["last_epoch_loss"]
    reg = r["regularisation"]
    assert reg["none"]["train"] == 1.0  # 150 examples: the plain network learns them by heart
    for kind in ("none", "dropout", "batchnorm"):
        assert reg[kind]["test"] >= 0.9, kind
    for kind in ("dropout", "batchnorm"):
        assert reg[kind]["val"] >= reg["none"]["val"], kind


def cnn(r):
    assert abs(r["initial_loss"] - math.log(10)) < 0.05
    assert r["test_accuracy"] >= 0.93


def autoencoder(r):
    assert r["reconstruction_mse"] < 0.25 * r["baseline_mse"]
    assert r["denoised_mse"] < 0.5 * r["noisy_mse"]


def rnn_lstm(r):
    ratio = r["gradient_ratio_first_to_last"]
    assert ratio["0.6"] < 1e-3  # vanishing
    assert 0.5 < ratio["1.0"] < 2.0
    assert ratio["1.4"] > 10  # exploding
    assert r["lstm_test_accuracy"] >= 0.95
    assert r["rnn_test_accuracy"] <= 0.65


def transformer(r):
    assert r["token_accuracy"] >= 0.95 and r["sequence_accuracy"] >= 0.8
    assert r["final_loss"] < r["initial_loss"] / 10
    assert r["max_head_anti_diagonal_weight"] >= 0.4  # some head looks up position 7 - i


PROMISES = {
    "01_perceptron": perceptron,
    "02_noisy_xor": noisy_xor,
    "03_digits": digits,
    "04_optimisers_regularisation": optimisers_regularisation,
    "05_cnn": cnn,
    "06_autoencoder": autoencoder,
    "07_rnn_lstm": rnn_lstm,
    "08_transformer": transformer,
}


def test_every_lab_has_its_promises_checked():
    assert sorted(PROMISES) == LAB_NAMES


@pytest.mark.slow
@pytest.mark.parametrize("lab", LAB_NAMES)
def test_lab_runs_with_the_model_answers_and_reaches_its_promised_figures(lab, tmp_path):
    root = course_folder(tmp_path, MODEL)
    nb, results, seconds = run_lab(root, lab)  # the first error, if any, fails the test with its message
    assert results is not None, f"{lab} wrote no lab_results/{lab}.json"
    print(f"{lab}: {seconds:.1f} s")
    PROMISES[lab](results)


def test_a_lab_started_in_exercises_labs_finds_the_exercises_and_writes_results_there(tmp_path):
    root = course_folder(tmp_path, MODEL)
    nb, _, _ = run_lab(root, "01_perceptron", cwd=root / "exercises" / "labs")
    results = json.loads((root / "exercises" / "labs" / "lab_results" / "01_perceptron.json").read_text())
    perceptron(results)


def test_the_exercises_folder_can_be_named_by_environment_variable(tmp_path):
    course = course_folder(tmp_path / "course", MODEL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    nb, results, _ = run_lab(
        course, "01_perceptron", cwd=elsewhere, env={"NNFUND_EXERCISES": str(course / "exercises")}
    )
    perceptron(results)
    assert (elsewhere / "lab_results" / "01_perceptron.json").is_file()


#: "This cell needs your <name> from exercises/<module>.py, which is not implemented yet: ..."
#: (or "which does not define it"), or "This lab needs exercises/<module>.py, which is not in ..."
ONE_SENTENCE = re.compile(
    r"^LabStop: This (cell needs your (?P<name>\w+) from|lab needs) "
    r"exercises/(?P<module>\w+)\.py, [^\n]*\.$"
)


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_with_the_stubs_a_lab_stops_at_its_first_students_call_with_one_sentence(lab, tmp_path):
    """Every stub raises NotImplementedError, so the first cell that calls (or imports) one
    of the student's functions is where the lab must stop, with LabStop and no traceback."""
    root = course_folder(tmp_path, STUBS)
    nb, results, _ = run_lab(root, lab, expect_error=True)
    found = errors(nb)
    assert len(found) == 1, [(e["ename"], e["evalue"]) for e in found]
    error = found[0]
    assert error["ename"] == "LabStop", (error["ename"], error["evalue"])
    assert len(error["traceback"]) == 1, error["traceback"]
    sentence = ONE_SENTENCE.match(error["traceback"][0])
    assert sentence, error["traceback"]
    uses = "".join(cell.source for cell in nb.cells if "lab.use(" in cell.source)
    assert f'"{sentence["module"]}"' in uses and (sentence["name"] is None or f'"{sentence["name"]}"' in uses)
    later = [cell for cell in nb.cells[error["cell"] + 1 :] if cell.cell_type == "code"]
    assert later and all(cell.get("execution_count") is None for cell in later)
    assert results is None


def test_a_half_done_student_gets_as_far_as_their_code_goes(tmp_path):
    """rnn.py complete but for lstm_forward: part 1 of the RNN lab runs, part 2 stops where
    the LSTM is first called, naming lstm_forward."""
    root = course_folder(tmp_path, MODEL)
    rnn = root / "exercises" / "rnn.py"
    rnn.write_text(
        rnn.read_text() + "\n\ndef lstm_forward(x, h0, Wx, Wh, b):\n"
        "    raise NotImplementedError('lstm_forward: your code here')\n"
    )
    nb, results, _ = run_lab(root, "07_rnn_lstm", expect_error=True)
    (error,) = errors(nb)
    assert error["ename"] == "LabStop" and "your lstm_forward from exercises/rnn.py" in error["evalue"]
    assert 'for kind in ("rnn", "lstm"):' in nb.cells[error["cell"]].source
    assert "rnn: final loss" in "".join(o.get("text", "") for o in nb.cells[error["cell"]].outputs)
    part1 = next(c for c in nb.cells if "gradient_norms = {}" in c.source)
    assert "Wh = 1.4 x rotation" in "".join(o.get("text", "") for o in part1.outputs)
    assert results is None


# -- the labs inside an nbgrader assignment ---------------------------------------------

SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION$", re.M | re.S)


def nbgrader_assignment(tmp_path, *, released: bool):
    """The whole course as nngrade-notebooks writes it (source: the model answers in the
    solution cells); released: the solutions cleared the way nbgrader's ClearSolutions does."""
    import nbformat

    from grader.notebooks import Settings, write_assignment

    paths = write_assignment(Settings(source_dir=tmp_path / "source", exercises_dir=STUBS))
    folder = paths[0].parent
    if released:
        for path in folder.glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                cell.source = SOLUTION_REGION.sub(
                    lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()", cell.source
                )
            nbformat.write(nb, path)
    lab = next(folder.glob("*-lab-noisy_xor.ipynb"))
    return folder, lab


def test_in_an_nbgrader_assignment_a_lab_runs_on_the_students_notebooks(tmp_path):
    folder, lab = nbgrader_assignment(tmp_path, released=False)
    assert (folder / "labkit.py").is_file() and (folder / "labdata.py").is_file()
    execute_notebook(lab, folder, env={"NNFUND_EXERCISES": ""})
    noisy_xor(json.loads((folder / "lab_results" / "02_noisy_xor.json").read_text()))


def test_in_a_released_nbgrader_assignment_the_lab_names_the_notebook_to_finish(tmp_path):
    from nbclient.exceptions import CellExecutionError

    folder, lab = nbgrader_assignment(tmp_path, released=True)
    with pytest.raises(CellExecutionError) as stopped:
        execute_notebook(lab, folder, env={"NNFUND_EXERCISES": ""})
    (error,) = errors(stopped.value.notebook)
    backprop = next(folder.glob("*-backprop.ipynb")).name
    assert error["traceback"] == [
        f"LabStop: This cell needs your two_layer_net_loss from {backprop}, which is not implemented yet: "
        "write it (`nngrade two_layer_net_loss` checks it), then run this cell again."
    ]
