"""What a test sees: the plan's inputs, the probe's plain outputs, and the notebook's source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.feedback.data import FeedbackData
from autograder.judge.source import NotebookSource
from autograder.protocol.call import CallRecord
from autograder.protocol.execution import ExecutionRecord
from autograder.protocol.status import CallStatus

if TYPE_CHECKING:
    from autograder.judge.framework import Plan, PlannedCall


# The records the sandbox handed back, as the protocol decoded them.
CallOutcome = CallRecord
ExecutionReport = ExecutionRecord


@dataclass
class JudgeContext:
    plan: Plan
    calls: dict[str, CallRecord]
    execution: ExecutionRecord
    source: NotebookSource
    artifacts: Path | None = None
    # Plain data for the student's feedback page (plots); see autograder/feedback/data.py.
    feedback: FeedbackData = field(default_factory=FeedbackData)
    # Student models loaded for this grade (autograder/judge/models/loading.py): each is
    # loaded once, in its own limited process, which close() stops.
    models: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        from autograder.judge.models.loading import close_models

        close_models(self.models)

    def planned(self, call_id: str) -> PlannedCall:
        for call in self.plan.calls:
            if call.id == call_id:
                return call
        raise KeyError(f"no planned call {call_id!r}")

    def args(self, call_id: str) -> tuple[Any, ...]:
        return self.planned(call_id).args

    def outcome(self, call_id: str) -> CallRecord:
        return self.calls.get(call_id, CallRecord(CallStatus.NOT_RUN))

    def value(self, call_id: str) -> Any:
        """The value the student's function returned, or a :class:`Fail` that says why not."""
        from autograder.judge.framework import Fail

        call = self.planned(call_id)
        outcome = self.outcome(call_id)
        if outcome.status is CallStatus.OK:
            return outcome.value
        name = call.function or call.kind
        message = outcome.message(name, timeout_s=call.timeout_s,
                                  execution_summary=self.execution.summary())
        if outcome.status is CallStatus.MISSING:
            message += self.execution.unfinished_note()
        raise Fail(message)
