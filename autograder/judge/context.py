"""What a test sees: the plan's inputs, the probe's plain outputs, and the notebook's source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.feedback.data import FeedbackData
from autograder.judge.source import NotebookSource

if TYPE_CHECKING:
    from autograder.judge.framework import Plan, PlannedCall


@dataclass
class CallOutcome:
    """What happened when the probe made one planned call inside the sandbox."""

    status: str  # ok | missing | signature | raised | timeout | not-plain | not-run
    value: Any = None
    error: str = ""
    seconds: float | None = None
    mutated_args: list[int] = field(default_factory=list)  # inputs the function changed
    baseline_seconds: float | None = None  # one NumPy pass over the input, timed alongside


@dataclass
class ExecutionReport:
    """How running the notebook went, as the sandbox reported it (or failed to)."""

    status: str = "not-run"  # completed | invalid-notebook | kernel-died | timeout | not-run
    message: str = ""
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    output_truncated: bool = False

    def summary(self) -> str:
        if self.status == "completed":
            return ""
        return self.message or f"The notebook did not finish running ({self.status})."


@dataclass
class JudgeContext:
    plan: Plan
    calls: dict[str, CallOutcome]
    execution: ExecutionReport
    source: NotebookSource
    artifacts: Path | None = None
    # Plain data for the student's feedback page (plots); see autograder/feedback/data.py.
    feedback: FeedbackData = field(default_factory=FeedbackData)

    def planned(self, call_id: str) -> PlannedCall:
        for call in self.plan.calls:
            if call.id == call_id:
                return call
        raise KeyError(f"no planned call {call_id!r}")

    def args(self, call_id: str) -> tuple[Any, ...]:
        return self.planned(call_id).args

    def outcome(self, call_id: str) -> CallOutcome:
        return self.calls.get(call_id, CallOutcome("not-run"))

    def value(self, call_id: str) -> Any:
        """The value the student's function returned, or a :class:`Fail` that says why not."""
        from autograder.judge.framework import Fail

        call = self.planned(call_id)
        outcome = self.outcome(call_id)
        if outcome.status == "ok":
            return outcome.value
        name = call.function or call.kind
        if outcome.status == "missing":
            raise Fail(f"`{name}` is not defined in your notebook. Define it with "
                       f"`def {name}(...)` in the cell marked for it and run the notebook "
                       "from the top.")
        if outcome.status == "signature":
            raise Fail(f"`{name}` cannot be called the way the exercise asks: {outcome.error}")
        if outcome.status == "raised":
            raise Fail(f"`{name}` raised an error: {outcome.error}")
        if outcome.status == "timeout":
            raise Fail(f"`{name}` did not return within {call.timeout_s:g} s; "
                       "look for an endless loop.")
        if outcome.status == "not-plain":
            raise Fail(f"`{name}` returned something that is not a number, array or tuple "
                       f"of those: {outcome.error}")
        reason = self.execution.summary() or "the probe did not reach this call"
        raise Fail(f"`{name}` could not be checked: {reason}")
