"""Every report format parses and carries the contract's fields."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from grader.reports import FORMATS
from grader.results import CallRecord, Report, Result, Status


@pytest.fixture
def report() -> Report:
    results = [
        Result("relu", "activations", 1, 1, Status.PASSED, "All 4 cases passed.", 4, 4,
               calls=[CallRecord("random z(3, 4)", "passed", 0.001)]),
        Result("softmax", "activations", 0, 2, Status.FAILED,
               "Wrong output in case 2 of 7 (random z(3, 5)): wrong values | <tag> & \"quotes\"\nHint: axis.",
               1, 7, failed_case="random z(3, 5)", hint="axis."),
        Result("sigmoid", "activations", 0, 2, Status.TIMEOUT, "Took longer than the limit of 10 s."),
        Result("step", "perceptron", 0, 1, Status.FORBIDDEN, "Forbidden in perceptron.py: line 1: imports torch."),
        Result("corr2d", "conv", 0, 2, Status.NOT_IMPLEMENTED, "There is no conv.py in the submission."),
        Result("mse_loss", "losses", 0, 1, Status.ERROR, "Importing losses.py called sys.exit(3)."),
    ]
    return Report(results, seed=42, submission="/tmp/sub", grader_version="0.1.0", duration=1.5,
                  limits={"timeout": 10.0, "memory_mb": 1024})


def render(fmt: str, report: Report, terminal: bool = False) -> str:
    stream = io.StringIO()
    FORMATS[fmt]().write(report, stream, terminal)
    return stream.getvalue()


def test_registry_offers_the_contract_formats():
    assert set(FORMATS) == {"text", "json", "junit", "gradescope", "markdown"}


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
    assert softmax.get("type") == "failed" and "<tag> & \"quotes\"" in softmax.text
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


def test_markdown_is_a_table_with_escaped_pipes_and_folded_details(report):
    text = render("markdown", report)
    assert text.startswith("## nngrade: 1/9 points")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 6
    assert all(row.count(" | ") == 3 for row in rows)  # the message's own "|" is escaped
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
