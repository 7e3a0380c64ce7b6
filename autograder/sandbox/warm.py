"""The warm Docker sandbox: one long-lived container per worker, whose first process (the
zygote, autograder.runner.zygote) has imported Python, ipykernel, NumPy and, as the
submissions need them, scikit-learn and TensorFlow/Keras once, and forks a fresh, isolated
grade for each submission.

Per submission the host connects to the zygote's socket, in a host folder bind-mounted at
``/run/autograder`` (``_direct``; the grade leader then does what the exec's client does
below), or, where the engine is not on this machine, makes one call to the engine: a
``docker exec`` of ``autograder.runner.zygote_request``, which takes the job (plan,
settings, the student's files) on its stdin, unpacks it into the container's ``/sandbox``
volume (a tmpfs, as the cold results volume), asks the zygote for the grade — a grade
leader that runs the notebook with a kernel forked from the zygote, as a uid of that grade
alone, then kills and removes everything of it and checks nothing is left — and writes
back the grade's output, the leader's report and ``/sandbox/out`` as a tar, read with the
cold sandbox's bounded reader (sandbox/warm_exchange.py).

What stays per submission and what the container holds is described in docs/sandbox.md.
The container keeps every restriction of the cold one (no network, read-only root,
no-new-privileges, memory, CPU and process limits, tmpfs scratch) and differs in one
respect: its init runs as root with the capabilities it needs to hand each grade fresh
uids and remove what they leave (SETUID, SETGID, CHOWN, DAC_OVERRIDE, FOWNER, KILL). No
student process keeps any of them: it runs as a non-root uid under no-new-privileges.

A container whose grade ran past its time, whose leader reports anything left behind, or
whose zygote does not answer is removed, and the next submission gets a new one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from docker.types import Mount
from docker.utils.socket import frames_iter

from autograder.image.context import STUDENT_HOME
from autograder.sandbox.base import SandboxJob, SandboxOutcome, SandboxUnavailableError
from autograder.sandbox.docker import (
    GRACE_S,
    LOG_TAIL_BYTES,
    OUT_LIMIT_MB,
    DockerSandbox,
    _cgroup_oom_kills,
    _environment,
    _remove,
)
from autograder.sandbox.orphans import CONTAINER_LABEL, EXPIRES_LABEL, SESSION_LABEL
from autograder.sandbox.readback import Readback, extract
from autograder.sandbox.warm_exchange import STDOUT, GradeOutput, job_message

SANDBOX_MOUNT = "/sandbox"
CONTROL_DIR = "/run/autograder"
CAPABILITIES = ["SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL"]
# A container serves submissions for at most this long, then is replaced; its zygote ends
# itself after this (or after IDLE_EXIT_S without a request) if its grader has died.
LIFETIME_S = 4 * 3600.0
IDLE_EXIT_S = 600.0
# What the zygote itself holds (TensorFlow imported, about 0.5 GiB) comes on top of the
# submission's memory limit; its threads on top of the process limit.
ZYGOTE_MEMORY_MB = 768
ZYGOTE_PIDS = 96
UID_BASE_RANGE = (1 << 20, 1 << 30)  # uids no host account uses; each container its own
READY_PATIENCE_S = 600.0
# Readiness: the socket's folder watched this often where it is on this machine; the engine
# asked first after READY_FIRST_ASK_S, then at doubling intervals up to READY_MAX_ASK_S.
READY_WATCH_S = 0.02
READY_FIRST_ASK_S = 0.25
READY_MAX_ASK_S = 2.0
ZYGOTE_SOCKET = "/run/autograder/zygote.sock"  # runner/zygote_request.py: SOCKET_PATH
SOCKET_NAME = Path(ZYGOTE_SOCKET).name
# docker-py's base URL for an engine on a local Unix socket.
LOCAL_ENGINE_URL = "http+docker://localhost"
STDERR = 2

log = logging.getLogger(__name__)


class Preload(IntEnum):
    """What a warm container's zygote imports before it forks (``PRELOAD`` in
    runner/zygote.py). Each level holds the one below it, so a container serves any
    submission that needs no more than it holds; a class that mixes levels climbs to the
    highest once instead of swapping containers between students."""

    LIGHT = 0  # NumPy, ipykernel, nbclient, the runner and the probe
    SCIENCE = 1  # … SciPy, scikit-learn, matplotlib
    FULL = 2  # … TensorFlow and Keras

    @property
    def option(self) -> str:
        return self.name.lower()


@dataclass
class _Container:
    container: Any
    volume: Any
    limits_key: tuple[Any, ...]
    preload: Preload
    gpus: str | None
    nonce: str
    started: float
    grades: int = 0
    # The host folder bind-mounted at CONTROL_DIR, when the zygote's socket is reachable
    # from here: each grade is then one connection to it instead of a `docker exec`.
    control: Path | None = None


@dataclass
class WarmTimings:
    """Where one warm grade's time went, host and container side (seconds)."""

    exec: float = 0.0  # the one exec: job in, grade, output and results out
    readback: float = 0.0  # unpacking the results
    leader: dict[str, float] = field(default_factory=dict)
    started_container: bool = False


