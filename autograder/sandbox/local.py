"""The local sandbox: a child process on this machine. NOT isolated.

Student code runs in a separate process (a Jupyter kernel under a runner process), so
the judge never shares an interpreter with it, and the wall-clock limit is enforced by
killing the whole process group. But the student's code can read anything this user can
read and use the network. Use it for development and student self-checks only; grade
real submissions with the Docker sandbox.
"""

from __future__ import annotations

import os
import sys

from autograder.sandbox.base import Sandbox, SandboxJob, SandboxOutcome
from autograder.sandbox.process import run_process_group, runner_command

WARNING = ("local sandbox: student code runs unisolated on this machine "
           "(use --sandbox docker to grade untrusted submissions)")


class LocalSandbox(Sandbox):
    name = "local"
    isolated = False

    def run(self, job: SandboxJob) -> SandboxOutcome:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return run_process_group(runner_command(sys.executable, job), job, env=env)
