"""Fail closed: where grading other people's notebooks (grade-batch, release validation),
``--sandbox auto`` never falls back to the unisolated local sandbox. Docker is made
unreachable for real by pointing the SDK at a socket that does not exist."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from autograder.batch.demo import write_submission
from autograder.commands.release import validate_for_release
from autograder.exercises import get_exercise
from autograder.sandbox import LocalSandbox, UnisolatedRefusedError, make_sandbox
from autograder.sandbox.unprivileged import STUDENT_USER
from tests.batch_support import ROOT, cli_env, grade_batch_command

NO_SUCH_USER = "autograder-no-such-user"


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    address = f"unix://{tmp_path / 'no-engine.sock'}"
    monkeypatch.setenv("DOCKER_HOST", address)
    return address


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_auto_refuses_to_run_unisolated_when_isolation_is_required(no_docker: str) -> None:
    with pytest.raises(UnisolatedRefusedError) as refused:
        make_sandbox("auto", isolated_only=True, user=NO_SUCH_USER)
    message = str(refused.value)
    assert "--sandbox local" in message and "Docker:" in message
    assert "unprivileged:" in message  # says why the fallback did not apply either


def test_auto_keeps_the_labelled_local_fallback_for_ones_own_notebook(no_docker: str) -> None:
    box = make_sandbox("auto", user=NO_SUCH_USER)
    assert isinstance(box, LocalSandbox) and not box.isolated


def test_an_explicit_local_sandbox_is_allowed_where_isolation_is_required(
        no_docker: str) -> None:
    assert isinstance(make_sandbox("local", isolated_only=True), LocalSandbox)


@pytest.mark.skipif(os.geteuid() != 0 or not _user_exists("nobody"),
                    reason="the unprivileged sandbox needs root and an unprivileged user")
def test_as_root_without_docker_auto_is_the_unprivileged_sandbox(no_docker: str) -> None:
    box = make_sandbox("auto", isolated_only=True, user="nobody")
    assert box.name == "unprivileged" and box.isolated


def test_release_validation_refuses_before_running_anything(no_docker: str,
                                                            tmp_path: Path) -> None:
    with pytest.raises(UnisolatedRefusedError):
        validate_for_release([get_exercise("mse")], "auto")


@pytest.mark.skipif(os.geteuid() == 0 and _user_exists(STUDENT_USER),
                    reason="here auto would pick the unprivileged sandbox")
def test_grade_batch_without_docker_exits_2_and_grades_nothing(no_docker: str,
                                                                tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    write_submission(get_exercise("mse"), "correct", submissions, "student-1")
    out = tmp_path / "out"
    command = [c for c in grade_batch_command("mse", submissions, out) if c != "local"]
    command[command.index("--sandbox")] = "--sandbox=auto"
    done = subprocess.run(command, env=cli_env(DOCKER_HOST=no_docker), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "--sandbox local" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "results").exists() or not any((out / "results").iterdir())
