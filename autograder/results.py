"""The result of grading one submission, in the project's native shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error"]
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]

MAX_MESSAGE = 2_000


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Shorten a message so that a flood of output never bloats a result."""
    if len(text) <= limit:
        return text
    return text[: limit - 40] + f"… [{len(text) - limit + 40} more characters cut]"


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
    errors: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_tests(cls, exercise: str, tests: list[TestResult], *, execution_time: float,
                   errors: list[str] | None = None,
                   metadata: dict[str, Any] | None = None) -> GradeResult:
        return cls(
            exercise=exercise,
            score=round(sum(t.score for t in tests), 6),
            max_score=round(sum(t.max_score for t in tests), 6),
            execution_time=round(execution_time, 3),
            tests=tests,
            errors=[clip(e) for e in (errors or [])],
            metadata=metadata or {},
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        tests = [TestResult(**t) for t in data["tests"]]
        return cls(**{**data, "tests": tests})
