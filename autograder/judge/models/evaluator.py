"""Loading and running a student model outside the trusted judge process, under limits.

One :class:`Evaluator` per judge process (per Dask worker) starts a warm process that
imports TensorFlow once (:mod:`.zygote`); each model is then loaded in a child forked from
it (:mod:`.child`), limited in memory (a memory cgroup when the judge may create one, an
address-space rlimit otherwise), CPU time and, per request, wall-clock time. The judge
talks to the child over a private socket pair and receives plain numbers only.

A child stopped by a limit, or one that dies, is an outcome: :class:`ModelStoppedError`
(a :class:`~autograder.judge.framework.Fail`) whose message names the limit and what to
change, so the test fails and the rest of the grade goes on.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.judge.models import wire
from autograder.judge.models.child import cgroup_dir
from autograder.judge.models.description import ModelRefusedError

START_TIMEOUT_S = 180.0  # importing TensorFlow on a busy machine


@dataclass(frozen=True)
class ModelLimits:
    """What one model's child may use. An honest workshop model loads in well under a
    second and needs about 100 MiB above the warm process (docs/performance.md)."""

    memory_bytes: int = 1024 * 2**20
    cpu_seconds: int = 120
    load_seconds: float = 60.0
    call_seconds: float = 60.0
    threads: int = 1
    use_cgroup: bool = True  # False: an address-space rlimit even where a cgroup works
    fresh_interpreter: bool = False  # a new Python per model instead of a fork (slower)


class ModelStoppedError(ModelRefusedError):
    """The model's child was stopped by a limit or died; ``limit`` says which."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


def memory_cgroup_base() -> str | None:
    """A cgroup v1 memory folder this process may create children in, or None."""
    root = Path("/sys/fs/cgroup/memory")
    try:
        own = next(line.split(":", 2)[2].strip() for line in
                   Path("/proc/self/cgroup").read_text().splitlines()
                   if line.split(":", 2)[1] == "memory")
    except (OSError, StopIteration, IndexError):
        return None
    for candidate in (root / own.lstrip("/"), root):
        if (candidate / "memory.limit_in_bytes").exists() and os.access(candidate, os.W_OK):
            return str(candidate)
    return None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Held-out evaluation is small; a child never takes a GPU (or its unlimited memory).
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


class Evaluator:
    """The warm process of this judge process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.cgroup_base = memory_cgroup_base()

    def _start(self) -> socket.socket:
        if self._control is not None and self._process is not None \
                and self._process.poll() is None:
            return self._control
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "autograder.judge.models.zygote", str(theirs.fileno()),
             self.cgroup_base or ""], pass_fds=(theirs.fileno(),), env=_child_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        ours.settimeout(START_TIMEOUT_S)
        try:
            ready = json.loads(ours.recv(65536) or b"{}")
        except (OSError, json.JSONDecodeError):
            ready = {}
        if not ready.get("ready"):
            self._process.kill()
            raise RuntimeError("the model evaluator did not start")
        ours.settimeout(30.0)
        self._control = ours
        return ours

    def _ask(self, request: dict[str, Any], fds: list[int] | None = None) -> dict[str, Any]:
        with self._lock:
            control = self._start()
            message = json.dumps(request).encode()
            if fds:
                socket.send_fds(control, [message], fds)
            else:
                control.send(message)
            reply = json.loads(control.recv(65536) or b"{}")
        if not isinstance(reply, dict):
            raise RuntimeError("the model evaluator sent a malformed reply")
        return reply

    def start(self) -> None:
        """Start the warm process now (it imports TensorFlow), e.g. while a sandbox runs."""
        with self._lock:
            self._start()

    def fork(self, sock: socket.socket) -> int:
        """A child forked from the warm process, serving on ``sock`` (its end)."""
        return int(self._ask({"op": "fork"}, [sock.fileno()])["pid"])

    def wait(self, pid: int) -> dict[str, Any]:
        return self._ask({"op": "wait", "pid": pid})

    def close(self) -> None:
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._process is not None:
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                self._process = None


_evaluator: Evaluator | None = None
_evaluator_pid = 0
_evaluator_lock = threading.Lock()


def evaluator() -> Evaluator:
    """This process's evaluator (a forked judge process gets its own)."""
    global _evaluator, _evaluator_pid
    with _evaluator_lock:
        if _evaluator is None or _evaluator_pid != os.getpid():
            _evaluator, _evaluator_pid = Evaluator(), os.getpid()
            atexit.register(_evaluator.close)
        return _evaluator


