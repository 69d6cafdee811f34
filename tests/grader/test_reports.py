"""Every report format parses and carries the contract's fields."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from grader.reports import FORMATS
from grader.results import CallRecord, Report, Result, Status


@pytest.fixture
def report() -> Report:
    results = [
        Result(
            "relu",
            "activations",
            1,
            1,
            Status.PASSED,
            "All 4 cases passed.",
            4,
            4,
            calls=[CallRecord("random z(3, 4)", "passed", 0.001)],
        ),
        Result(
            "softmax",
            "activations",
            0,
            2,
            Status.FAILED,
            'Wrong output in case 2 of 7 (random z(3, 5)): wrong values | <tag> & "quotes"\nHint: axis.',
            1,
            7,
            failed_case="random z(3, 5)",
            hint="axis.",
        ),
        Result("sigmoid", "activations", 0, 2, Status.TIMEOUT, "Took longer than the limit of 10 s."),
        Result("step", "perceptron", 0, 1, Status.FORBIDDEN, "Forbidden in perceptron.py: line 1: imports torch."),
        Result("corr2d", "conv", 0, 2, Status.NOT_IMPLEMENTED, "There is no conv.py in the submission."),
        Result("mse_loss", "losses", 0, 1, Status.ERROR, "Importing losses.py called sys.exit(3)."),
    ]
    return Report(
        results,
        seed=42,
        submission="/tmp/sub",
        grader_version="0.1.0",
        duration=1.5,
        limits={"timeout": 10.0, "memory_mb": 1024},
    )


def render(fmt: str, report: Report, terminal: bool = False) -> str:
    stream = io.StringIO()
    FORMATS[fmt]().write(report, stream, terminal)
    return stream.getvalue()


def test_registry_offers_the_contract_formats():
    assert set(FORMATS) == {"text", "json", "junit", "gradescope", "markdown", "classroom"}


def test_json_has_contract_keys_and_every_exercise(report):
    doc = json.loads(render("json", report))
    assert {"score", "max_score", "seed", "grader_version", "exercises"} <= set(doc)
    assert (doc["score"], doc["max_score"], doc["seed"]) == (1, 9, 42)
    assert doc["counts"]["failed"] == 1 and doc["counts"]["passed"] == 1
    for entry, result in zip(doc["exercises"], report.results):
        assert {"name", "score", "max_score", "status", "message"} <= set(entry)
        assert entry["status"] == str(result.status) and entry["message"] == result.message
    assert doc["exercises"][0]["calls"][0]["case"] == "random z(3, 4)"


def test_junit_has_a_failure_per_exercise_not_passed(report):
    root = ET.fromstring(render("junit", report).encode())
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.name for r in report.results]
    failing = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == [r.name for r in report.results if not r.passed]
    assert suite.get("tests") == "6" and suite.get("failures") == "5"
    softmax = next(c for c in cases if c.get("name") == "softmax").find("failure")
    assert softmax.get("type") == "failed" and '<tag> & "quotes"' in softmax.text
    seed = next(p for p in suite.find("properties") if p.get("name") == "seed")
    assert seed.get("value") == "42"


def test_gradescope_follows_the_results_json_spec(report):
    doc = json.loads(render("gradescope", report))
    assert doc["score"] == 1 and doc["max_score"] == 9
    assert len(doc["tests"]) == 6
    for test, result in zip(doc["tests"], report.results):
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] == ("passed" if result.passed else "failed")
        assert test["score"] == result.score and test["max_score"] == result.max_score
        assert str(result.status) in test["output"]


def test_gradescope_shows_students_no_seed(report):
    """Gradescope grades with the autograder archive's secret seed; its visible texts once
    said "(seed N)", and the seed gives every case's inputs: a student who knows it can
    ship the reference's outputs as a lookup table and pass without solving anything."""
    report.seed = 987654321
    doc = json.loads(render("gradescope", report))
    visible = json.dumps([doc["output"], [t["output"] for t in doc["tests"]]])
    assert "987654321" not in visible and doc["extra_data"]["seed"] == 987654321


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_secret_seed_is_in_no_format_and_a_public_one_in_every_format(report, fmt):
    """nngrade --seed-env: the instructor's secret seed of a CI run must not reach what the
    student reads (GitLab's artifacts, Classroom's results): whoever knows it knows every
    case's inputs."""
    report.seed = 918273645
    assert "918273645" in render(fmt, report)  # Gradescope: in extra_data
    report.seed_secret = True
    text = render(fmt, report)
    assert "918273645" not in text
    if fmt in ("json", "gradescope", "classroom"):
        doc = json.loads(text)
        assert (doc.get("extra_data") or doc)["seed"] is None
    else:
        assert "secret" in text


