"""The cache is never stale: editing a hidden test regrades that exercise only, editing the
judge's code regrades, rebuilding the sandbox image regrades; nothing else does."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from autograder.batch.demo import write_submission
from autograder.exercises import get_exercise
from tests.batch_support import (
    ROOT,
    cli_env,
    grade_batch_command,
    log_events,
    read_summary,
    run_grade_batch,
)

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


def _two_submissions(folder: Path) -> Path:
    folder.mkdir()
    mse = get_exercise("mse")
    write_submission(mse, "correct", folder, "student-1")
    write_submission(mse, "slide-typo", folder, "student-2")
    return folder


def test_editing_the_judge_regrades_and_other_code_does_not(tmp_path: Path) -> None:
    """The key holds a hash of the judge's code: a copy of the package grades from the
    cache until one of its grading modules changes, and a change to code that only
    presents results regrades nothing."""
    submissions = _two_submissions(tmp_path / "submissions")
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "autograder", copy / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = cli_env(PYTHONPATH=str(copy), AUTOGRADER_COURSE_DIR=str(ROOT))
    cache = tmp_path / "cache"

    def grade(env: dict[str, str]) -> dict[str, int]:
        out = tmp_path / "out"
        # `python -m` imports from the working folder first: run where the code is.
        done = subprocess.run([*grade_batch_command("mse", submissions, out), "--workers", "1",
                               "--cache-dir", str(cache)], env=env, capture_output=True,
                              text=True, timeout=900,
                              cwd=copy if env["PYTHONPATH"] == str(copy) else ROOT)
        assert done.returncode == 0, done.stderr
        return dict(read_summary(out)["run"])

    assert grade(cli_env())["graded_now"] == 2
    assert grade(env)["from_cache"] == 2  # the same code elsewhere: the same key

    reporter = copy / "autograder" / "reporters" / "summary.py"
    reporter.write_text(reporter.read_text(encoding="utf-8") + "\n# wording only\n",
                        encoding="utf-8")
    assert grade(env)["from_cache"] == 2

    judge = copy / "autograder" / "judge" / "framework.py"
    judge.write_text(judge.read_text(encoding="utf-8") + "\n# a fix to the judge\n",
                     encoding="utf-8")
    again = grade(env)
    assert again["graded_now"] == 2 and again["from_cache"] == 0
    assert grade(env)["from_cache"] == 2
    assert grade(cli_env())["from_cache"] == 2  # the original judge's entries are kept


@pytest.mark.docker
def test_rebuilding_the_sandbox_image_regrades(tmp_path: Path) -> None:
    """The key holds the image's content id, not its tag: rebuilding the image under the
    same tag regrades, and going back to an image already used is served from the cache."""
    import docker

    from autograder.image.context import default_image

    client = docker.from_env()
    base = client.images.get(default_image())
    tag = f"autograder-sandbox:batch-cache-{uuid.uuid4().hex[:8]}"
    submissions = _two_submissions(tmp_path / "submissions")
    cache = tmp_path / "cache"
    built: list[str] = []

    def build(label: str) -> str:
        dockerfile = f"FROM {base.id}\nLABEL org.example.autograder-test={label}\n"
        image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag,
                                       rm=True)
        built.append(str(image.id))
        return str(image.id)

    def grade() -> dict[str, Any]:
        out = tmp_path / "out"
        command = [c if c != "local" else "docker"
                   for c in grade_batch_command("mse", submissions, out)]
        done = subprocess.run([*command, "--workers", "1", "--cache-dir", str(cache)],
                              env=cli_env(AUTOGRADER_SANDBOX_IMAGE=tag), capture_output=True,
                              text=True, timeout=900, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return read_summary(out)

    try:
        first = build("first")
        graded = grade()
        assert graded["run"]["graded_now"] == 2 and graded["sandbox"] == f"docker:{first}"
        assert grade()["run"]["from_cache"] == 2

        second = build("second")  # the same tag, another image
        assert second != first
        regraded = grade()
        assert regraded["run"]["graded_now"] == 2 and regraded["sandbox"] == f"docker:{second}"
        assert grade()["run"]["from_cache"] == 2
    finally:  # only this test's images: the tag and the image it pointed at before
        for image_id in reversed(built):
            with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                client.images.remove(image_id, force=True)