class WarmDockerSandbox(DockerSandbox):
    name = "docker"  # results are the cold sandbox's; the cache treats them as one
    isolated = True
    warm = True
    # Grades go over the zygote's socket where this machine reaches it (False: always
    # through `docker exec`, as for a remote engine).
    direct = True

    def __init__(self, client: Any, image: str, labels: dict[str, str],
                 image_id: str = "") -> None:
        super().__init__(client, image, labels, image_id=image_id)
        self._current: _Container | None = None
        self._lock = threading.Lock()  # one grade at a time per warm container
        self.last_timings = WarmTimings()
        self.replaced = 0
        # A batch worker is a long-lived process that is never told it is done: its warm
        # container goes when it exits (or, if it is killed, when the zygote idles out).
        atexit.register(self.close)

    def describe(self) -> str:
        return f"docker ({self.image}, warm)"

    def run(self, job: SandboxJob) -> SandboxOutcome:
        with self._lock:
            return self._run(job)

    def _run(self, job: SandboxJob) -> SandboxOutcome:
        started, wall_started = time.monotonic(), time.time()
        timings = WarmTimings()
        box = self._ready(job, timings)
        oom_before = _cgroup_oom_kills(box.container.id)
        mark = time.monotonic()
        output, timed_out = self._exec(box, job)
        timings.exec = time.monotonic() - mark
        report = output.report
        exit_code = report.get("exit_code") if isinstance(report.get("exit_code"), int) \
            else None
        timed_out = timed_out or bool(report.get("timed_out"))
        timings.leader = {k: float(v) for k, v in (report.get("seconds") or {}).items()
                          if isinstance(v, int | float)}
        tail = output.log_text()
        box.grades += 1
        oom_killed = self._oom_since(box, wall_started, oom_before)
        if timed_out or report.get("healthy") is not True:
            problems = report.get("problems") or ["no report"]
            log.info("discarding warm sandbox %s: %s", box.container.short_id,
                     "timed out" if timed_out else "; ".join(map(str, problems))[:500])
            self._discard()
            return SandboxOutcome(exit_code=None if timed_out else exit_code,
                                  seconds=time.monotonic() - started, timed_out=timed_out,
                                  oom_killed=oom_killed, log_tail=tail[-LOG_TAIL_BYTES:])
        mark = time.monotonic()
        readback = self._unpack_results(output, job.out_dir)
        timings.readback = time.monotonic() - mark
        self.last_timings = timings
        if readback.truncated:
            tail += f"\n[sandbox: results over {OUT_LIMIT_MB} MiB were cut]"
        if readback.skipped:
            tail += f"\n[sandbox: {len(readback.skipped)} links or special files were ignored]"
        return SandboxOutcome(exit_code=exit_code, seconds=time.monotonic() - started,
                              timed_out=False, oom_killed=oom_killed,
                              log_tail=tail[-LOG_TAIL_BYTES:])

    @staticmethod
    def _unpack_results(output: GradeOutput, out_dir: Path) -> Readback:
        readback = extract(output.results, out_dir, strip="out",
                           max_bytes=OUT_LIMIT_MB * 2**20)
        readback.truncated = readback.truncated or output.results_cut
        return readback

    # The container -------------------------------------------------------------------

    def _ready(self, job: SandboxJob, timings: WarmTimings) -> _Container:
        """The warm container for ``job``'s limits, started (and its zygote warming up)
        if there is none that fits."""
        key, needs = _limits_key(job), _preload(job)
        box = self._current
        too_old = box is not None and (
            time.monotonic() - box.started > LIFETIME_S - job.limits.wall_s - GRACE_S - 60)
        if box is not None and (box.limits_key != key or box.preload < needs
                                or box.gpus != job.gpus or too_old):
            self._discard()
            box = None
        if box is None:
            box = self._start_container(job, needs)
            timings.started_container = True
            self._current = box
            try:
                self._wait_until_ready(box)
            except BaseException:
                self._discard()
                raise
        return box

    def _wait_until_ready(self, box: _Container) -> None:
        """Wait for the zygote's imports (minutes on a busy machine) before any grade's
        clock starts, so a slow start is never taken for a slow notebook.

        Where the socket's folder is this machine's, its appearance there is watched for
        free; otherwise, and now and then to see the container is still running, the
        engine is asked, less often as the wait goes on: each `docker exec` costs about a
        tenth of a CPU second, which the zygote's own imports are competing for."""
        deadline = time.monotonic() + READY_PATIENCE_S
        ask_at, interval = time.monotonic() + READY_FIRST_ASK_S, READY_FIRST_ASK_S
        while time.monotonic() < deadline:
            if box.control is not None and (box.control / SOCKET_NAME).is_socket():
                box.control = _reachable(box.control)
                return
            if time.monotonic() >= ask_at:
                box.container.reload()
                if box.container.status != "running":
                    raise SandboxUnavailableError(
                        "the warm sandbox's zygote stopped while starting "
                        f"({box.container.status})")
                if box.container.exec_run(["test", "-S", ZYGOTE_SOCKET],
                                          user="0:0").exit_code == 0:
                    box.control = _reachable(box.control)
                    return
                interval = min(interval * 2, READY_MAX_ASK_S)
                ask_at = time.monotonic() + interval
            time.sleep(READY_WATCH_S if box.control is not None else
                       max(0.0, ask_at - time.monotonic()))
        raise SandboxUnavailableError(
            f"the warm sandbox's zygote was not ready after {READY_PATIENCE_S:g} s")

    def prepare(self, job: SandboxJob) -> None:
        """Start the warm container for ``job``'s limits now, so the first grade does not
        wait for the zygote's imports."""
        with self._lock:
            self._ready(job, WarmTimings())

    def _start_container(self, job: SandboxJob, preload: Preload) -> _Container:
        settings = self.warm_container_settings(job, preload)
        labels = settings["labels"]
        volume = self.client.volumes.create(
            driver="local", labels=labels,
            driver_opts={"type": "tmpfs", "device": "tmpfs",
                         "o": f"size={OUT_LIMIT_MB + job.limits.disk_mb}m,mode=0755,"
                              "nosuid,nodev,noexec"})
        settings["mounts"] = [Mount(SANDBOX_MOUNT, str(volume.name), type="volume")]
        control = self._control_folder()
        if control is not None:
            del settings["tmpfs"][CONTROL_DIR]
            settings["mounts"].append(Mount(CONTROL_DIR, str(control), type="bind"))
        try:
            container = self.client.containers.create(**settings)
            self._start(container, job)
        except BaseException:
            self._cleanup.submit(_remove_volume_only, volume)
            _remove_folder(control)
            raise
        return _Container(container=container, volume=volume, limits_key=_limits_key(job),
                          preload=preload, gpus=job.gpus, nonce=secrets.token_hex(16),
                          started=time.monotonic(), control=control)

    def _control_folder(self) -> Path | None:
        """A private folder on this machine for the zygote's socket, when the engine runs
        here (its API on a local Unix socket) so that a bind mount of it is this folder;
        None for a remote engine, whose grades go through `docker exec`."""
        if not self.direct or self.client.api.base_url != LOCAL_ENGINE_URL:
            return None
        return Path(tempfile.mkdtemp(prefix="autograder-warm-"))  # mode 0700

    def warm_container_settings(self, job: SandboxJob, preload: Preload) -> dict[str, Any]:
        """The cold container's settings, changed where a warm one must differ."""
        settings = self.container_settings(job)
        limits = job.limits
        uid_base = secrets.randbelow(UID_BASE_RANGE[1] - UID_BASE_RANGE[0]) + UID_BASE_RANGE[0]
        settings.update({
            "command": ["python", "-m", "autograder.runner.zygote", "--uid-base",
                        str(uid_base), "--exit-after", f"{LIFETIME_S:.0f}",
                        "--idle-exit", f"{IDLE_EXIT_S:.0f}", "--preload",
                        preload.option],
            "user": "0:0",
            "working_dir": "/",
            # PYTHONHASHSEED is read when an interpreter starts: a forked kernel keeps the
            # zygote's, so the zygote gets the cold kernel's.
            "environment": {**_environment(limits.cpus), "PYTHONHASHSEED": "0"},
            "cap_add": CAPABILITIES,
            "tmpfs": {
                STUDENT_HOME: f"size={limits.disk_mb}m,mode=0700,nosuid,nodev",
                "/tmp": settings["tmpfs"]["/tmp"],
                CONTROL_DIR: "size=1m,mode=0700,nosuid,nodev,noexec",
            },
            "mem_limit": f"{limits.memory_mb + ZYGOTE_MEMORY_MB}m",
            "memswap_limit": f"{limits.memory_mb + ZYGOTE_MEMORY_MB}m",
            "pids_limit": limits.pids + ZYGOTE_PIDS,
            "labels": {CONTAINER_LABEL: "1", SESSION_LABEL: self.session,
                       EXPIRES_LABEL: f"{time.time() + LIFETIME_S + 600:.0f}"},
        })
        return settings

    def _discard(self) -> None:
        box, self._current = self._current, None
        if box is not None:
            self.replaced += 1
            self._cleanup.submit(_remove_box, box)

    def close(self) -> None:
        with self._lock:
            box, self._current = self._current, None
        if box is not None:
            try:
                self._cleanup.submit(_remove_box, box)
            except RuntimeError:  # at interpreter exit the executor takes no more work
                _remove_box(box)
        super().close()

    # One grade -----------------------------------------------------------------------

    def _exec(self, box: _Container, job: SandboxJob) -> tuple[GradeOutput, bool]:
        """The grade's one exchange with the container — a connection to the zygote where
        the host reaches its socket, else a `docker exec` — the job in, the output sorted as
        it comes; whether it ran past its time."""
        if box.control is not None:
            return self._direct(box, job)
        api = self.client.api
        command = ["python", "-m", "autograder.runner.zygote_request",
                   "--pids", str(job.limits.pids), "--timeout-s", f"{job.limits.wall_s:g}"]
        exec_id = api.exec_create(
            box.container.id, command, user="0:0", workdir="/", stdin=True,
            environment={"AUTOGRADER_REPORT_NONCE": box.nonce})["Id"]
        connection = api.exec_start(exec_id, socket=True)
        raw: socket.socket = getattr(connection, "_sock", connection)
        message = job_message(job.job_dir, job.workdir)
        output = _grade_output(box)

        def pump() -> None:
            try:
                raw.sendall(message)
                for stream, data in frames_iter(connection, tty=False):
                    if not output.feed(stream, data):
                        break
            except Exception:  # the connection closes when the container is removed
                pass
            finally:
                with contextlib.suppress(OSError):
                    raw.close()

        return output, _ran_past(pump, job)

    def _direct(self, box: _Container, job: SandboxJob) -> tuple[GradeOutput, bool]:
        """One grade on the zygote's socket: the request passes a pipe as the grade's
        output streams (the only thing a grade's processes hold of this exchange), then the
        job goes on the connection, the log is read from the pipe until every writer is
        gone, and the leader's report and the results follow on the connection."""
        assert box.control is not None
        output = _grade_output(box)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        request = {"pids": job.limits.pids, "timeout_s": job.limits.wall_s, "direct": True}
        try:
            connection.connect(str(box.control / SOCKET_NAME))
            socket.send_fds(connection, [json.dumps(request).encode()], [null, log_write,
                                                                        log_write])
        except OSError:
            connection.close()
            os.close(log_read)
            return output, False  # no report: the container is replaced
        finally:
            os.close(log_write)
            os.close(null)
        message = job_message(job.job_dir, job.workdir)

        def pump() -> None:
            try:
                if connection.recv(1) != b"+":
                    return
                connection.sendall(message)
                while chunk := os.read(log_read, 1 << 16):
                    output.feed(STDERR, chunk)
                output.feed(STDOUT, f"\n{box.nonce} ".encode())  # the report comes first
                while chunk := connection.recv(1 << 20):
                    if not output.feed(STDOUT, chunk):
                        break
            except OSError:  # the connection closes when the container is removed
                pass
            finally:
                connection.close()
                os.close(log_read)

        return output, _ran_past(pump, job)

    def _oom_since(self, box: _Container, since: float, before: int | None) -> bool:
        """Whether the kernel's OOM killer struck in the container during the grade: from
        its memory cgroup's count where the host can read it, else from the engine's
        events (one more call)."""
        after = _cgroup_oom_kills(box.container.id)
        if before is not None and after is not None:
            return after > before
        events = self.client.events(since=f"{since - 1:.9f}", until=f"{time.time():.9f}",
                                    filters={"container": box.container.id, "event": "oom"},
                                    decode=True)
        return any(True for _ in events)