def test_classroom_gives_each_exercise_its_own_points_in_the_reporter_format(report):
    doc = json.loads(render("classroom", report))
    assert (doc["version"], doc["status"], doc["max_score"]) == (1, "fail", 9)
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in doc["tests"]] == [
        ("relu", 1, 1, "pass"),
        ("softmax", 0, 2, "fail"),
        ("sigmoid", 0, 2, "fail"),
        ("step", 0, 1, "fail"),
        ("corr2d", 0, 2, "fail"),
        ("mse_loss", 0, 1, "fail"),
    ]
    assert doc["tests"][0]["message"] is None
    assert (
        doc["tests"][1]["message"].startswith("[failed] Wrong output") and "Hint: axis." in doc["tests"][1]["message"]
    )
    assert doc["tests"][4]["filename"] == "exercises/conv.py"
    assert doc["tests"][1]["test_code"] == "nngrade softmax --seed 42"
    report.results[1].internal = True  # the grader itself failed: an error, not the student's fail
    assert json.loads(render("classroom", report))["status"] == "error"


def test_markdown_is_a_table_with_escaped_pipes_and_folded_details(report):
    text = render("markdown", report)
    assert text.startswith("## nngrade: 1/9 points")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 6
    assert all(row.count(" | ") == 4 for row in rows)  # the message's own "|" is escaped
    assert text.count("<details>") == 5 and "`--seed 42`" in text
    assert "&lt;tag&gt; &amp;" in rows[1]  # no raw HTML in a cell


def test_text_has_table_details_total_and_seed_without_colour_off_terminal(report):
    text = render("text", report)
    assert "relu" in text and "0/2" in text and "timeout" in text
    assert "Hint: axis." in text
    assert "Total: 1/9" in text and "rerun with --seed 42" in text
    assert "\x1b[" not in text


