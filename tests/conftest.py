"""The whole suite's rule: a test fails rather than skips when something the project needs is missing.

Only the hardware may excuse a skip (a kernel build the CPU cannot run, a system-call
filter for another architecture): such a skip's reason starts with ``hardware:``. Any
other skip (a missing PyTorch, nbgrader, compiled kernel, ...) turns a green session red,
with the list of offending skips at the end of the report.
"""

from __future__ import annotations

import pytest

HARDWARE = "hardware:"
_BAD_SKIPS: list[str] = []


def _reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        if not reason.startswith(HARDWARE):
            _BAD_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter) -> None:
    if _BAD_SKIPS:
        terminalreporter.section("skips not excused by the hardware (they fail the session)", red=True)
        for line in _BAD_SKIPS:
            terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    if _BAD_SKIPS and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