def close_evaluator() -> None:
    """Stop this process's evaluator, if it started one (the next call of
    :func:`evaluator` starts a new one)."""
    global _evaluator
    with _evaluator_lock:
        # A forked judge process must not stop its parent's evaluator, only forget it.
        held = _evaluator if _evaluator_pid == os.getpid() else None
        _evaluator = None
    if held is not None:
        held.close()


class ModelProcess:
    """One loaded model, held by its limited child; requests are serialised."""

    def __init__(self, path: Path, file_name: str, limits: ModelLimits) -> None:
        self.file_name = file_name
        self.limits = limits
        self._lock = threading.Lock()
        self._killed_for: str | None = None
        self._ended: ModelStoppedError | None = None
        self._fresh: subprocess.Popen[bytes] | None = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = ours
        runner = evaluator()
        self._evaluator = runner
        if limits.fresh_interpreter:
            self._fresh = subprocess.Popen(
                [sys.executable, "-m", "autograder.judge.models.fresh", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=_child_env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, start_new_session=True)
            self.pid = self._fresh.pid
        else:
            self.pid = runner.fork(theirs)
        theirs.close()
        self.memory_limit = ""
        try:
            header, _ = self._request({
                "path": str(path), "memory_bytes": limits.memory_bytes,
                "cpu_seconds": limits.cpu_seconds, "threads": limits.threads,
                "cgroup_base": runner.cgroup_base if limits.use_cgroup else None,
            }, None, limits.load_seconds, "loading")
        except BaseException:
            self.close()  # reap the child (and remove its cgroup) whatever stopped it
            raise
        self.memory_limit = str(header.get("limits", ""))
        self.summary_plain = header.get("summary")

    # -- requests ------------------------------------------------------------------------------
    def _request(self, header: dict[str, Any], arrays: dict[str, np.ndarray] | None,
                 seconds: float, doing: str, max_bytes: int = 64 * 2**20,
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        with self._lock:
            if self._ended is not None:
                raise self._ended
            deadline = time.monotonic() + seconds
            timer = threading.Timer(seconds, self._kill, args=("time",))
            timer.start()
            try:
                self._sock.settimeout(max(0.1, deadline - time.monotonic()) + 5)
                wire.send(self._sock, header, arrays)
                reply, payload = wire.receive(self._sock, max_bytes)
            except (OSError, wire.WireError):
                timer.cancel()
                self._ended = self._stopped(doing)
                raise self._ended from None
            finally:
                timer.cancel()
        if not reply.get("ok"):
            if reply.get("memory"):
                self._ended = self._memory_error(doing)
                self.close()
                raise self._ended
            raise ModelRefusedError(f"Keras could not {_verb(doing)} {self.file_name}: "
                                    f"{str(reply.get('error', ''))[:300]}")
        return reply, payload

    def predict(self, x: np.ndarray, *, batch_size: int = 256,
                max_values: int = 4096) -> np.ndarray:
        """The model's outputs for ``x`` in inference mode (float32 in, float out)."""
        x = np.ascontiguousarray(x, dtype="float32")
        _, arrays = self._request({"op": "predict", "batch_size": batch_size,
                                   "max_values": max_values}, {"x": x},
                                  self.limits.call_seconds, "running",
                                  max_bytes=len(x) * max_values * 4 + 2**20)
        if "y" not in arrays or len(arrays["y"]) != len(x):
            raise ModelRefusedError(f"{self.file_name} gave no output for each sample.")
        return np.asarray(arrays["y"], dtype=float)

    def dense_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        _, arrays = self._request({"op": "dense_weights"}, None, self.limits.call_seconds,
                                  "reading the weights of", max_bytes=256 * 2**20)
        found = []
        for index in range(len(arrays) // 2):
            kernel, bias = arrays.get(f"kernel_{index}"), arrays.get(f"bias_{index}")
            if kernel is None or bias is None:
                break
            found.append((np.asarray(kernel, dtype=float), np.asarray(bias, dtype=float)))
        return found

    # -- ends ----------------------------------------------------------------------------------
    def _kill(self, why: str) -> None:
        pid = self.pid
        if pid <= 0:  # already reaped (and os.kill(0, ...) would hit our process group)
            return
        self._killed_for = why
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _status(self) -> dict[str, Any]:
        if self._fresh is not None:
            code = self._fresh.wait()
            if self._evaluator.cgroup_base:
                with contextlib.suppress(OSError):
                    cgroup_dir(self._evaluator.cgroup_base, self.pid).rmdir()
            return {"signal": -code if code < 0 else None, "exit": max(code, 0),
                    "oom_kills": 0}
        try:
            return self._evaluator.wait(self.pid)
        except (OSError, RuntimeError, ValueError):
            return {}

    def _stopped(self, doing: str) -> ModelStoppedError:
        self._kill(self._killed_for or "ended")
        status = self._status()
        self.pid = 0
        why = self._killed_for
        if why == "time":
            seconds = self.limits.load_seconds if doing == "loading" else \
                self.limits.call_seconds
            return ModelStoppedError(
                f"{doing.capitalize()} {self.file_name} took longer than the grader's limit "
                f"of {seconds:g} s, so it was stopped. Use the layers and sizes the exercise "
                "asks for; a workshop model loads and predicts in about a second.", "time")
        stopped_by = status.get("signal")
        if stopped_by == signal.SIGXCPU:
            return ModelStoppedError(
                f"{doing.capitalize()} {self.file_name} used more than the grader's "
                f"{self.limits.cpu_seconds} s of CPU time, so it was stopped. Use the layers "
                "and sizes the exercise asks for.", "cpu")
        # The cgroup's OOM killer sends SIGKILL; under an address-space rlimit a failed
        # allocation in TensorFlow's C++ code aborts instead.
        if status.get("oom_kills") or stopped_by == signal.SIGKILL or (
                self.memory_limit == "rlimit" and stopped_by in (signal.SIGABRT,
                                                                 signal.SIGSEGV)):
            return self._memory_error(doing)
        return ModelStoppedError(
            f"{doing.capitalize()} {self.file_name} ended the grader's model process "
            f"({_how(status)}). Save the model again with model.save(...) and the layers the "
            "exercise asks for.", "crash")

    def _memory_error(self, doing: str) -> ModelStoppedError:
        return ModelStoppedError(
            f"{doing.capitalize()} {self.file_name} needed more than the grader's "
            f"{self.limits.memory_bytes // 2**20:,} MiB of memory, so it was stopped. Use the "
            "layers and sizes the exercise asks for (fewer or smaller layers).", "memory")

    def close(self) -> None:
        """Stop the child (it holds nothing worth keeping) and reap it."""
        with self._lock:
            self._sock.close()
            if self.pid:
                self._kill("closed")
                self._status()
                self.pid = 0


def _verb(doing: str) -> str:
    return {"loading": "load", "running": "run"}.get(doing, "read")


def _how(status: dict[str, Any]) -> str:
    if status.get("signal"):
        try:
            return f"signal {signal.Signals(int(status['signal'])).name}"
        except ValueError:
            return f"signal {status['signal']}"
    return f"exit status {status.get('exit')}"
