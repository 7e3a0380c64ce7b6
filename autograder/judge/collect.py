"""Reading what came back from the sandbox: untrusted records, decoded by the protocol.

Total: whatever the files hold, each planned call gets an outcome (``unreadable`` for a
malformed, oversized or ill-typed record) and the run gets an execution record.
"""

from __future__ import annotations

from pathlib import Path

from autograder.judge.framework import Plan
from autograder.plaindata import ArrayBudget, PlainDataError
from autograder.protocol.actions import VALUE_CHECKS, ActionKind
from autograder.protocol.call import CallRecord
from autograder.protocol.execution import ExecutionRecord
from autograder.protocol.status import CallStatus

# Array data one grade reads back from all its probe records together.
MAX_GRADE_ARRAY_BYTES = 512 * 1024 * 1024


def read_execution(out_dir: Path) -> ExecutionRecord:
    return ExecutionRecord.read(out_dir)


def _read_call(probe: Path, index: int, kind: str, budget: ArrayBudget) -> CallRecord:
    record = CallRecord.read(probe, index, budget)
    if record.status is not CallStatus.OK:
        return record
    known = {k.value for k in ActionKind}
    check = VALUE_CHECKS.get(ActionKind(kind)) if kind in known else None
    if check is None:
        return record.unreadable(f"no decoder for the probe action {kind!r}")
    try:
        check(record.value)
    except PlainDataError as exc:
        return record.unreadable(str(exc))
    return record


def read_calls(out_dir: Path, plan: Plan,
               budget: ArrayBudget | None = None) -> dict[str, CallRecord]:
    """Outcomes keyed by the plan's call ids (ids written by the sandbox are ignored).
    ``budget`` bounds the arrays of all records together (one per grade)."""
    budget = budget or ArrayBudget(MAX_GRADE_ARRAY_BYTES)
    probe = out_dir / "probe"
    return {call.id: _read_call(probe, index, call.kind, budget)
            for index, call in enumerate(plan.calls)}
