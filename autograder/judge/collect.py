"""Reading what came back from the sandbox: untrusted plain data, checked as it is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograder import plaindata
from autograder.judge.context import CallOutcome, ExecutionReport
from autograder.judge.framework import Plan

CALL_STATUSES = {"ok", "missing", "signature", "raised", "timeout", "not-plain"}
EXECUTION_STATUSES = {"completed", "invalid-notebook", "kernel-died", "timeout", "running"}
MAX_EXECUTION_JSON = 1024 * 1024
MAX_CALL_BYTES = 128 * 1024 * 1024


def read_execution(out_dir: Path) -> ExecutionReport:
    path = out_dir / "execution.json"
    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_EXECUTION_JSON:
        return ExecutionReport(status="not-run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ExecutionReport(status="not-run", message="The sandbox's report was unreadable.")
    if not isinstance(data, dict) or data.get("status") not in EXECUTION_STATUSES:
        return ExecutionReport(status="not-run", message="The sandbox's report was unreadable.")
    errors = data.get("cell_errors")
    cell_errors = [
        {"cell": int(e.get("cell", -1)), "ename": str(e.get("ename", ""))[:200],
         "evalue": str(e.get("evalue", ""))[:1000]}
        for e in (errors if isinstance(errors, list) else [])[:50]
        if isinstance(e, dict) and isinstance(e.get("cell", -1), int)
    ]
    status = str(data["status"])
    current = data.get("current_cell")
    message = str(data.get("message", ""))[:2000]
    if status == "running":  # the runner was killed before it could say how it ended
        where = "while checking your functions" if current == "probe" else (
            f"in cell {current + 1}" if isinstance(current, int) else "")
        message = f"The notebook was stopped {where}".rstrip() + "."
    return ExecutionReport(status=status, message=message, cell_errors=cell_errors,
                           output_truncated=bool(data.get("output_truncated", False)))


def _read_call(out_dir: Path, index: int) -> CallOutcome:
    probe = out_dir / "probe"
    try:
        data: Any = plaindata.load(probe / f"{index}.json", probe / f"{index}.npz",
                                   max_bytes=MAX_CALL_BYTES)
    except plaindata.PlainDataError as exc:
        if not (probe / f"{index}.json").exists():
            return CallOutcome("not-run")
        return CallOutcome("not-plain", error=str(exc))
    if not isinstance(data, dict) or data.get("status") not in CALL_STATUSES:
        return CallOutcome("not-plain", error="the probe's record was malformed")
    seconds, baseline = data.get("seconds"), data.get("baseline_seconds")
    return CallOutcome(
        status=data["status"],
        value=data.get("value"),
        error=str(data.get("error", ""))[:1000],
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        baseline_seconds=float(baseline) if isinstance(baseline, int | float) else None,
        mutated_args=[i for i in data.get("mutated_args", []) if isinstance(i, int)]
        if isinstance(data.get("mutated_args"), list) else [],
    )


def read_calls(out_dir: Path, plan: Plan) -> dict[str, CallOutcome]:
    """Outcomes keyed by the plan's call ids (ids written by the sandbox are ignored)."""
    return {call.id: _read_call(out_dir, index) for index, call in enumerate(plan.calls)}
