"""``python -m autograder.runner.idle``: the sandbox container's first process (PID 1).

The Docker sandbox starts each container with this idle process, runs the notebook runner
beside it with ``exec``, and reads the results back before removing the container. As
PID 1 it cannot be signalled by the student's processes (the kernel drops signals to a
namespace's init that has no handler), so killing everything else leaves the container
alive for the read-back; and it reaps orphans, so dead processes do not hold on to the
container's process limit.
"""

from __future__ import annotations

import os
import signal
import time


def main() -> None:
    # Python installs a handler for SIGINT; ignoring it keeps PID 1 unkillable from inside.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM):
        signal.signal(number, signal.SIG_IGN)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            time.sleep(0.2)
        except InterruptedError:
            continue


if __name__ == "__main__":
    main()
