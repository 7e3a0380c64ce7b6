"""``python -m autograder.runner.zygote``: a warm sandbox container's first process.

It imports once what every grade needs and is public — the Python runtime, ipykernel,
nbclient, NumPy, scikit-learn, TensorFlow/Keras, the runner and the probe — and reads the
image's public data sets into the page cache. Then it waits on a Unix socket that only
root in the container (and the grading host, when the socket's folder is bind-mounted from
it) can reach; for each request (from ``autograder.runner.zygote_request``, started by the
host with ``docker exec``, or from the host itself) it forks a grade leader (see leader.py), waits
for that grade to end, and serves the next. It never runs student code, never reads a
submission, and holds nothing that is not in the image.

It must not initialise CUDA: a CUDA context does not survive ``fork``. Importing
TensorFlow does not create one; running any op would, so nothing here runs one.

As the container's init it also reaps orphans, and it ends after ``--exit-after`` seconds
or ``--idle-exit`` seconds without a request, so a container whose grader died stops.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from autograder.runner.execute import KERNEL_ENV
from autograder.runner.zygote_request import SOCKET_PATH

REQUEST_BYTES = 4096
# Kernel uids cycle through this many values above the runner's.
UID_POOL = 4096
# What every grade needs; "science" adds SciPy, scikit-learn and matplotlib, "full" also
# TensorFlow and Keras (seconds to import, and half a GiB the container holds, which makes
# every fork of the zygote dearer: 27 ms against 12 ms without them, 5 ms for "light").
# A module not preloaded is imported by the kernel that uses it, as in a cold sandbox.
PRELOAD: dict[str, tuple[str, ...]] = {
    "light": ("numpy", "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "nbclient",
              "nbformat", "jupyter_client", "zmq", "autograder.runner.probe",
              "autograder.runner.leader", "autograder.runner.leader_kernel",
              "autograder.runner.zygote_request"),
}
PRELOAD["science"] = (*PRELOAD["light"], "scipy", "sklearn", "sklearn.linear_model",
                      "sklearn.model_selection", "sklearn.preprocessing", "sklearn.metrics",
                      "matplotlib")
PRELOAD["full"] = (*PRELOAD["science"], "tensorflow", "keras")
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
    started = time.monotonic()
    _build_notebook_validator()
    seconds["nbformat validator"] = round(time.monotonic() - started, 3)
    started = time.monotonic()
    _import_all(_kernel_start_imports())
    seconds["kernel start-up imports"] = round(time.monotonic() - started, 3)
    for path in sorted(DATASETS.rglob("*")) if DATASETS.is_dir() and kind == "full" else []:
        if path.is_file():
            with path.open("rb") as stream:  # into the page cache, not into this process
                while stream.read(1 << 20):
                    pass
    return seconds


def _build_notebook_validator() -> None:
    """nbformat compiles its JSON-schema validator on first use (0.1 s); every runner
    reads a notebook, so compile it once here."""
    import nbformat

    nbformat.reads(nbformat.writes(nbformat.v4.new_notebook()), as_version=4)


def _kernel_start_imports() -> list[str]:
    """The modules an IPython kernel imports while it starts (ipykernel's debugger pulls in
    debugpy, the shell its extensions: 0.15 s of every warm kernel's start), found by
    starting one in a throwaway child and listing what it added; that child never runs a
    cell and exits at once. The list follows whatever ipykernel the image holds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _list_kernel_start_imports(write_end)  # never returns
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace").split()


def _list_kernel_start_imports(write_end: int) -> None:
    code = 1
    signal.alarm(60)  # a kernel that cannot start only costs the zygote its preload
    try:
        import tempfile

        from ipykernel.kernelapp import IPKernelApp
        from jupyter_client.connect import write_connection_file

        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)  # the kernel's banner and warnings are not the zygote's log
        os.dup2(null, 2)
        before = set(sys.modules)
        folder = tempfile.mkdtemp(prefix="zygote-kernel-")
        connection = os.path.join(folder, "kernel.json")
        write_connection_file(connection, ip="127.0.0.1", transport="tcp")
        app = IPKernelApp.instance()
        app.initialize(["-f", connection])
        added = sorted(set(sys.modules) - before)
        os.write(write_end, " ".join(added).encode())
        code = 0
    finally:
        os._exit(code)


def _import_all(names: list[str]) -> None:
    for name in names:  # sorted, so a package comes before its modules
        if all(part.isidentifier() for part in name.split(".")):
            try:
                importlib.import_module(name)
            except Exception:  # a module that imports only inside a running kernel
                continue


def serve(uid_base: int, *, exit_after_s: float | None, idle_exit_s: float | None,
          base_env: dict[str, str]) -> None:
    from autograder.runner import leader, teardown

    path = Path(SOCKET_PATH)
    # Bound under another name and renamed once it listens: whoever sees the socket's
    # name (the host polls for it in the bind-mounted folder) can connect at once.
    binding = path.with_name(f".{path.name}.binding")
    for stale in (path, binding):
        stale.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(binding))
    os.chmod(binding, 0o600)
    owner = path.parent.stat().st_uid
    if owner != 0 and not uid_base <= owner <= uid_base + UID_POOL + 1:
        # The folder is the grading host's, bind-mounted: its (unprivileged) user connects
        # directly. No grade runs as that uid; the folder itself is the user's alone.
        os.chown(binding, owner, -1)
    server.listen(8)
    os.rename(binding, path)
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
        fds: list[int] = []
        try:
            message, fds, _, _ = socket.recv_fds(connection, REQUEST_BYTES, 3)
            request = leader.GradeRequest.decode(message)
        except (OSError, ValueError, KeyError) as exc:
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps({"healthy": False,
                                               "problems": [f"bad request: {exc}"]}).encode())
            connection.close()
            for fd in fds:  # a client that waits for its streams to end is not kept waiting
                os.close(fd)
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
    print(f"zygote: ready in {sum(seconds.values()):.1f} s "
          f"({threading.active_count()} thread(s))", file=sys.stderr, flush=True)
    serve(args.uid_base, exit_after_s=args.exit_after, idle_exit_s=args.idle_exit,
          base_env=base_env)


if __name__ == "__main__":
    main()
