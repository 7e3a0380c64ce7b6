"""The evaluator's warm process: it imports TensorFlow once, then forks one limited child
(:mod:`.child`) per student model on the judge's request, in milliseconds instead of the
seconds a fresh interpreter needs to import TensorFlow.

It never runs a TensorFlow operation itself (a child inherits no runtime state, and a
CUDA context, which does not survive ``fork``, is never created here). Requests arrive on
a ``SOCK_SEQPACKET`` socket shared only with the judge that started it: ``fork`` carries
the child's end of a socket pair; ``wait`` reaps a child and reports how it ended. The
process exits when the judge closes the socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from autograder.judge.models.child import cgroup_dir


def _oom_kills(folder: Path) -> int:
    try:
        for line in (folder / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _fork(control: socket.socket, fd: int) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            control.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            from autograder.judge.models.child import serve

            serve(socket.socket(fileno=fd))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(fd)
    return pid


def _wait(pid: int, cgroup_base: str | None) -> dict[str, Any]:
    _, status = os.waitpid(pid, 0)
    reply: dict[str, Any] = {"pid": pid, "exit": None, "signal": None, "oom_kills": 0}
    if os.WIFSIGNALED(status):
        reply["signal"] = os.WTERMSIG(status)
    else:
        reply["exit"] = os.WEXITSTATUS(status)
    if cgroup_base:
        folder = cgroup_dir(cgroup_base, pid)
        if folder.exists():
            reply["oom_kills"] = _oom_kills(folder)
            with contextlib.suppress(OSError):
                folder.rmdir()
    return reply


def serve(control: socket.socket, cgroup_base: str | None) -> None:
    control.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
    children: set[int] = set()
    try:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(control, 65536, 4)
            except OSError:
                return
            if not message:
                return
            request = json.loads(message)
            if request.get("op") == "fork" and fds:
                for extra in fds[1:]:
                    os.close(extra)
                reply: dict[str, Any] = {"pid": _fork(control, fds[0])}
                children.add(reply["pid"])
            elif request.get("op") == "wait" and int(request.get("pid", 0)) in children:
                children.discard(int(request["pid"]))
                reply = _wait(int(request["pid"]), cgroup_base)
            else:
                reply = {"error": "unknown request"}
            control.send(json.dumps(reply).encode())
    finally:
        # The judge went away without closing every model: stop and reap what is left,
        # and remove their cgroups.
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait(pid, cgroup_base)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    cgroup_base = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras  # noqa: F401  (the point of this process: imported once, inherited)
    import tensorflow  # noqa: F401

    serve(control, cgroup_base)
    # Everything of this process's own is cleaned up by now; TensorFlow's interpreter
    # shutdown would add a second or two to the end of every batch worker.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
