"""Runs the student's notebook in a real Jupyter kernel, then the probe in the same kernel.

This module runs on the untrusted side (in the sandbox). Everything it reports is
advisory: the judge treats ``execution.json`` as data written by a process the student
controlled, and scores only from the probe's outputs checked against hidden references.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from autograder.protocol.execution import PROBE_CELL, RUNNER_STARTED, CellError, ExecutionRecord
from autograder.protocol.status import ExecutionStatus
from autograder.runner import staging
from autograder.runner.kernel_client import PromptKernelClient

# Kernel environment: quiet TensorFlow, headless plots, repeatable hashing.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "KERAS_BACKEND": "tensorflow",
    # One BLAS thread: sandboxes run side by side on shared cores, and a BLAS thread pool
    # fighting for them makes timings (and so the vectorization verdict) erratic.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass
class Job:
    notebook: str
    timeout_s: float
    cell_timeout_s: float
    output_limit_bytes: int
    probe_allowance_s: float = 30.0  # the probe's own time once the notebook's is spent
    skip_roles: list[str] = field(default_factory=list)
    kernel_name: str = "python3"
    env: dict[str, str] = field(default_factory=dict)  # e.g. KERAS_HOME, set by the grader

    @classmethod
    def read(cls, job_dir: Path) -> Job:
        return cls(**json.loads((job_dir / "job.json").read_text(encoding="utf-8")))


class CappedNotebookClient(NotebookClient):
    """An nbclient client that stops storing output past a byte budget, so a cell that
    prints megabytes cannot exhaust the runner's memory or bloat what comes back."""

    def __init__(self, nb: NotebookNode, *, output_limit_bytes: int, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.output_budget = output_limit_bytes
        self.output_truncated = False
        if self.km is not None:  # a warm kernel's manager, made by the caller
            self.km.client_factory = PromptKernelClient

    def create_kernel_manager(self) -> Any:
        manager = super().create_kernel_manager()
        manager.client_factory = PromptKernelClient
        return manager

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        if msg["msg_type"] != "error":  # errors are small and needed for feedback
            content = msg.get("content", {})
            size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
            self.output_budget -= size
            if self.output_budget < 0:
                self.output_truncated = True
                return None
        return super().output(outs, msg, display_id, cell_index)


def _cell_role(cell: NotebookNode) -> str:
    return str(cell.get("metadata", {}).get("autograder", {}).get("role", ""))


def _errors_of(cell: NotebookNode, index: int) -> list[dict[str, Any]]:
    return [
        {"cell": index, "ename": str(o.get("ename", ""))[:200],
         "evalue": str(o.get("evalue", ""))[:1000]}
        for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]


def _name_interrupt_as_timeout(errors: list[dict[str, Any]], seconds: float) -> None:
    """nbclient interrupts a cell that runs past its time limit; say that, rather than
    show the student a bare KeyboardInterrupt they never pressed."""
    for error in errors:
        if error["ename"] == "KeyboardInterrupt":
            error["ename"] = "TimeoutError"
            error["evalue"] = (f"the cell was stopped after {seconds:g} s (the time limit for "
                               "one cell)")


class ExecutionLog:
    """``execution.json``, rewritten after every cell so a killed run still says where."""

    def __init__(self, path: Path) -> None:
        self.out_dir = path.parent
        self.record = ExecutionRecord(status=ExecutionStatus.RUNNING)

    def update(self, **changes: Any) -> None:
        if "status" in changes:
            changes["status"] = ExecutionStatus(changes["status"])
        if "cell_errors" in changes:
            changes["cell_errors"] = tuple(CellError(**e) for e in changes["cell_errors"])
        self.record = self.record.updated(**changes)
        staging.unlock(self.out_dir)  # the kernel may have made it read-only
        self.record.write(self.out_dir)


def _probe_cell(job_dir: Path, stage: Path, deadline: float) -> NotebookNode:
    return nbformat.v4.new_code_cell(
        "import autograder.runner.probe as __autograder_probe\n"
        f"__autograder_probe.run({str(job_dir)!r}, {str(stage)!r}, globals(), "
        f"deadline={deadline!r})")


class _NotebookTimeLimit(Exception):
    """The notebook's whole time ran out in cell ``index`` (0-based)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _run_cells(client: CappedNotebookClient, notebook: NotebookNode, job: Job,
               deadline: float, log: ExecutionLog, errors: list[dict[str, Any]]) -> None:
    """Run the notebook's code cells in order, collecting their errors into ``errors``.
    Raises :class:`_NotebookTimeLimit` when the notebook's whole time runs out."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or _cell_role(cell) in job.skip_roles:
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 1:
            raise _NotebookTimeLimit(index)
        notebook_time_left = remaining < job.cell_timeout_s
        client.timeout = max(1, int(min(job.cell_timeout_s, remaining)))
        log.update(current_cell=index)
        started = time.monotonic()
        client.execute_cell(cell, index)
        cell_errors = _errors_of(cell, index)
        stopped = time.monotonic() - started >= client.timeout - 0.5
        if stopped and notebook_time_left:
            # The whole notebook's time ran out in this cell: stop here, with the same
            # words on every run (the seconds left varied, the limit did not).
            raise _NotebookTimeLimit(index)
        if stopped:
            _name_interrupt_as_timeout(cell_errors, client.timeout)
        errors.extend(cell_errors)


class RunningKernel(Protocol):
    """A kernel someone else started and owns, as a warm sandbox's runner gets it: it runs
    as another uid than the runner, so the runner cannot stop it itself."""

    manager: Any  # a jupyter_client kernel manager connected to it

    def share_stage(self, stage: Path) -> None:
        """Let the kernel's uid write the probe's records into ``stage``."""

    def stop(self, stage: Path | None) -> None:
        """Return once the kernel and every process of its uid are gone, with what they
        staged handed to the runner's uid."""


def run_job(job_dir: Path, workdir: Path, out_dir: Path, *,
            kernel: RunningKernel | None = None) -> None:
    """Run the job's notebook and the probe, in a fresh kernel or in ``kernel``."""
    job = Job.read(job_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = ExecutionLog(out_dir / "execution.json")
    deadline = time.monotonic() + job.timeout_s
    try:
        notebook = nbformat.read(workdir / job.notebook, as_version=4)
    except Exception as exc:
        log.update(status="invalid-notebook", message=f"The notebook could not be read: {exc}")
        return
    os.environ.update(KERNEL_ENV)
    os.environ.update(job.env)
    client = CappedNotebookClient(
        notebook, output_limit_bytes=job.output_limit_bytes, timeout=job.cell_timeout_s,
        kernel_name=job.kernel_name, km=kernel.manager if kernel else None, allow_errors=True,
        interrupt_on_timeout=True, startup_timeout=120,
        resources={"metadata": {"path": str(workdir)}},
    )
    stage: Path | None = None  # created once the cells are done (see runner/staging.py)
    errors: list[dict[str, Any]] = []
    probe_errors: list[dict[str, Any]] = []
    stopped_in: int | None = None
    try:
        with client.setup_kernel():
            print(RUNNER_STARTED, flush=True)  # the kernel is up; no student code ran yet
            try:
                _run_cells(client, notebook, job, deadline, log, errors)
                seconds = deadline - time.monotonic()
            except _NotebookTimeLimit as limit:
                # What the earlier cells defined and saved still counts: the probe checks
                # it within its own allowance, and tests of later cells say they never ran.
                stopped_in, seconds = limit.index, job.probe_allowance_s
                log.update(status="timeout", stopped_cell=stopped_in,
                           message=_time_limit_message(job, stopped_in))
            log.update(current_cell=PROBE_CELL, cell_errors=errors)
            client.timeout = int(max(5, seconds))
            stage = staging.create(out_dir)
            if kernel is not None:
                kernel.share_stage(stage)
            probe_cell = _probe_cell(job_dir, stage, time.time() + seconds)
            notebook.cells.append(probe_cell)  # nbclient stores results by cell index
            client.execute_cell(probe_cell, len(notebook.cells) - 1)
            probe_errors = _errors_of(probe_cell, len(notebook.cells) - 1)
    except DeadKernelError:
        current = log.record.current_cell
        where = "while checking your functions" if current == PROBE_CELL \
            else f"while running cell {int(current or 0) + 1}"
        log.update(status="kernel-died", cell_errors=errors,
                   output_truncated=client.output_truncated,
                   message=f"The Python kernel stopped {where} (a crash, os._exit, or "
                           "running out of memory).")
        return
    except CellTimeoutError:  # the probe itself ran past the time left
        log.update(status="timeout", cell_errors=errors, output_truncated=client.output_truncated,
                   message=_time_limit_message(job, stopped_in))
        return
    finally:
        if kernel is not None:
            kernel.stop(stage)
        with contextlib.suppress(OSError):  # what was not promoted reads as not run
            staging.promote(stage, out_dir)  # the kernel has been shut down by now
    if stopped_in is not None:
        log.update(output_truncated=client.output_truncated)
        return
    message = ""
    if probe_errors:
        message = "Checking your functions failed: " + "; ".join(
            f"{e['ename']}: {e['evalue']}" for e in probe_errors)
    log.update(status="completed", cell_errors=errors, message=message,
               output_truncated=client.output_truncated)


def _time_limit_message(job: Job, stopped_in: int | None) -> str:
    where = f" (stopped in cell {stopped_in + 1})" if stopped_in is not None else ""
    return (f"The notebook did not finish within {job.timeout_s:g} s{where}. What the cells "
            "before it defined and saved was still checked. If the notebook is correct but "
            "slow, the instructor can grade it with `--mode fast` or a longer `--timeout`.")