def _limits_key(job: SandboxJob) -> tuple[Any, ...]:
    limits = job.limits
    return (limits.memory_mb, limits.cpus, limits.pids, limits.disk_mb)


# The libraries each level adds, and an import of one of them at a code line's start.
_LIBRARIES = {Preload.FULL: (b"tensorflow", b"keras"),
              Preload.SCIENCE: (b"sklearn", b"matplotlib", b"scipy")}
_IMPORTS = {level: re.compile(rb"^[ \t]*(?:import|from)[ \t]+(?:" + b"|".join(names)
                              + rb")\b", re.M)
            for level, names in _LIBRARIES.items()}


def _preload(job: SandboxJob) -> Preload:
    """The least a submission's container must preload: ``FULL`` when it hands in model
    files or its code imports TensorFlow or Keras, ``SCIENCE`` when its code imports SciPy,
    scikit-learn or matplotlib, else ``LIGHT`` (a notebook whose text merely mentions Keras
    is still NumPy). Only speed depends on this, never a verdict: a module not preloaded is
    imported by the kernel that uses it."""
    needs = Preload.LIGHT
    for path in job.workdir.rglob("*"):
        if path.suffix in (".keras", ".h5"):
            return Preload.FULL
        if path.suffix == ".ipynb" and path.is_file():
            needs = max(needs, _imports(path.read_bytes()))
    return needs


