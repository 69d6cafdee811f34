"""What grading produces: one :class:`Result` per exercise, a :class:`Report` per run."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Status(str, enum.Enum):
    """The one status each exercise gets (the contract's vocabulary)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_IMPLEMENTED = "not_implemented"
    TIMEOUT = "timeout"
    FORBIDDEN = "forbidden"

    def __str__(self) -> str:
        return self.value


class ExitCode(enum.IntEnum):
    """``nngrade``'s exit status."""

    ALL_PASSED = 0
    NOT_ALL_PASSED = 1
    COULD_NOT_RUN = 2


@dataclass
class CallRecord:
    """One graded call, pytest style: which case, how it ended, how long it took.

    outcome: ``"passed"``, ``"failed"`` (wrong value), or how the call ended
    otherwise (``"raised"``, ``"not_implemented"``, ...); error: the short
    reason when not passed.
    """

    case: str
    outcome: str
    duration: float
    error: str | None = None


@dataclass
class Result:
    """The verdict on one exercise; ``as_dict()`` is its JSON entry."""

    name: str
    module: str
    score: int
    max_score: int
    status: Status
    message: str = ""
    cases_passed: int = 0
    cases_total: int = 0
    failed_case: str | None = None
    hint: str | None = None
    gradient_check: list | dict | None = None
    duration: float = 0.0
    calls: list[CallRecord] = field(default_factory=list)
    #: True when the grader itself failed (a reference raised): not the student's doing.
    internal: bool = False
    #: The student's graded functions this exercise was seen to call (a backward:
    #: its forward too, which made the cache), in the order first called.
    depends_on: list[str] = field(default_factory=list)
    #: The failing graded functions it depends on that fail on their own: the root
    #: causes to fix first (empty when none).
    blocked_by: list[str] = field(default_factory=list)
    #: Graded once more with correct dependencies: True when right that way, False
    #: when still wrong, None when not regraded (nothing blocks it, or it could not be).
    right_once_fixed: bool | None = None
    #: What the exercise earns under the other credit policy is decided by the
    #: report's ``credit``; this says whether the points came from that rule.
    credited: bool = False
    #: Warnings the student's code raised while graded (each with its case).
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def summary(self) -> str:
        """The message's first line: the table's one-line reason."""
        return self.message.splitlines()[0] if self.message else ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        d["duration"] = round(self.duration, 4)
        for call in d["calls"]:
            call["duration"] = round(call["duration"], 6)
        return d

    # A mapping view, so a result reads like one entry of the JSON `exercises`.
    def __getitem__(self, key: str):
        return self.as_dict()[key]

    def keys(self):
        return self.as_dict().keys()


@dataclass
class Report:
    """A whole run: results in catalogue order, and what makes it reproducible."""

    results: list[Result]
    seed: int
    submission: str
    grader_version: str
    duration: float
    limits: dict
    #: How the workers were isolated: ``{"mechanism": "bubblewrap", ...}`` or
    #: ``{"mechanism": "none", "reason": ...}`` (grader/sandbox.py).
    isolation: dict = field(default_factory=lambda: {"mechanism": "none", "reason": "not recorded"})
    #: The credit policy (``--credit``): ``independent`` or ``strict`` (grader/dependencies.py).
    credit: str = "independent"
    #: The seed is the instructor's secret (``nngrade --seed-env``): no report format shows it.
    seed_secret: bool = False

    @property
    def public_seed(self) -> int | None:
        """The seed a report may show: None when it is secret."""
        return None if self.seed_secret else self.seed

    @property
    def score(self) -> int:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.results)

    @property
    def sandboxed(self) -> bool:
        return self.isolation.get("mechanism", "none") != "none"

    @property
    def isolation_text(self) -> str:
        """One line for every report format: how student code was isolated."""
        iso = self.isolation
        if not self.sandboxed:
            return (
                f"Isolation: none ({iso.get('reason', 'no sandbox')}): student code ran without a "
                "sandbox, so this is a self-check, not a grade."
            )
        layers = ", ".join(iso.get("namespaces", []))
        extra = "; seccomp filter" if iso.get("seccomp") else "; no seccomp filter"
        return f"Isolation: {iso['mechanism']} {iso.get('version', '')}".rstrip() + (
            f" ({layers} namespaces{extra})" if layers else ""
        )

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.ALL_PASSED if all(r.passed for r in self.results) else ExitCode.NOT_ALL_PASSED

    def counts(self) -> dict[str, int]:
        out = {str(s): 0 for s in Status}
        for r in self.results:
            out[str(r.status)] += 1
        return out

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "seed": self.public_seed,
            "seed_secret": self.seed_secret,
            "grader_version": self.grader_version,
            "submission": self.submission,
            "duration": round(self.duration, 3),
            "limits": self.limits,
            "isolation": self.isolation,
            "credit": self.credit,
            "counts": self.counts(),
            "exercises": [r.as_dict() for r in self.results],
        }
