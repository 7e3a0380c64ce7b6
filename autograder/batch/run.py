"""Grading a whole class: discover → serve what the cache holds → grade the rest on Dask →
write each result as it finishes → gradebook and summary.

Output folder layout::

    results/<submission>.json   one native result per submission, written atomically
    gradebook.csv               submission, students, emails, student_ids, score, max_score,
                                one column per test
    summary.json, summary.md    distribution, pass rates, slowest, errors by cause
    grading.log                 one line per grade started and stored (append-only)
    cache/                      the result store (unless --cache-dir says elsewhere)
    unpacked/                   an export zip's submissions, unpacked once
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch import gradebook, summary
from autograder.batch.cache import (
    CacheKey,
    ResultCache,
    default_cache_dir,
    options_fingerprint,
    sandbox_identity,
)
from autograder.batch.discovery import Discovery, SubmissionSource, discover
from autograder.batch.failures import sandbox_failure
from autograder.batch.files import (
    AlreadyLockedError,
    exclusive_lock,
    remove_partial_files,
    write_atomic,
    write_if_changed,
)
from autograder.batch.identity import exercise_data_hash, judge_source_hash
from autograder.batch.progress import BatchProgress, PlainProgress
from autograder.batch.scheduler import TlsFiles, scheduler_security
from autograder.batch.submitters import Submitter
from autograder.batch.task import GradeRequest, TaskOutcome
from autograder.exercises import Exercise, get_exercise
from autograder.judge.framework import Grader
from autograder.reporters import native
from autograder.results import GradeResult, Problem, ProblemCode, TestResult
from autograder.sandbox import make_sandbox


class BatchLockedError(RuntimeError):
    """Another grade-batch is writing to the same output folder."""


@dataclass
class BatchSettings:
    exercise: str
    submissions: Path
    out: Path
    workers: int | None = None
    scheduler: str | None = None
    max_failures: int | None = 10  # None or 0: never stop early
    sandbox: str = "auto"
    sandbox_settings: dict[str, Any] = field(default_factory=dict)
    mode: str = "full"
    gpus: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None
    tls: TlsFiles = field(default_factory=TlsFiles)  # for a tls:// scheduler


@dataclass
class BatchReport:
    submissions: list[str]
    results: dict[str, GradeResult]
    graded_now: int
    from_cache: int
    sandbox_failures: int
    wall_seconds: float
    stopped: str | None = None  # why the batch stopped early, if it did
    skipped: list[str] = field(default_factory=list)
    submitters: dict[str, tuple[Submitter, ...]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [s for s in self.submissions if s not in self.results]


def run_batch(settings: BatchSettings, progress: BatchProgress | None = None) -> BatchReport:
    progress = progress or PlainProgress(sys.stderr)
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive_lock(out / ".grade-batch.lock", wait=False):
            return _run(settings, progress)
    except AlreadyLockedError as exc:
        raise BatchLockedError(f"another grade-batch is writing to {out}") from exc
    finally:
        progress.close()


@dataclass
class _Batch:
    """The state of one run, shared by the cache pass and the Dask callbacks."""

    exercise: Exercise
    grader: Grader
    cache: ResultCache
    results_dir: Path
    progress: BatchProgress
    max_failures: int | None
    results: dict[str, GradeResult] = field(default_factory=dict)
    graded_now: int = 0
    failures: int = 0
    stopped: str | None = None

    def record(self, submission: str, result: GradeResult) -> None:
        self.results[submission] = result
        write_if_changed(self.results_dir / f"{submission}.json",
                         native.render(result).encode("utf-8"))

    def infrastructure_result(self, reason: str, metadata: dict[str, Any]) -> GradeResult:
        tests = [TestResult(t.name, 0.0, t.points, "error", reason, t.visibility)
                 for t in self.grader.tests]
        return GradeResult.from_tests(self.exercise.id, tests, execution_time=0.0,
                                      problems=[Problem(ProblemCode.MACHINE_FAILURE, reason)],
                                      metadata={**metadata, "batch_error": reason})


def _run(settings: BatchSettings, progress: BatchProgress) -> BatchReport:
    started = time.monotonic()
    exercise = get_exercise(settings.exercise)
    security = scheduler_security(settings.scheduler, settings.tls)  # refuse early
    # A class's notebooks never run unisolated because Docker happened to be down: only an
    # explicit --sandbox local does that. Chosen before anything is unpacked.
    sandbox = make_sandbox(settings.sandbox, isolated_only=True, **settings.sandbox_settings)
    found: Discovery = discover(settings.submissions, settings.out / "unpacked")
    if not sandbox.isolated:
        progress.note("warning: --sandbox local runs student code unisolated on this machine "
                      "(use --sandbox docker for untrusted submissions)")
    limits = exercise.limits.override(**settings.limits)
    identity = sandbox_identity(sandbox)
    # Workers start containers from the image this batch connected to (its content id), so
    # a tag moved mid-batch cannot mix two images under one key.
    image_id = getattr(sandbox, "image_id", None)
    worker_settings = ({**settings.sandbox_settings, "image": image_id} if image_id
                       else settings.sandbox_settings)
    fingerprint = options_fingerprint(settings.mode, limits)
    cache_dir = (settings.cache_dir or default_cache_dir(settings.out)).resolve()
    results_dir = settings.out / "results"
    results_dir.mkdir(exist_ok=True)
    remove_partial_files(results_dir)
    batch = _Batch(exercise=exercise, grader=exercise.load_grader(),
                   cache=ResultCache(cache_dir), results_dir=results_dir, progress=progress,
                   max_failures=settings.max_failures or None)

    data_hash, judge_hash = exercise_data_hash(exercise), judge_source_hash()
    keys = {s.id: CacheKey(exercise=exercise.id, submission_sha256=s.sha256,
                           grader_version=exercise.version, sandbox=identity,
                           options=fingerprint, data=data_hash, judge=judge_hash)
            for s in found.submissions}
    waiting: dict[str, list[SubmissionSource]] = defaultdict(list)
    for source in found.submissions:
        stored = batch.cache.get(keys[source.id])
        if stored is not None:
            batch.record(source.id, stored)
        else:
            waiting[keys[source.id].digest].append(source)
    from_cache = len(batch.results)
    if from_cache:
        progress.note(f"{from_cache} of {len(found.submissions)} results served from the cache")
    workers_used = ""
    if waiting:
        # Identical submissions (same bytes) are graded once and share the result.
        requests = [GradeRequest(
            submission_id=sources[0].id, submission_path=str(sources[0].path.resolve()),
            key=keys[sources[0].id], sandbox_name=sandbox.name, limits=limits,
            cache_dir=str(cache_dir), mode=settings.mode, gpus=settings.gpus,
            sandbox_settings=worker_settings,
            log_path=str((settings.out / "grading.log").resolve()))
            for sources in waiting.values()]

        def finished(request: GradeRequest, outcome: TaskOutcome | BaseException) -> bool:
            return _finished(batch, waiting[request.key.digest], request, outcome)

        # Imported here: a run served wholly from the cache does not pay for Dask's import.
        from autograder.batch.execute import dask_client, release_workers, run_requests

        progress.start(sum(len(s) for s in waiting.values()))
        try:
            with dask_client(workers=settings.workers, scheduler=settings.scheduler,
                             security=security) as client:
                workers_used = (f"scheduler {settings.scheduler}" if settings.scheduler
                                else "a local Dask cluster") + f", {len(client.nthreads())} workers"
                if run_requests(client, requests, finished) and settings.scheduler is None:
                    release_workers(client)
        except KeyboardInterrupt:
            # Finished results are already on disk; the next run grades the rest.
            batch.stopped = "interrupted; run the same command again to grade the rest"

    submissions = [s.id for s in found.submissions]
    report = BatchReport(submissions=submissions, results=batch.results,
                         graded_now=batch.graded_now, from_cache=from_cache,
                         sandbox_failures=batch.failures,
                         wall_seconds=time.monotonic() - started, stopped=batch.stopped,
                         skipped=found.skipped, submitters=found.submitters)
    _write_reports(settings.out, exercise, identity, batch, report, workers_used)
    return report


def _finished(batch: _Batch, sources: list[SubmissionSource], request: GradeRequest,
              outcome: TaskOutcome | BaseException) -> bool:
    if isinstance(outcome, BaseException):
        reason = (f"Grading failed on the grading machine ({type(outcome).__name__}: "
                  f"{outcome}); this submission will be graded again on the next run.")
        result = batch.infrastructure_result(reason, {"sandbox": request.key.sandbox,
                                                      "grader_version": request.key.grader_version})
        worker = "?"
    else:
        result = GradeResult.from_dict(outcome.result)
        worker = outcome.worker
        # Workers store results themselves; this covers a cache they could not share.
        if sandbox_failure(result) is None and batch.cache.get(request.key) is None:
            batch.cache.put(request.key, result)
    failure = sandbox_failure(result)
    for source in sources:
        batch.record(source.id, result)
        batch.graded_now += 1
        state = f"sandbox failure: {failure.splitlines()[0]}" if failure else (
            f"{result.score:g}/{result.max_score:g} in {result.execution_time:.1f} s")
        batch.progress.advance(f"{source.id}: {state} ({worker})")
    if failure:
        batch.failures += len(sources)
        if batch.max_failures and batch.failures >= batch.max_failures:
            batch.stopped = (f"stopped after {batch.failures} sandbox failures "
                             f"(--max-failures {batch.max_failures}); the last one: "
                             f"{failure.splitlines()[0]} Check the sandbox (image, engine) "
                             "and run the same command again to grade the rest.")
            batch.progress.note(batch.stopped)
            return False
    return True


def _write_reports(out: Path, exercise: Exercise, identity: str, batch: _Batch,
                   report: BatchReport, workers_used: str) -> None:
    test_names = [t.name for t in batch.grader.tests]
    write_atomic(out / "gradebook.csv",
                 gradebook.render(batch.results, test_names,
                                  report.submitters).encode("utf-8"))
    run = {"graded_now": report.graded_now, "from_cache": report.from_cache,
           "sandbox_failures_now": report.sandbox_failures,
           "wall_seconds": round(report.wall_seconds, 3), "workers": workers_used,
           "stopped": report.stopped, "skipped": report.skipped}
    data = summary.build(exercise=exercise.id, grader_version=exercise.version,
                         sandbox=identity, submissions=report.submissions,
                         results=batch.results, test_names=test_names, run=run)
    write_atomic(out / "summary.json",
                 (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    write_atomic(out / "summary.md", summary.render_markdown(data).encode("utf-8"))
