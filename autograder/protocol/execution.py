"""``execution.json``: how running the notebook went, written by the runner after every cell
(so a killed run still says where it stopped) and read by the judge as untrusted data."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autograder import plaindata
from autograder.protocol import bounds
from autograder.protocol.status import (
    WRITTEN_EXECUTION_STATUSES,
    ExecutionStatus,
    parse_status,
)
from autograder.protocol.version import PROTOCOL_VERSION, VERSION_KEY, check_version

MAX_EXECUTION_BYTES = 1024 * 1024
MAX_CELL_ERRORS = 50
FILE_NAME = "execution.json"
PROBE_CELL = "probe"  # ``current_cell`` while the probe runs
# The runner prints this once the kernel has started and before any student cell runs. The
# sandbox reads it from the output it captured, which the kernel cannot take back: a run
# that shows it and leaves no report was ended by the notebook, not by the machine (a
# kernel that fails to start stays the machine's failure).
RUNNER_STARTED = "[autograder-runner] started"


@dataclass(frozen=True)
class CellError:
    cell: int  # 0-based index in the notebook
    ename: str
    evalue: str

    def to_plain(self) -> dict[str, Any]:
        return {"cell": self.cell, "ename": self.ename[:200], "evalue": self.evalue[:1000]}

    @classmethod
    def decode(cls, data: Any) -> CellError:
        record = bounds.record(data, "a cell error")
        return cls(cell=bounds.small_int(record.get("cell"), "a cell error's cell"),
                   ename=bounds.text(record.get("ename"), "a cell error's name", 200),
                   evalue=bounds.text(record.get("evalue"), "a cell error's text", 1000))


@dataclass(frozen=True)
class ExecutionRecord:
    """How running the notebook went, as the sandbox reported it (or failed to)."""

    status: ExecutionStatus = ExecutionStatus.NOT_RUN
    message: str = ""
    cell_errors: tuple[CellError, ...] = ()
    output_truncated: bool = False
    current_cell: int | str | None = None  # a cell index, PROBE_CELL, or None
    unreadable: str = ""  # judge-side: what was wrong with a report that exists
    stopped_cell: int | None = None  # 0-based: where the notebook's time limit stopped it

    def unfinished_note(self) -> str:
        """Why something a later cell makes may be missing: the time limit stopped the
        notebook before that cell ran. Empty when the notebook ran to the end."""
        if self.status is not ExecutionStatus.TIMEOUT or self.stopped_cell is None:
            return ""
        return (f" The notebook's time limit stopped it in cell {self.stopped_cell + 1}, so "
                "the cells from there on never ran.")

    def summary(self) -> str:
        if self.status is ExecutionStatus.COMPLETED:
            return ""
        return self.message or f"The notebook did not finish running ({self.status})."

    # -- sandbox side ----------------------------------------------------------------------
    def to_plain(self) -> dict[str, Any]:
        return {"status": self.status.value, "message": self.message[:2000],
                "cell_errors": [e.to_plain() for e in self.cell_errors[:MAX_CELL_ERRORS]],
                "output_truncated": self.output_truncated, "current_cell": self.current_cell,
                "stopped_cell": self.stopped_cell, VERSION_KEY: PROTOCOL_VERSION}

    def write(self, out_dir: Path) -> None:
        """Atomically replace ``out_dir/execution.json`` (a fresh temporary name each time,
        so nothing planted under a fixed name can block it)."""
        handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".execution-")
        target = out_dir / FILE_NAME
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(self.to_plain(), stream)
            if target.is_dir() and not target.is_symlink():  # planted in its way
                os.rename(target, tempfile.mkdtemp(dir=out_dir, prefix=".discarded-") + "/d")
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def updated(self, **changes: Any) -> ExecutionRecord:
        return replace(self, **changes)

    # -- judge side ------------------------------------------------------------------------
    @classmethod
    def decode(cls, data: Any) -> ExecutionRecord:
        record = bounds.record(data, "the sandbox's report")
        check_version(record, "the sandbox's report")
        status = ExecutionStatus(parse_status(record.get("status"), WRITTEN_EXECUTION_STATUSES,
                                              "the sandbox's report"))
        errors = record.get("cell_errors", [])
        if type(errors) is not list or len(errors) > MAX_CELL_ERRORS:
            raise plaindata.PlainDataError("the sandbox's list of cell errors is malformed")
        current = record.get("current_cell")
        if current is not None and current != PROBE_CELL:
            current = bounds.small_int(current, "the current cell")
        message = bounds.text(record.get("message"), "the sandbox's message", 2000)
        stopped = record.get("stopped_cell")
        if stopped is not None:
            stopped = bounds.small_int(stopped, "the stopped cell")
        if status is ExecutionStatus.RUNNING:  # killed before it could say how it ended
            where = "while checking your functions" if current == PROBE_CELL else (
                f"in cell {current + 1}" if isinstance(current, int) else "")
            message = f"The notebook was stopped {where}".rstrip() + "."
        return cls(status=status, message=message,
                   cell_errors=tuple(CellError.decode(e) for e in errors),
                   output_truncated=bounds.flag(record.get("output_truncated", False),
                                                "the output flag"),
                   current_cell=current, stopped_cell=stopped)

    @classmethod
    def read(cls, out_dir: Path) -> ExecutionRecord:
        """Total: no report is ``not-run``; an unreadable one is ``not-run`` saying so."""
        path = out_dir / FILE_NAME
        if not path.exists() and not path.is_symlink():
            return cls()
        try:
            raw = plaindata.read_regular(path, MAX_EXECUTION_BYTES)
            return cls.decode(plaindata.parse_json(raw, max_bytes=MAX_EXECUTION_BYTES,
                                                   max_depth=4))
        except (plaindata.PlainDataError, OSError) as exc:
            what = f"{FILE_NAME}: {exc}"
            return cls(message=f"The notebook left unreadable grading data ({what}).",
                       unreadable=what)
