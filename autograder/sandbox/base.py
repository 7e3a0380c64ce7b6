"""The sandbox contract: run the runner on a prepared job, report how it ended."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from autograder.exercises import Limits


@dataclass
class SandboxJob:
    job_dir: Path  # job.json and the probe plan: inputs only, never expected answers
    workdir: Path  # the student's notebook, their files and the data they may see
    out_dir: Path  # where the runner writes plain results
    limits: Limits
    gpus: str | None = None


@dataclass
class SandboxOutcome:
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    oom_killed: bool = False
    log_tail: str = ""
    # The runner said the kernel started (see protocol.execution.RUNNER_STARTED) before the
    # student's code could run: a missing report after that is the notebook's doing.
    runner_started: bool = False


class InfrastructureError(RuntimeError):
    """The grading machine failed (engine unreachable, image missing, host disk full), not
    the submission: the only exception ``pipeline.grade`` lets out. A batch counts it as a
    machine failure and grades the submission again on the next run."""


class SandboxUnavailableError(InfrastructureError):
    """The requested sandbox cannot run here (no engine, no image, no GPU runtime)."""


class Sandbox(ABC):
    name: str
    isolated: bool

    @abstractmethod
    def run(self, job: SandboxJob) -> SandboxOutcome:
        """Run ``python -m autograder.runner`` on ``job`` and wait, within its limits."""

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Let go of what this sandbox holds between runs (containers, connections); a
        sandbox that holds nothing has nothing to do."""
        return None
