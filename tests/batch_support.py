"""Helpers for the grade-batch tests: run the real CLI, read its outputs, compare runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from autograder.batch.compare import comparable_results, without_timings

__all__ = ["comparable_results", "without_timings"]

ROOT = Path(__file__).resolve().parents[1]
# Long enough for a correct notebook on a busy two-core machine, short enough that the
# endless submissions do not dominate the test's time.
TIMEOUT_S = "25"


def gradescope_metadata(submissions: dict[str, list[tuple[str, str, str]]]) -> str:
    """``submission_metadata.yml`` as Gradescope writes it (Ruby-symbol keys, a group
    listed person by person) for {folder: [(name, sid, email), ...]}; "" writes no SID."""
    lines = []
    for folder, people in submissions.items():
        lines += [f"{folder}:", "  :submitters:"]
        for name, sid, email in people:
            lines += [f"  - :name: {name}", f"    :sid: '{sid}'" if sid else "    :sid:",
                      f"    :email: {email}"]
        lines += ["  :created_at: 2026-11-20 10:01:02.000000000 -08:00", "  :score: 0.0"]
    return "\n".join(lines) + "\n"


def cli_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def grade_batch_command(exercise: str, submissions: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade-batch", exercise, str(submissions),
            "--out", str(out), "--sandbox", "local", "--timeout", TIMEOUT_S, *extra]


def run_grade_batch(exercise: str, submissions: Path, out: Path, *extra: str,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(grade_batch_command(exercise, submissions, out, *extra),
                          env=env or cli_env(), capture_output=True, text=True, timeout=1800,
                          cwd=ROOT)


def summary_without_timings(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("slowest", "run")}


def read_summary(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "summary.json").read_text(encoding="utf-8")))


def gradebook_rows(out: Path) -> dict[str, str]:
    lines = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    return {line.split(",", 1)[0]: line for line in lines}


def assert_reports_match_results(out: Path) -> None:
    """The gradebook and the summary are exactly what the result files say."""
    from autograder.batch import gradebook, summary
    from autograder.exercises import get_exercise
    from autograder.results import GradeResult

    results = {p.stem: GradeResult.from_dict(json.loads(p.read_text(encoding="utf-8")))
               for p in (out / "results").glob("*.json")}
    written = read_summary(out)
    names = [t.name for t in get_exercise(written["exercise"]).load_grader().tests]
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == gradebook.render(results,
                                                                                  names)
    rebuilt = summary.build(exercise=written["exercise"],
                            grader_version=written["grader_version"],
                            sandbox=written["sandbox"], submissions=sorted(results),
                            results=results, test_names=names, run={})
    assert summary_without_timings(rebuilt) == summary_without_timings(written)


def log_events(out: Path) -> list[dict[str, Any]]:
    path = out / "grading.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
