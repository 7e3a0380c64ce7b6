"""``python -m autograder.runner.idle``: the sandbox container's first process (PID 1).

The Docker sandbox starts each container with this idle process, runs the notebook runner
beside it with ``exec``, and reads the results back before removing the container. As
PID 1 it cannot be signalled by the student's processes (the kernel drops signals to a
namespace's init that has no handler), so killing everything else leaves the container
alive for the read-back; and it reaps orphans, so dead processes do not hold on to the
container's process limit.

``--exit-after SECONDS`` bounds the container's life: if the grader that started it dies
(``kill -9``, a lost machine) nobody removes the container, and ending PID 1 stops it,
so an orphan does not hold memory or a CPU share until the next grading run sweeps it.
A frozen (paused) container keeps its PID 1 frozen too; the sweep removes those.
"""

from __future__ import annotations

import argparse
import os
import signal
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner.idle")
    parser.add_argument("--exit-after", type=float, default=None, metavar="SECONDS")
    args = parser.parse_args(argv)
    deadline = None if args.exit_after is None else time.monotonic() + args.exit_after
    # Python installs a handler for SIGINT; ignoring it keeps PID 1 unkillable from inside.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM):
        signal.signal(number, signal.SIG_IGN)
    while deadline is None or time.monotonic() < deadline:
        # Reap without blocking, so the deadline holds even while orphans live on.
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            reaped = 0
        if reaped == 0:
            time.sleep(0.2)


if __name__ == "__main__":
    main()
