"""The local sandbox: a child process on this machine. NOT isolated.

Student code runs in a separate process (a Jupyter kernel under a runner process), so
the judge never shares an interpreter with it, and the wall-clock limit is enforced by
killing the whole process group. But the student's code can read anything this user can
read and use the network. Use it for development and student self-checks only; grade
real submissions with the Docker sandbox.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

from autograder.sandbox.base import Sandbox, SandboxJob, SandboxOutcome

WARNING = ("local sandbox: student code runs unisolated on this machine "
           "(use --sandbox docker to grade untrusted submissions)")
LOG_TAIL_BYTES = 4096


class LocalSandbox(Sandbox):
    name = "local"
    isolated = False

    def run(self, job: SandboxJob) -> SandboxOutcome:
        command = [sys.executable, "-m", "autograder.runner", "--job", str(job.job_dir),
                   "--workdir", str(job.workdir), "--out", str(job.out_dir)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        start = time.monotonic()
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(command, cwd=job.workdir, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            timed_out = False
            try:
                process.wait(timeout=job.limits.timeout_s + 30)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # The kernel lives in the same process group; never leave it behind.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.seek(max(0, log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            tail = log.read().decode("utf-8", "replace")
        return SandboxOutcome(exit_code=process.returncode, seconds=time.monotonic() - start,
                              timed_out=timed_out, log_tail=tail)
