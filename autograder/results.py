"""The result of grading one submission, in the project's native shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Status = Literal["passed", "failed", "error"]
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]

MAX_MESSAGE = 2_000
LOG_TAIL = 4_096


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Shorten a message so that a flood of output never bloats a result."""
    if len(text) <= limit:
        return text
    return text[: limit - 40] + f"… [{len(text) - limit + 40} more characters cut]"


class ProblemCode(StrEnum):
    """What kind of problem, for code that sorts results (the batch, reports): never match
    the message, which is written for the student and may change."""

    SUBMISSION_REFUSED = "submission-refused"  # intake: not a gradable hand-in
    OUT_OF_MEMORY = "out-of-memory"
    TIMEOUT = "timeout"
    NOTEBOOK_FAILED = "notebook-failed"  # kernel died, unreadable notebook, probe failed
    # The runner started the notebook and then never reported: the notebook's own code
    # removed its report or killed it. The submission's fault: graded and cached.
    NOTEBOOK_NO_REPORT = "notebook-no-report"
    CELL_ERROR = "cell-error"
    OUTPUT_TRUNCATED = "output-truncated"
    UNPARSABLE_CELLS = "unparsable-cells"
    SOURCE_TOO_LARGE = "source-too-large"
    UNREADABLE_DATA = "unreadable-data"  # the sandbox handed back malformed records
    GRADER_ERROR = "grader-error"  # a test raised on data no test anticipated
    INTERNAL_ERROR = "internal-error"  # the judge failed on this submission (graded, cached)
    # The grading machine, not the submission: not cached, counts toward --max-failures.
    SANDBOX_NO_REPORT = "sandbox-no-report"
    MACHINE_FAILURE = "machine-failure"
    OTHER = "other"


# Problems that say the machine failed rather than the submission.
MACHINE_PROBLEMS = frozenset({ProblemCode.SANDBOX_NO_REPORT, ProblemCode.MACHINE_FAILURE})


@dataclass(frozen=True)
class Problem:
    """A problem not tied to one test."""

    code: ProblemCode
    message: str

    def to_plain(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}

    @classmethod
    def from_plain(cls, data: Any) -> Problem:
        if isinstance(data, str):  # results written before problems had codes
            return cls(ProblemCode.OTHER, data)
        code = data.get("code")
        known = {c.value for c in ProblemCode}
        return cls(ProblemCode(code) if code in known else ProblemCode.OTHER,
                   str(data.get("message", "")))


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    status: Status
    output: str = ""
    visibility: Visibility = "visible"

    def __post_init__(self) -> None:
        self.output = clip(self.output)


@dataclass
class GradeResult:
    exercise: str
    score: float
    max_score: float
    execution_time: float
    tests: list[TestResult]
    errors: list[str] = field(default_factory=list)  # the problems' messages, in order
    metadata: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The sandbox's last output (runner and engine), for staff; never shown to students.
    sandbox_log: str = ""

    @classmethod
    def from_tests(cls, exercise: str, tests: list[TestResult], *, execution_time: float,
                   errors: list[str] | None = None, problems: list[Problem] | None = None,
                   metadata: dict[str, Any] | None = None,
                   sandbox_log: str = "") -> GradeResult:
        """``problems`` carry codes; plain ``errors`` strings are kept as ``other``."""
        found = [Problem(p.code, clip(p.message)) for p in problems or []]
        found += [Problem(ProblemCode.OTHER, clip(e)) for e in errors or []]
        return cls(
            exercise=exercise,
            score=round(sum(t.score for t in tests), 6),
            max_score=round(sum(t.max_score for t in tests), 6),
            execution_time=round(execution_time, 3),
            tests=tests,
            errors=[p.message for p in found],
            metadata=metadata or {},
            problems=found,
            sandbox_log=sandbox_log[-LOG_TAIL:],
        )

    def has_problem(self, *codes: ProblemCode) -> bool:
        return any(p.code in codes for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.to_plain() for p in self.problems]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        tests = [TestResult(**t) for t in data["tests"]]
        problems = [Problem.from_plain(p)
                    for p in data.get("problems", data.get("errors", []))]
        return cls(**{**data, "tests": tests, "problems": problems,
                      "errors": [p.message for p in problems]})
