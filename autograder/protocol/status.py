"""Statuses that cross the boundary. Str-valued, so records and results stay plain JSON."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    """How one planned call or action ended."""

    OK = "ok"
    MISSING = "missing"  # the function, variable or file does not exist
    SIGNATURE = "signature"  # it exists but cannot be called as planned
    RAISED = "raised"
    TIMEOUT = "timeout"
    NOT_PLAIN = "not-plain"  # it returned something that is not plain data
    # Judge-side only: never valid in a record the sandbox wrote.
    NOT_RUN = "not-run"  # no record: the probe did not get this far
    UNREADABLE = "unreadable"  # a record exists but is malformed, oversized or forged


# What a probe record may say; the judge's own statuses are refused in a record.
WRITTEN_CALL_STATUSES = frozenset(CallStatus) - {CallStatus.NOT_RUN, CallStatus.UNREADABLE}


class ExecutionStatus(StrEnum):
    """How running the notebook went."""

    COMPLETED = "completed"
    INVALID_NOTEBOOK = "invalid-notebook"
    KERNEL_DIED = "kernel-died"
    TIMEOUT = "timeout"
    RUNNING = "running"  # the runner was killed before it could say how the run ended
    NOT_RUN = "not-run"  # judge-side only: no (readable) record


WRITTEN_EXECUTION_STATUSES = frozenset(ExecutionStatus) - {ExecutionStatus.NOT_RUN}


def parse_status(value: object, allowed: frozenset[StrEnum], what: str) -> str:
    """``value`` if it is one of ``allowed`` (as a plain string), else PlainDataError."""
    from autograder.plaindata import PlainDataError

    if type(value) is not str or value not in {s.value for s in allowed}:
        raise PlainDataError(f"{what} has no valid status")
    return value