def _imports(notebook: bytes) -> Preload:
    """The highest level whose libraries the notebook's code cells import."""
    try:
        cells = json.loads(notebook).get("cells", [])
        code = [cell.get("source", "") for cell in cells
                if isinstance(cell, dict) and cell.get("cell_type") == "code"]
        text = "\n".join("".join(c) if isinstance(c, list) else str(c) for c in code)
    except (ValueError, AttributeError, TypeError, RecursionError):
        # Not a notebook the runner will get far with; guess from its bytes.
        lowered = notebook.lower()
        return next((level for level, names in _LIBRARIES.items()
                     if any(name in lowered for name in names)), Preload.LIGHT)
    code_bytes = text.encode("utf-8", "replace")
    return next((level for level, pattern in _IMPORTS.items() if pattern.search(code_bytes)),
                Preload.LIGHT)


def _grade_output(box: _Container) -> GradeOutput:
    return GradeOutput(box.nonce, log_limit=LOG_TAIL_BYTES + 8192,
                       results_limit=OUT_LIMIT_MB * 2**20)


def _ran_past(pump: Any, job: SandboxJob) -> bool:
    """Run ``pump`` (one grade's exchange) on a thread; whether it was still going at the
    grade's deadline (the caller then discards the container, which ends it)."""
    reader = threading.Thread(target=pump, name="warm-sandbox-grade", daemon=True)
    reader.start()
    reader.join(job.limits.wall_s + GRACE_S)
    return reader.is_alive()


def _reachable(control: Path | None) -> Path | None:
    """``control`` if the zygote's socket in it accepts this process's connections (an
    engine in a virtual machine shares folders, not sockets), else None."""
    if control is None:
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(control / SOCKET_NAME))
    except OSError as exc:
        log.info("the warm sandbox's socket is not reachable from here (%s); grading "
                 "through docker exec", exc)
        return None
    finally:
        probe.close()  # the zygote answers an empty request as a bad one
    return control


def _remove_box(box: _Container) -> None:
    _remove(box.container, box.volume)
    _remove_folder(box.control)


def _remove_folder(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_volume_only(volume: Any) -> None:
    from autograder.sandbox.docker import _remove_volume

    _remove_volume(volume)


__all__ = ["WarmDockerSandbox", "WarmTimings"]
