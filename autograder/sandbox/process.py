"""Running the runner as a child process group, for the sandboxes that do not use Docker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable

from autograder.protocol.execution import RUNNER_STARTED
from autograder.sandbox.base import SandboxJob, SandboxOutcome

LOG_TAIL_BYTES = 4096
# The runner enforces the notebook's own limit; this margin only catches a runner that hangs.
KILL_MARGIN_S = 30


def runner_command(python: str, job: SandboxJob) -> list[str]:
    return [python, "-m", "autograder.runner", "--job", str(job.job_dir),
            "--workdir", str(job.workdir), "--out", str(job.out_dir)]


def run_process_group(command: list[str], job: SandboxJob, *, env: dict[str, str],
                      preexec_fn: Callable[[], None] | None = None,
                      after_kill: Callable[[], None] | None = None) -> SandboxOutcome:
    """Run ``command`` in a process group of its own (``preexec_fn`` must call setsid when
    given), wait within the job's limit, and kill the whole group whatever happened: the
    kernel lives in that group and must never be left behind."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=job.workdir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=preexec_fn is None, preexec_fn=preexec_fn)
        timed_out = False
        try:
            process.wait(timeout=job.limits.wall_s + KILL_MARGIN_S)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if after_kill is not None:
                after_kill()
        log.seek(0)
        started = RUNNER_STARTED.encode() in log.read(16 * 1024)
        log.seek(max(0, log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return SandboxOutcome(exit_code=process.returncode, seconds=time.monotonic() - start,
                          timed_out=timed_out, log_tail=tail, runner_started=started)
