"""``python -m autograder.runner.zygote``: a warm sandbox container's first process.

It imports once what every grade needs and is public — the Python runtime, ipykernel,
nbclient, NumPy, scikit-learn, TensorFlow/Keras, the runner and the probe — and reads the
image's public data sets into the page cache. Then it waits on a Unix socket that only
root in the container can reach; for each request (from ``autograder.runner.zygote_request``,
started by the host with ``docker exec``) it forks a grade leader (see leader.py), waits
for that grade to end, and serves the next. It never runs student code, never reads a
submission, and holds nothing that is not in the image.

It must not initialise CUDA: a CUDA context does not survive ``fork``. Importing
TensorFlow does not create one; running any op would, so nothing here runs one.

As the container's init it also reaps orphans, and it ends after ``--exit-after`` seconds
or ``--idle-exit`` seconds without a request, so a container whose grader died stops.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import select
import socket
import sys
import time
from pathlib import Path

from autograder.runner.execute import KERNEL_ENV
from autograder.runner.zygote_request import SOCKET_PATH

REQUEST_BYTES = 4096
# Kernel uids cycle through this many values above the runner's.
UID_POOL = 4096
# What every grade needs; "full" adds the machine-learning libraries (seconds to import,
# and half a GiB the container holds), which only notebooks that use them need. A module
# not preloaded is imported by the kernel that uses it, as in a cold sandbox.
PRELOAD: dict[str, tuple[str, ...]] = {
    "light": ("numpy", "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "nbclient",
              "nbformat", "jupyter_client", "zmq", "autograder.runner.probe",
              "autograder.runner.leader", "autograder.runner.leader_kernel"),
}
PRELOAD["full"] = (*PRELOAD["light"], "scipy", "sklearn", "sklearn.linear_model",
                   "sklearn.model_selection", "sklearn.preprocessing", "sklearn.metrics",
                   "matplotlib", "tensorflow", "keras")
DATASETS = Path("/opt/autograder/datasets")


def preload(kind: str) -> dict[str, float]:
    """Import what grades need; a module that fails to import is simply left to the
    kernel (which then fails the same way a cold one would)."""
    seconds: dict[str, float] = {}
    for name in PRELOAD[kind]:
        started = time.monotonic()
        try:
            importlib.import_module(name)
        except Exception as exc:  # the image may lack an optional library
            print(f"zygote: {name} not preloaded ({type(exc).__name__}: {exc})",
                  file=sys.stderr)
        seconds[name] = round(time.monotonic() - started, 3)
    for path in sorted(DATASETS.rglob("*")) if DATASETS.is_dir() and kind == "full" else []:
        if path.is_file():
            with path.open("rb") as stream:  # into the page cache, not into this process
                while stream.read(1 << 20):
                    pass
    return seconds


def serve(uid_base: int, *, exit_after_s: float | None, idle_exit_s: float | None,
          base_env: dict[str, str]) -> None:
    from autograder.runner import leader, teardown

    path = Path(SOCKET_PATH)
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    os.chmod(path, 0o600)
    server.listen(8)
    started = last_request = time.monotonic()
    sequence = 0
    while True:
        now = time.monotonic()
        if exit_after_s is not None and now - started > exit_after_s:
            return
        if idle_exit_s is not None and now - last_request > idle_exit_s:
            return
        teardown.reap_all()
        ready, _, _ = select.select([server], [], [], 1.0)
        if not ready:
            continue
        connection, _ = server.accept()
        try:
            message, fds, _, _ = socket.recv_fds(connection, REQUEST_BYTES, 3)
            request = leader.GradeRequest.decode(message)
        except (OSError, ValueError, KeyError) as exc:
            connection.sendall(json.dumps({"healthy": False,
                                           "problems": [f"bad request: {exc}"]}).encode())
            connection.close()
            continue
        sequence += 1
        uids = leader.Uids(runner=uid_base, kernel=uid_base + 1 + sequence % UID_POOL)
        pid = os.fork()
        if pid == 0:
            server.close()
            leader.lead(connection, fds, request, uids, base_env)
        connection.close()
        for fd in fds:
            os.close(fd)
        _wait_for(pid)
        last_request = time.monotonic()


def _wait_for(pid: int) -> None:
    while True:
        try:
            reaped, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        if reaped == pid:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner.zygote")
    parser.add_argument("--uid-base", type=int, required=True,
                        help="the runner's uid; kernels get fresh uids above it")
    parser.add_argument("--exit-after", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--preload", choices=sorted(PRELOAD), default="full")
    args = parser.parse_args(argv)
    base_env = dict(os.environ)
    # The kernel's thread-pool settings must be in place before NumPy and TensorFlow load:
    # they read them once, at import, and every forked kernel inherits the result.
    os.environ.update(KERNEL_ENV)
    os.chdir("/")
    seconds = preload(args.preload)
    print(f"zygote: ready in {sum(seconds.values()):.1f} s", file=sys.stderr, flush=True)
    serve(args.uid_base, exit_after_s=args.exit_after, idle_exit_s=args.idle_exit,
          base_env=base_env)


if __name__ == "__main__":
    main()
