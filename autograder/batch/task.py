"""What a Dask worker runs for one submission: ``autograder.pipeline.grade`` under the
cache's per-key lock.

Never graded twice: the worker takes the key's lock, looks in the store, and grades only
when no result is stored; it stores the result (atomically) before it releases the lock
and before Dask learns that the task finished. So when Dask runs a task again (a worker
was lost, or the scheduler was restarted by a rerun after ``kill -9``) the second run
either waits for the first and then finds its result, or starts over a grade that was cut
off and never stored. The grading log records each grade that was started and each one
stored, one O_APPEND line each, so this can be checked after the fact.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch.cache import CacheKey, ResultCache, sandbox_identity
from autograder.batch.failures import sandbox_failure
from autograder.batch.files import append_line
from autograder.batch.identity import exercise_data_hash, judge_source_hash
from autograder.exercises import Limits, get_exercise
from autograder.judge.models.evaluator import close_evaluator
from autograder.pipeline import GradeOptions, grade
from autograder.sandbox import Sandbox, make_sandbox


class WorkerSetupError(RuntimeError):
    """The worker cannot grade as the batch asked (another course version or sandbox)."""


@dataclass(frozen=True)
class GradeRequest:
    submission_id: str
    submission_path: str
    key: CacheKey
    sandbox_name: str
    limits: Limits
    cache_dir: str
    mode: str = "full"
    gpus: str | None = None
    sandbox_settings: dict[str, Any] = field(default_factory=dict)
    log_path: str | None = None


@dataclass(frozen=True)
class TaskOutcome:
    result: dict[str, Any]
    graded: bool  # False when the result was already stored (a rerun of a finished task)
    worker: str


_sandboxes: dict[tuple[str, str], Sandbox] = {}
_sandboxes_lock = threading.Lock()


def _sandbox(name: str, settings_json: str) -> Sandbox:
    """One sandbox per worker process and setting (a Docker sandbox keeps its engine
    connection, a warm one its container)."""
    with _sandboxes_lock:
        key = (name, settings_json)
        if key not in _sandboxes:
            _sandboxes[key] = make_sandbox(name, **json.loads(settings_json))
        return _sandboxes[key]


def release_worker() -> int:
    """Close what this worker process holds for grading — its sandboxes (a warm one's
    container) and the judge's model evaluator — and return how many sandboxes it had.
    Run on every worker of a local cluster when its batch is done, so that all of it goes
    at once instead of one worker after another as the cluster shuts down."""
    with _sandboxes_lock:
        held = list(_sandboxes.values())
        _sandboxes.clear()
    for sandbox in held:
        sandbox.close()
    close_evaluator()
    return len(held)


def _log(request: GradeRequest, event: str) -> None:
    if request.log_path is None:
        return
    append_line(Path(request.log_path), json.dumps({
        "event": event, "submission": request.submission_id, "key": request.key.digest,
        "host": socket.gethostname(), "pid": os.getpid(), "time": round(time.time(), 3)}))


def grade_request(request: GradeRequest) -> TaskOutcome:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    exercise = get_exercise(request.key.exercise)
    if exercise.version != request.key.grader_version:
        raise WorkerSetupError(
            f"worker {worker} has grader version {exercise.version} of {exercise.id}, the "
            f"batch expects {request.key.grader_version}: point its AUTOGRADER_COURSE_DIR "
            "or PYTHONPATH at the same course")
    if (judge_source_hash(), exercise_data_hash(exercise)) != (request.key.judge,
                                                                request.key.data):
        raise WorkerSetupError(
            f"worker {worker} has other autograder code or data for {exercise.id} than the "
            "batch (judge and data hashes differ): install the same autograder version and "
            "run `datasets prepare` the same way on every worker")
    sandbox = _sandbox(request.sandbox_name, json.dumps(request.sandbox_settings,
                                                        sort_keys=True))
    if sandbox_identity(sandbox) != request.key.sandbox:
        raise WorkerSetupError(f"worker {worker} has sandbox {sandbox_identity(sandbox)}, the "
                               f"batch expects {request.key.sandbox}")
    cache = ResultCache(Path(request.cache_dir))
    with cache.grading(request.key):
        stored = cache.get(request.key)
        if stored is not None:
            return TaskOutcome(result=stored.to_dict(), graded=False, worker=worker)
        _log(request, "start")
        options = GradeOptions(limits=request.limits, mode=request.mode, gpus=request.gpus)
        result = grade(exercise=exercise, submission=Path(request.submission_path),
                       sandbox=sandbox, options=options)
        # A sandbox that never ran is a fault of the grading machine, not an answer: it is
        # reported but not stored, so the next run tries again.
        if sandbox_failure(result) is None:
            cache.put(request.key, result)
            _log(request, "stored")
        else:
            _log(request, "sandbox-failure")
    return TaskOutcome(result=result.to_dict(), graded=True, worker=worker)
