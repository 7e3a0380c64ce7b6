"""grade-batch on a class of 40 mse submissions, with real kernels: the full run, the
cached regrade, kill -9 and resume, and a Dask scheduler with two separate workers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.batch.demo import CLASS_OF_40, write_class
from autograder.batch.discovery import discover
from autograder.exercises import get_exercise
from tests.batch_support import (
    assert_reports_match_results,
    cli_env,
    comparable_results,
    grade_batch_command,
    gradebook_rows,
    log_events,
    read_summary,
    run_grade_batch,
)

pytestmark = pytest.mark.slow


def read_result(out: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((out / "results" / f"{name}.json").read_text(encoding="utf-8")))


@dataclass
class GradedClass:
    submissions: Path
    out: Path
    roster: dict[str, str]
    process: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    root = tmp_path_factory.mktemp("class")
    roster = write_class(get_exercise("mse"), root / "submissions")
    process = run_grade_batch("mse", root / "submissions", root / "out", "--workers", "2")
    return GradedClass(root / "submissions", root / "out", roster, process)


def _copy_some(graded: GradedClass, folder: Path, count: int) -> list[str]:
    """The first ``count`` submissions, byte for byte, into ``folder``."""
    folder.mkdir()
    names = list(graded.roster)[:count]
    for entry in graded.submissions.iterdir():
        if entry.name.split(".")[0] in names:
            copy = shutil.copytree if entry.is_dir() else shutil.copy2
            copy(entry, folder / entry.name)
    return names


def test_forty_mixed_submissions_give_forty_results_a_gradebook_and_a_summary(
        graded_class: GradedClass) -> None:
    assert graded_class.process.returncode == 0, graded_class.process.stderr
    out = graded_class.out
    results = comparable_results(out)
    assert sorted(results) == sorted(graded_class.roster)
    by_kind: dict[str, set[float]] = {}
    for name, kind in graded_class.roster.items():
        by_kind.setdefault(kind, set()).add(results[name]["score"])
    assert by_kind["correct"] == {15}
    assert by_kind["loops"] == {11}  # the two vectorization tests fail
    assert by_kind["not-written"] == {0}
    for kind in ("malformed-json", "nbformat-3", "two-notebooks", "unsafe-zip", "timeout"):
        assert by_kind[kind] == {0}, kind
    timeout = results[next(n for n, k in graded_class.roster.items() if k == "timeout")]
    assert any("did not finish within 25 s" in e for e in timeout["errors"])
    dead = results[next(n for n, k in graded_class.roster.items() if k == "kernel-death")]
    assert dead["errors"] and dead["score"] == 0

    rows = gradebook_rows(out)
    assert len(rows) == 41 and rows["submission"].startswith(
        "submission,students,emails,student_ids,score,max_score,")
    # A plain folder says nothing of who handed what in: those columns stay blank.
    assert rows["student-01-correct"].startswith("student-01-correct,,,,15,15,")
    data = read_summary(out)
    assert data["graded"] == 40 and data["missing"] == [] and data["sandbox_failures"] == []
    assert sum(d["count"] for d in data["distribution"]) == 40
    assert data["full_marks"] <= CLASS_OF_40.count("correct") + CLASS_OF_40.count("crash")
    causes = {group["cause"]: group["count"] for group in data["errors"]}
    assert causes["Cell N raised ZeroDivisionError: division by zero"] == CLASS_OF_40.count("crash")
    assert len(data["slowest"]) == 10
    assert "## Pass rate per test" in (out / "summary.md").read_text(encoding="utf-8")
    assert_reports_match_results(out)
    # Each distinct content is graded once: the two identical malformed files share a grade.
    distinct = {s.sha256 for s in discover(graded_class.submissions, out / "unused").submissions}
    assert len(distinct) == 39
    stored = Counter(e["key"] for e in log_events(out) if e["event"] == "stored")
    assert len(stored) == len(distinct) and set(stored.values()) == {1}


def test_unchanged_regrade_is_served_from_the_cache(graded_class: GradedClass) -> None:
    before = {p.name: p.read_bytes() for p in (graded_class.out / "results").iterdir()}
    log_before = (graded_class.out / "grading.log").read_bytes()
    again = run_grade_batch("mse", graded_class.submissions, graded_class.out)
    assert again.returncode == 0, again.stderr
    run = read_summary(graded_class.out)["run"]
    assert run["from_cache"] == 40 and run["graded_now"] == 0
    assert run["wall_seconds"] / 40 <= 0.1
    assert (graded_class.out / "grading.log").read_bytes() == log_before
    assert {p.name: p.read_bytes() for p in (graded_class.out / "results").iterdir()} == before


def test_kill_minus_nine_then_rerun_grades_only_what_is_missing(
        graded_class: GradedClass, tmp_path: Path) -> None:
    names = _copy_some(graded_class, tmp_path / "submissions", 12)
    out = tmp_path / "out"
    command = grade_batch_command("mse", tmp_path / "submissions", out, "--workers", "2")
    batch = subprocess.Popen(command, env=cli_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while len(list((out / "results").glob("*.json"))) < 4:
            assert batch.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait()
    finally:
        # The workers stop when their parent dies; make sure nothing of ours lingers.
        time.sleep(2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    first_run = log_events(out)
    assert 4 <= len(list((out / "results").glob("*.json"))) < 12
    assert not (out / "gradebook.csv").exists()

    rerun = run_grade_batch("mse", tmp_path / "submissions", out, "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr

    reference = comparable_results(graded_class.out)
    assert comparable_results(out) == {n: reference[n] for n in names}
    assert_reports_match_results(out)
    assert not list((out / "results").glob(".*"))  # no partial files left
    # Nothing graded twice: a grade stored by the killed run is never started again, and
    # every result was stored exactly once.
    events = log_events(out)
    second_run = events[len(first_run):]
    stored_first = {e["key"] for e in first_run if e["event"] == "stored"}
    assert stored_first and not stored_first & {e["key"] for e in second_run}
    stored = Counter(e["key"] for e in events if e["event"] == "stored")
    assert len(stored) == 12 and set(stored.values()) == {1}
    assert read_summary(out)["run"]["from_cache"] == len(stored_first)


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as handle:
        return subprocess.Popen(command, env=cli_env(), stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)


def test_a_scheduler_with_two_separate_workers_gives_the_local_results(
        graded_class: GradedClass, tmp_path: Path) -> None:
    names = _copy_some(graded_class, tmp_path / "submissions", 8)
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]  # the `dask scheduler` / `dask worker` CLIs
    processes = [_start([*dask, "scheduler", "--host", "127.0.0.1",
                         "--port", "0", "--no-dashboard", "--scheduler-file",
                         str(scheduler_file)], tmp_path / "scheduler.log")]
    try:
        for number in (1, 2):
            processes.append(_start(
                [*dask, "worker", "--scheduler-file",
                 str(scheduler_file), "--nworkers", "1", "--nthreads", "1", "--host",
                 "127.0.0.1", "--no-dashboard", "--no-nanny"],
                tmp_path / f"worker-{number}.log"))
        from distributed import Client

        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
            worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids

        out = tmp_path / "out"
        result = run_grade_batch("mse", tmp_path / "submissions", out, "--scheduler", address)
        assert result.returncode == 0, result.stderr
    finally:
        for process in processes:  # the scheduler and workers this test started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    reference = comparable_results(graded_class.out)
    assert comparable_results(out) == {n: reference[n] for n in names}
    assert_reports_match_results(out)
    graded_by = {e["pid"] for e in log_events(out) if e["event"] == "stored"}
    assert graded_by == worker_pids  # both separate workers took part, nothing else did
