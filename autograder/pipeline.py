"""Grading one submission: intake → sandbox (runner + probe) → judge → result.

Trust boundary: this module and the judge run trusted code only. The sandbox gets the
student's files, the data they may see and the probe's inputs; hidden tests, reference
answers and held-out data stay here. Only plain data comes back.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autograder import plaindata
from autograder.datasets import dataset_sources, exercise_datasets, public_data_dir
from autograder.exercises import Exercise, Limits
from autograder.judge.collect import read_calls, read_execution
from autograder.judge.context import JudgeContext
from autograder.judge.framework import Grader, Plan
from autograder.judge.source import NotebookSource
from autograder.results import GradeResult, TestResult
from autograder.sandbox import Sandbox, SandboxJob, SandboxOutcome
from autograder.submission.intake import Submission, SubmissionError, load_submission

MODES = ("full", "fast")
# Cells the fast mode does not run: it grades the model files the student handed in.
FAST_MODE_SKIPPED_ROLES = ["training"]


@dataclass(frozen=True)
class GradeOptions:
    limits: Limits | None = None
    mode: str = "full"
    gpus: str | None = None
    seed: int | None = None


def grade(*, exercise: Exercise, submission: Path, sandbox: Sandbox,
          options: GradeOptions | None = None) -> GradeResult:
    """Grade ``submission`` for ``exercise``; never raises for a bad submission."""
    options = options or GradeOptions()
    started = time.monotonic()
    grader = exercise.load_grader()
    metadata: dict[str, Any] = {"sandbox": sandbox.name, "isolated": sandbox.isolated,
                                "grader_version": exercise.version, "mode": options.mode}
    try:
        student = load_submission(submission, exercise.id)
    except SubmissionError as exc:
        return _all_failed(exercise.id, grader, str(exc), started, metadata)
    seed = options.seed if options.seed is not None else _seed_for(student)
    plan = grader.build_plan(seed)
    limits = options.limits or exercise.limits
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        root = Path(tmp)
        job = _prepare(root, exercise, student, plan, limits, options, _kernel_env(sandbox))
        outcome = sandbox.run(job)
        ctx = JudgeContext(plan=plan, calls=read_calls(job.out_dir, plan),
                           execution=read_execution(job.out_dir),
                           source=NotebookSource.from_notebook(student.notebook),
                           artifacts=job.out_dir / "artifacts")
        tests, internal = grader.run_tests(ctx)
    if ctx.feedback:
        metadata["feedback"] = ctx.feedback.to_plain()
    errors = _problems(ctx, outcome, limits) + internal
    sources = dataset_sources(exercise_datasets(exercise))
    if sources:
        metadata["datasets"] = sources
    return GradeResult.from_tests(exercise.id, tests, execution_time=time.monotonic() - started,
                                  errors=errors, metadata=metadata)


def _seed_for(student: Submission) -> int:
    """Random inputs depend on the submission, so regrading it gives the same result."""
    digest = hashlib.sha256(json.dumps(student.notebook, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _kernel_env(sandbox: Sandbox) -> dict[str, str]:
    """The local sandbox shares this machine's files, so its kernel is pointed at the public
    Keras cache (held-out rows removed); an isolated sandbox's image bakes that cache in."""
    return {} if sandbox.isolated else {"KERAS_HOME": str(public_data_dir())}


def _prepare(root: Path, exercise: Exercise, student: Submission, plan: Plan, limits: Limits,
             options: GradeOptions, env: dict[str, str]) -> SandboxJob:
    job_dir, workdir, out_dir = root / "job", root / "work", root / "out"
    for folder in (job_dir, workdir, out_dir):
        folder.mkdir()
    for name, data in student.files.items():
        target = workdir / PurePosixPath(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    # Course data is written last, so a student's own copy cannot replace it.
    for path in exercise.data_paths():
        shutil.copyfile(path, workdir / path.name)
    notebook_name = f"{exercise.id}.ipynb"
    (workdir / notebook_name).write_text(json.dumps(student.notebook), encoding="utf-8")
    plaindata.dump(plan.to_plain(), job_dir / "plan.json", job_dir / "plan.npz")
    job_settings = {
        "notebook": notebook_name, "timeout_s": limits.timeout_s,
        "cell_timeout_s": limits.cell_timeout_s, "output_limit_bytes": limits.output_kb * 1024,
        "skip_roles": FAST_MODE_SKIPPED_ROLES if options.mode == "fast" else [],
        "env": env,
    }
    (job_dir / "job.json").write_text(json.dumps(job_settings), encoding="utf-8")
    return SandboxJob(job_dir=job_dir, workdir=workdir, out_dir=out_dir, limits=limits,
                      gpus=options.gpus)


def _problems(ctx: JudgeContext, outcome: SandboxOutcome, limits: Limits) -> list[str]:
    """Problems not tied to one test, worded for the student."""
    problems: list[str] = []
    execution = ctx.execution
    if outcome.oom_killed:
        problems.append(f"Your notebook used more than the {limits.memory_mb} MiB of memory "
                        "allowed and was stopped.")
    elif outcome.timed_out or (execution.status == "timeout"):
        problems.append(execution.message if execution.status == "timeout" else
                        f"Your notebook did not finish within {limits.timeout_s:g} s and was "
                        "stopped.")
    elif execution.status == "not-run":
        problems.append("The sandbox stopped before reporting anything "
                        f"(exit code {outcome.exit_code}). {execution.message}".strip())
    elif execution.status != "completed" or execution.message:
        problems.append(execution.summary() or execution.message)
    for error in execution.cell_errors[:5]:
        problems.append(f"Cell {error['cell'] + 1} raised {error['ename']}: {error['evalue']}")
    if len(execution.cell_errors) > 5:
        problems.append(f"…and {len(execution.cell_errors) - 5} more cells raised errors.")
    if execution.output_truncated:
        problems.append(f"Your notebook printed more than {limits.output_kb} KiB; the rest of "
                        "its output was dropped.")
    if ctx.source.unparsable_cells:
        cells = ", ".join(str(i + 1) for i in ctx.source.unparsable_cells[:10])
        problems.append(f"Cells {cells} are not valid Python.")
    return problems


def _all_failed(exercise_id: str, grader: Grader, reason: str, started: float,
                metadata: dict[str, Any]) -> GradeResult:
    tests = [TestResult(t.name, 0.0, t.points, "error", reason, t.visibility)
             for t in grader.tests]
    return GradeResult.from_tests(exercise_id, tests, execution_time=time.monotonic() - started,
                                  errors=[reason], metadata=metadata)
