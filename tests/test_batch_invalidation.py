"""Editing a hidden test invalidates that exercise's cached results, and only those."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.batch.demo import write_submission
from autograder.exercises import get_exercise
from tests.batch_support import ROOT, cli_env, log_events, read_summary, run_grade_batch

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the course with a second exercise, ``mse-copy``, graded like ``mse``."""
    root = tmp_path / "course"
    for folder in ("graders", "solutions", "data", "templates"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(root / "graders" / "mse", root / "graders" / "mse-copy")
    shutil.copytree(root / "solutions" / "mse", root / "solutions" / "mse-copy")
    return root


def test_editing_a_hidden_test_regrades_that_exercise_only(course: Path,
                                                            tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    exercise = get_exercise("mse", course)
    for number, kind in enumerate(("correct", "slide-typo", "malformed-json"), start=1):
        write_submission(exercise, kind, submissions, f"student-{number}")
    env = cli_env(AUTOGRADER_COURSE_DIR=str(course))
    cache = tmp_path / "cache"

    def grade(exercise_id: str) -> dict[str, int]:
        out = tmp_path / f"out-{exercise_id}"
        done = run_grade_batch(exercise_id, submissions, out, "--workers", "2",
                               "--cache-dir", str(cache), env=env)
        assert done.returncode == 0, done.stderr
        return dict(read_summary(out)["run"])

    assert grade("mse")["graded_now"] == 3
    assert grade("mse-copy")["graded_now"] == 3
    assert grade("mse")["from_cache"] == 3  # unchanged: nothing regraded

    tests = course / "graders" / "mse" / "tests.py"
    edited = tests.read_text(encoding="utf-8").replace(
        "square and average to 5.4.", "square and average to 5.4 (checked again).")
    assert edited != tests.read_text(encoding="utf-8")
    tests.write_text(edited, encoding="utf-8")

    mse = grade("mse")
    assert mse["graded_now"] == 3 and mse["from_cache"] == 0
    copy = grade("mse-copy")
    assert copy["graded_now"] == 0 and copy["from_cache"] == 3
    correct = (tmp_path / "out-mse" / "results" / "student-1.json").read_text(encoding="utf-8")
    assert "(checked again)" in correct
    stored = [e for e in log_events(tmp_path / "out-mse") if e["event"] == "stored"]
    assert len(stored) == 6  # each submission once before the edit and once after