def test_text_uses_colour_on_a_terminal_unless_no_color(report, monkeypatch):
    green = "\x1b[32m"  # the colour of "passed"
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert green in render("text", report, terminal=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert green not in render("text", report, terminal=True)


def test_result_dict_view_matches_attributes(report):
    result = report.results[1]
    assert result["status"] == "failed" and result["score"] == result.score == 0
    assert dict(result)["name"] == "softmax"


# -- the text report on an 80-column terminal ----------------------------------------

LONG = "scaled_dot_product_attention_backward"


@pytest.fixture
def narrow_report() -> Report:
    """Long names and long messages: what a student's terminal has to hold."""
    stub = [
        Result(
            name,
            "perceptron",
            0,
            1,
            Status.NOT_IMPLEMENTED,
            f"Not implemented yet: {name} raised NotImplementedError.",
            calls=[CallRecord("case", "not_implemented", 0.0, "Not implemented yet")],
        )
        for name in ("step", "perceptron_predict", "perceptron_update")
    ]
    backward_stub = Result(
        LONG,
        "attention",
        0,
        3,
        Status.NOT_IMPLEMENTED,
        f"{LONG} needs your scaled_dot_product_attention first: "
        "scaled_dot_product_attention raised NotImplementedError.",
        calls=[CallRecord("case", "forward_not_implemented", 0.0, "needs")],
    )
    failed = Result(
        "corr2d",
        "conv",
        0,
        2,
        Status.FAILED,
        "Wrong output in case 3 of 8 (worked example: the chapter's 4x5 input and the "
        "asymmetric kernel [[1, 0, -1], [2, 1, 0]], padding 0): wrong values in 8 of 9 "
        "entries; first mismatch at index (0, 0): expected 14, got 5 (max abs error 29, "
        "max rel error 7).\nHint: this is a true convolution (the kernel is flipped): the "
        "exercise asks for cross-correlation, out[i, j] = sum(window * k) with k as given.",
    )
    missing = [
        Result(name, "rnn", 0, 2, Status.NOT_IMPLEMENTED, "There is no rnn.py in the submission.")
        for name in ("rnn_cell_forward", "lstm_forward")
    ]
    passed = Result("relu", "activations", 1, 1, Status.PASSED, "All 4 cases passed.")
    return Report(
        [*stub, backward_stub, failed, *missing, passed],
        seed=7,
        submission="/home/student/nnfund/exercises",
        grader_version="0.1.0",
        duration=0.4,
        limits={"timeout": 10.0, "memory_mb": 1024},
    )


def flat(text: str) -> str:
    """Text without whitespace or table rules: what survives any wrapping."""
    return "".join(c for c in text if not c.isspace() and c not in "│┃")


@pytest.fixture(params=["width", "COLUMNS"])
def render_80(request, monkeypatch):
    """The text report at 80 columns: given to rich directly, or by a terminal's COLUMNS."""

    def run(report: Report) -> str:
        stream = io.StringIO()
        if request.param == "width":
            FORMATS["text"](width=80).write(report, stream, False)
        else:
            monkeypatch.setenv("COLUMNS", "80")
            monkeypatch.setenv("NO_COLOR", "1")
            FORMATS["text"]().write(report, stream, True)
        return re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # bold stays under NO_COLOR

    return run


def test_text_report_fits_80_columns_without_cutting_anything(narrow_report, render_80):
    text = render_80(narrow_report)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and "..." not in text
    for r in narrow_report.results:
        assert r.name in text
    failed = narrow_report.results[4]
    assert flat(failed.message) in flat(text), "the whole message, wrapped, not cut"


def test_text_report_at_80_columns_moves_reasons_below_the_table_and_says_each_once(narrow_report, render_80):
    text = render_80(narrow_report)
    header = next(line for line in text.splitlines() if "┃ exercise" in line)
    assert "reason" not in header, "at 80 columns a reason column would be cut to a few characters"
    assert flat(text).count(flat("wrong values in 8 of 9 entries")) == 1
    assert flat(text).count(flat("Hint: this is a true convolution")) == 1


def test_stubs_are_counted_on_one_line_not_repeated(narrow_report, render_80):
    text = render_80(narrow_report)
    assert "4 exercises not implemented yet" in " ".join(text.split())
    assert "NotImplementedError." in text and text.count("raised NotImplementedError") == 0


def test_identical_messages_are_told_once_with_every_exercise_they_concern(narrow_report, render_80):
    text = render_80(narrow_report)
    assert text.count("There is no rnn.py in the submission.") == 1
    assert "rnn_cell_forward, lstm_forward (2 exercises) not_implemented" in " ".join(text.split())


def test_wide_text_report_wraps_reasons_in_the_table_and_adds_only_the_rest_below(narrow_report):
    text = FORMATS["text"](width=160).write(narrow_report, out := io.StringIO(), False) or out.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 160
    header = next(line for line in lines if "┃ exercise" in line)
    assert "reason" in header
    failed = narrow_report.results[4]
    first, rest = failed.message.split("\n", 1)
    cells = "".join(line.split("│")[4] for line in lines if line.startswith("│") and line.count("│") == 5)
    assert flat(first) in flat(cells), "the reason column wraps the first line, whole"
    assert flat(text).count(flat(first)) == 1 and flat(text).count(flat(rest)) == 1


# -- root causes and credit in every format -------------------------------------------


@pytest.fixture
def blocked_report() -> Report:
    step = Result("step", "perceptron", 0, 1, Status.FAILED, "Wrong output in case 1 of 5: wrong values.")
    predict = Result(
        "perceptron_predict",
        "perceptron",
        1,
        1,
        Status.FAILED,
        "Fails because your `step` fails: fix `step` first. Right once `step` is fixed: graded "
        "again with correct step, all 6 cases pass (credit independent: the points are yours).\n"
        "Wrong output in case 3 of 6: wrong values.",
        depends_on=["step"],
        blocked_by=["step"],
        right_once_fixed=True,
        credited=True,
    )
    return Report(
        [step, predict],
        seed=3,
        submission="/tmp/sub",
        grader_version="0.1.0",
        duration=0.2,
        limits={"timeout": 10.0, "memory_mb": 1024},
        credit="independent",
    )


def test_json_entries_carry_blocked_by_empty_when_none(blocked_report):
    doc = json.loads(render("json", blocked_report))
    assert doc["credit"] == "independent"
    step, predict = doc["exercises"]
    assert step["blocked_by"] == [] and step["right_once_fixed"] is None
    assert predict["blocked_by"] == ["step"] and predict["right_once_fixed"] is True
    assert predict["score"] == 1 and predict["status"] == "failed" and predict["depends_on"] == ["step"]


def test_other_formats_carry_blocked_by_and_the_credit_policy(blocked_report):
    suite = ET.fromstring(render("junit", blocked_report).encode()).find("testsuite")
    assert next(p for p in suite.find("properties") if p.get("name") == "credit").get("value") == "independent"
    predict = [c for c in suite.findall("testcase") if c.get("name") == "perceptron_predict"][0]
    props = {p.get("name"): p.get("value") for p in predict.find("properties")}
    assert props == {"blocked_by": "step", "right_once_fixed": "true"}
    assert suite.findall("testcase")[0].find("properties") is None

    tests = json.loads(render("gradescope", blocked_report))["tests"]
    assert tests[1]["extra_data"]["blocked_by"] == ["step"] and tests[0]["extra_data"]["blocked_by"] == []
    assert tests[1]["score"] == 1 and tests[1]["status"] == "failed"

    markdown = render("markdown", blocked_report)
    row = next(line for line in markdown.splitlines() if line.startswith("| `perceptron_predict`"))
    assert "| `step` |" in row and "Credit independent" in markdown

    FORMATS["text"](width=80).write(blocked_report, out := io.StringIO(), False)
    text = " ".join(out.getvalue().split())
    assert "Fails because your `step` fails: fix `step` first. Right once `step` is fixed" in text
    assert (
        "Credit independent: an exercise right once the functions it builds on are fixed earns its points "
        "when they are graded too (1 point, 1 exercise)." in text
    )
