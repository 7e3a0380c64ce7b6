"""Grading one submission: intake → sandbox (runner + probe) → judge → result.

Trust boundary: this module and the judge run trusted code only. The sandbox gets the
student's files, the data they may see and the probe's inputs; hidden tests, reference
answers and held-out data stay here. Only plain data comes back.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autograder import plaindata
from autograder.datasets import dataset_sources, exercise_datasets, public_data_dir
from autograder.exercises import Exercise, Limits
from autograder.judge import warmup
from autograder.judge.collect import read_calls, read_execution
from autograder.judge.context import JudgeContext
from autograder.judge.framework import Grader, Plan
from autograder.judge.source import NotebookSource
from autograder.protocol.status import CallStatus, ExecutionStatus
from autograder.results import GradeResult, Problem, ProblemCode, TestResult
from autograder.sandbox import InfrastructureError, Sandbox, SandboxJob, SandboxOutcome
from autograder.submission.intake import Submission, SubmissionError, load_submission

log = logging.getLogger(__name__)

MODES = ("full", "fast")
# Errors that mean the grading machine's disk is full, not that the submission is odd.
HOST_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
# Cells the fast mode does not run: it grades the model files the student handed in, so it
# neither trains them again nor repeats the notebook's own report of their accuracy on the
# public test set (the judge measures them on held-out data). In cnn that report was half
# of a fast grade: predicting 8,000 images on one CPU.
FAST_MODE_SKIPPED_ROLES = ["training", "evaluation"]


@dataclass(frozen=True)
class GradeOptions:
    limits: Limits | None = None
    mode: str = "full"
    gpus: str | None = None
    seed: int | None = None


def grade(*, exercise: Exercise, submission: Path, sandbox: Sandbox,
          options: GradeOptions | None = None) -> GradeResult:
    """Grade ``submission`` for ``exercise``.

    Never raises for anything the submission contains: a refused hand-in, a crashed
    notebook, forged records and a judge failure on this submission are all results (the
    last with an ``internal-error`` problem). Only :class:`InfrastructureError` (the engine,
    the image, the host's disk) escapes, for the batch to count as a machine failure.
    """
    options = options or GradeOptions()
    started = time.monotonic()
    grader = exercise.load_grader()
    metadata: dict[str, Any] = {"sandbox": sandbox.name, "isolated": sandbox.isolated,
                                "grader_version": exercise.version, "mode": options.mode}
    try:
        return _grade(exercise, grader, submission, sandbox, options, started, metadata)
    except InfrastructureError:
        raise
    except OSError as exc:
        if exc.errno in HOST_FULL:
            raise InfrastructureError(f"the grading machine's disk is full ({exc})") from exc
        return _internal_error(exercise.id, grader, exc, started, metadata)
    except Exception as exc:
        return _internal_error(exercise.id, grader, exc, started, metadata)


def _grade(exercise: Exercise, grader: Grader, submission: Path, sandbox: Sandbox,
           options: GradeOptions, started: float, metadata: dict[str, Any]) -> GradeResult:
    try:
        student = load_submission(submission, exercise.id)
    except SubmissionError as exc:
        return _all_failed(exercise.id, grader, Problem(ProblemCode.SUBMISSION_REFUSED,
                                                        str(exc)), started, metadata)
    seed = options.seed if options.seed is not None else _seed_for(student)
    plan = grader.build_plan(seed)
    limits = options.limits or exercise.limits
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        root = Path(tmp)
        try:
            job = _prepare(root, exercise, student, plan, limits, options, _kernel_env(sandbox))
        except OSError as exc:
            if exc.errno in HOST_FULL:
                raise
            reason = (f"The submission's files could not be laid out for grading "
                      f"({exc.strerror or type(exc).__name__}: "
                      f"{str(exc.filename or '')[-200:]}).")
            return _all_failed(exercise.id, grader, Problem(ProblemCode.SUBMISSION_REFUSED,
                                                            reason), started, metadata)
        warmup.start(exercise)  # the judge's imports and data load while the notebook runs
        try:
            outcome = sandbox.run(job)
        except InfrastructureError:
            raise
        except Exception as exc:  # the sandbox is trusted code: its failure is the machine's
            raise InfrastructureError(f"the {sandbox.name} sandbox failed: "
                                      f"{type(exc).__name__}: {exc}") from exc
        ctx = JudgeContext(plan=plan, calls=read_calls(job.out_dir, plan),
                           execution=read_execution(job.out_dir),
                           source=NotebookSource.from_notebook(student.notebook),
                           artifacts=job.out_dir / "artifacts")
        tests, internal = grader.run_tests(ctx)
    if ctx.feedback:
        metadata["feedback"] = ctx.feedback.to_plain()
    problems = _problems(ctx, outcome, limits)
    problems += [Problem(ProblemCode.GRADER_ERROR, message) for message in internal]
    sources = dataset_sources(exercise_datasets(exercise))
    if sources:
        metadata["datasets"] = sources
    return GradeResult.from_tests(exercise.id, tests, execution_time=time.monotonic() - started,
                                  problems=problems, metadata=metadata,
                                  sandbox_log=outcome.log_tail)


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
    # Course data and the notebook are written below; a student's file or folder of the same
    # name never replaces them (nor blocks them).
    reserved = {path.name for path in exercise.data_paths()} | {f"{exercise.id}.ipynb"}
    for name, data in student.files.items():
        if PurePosixPath(name).parts[0] in reserved:
            continue
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
        "cell_timeout_s": limits.cell_timeout_s,
        "probe_allowance_s": limits.probe_allowance_s,
        "output_limit_bytes": limits.output_kb * 1024,
        "skip_roles": FAST_MODE_SKIPPED_ROLES if options.mode == "fast" else [],
        "env": env,
    }
    (job_dir / "job.json").write_text(json.dumps(job_settings), encoding="utf-8")
    return SandboxJob(job_dir=job_dir, workdir=workdir, out_dir=out_dir, limits=limits,
                      gpus=options.gpus)


def _problems(ctx: JudgeContext, outcome: SandboxOutcome, limits: Limits) -> list[Problem]:
    """Problems not tied to one test, worded for the student, each with a code."""
    problems: list[Problem] = []
    execution = ctx.execution
    if outcome.oom_killed:
        problems.append(Problem(ProblemCode.OUT_OF_MEMORY,
                                f"Your notebook used more than the {limits.memory_mb} MiB of "
                                "memory allowed and was stopped."))
    elif outcome.timed_out or execution.status is ExecutionStatus.TIMEOUT:
        problems.append(Problem(ProblemCode.TIMEOUT, execution.message
                                if execution.status is ExecutionStatus.TIMEOUT else
                                f"Your notebook did not finish within {limits.timeout_s:g} s "
                                "and was stopped."))
    elif execution.unreadable:
        problems.append(Problem(ProblemCode.UNREADABLE_DATA, execution.message))
    elif execution.status is ExecutionStatus.NOT_RUN and outcome.runner_started:
        problems.append(Problem(ProblemCode.NOTEBOOK_NO_REPORT,
                                "The notebook ended the grading run before it could report "
                                f"(exit code {outcome.exit_code}): its code removed the "
                                "run's report or stopped the process running it."))
    elif execution.status is ExecutionStatus.NOT_RUN:
        problems.append(Problem(ProblemCode.SANDBOX_NO_REPORT,
                                "The sandbox stopped before reporting anything "
                                f"(exit code {outcome.exit_code}). {execution.message}".strip()))
    elif execution.status is not ExecutionStatus.COMPLETED or execution.message:
        problems.append(Problem(ProblemCode.NOTEBOOK_FAILED,
                                execution.summary() or execution.message))
    for error in execution.cell_errors[:5]:
        problems.append(Problem(ProblemCode.CELL_ERROR, f"Cell {error.cell + 1} raised "
                                                        f"{error.ename}: {error.evalue}"))
    if len(execution.cell_errors) > 5:
        problems.append(Problem(ProblemCode.CELL_ERROR, f"…and {len(execution.cell_errors) - 5} "
                                                        "more cells raised errors."))
    if execution.output_truncated:
        problems.append(Problem(ProblemCode.OUTPUT_TRUNCATED,
                                f"Your notebook printed more than {limits.output_kb} KiB; the "
                                "rest of its output was dropped."))
    if ctx.source.unparsable_cells:
        cells = ", ".join(str(i + 1) for i in ctx.source.unparsable_cells[:10])
        problems.append(Problem(ProblemCode.UNPARSABLE_CELLS, f"Cells {cells} are not valid "
                                                              "Python."))
    for reason in ctx.source.oversized_cells.values():
        problems.append(Problem(ProblemCode.SOURCE_TOO_LARGE, reason))
    unreadable = sorted({o.error for o in ctx.calls.values()
                         if o.status is CallStatus.UNREADABLE})
    if unreadable:
        problems.append(Problem(ProblemCode.UNREADABLE_DATA, "The sandbox handed back grading "
                                "data the grader refused: " + "; ".join(unreadable[:10])))
    return problems


def _all_failed(exercise_id: str, grader: Grader, problem: Problem, started: float,
                metadata: dict[str, Any]) -> GradeResult:
    tests = [TestResult(t.name, 0.0, t.points, "error", problem.message, t.visibility)
             for t in grader.tests]
    return GradeResult.from_tests(exercise_id, tests, execution_time=time.monotonic() - started,
                                  problems=[problem], metadata=metadata)


def _internal_error(exercise_id: str, grader: Grader, exc: BaseException, started: float,
                    metadata: dict[str, Any]) -> GradeResult:
    """A judge failure on this submission: a graded (and cacheable) result that says so;
    the traceback goes to the log for staff, never into the result a student sees."""
    log.error("grading failed on a submission for %s", exercise_id, exc_info=exc)
    return _all_failed(exercise_id, grader, Problem(
        ProblemCode.INTERNAL_ERROR,
        f"The grader could not grade this submission ({type(exc).__name__}); course staff "
        "have the details."), started, metadata)
