"""``probe/<n>.json`` + ``probe/<n>.npz``: the outcome of one planned call or action."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import plaindata
from autograder.plaindata import ArrayBudget, PlainDataError
from autograder.protocol import bounds
from autograder.protocol.status import WRITTEN_CALL_STATUSES, CallStatus, parse_status
from autograder.protocol.version import PROTOCOL_VERSION, VERSION_KEY, check_version

MAX_CALL_BYTES = 128 * 1024 * 1024  # one record's npz; the JSON has its own, smaller bound
_KNOWN = {"id", "status", "value", "error", "seconds", "baseline_seconds", "mutated_args",
          VERSION_KEY}


def unreadable_message(what: str) -> str:
    return f"the notebook left unreadable grading data ({what})"


@dataclass(frozen=True)
class CallRecord:
    """What happened when the probe made one planned call inside the sandbox."""

    status: CallStatus
    value: Any = None
    error: str = ""
    seconds: float | None = None
    mutated_args: tuple[int, ...] = ()  # inputs the function changed
    baseline_seconds: float | None = None  # one NumPy pass over the input, timed alongside
    # Further plain measurements a probe action added (decoded, bounded, not interpreted).
    extra: dict[str, Any] = field(default_factory=dict)

    # -- sandbox side ----------------------------------------------------------------------
    @staticmethod
    def paths(folder: Path, index: int) -> tuple[Path, Path]:
        return folder / f"{index}.json", folder / f"{index}.npz"

    @staticmethod
    def write(folder: Path, index: int, call_id: str, outcome: dict[str, Any]) -> None:
        """Write an action's outcome dict; one that is not plain data is written as a
        ``not-plain`` record saying why."""
        folder.mkdir(parents=True, exist_ok=True)
        json_path, npz_path = CallRecord.paths(folder, index)
        record = {"id": call_id, **outcome, VERSION_KEY: PROTOCOL_VERSION}
        try:
            plaindata.dump(record, json_path, npz_path)
        except plaindata.PlainDataError as exc:
            fallback = {"id": call_id, "status": CallStatus.NOT_PLAIN.value, "error": str(exc),
                        VERSION_KEY: PROTOCOL_VERSION}
            plaindata.dump(fallback, json_path, npz_path)

    # -- judge side ------------------------------------------------------------------------
    @classmethod
    def decode(cls, data: Any) -> CallRecord:
        """A record from decoded plain data; PlainDataError when anything is off."""
        record = bounds.record(data, "the probe's record")
        check_version(record, "the probe's record")
        status = CallStatus(parse_status(record.get("status"), WRITTEN_CALL_STATUSES,
                                         "the probe's record"))
        mutated = record.get("mutated_args", [])
        if type(mutated) is not list or len(mutated) > 1_000:
            raise PlainDataError("the probe's list of changed arguments is malformed")
        return cls(
            status=status,
            value=record.get("value"),
            error=bounds.text(record.get("error"), "the probe's error message"),
            seconds=bounds.seconds(record.get("seconds"), "the call's duration"),
            baseline_seconds=bounds.seconds(record.get("baseline_seconds"),
                                            "the baseline's duration"),
            mutated_args=tuple(bounds.small_int(i, "a changed argument's position", 0, 1_000)
                               for i in mutated),
            extra={k: v for k, v in record.items() if k not in _KNOWN},
        )

    @classmethod
    def read(cls, folder: Path, index: int, budget: ArrayBudget) -> CallRecord:
        """Total: a missing record is ``not-run``, any bad one ``unreadable``."""
        json_path, npz_path = cls.paths(folder, index)
        try:
            if not json_path.exists() and not json_path.is_symlink():
                return cls(CallStatus.NOT_RUN)
            return cls.decode(plaindata.load(json_path, npz_path, max_bytes=MAX_CALL_BYTES,
                                             budget=budget))
        except PlainDataError as exc:
            return cls(CallStatus.UNREADABLE, error=unreadable_message(str(exc)))
        except OSError as exc:
            return cls(CallStatus.UNREADABLE,
                       error=unreadable_message(f"the record cannot be read: {exc.strerror}"))

    # -- the student's view ----------------------------------------------------------------
    def message(self, name: str, *, timeout_s: float, execution_summary: str) -> str:
        """Why the call ``name`` gave no usable value (for a status other than ``ok``)."""
        if self.status is CallStatus.MISSING:
            return (f"`{name}` is not defined in your notebook. Define it with "
                    f"`def {name}(...)` in the cell marked for it and run the notebook "
                    "from the top.")
        if self.status is CallStatus.SIGNATURE:
            return f"`{name}` cannot be called the way the exercise asks: {self.error}"
        if self.status is CallStatus.RAISED:
            return f"`{name}` raised an error: {self.error}"
        if self.status is CallStatus.TIMEOUT:
            return f"`{name}` did not return within {timeout_s:g} s; look for an endless loop."
        if self.status is CallStatus.NOT_PLAIN:
            return (f"`{name}` returned something that is not a number, array or tuple of "
                    f"those: {self.error}")
        if self.status is CallStatus.UNREADABLE:
            return f"`{name}` could not be checked: {self.error}."
        reason = execution_summary or "the probe did not reach this call"
        return f"`{name}` could not be checked: {reason}"

    def unreadable(self, what: str) -> CallRecord:
        """This record turned unreadable because its value has the wrong shape."""
        return CallRecord(CallStatus.UNREADABLE, error=unreadable_message(what))
