"""The Docker sandbox: each submission runs in a fresh, locked-down container.

Isolation (each one checked by tests/test_docker_*.py against a real engine):
- a non-root user, no network (``network_mode="none"``), every capability dropped,
  no-new-privileges, a read-only root filesystem;
- scratch space only on size-limited tmpfs (the student's home, /tmp, the results
  volume): that is the disk limit;
- memory without swap, CPUs, a process limit, and a wall-clock kill;
- the job (plan and settings) and the student's files are mounted read-only; the files
  are copied into the tmpfs home, so the student can change them without touching the
  host;
- results come back only as a bounded tar stream of the results folder, read while the
  container is frozen and unpacked as plain files (see readback.py); nothing is a bind
  mount the student can write to, so nothing on the host can be made to follow a link
  the student planted.
The container's first process is an idle init (autograder.runner.idle); the runner runs
beside it with ``exec``, so the container outlives the runner until its results are read.

Every container and results volume carries an expiry label. A grader killed mid-run cannot
remove what it started; the container's init ends itself at that time, and the next sandbox
to connect to the engine removes what has expired (see orphans.py).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.protocol.execution import RUNNER_STARTED
from autograder.sandbox.base import Sandbox, SandboxJob, SandboxOutcome, SandboxUnavailableError

try:
    import docker
    import docker.errors
    import requests
    from docker.types import LogConfig, Mount
except ImportError as exc:  # the SDK is a dependency, but say so plainly if it is missing
    raise SandboxUnavailableError(f"the docker Python package is not installed ({exc})") from exc

from autograder.image.context import (
    IMAGE_ROOT,
    LABEL_PREFIX,
    STUDENT_HOME,
    STUDENT_UID,
    default_image,
    sandbox_sources_hash,
)
from autograder.sandbox.gpus import GpuRequestError, device_request
from autograder.sandbox.orphans import CONTAINER_LABEL, EXPIRES_LABEL, SESSION_LABEL, sweep
from autograder.sandbox.readback import Readback, extract

# Where things are inside the container.
JOB_MOUNT = "/sandbox/job"
INPUT_MOUNT = "/sandbox/input"
OUT_MOUNT = "/sandbox/out"
WORKDIR = f"{STUDENT_HOME}/work"
# Seconds the runner gets beyond the notebook's limit (kernel start, probe, shutdown)
# before the container is killed from outside.
GRACE_S = 10.0
LOG_TAIL_BYTES = 4096
HEAD_BYTES = 16 * 1024  # kernel start-up warnings come first
OUT_LIMIT_MB = 256  # the results volume; the judge reads at most this much back
TMP_LIMIT_MB = 256
# A container lives at most the notebook's limit, the grace and this margin for freezing it,
# reading its results back and removing it; past that it is an orphan.
LIFETIME_MARGIN_S = 300.0
REMOVE_ATTEMPTS = 3

log = logging.getLogger(__name__)

# Copy the student's files into the tmpfs home, make the baked-in data sets visible where
# Keras looks (~/.keras must be writable, or Keras ignores it), then become the runner.
PREPARE_AND_RUN = (
    'mkdir -p "$WORK" "$HOME/.keras" && cp -R "$INPUT"/. "$WORK"/ '
    f'&& ln -sfn {IMAGE_ROOT}/datasets "$HOME/.keras/datasets" '
    '&& exec python -m autograder.runner --job "$JOB" --workdir "$WORK" --out "$OUT"'
)
RUN_ENV = {
    "HOME": STUDENT_HOME, "WORK": WORKDIR, "INPUT": INPUT_MOUNT, "JOB": JOB_MOUNT,
    "OUT": OUT_MOUNT, "PYTHONUNBUFFERED": "1",
    # Several sandboxes can share one GPU only if TensorFlow does not grab all its memory.
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
}


@dataclass
class _Execution:
    exit_code: int | None
    timed_out: bool
    log_tail: str
    runner_started: bool = False


class _Tail:
    """The last ``limit`` bytes of a stream, however long the stream is."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.head = b""  # the stream's first bytes: what the runner said before the kernel

    def add(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[:HEAD_BYTES - len(self.head)]
        self.chunks.append(chunk[-self.limit:])
        self.size += len(self.chunks[-1])
        while self.size - len(self.chunks[0]) >= self.limit:
            self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks)[-self.limit:].decode("utf-8", "replace")

    def runner_started(self) -> bool:
        return RUNNER_STARTED.encode() in self.head


class DockerSandbox(Sandbox):
    name = "docker"
    isolated = True

    def __init__(self, client: docker.DockerClient, image: str, labels: dict[str, str],
                 image_id: str = "") -> None:
        self.client = client
        self.image = image
        # The content id (sha256:...) the tag pointed at when connecting. Containers start
        # from it, not from the tag, so a retag mid-batch cannot change what grades, and the
        # result cache keys on it (autograder/batch/cache.py).
        self.image_id = image_id or image
        self.gpu_image = labels.get(f"{LABEL_PREFIX}.gpu") == "true"
        self._gpu_runtime: bool | None = None
        # Tells this sandbox's containers from those of other graders on the same engine.
        self.session = uuid.uuid4().hex
        # Removing a container takes a few hundred ms; it happens off the grading path.
        # The executor's threads are joined at interpreter exit, so none is left behind.
        self._cleanup = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-rm")

    @classmethod
    def connect(cls, image: str | None = None, *, base_url: str | None = None,
                timeout_s: float = 60.0) -> DockerSandbox:
        """A sandbox on the local engine (or ``base_url``), with ``image`` (default
        ``autograder-sandbox:latest``); SandboxUnavailableError if either is missing."""
        image = image or default_image()
        try:
            client = (docker.DockerClient(base_url=base_url, timeout=int(timeout_s))
                      if base_url else docker.from_env(timeout=int(timeout_s)))
            client.ping()
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise SandboxUnavailableError(
                f"no Docker engine is reachable ({exc}); start one (scripts/docker/"
                "start-dockerd.sh) or use --sandbox local") from exc
        try:
            found = client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxUnavailableError(
                f"the sandbox image {image} is not on this engine; build it with "
                "`autograder image build`") from exc
        except (docker.errors.APIError, requests.RequestException) as exc:
            raise SandboxUnavailableError(f"the Docker engine failed: {exc}") from exc
        labels = dict(found.attrs.get("Config", {}).get("Labels") or {})
        built_from = labels.get(f"{LABEL_PREFIX}.runner")
        if built_from is not None and built_from != sandbox_sources_hash():
            raise SandboxUnavailableError(
                f"the sandbox image {image} holds an older runner than this autograder; "
                "rebuild it with `autograder image build`")
        removed = sweep(client)
        if removed:
            log.info("removed %d expired sandbox containers and volumes", removed)
        return cls(client, image, labels, image_id=str(found.id))

    def describe(self) -> str:
        return f"docker ({self.image})"

    def run(self, job: SandboxJob) -> SandboxOutcome:
        started, wall_started = time.monotonic(), time.time()
        settings = self.container_settings(job)
        volume = self.client.volumes.create(
            driver="local", labels=self._labels(job),
            driver_opts={"type": "tmpfs", "device": "tmpfs",
                         "o": f"size={OUT_LIMIT_MB}m,uid={STUDENT_UID},gid={STUDENT_UID},"
                              "mode=0700,nosuid,nodev,noexec"})
        settings["mounts"].append(Mount(OUT_MOUNT, str(volume.name), type="volume"))
        container = None
        try:
            container = self.client.containers.create(**settings)
            self._start(container, job)
            execution = self._execute(container, job)
            oom_killed = self._freeze(container, since=wall_started)
            readback = self._read_results(container, job.out_dir)
        finally:
            if container is not None:
                self._cleanup.submit(_remove, container, volume)
            else:
                self._cleanup.submit(_remove_volume, volume)
        tail = execution.log_tail
        if readback.truncated:
            tail += f"\n[sandbox: results over {OUT_LIMIT_MB} MiB were cut]"
        if readback.skipped:
            tail += f"\n[sandbox: {len(readback.skipped)} links or special files were ignored]"
        return SandboxOutcome(exit_code=execution.exit_code, seconds=time.monotonic() - started,
                              timed_out=execution.timed_out, oom_killed=oom_killed,
                              log_tail=tail[-LOG_TAIL_BYTES:],
                              runner_started=execution.runner_started)

    def container_settings(self, job: SandboxJob) -> dict[str, Any]:
        """Everything ``containers.create`` gets for ``job`` (except the results volume)."""
        limits = job.limits
        settings: dict[str, Any] = {
            "image": self.image_id,
            "command": ["python", "-m", "autograder.runner.idle",
                        "--exit-after", f"{_lifetime_s(job):.0f}"],
            "user": f"{STUDENT_UID}:{STUDENT_UID}",
            "working_dir": STUDENT_HOME,
            "environment": _environment(limits.cpus),
            "hostname": "sandbox",
            "network_mode": "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "read_only": True,
            "tmpfs": {
                STUDENT_HOME: f"size={limits.disk_mb}m,uid={STUDENT_UID},gid={STUDENT_UID},"
                              "mode=0700,nosuid,nodev",
                "/tmp": f"size={min(TMP_LIMIT_MB, limits.disk_mb)}m,mode=1777,nosuid,nodev",
            },
            "mounts": [Mount(JOB_MOUNT, str(job.job_dir.resolve()), type="bind", read_only=True),
                       Mount(INPUT_MOUNT, str(job.workdir.resolve()), type="bind",
                             read_only=True)],
            "mem_limit": f"{limits.memory_mb}m",
            "memswap_limit": f"{limits.memory_mb}m",  # equal: no swap
            "nano_cpus": int(limits.cpus * 1e9),
            "pids_limit": limits.pids,
            "ipc_mode": "private",
            "shm_size": "64m",
            "log_config": LogConfig(type=LogConfig.types.NONE),
            "labels": self._labels(job),
            "detach": True,
        }
        if job.gpus:
            if not self.gpu_image:
                raise SandboxUnavailableError(
                    f"--gpus {job.gpus} needs a GPU build of the sandbox image, and {self.image} "
                    "is a CPU build; run `autograder image build --gpu` and pass --image "
                    f"{default_image(gpu=True)}")
            try:
                settings["device_requests"] = [device_request(job.gpus)]
            except GpuRequestError as exc:
                raise SandboxUnavailableError(str(exc)) from exc
        return settings

    def _labels(self, job: SandboxJob) -> dict[str, str]:
        expires = time.time() + _lifetime_s(job)
        return {CONTAINER_LABEL: "1", SESSION_LABEL: self.session,
                EXPIRES_LABEL: f"{expires:.0f}"}

    def _start(self, container: Any, job: SandboxJob) -> None:
        try:
            container.start()
        except docker.errors.APIError as exc:
            if job.gpus and "device driver" in str(exc):
                raise SandboxUnavailableError(
                    f"--gpus {job.gpus}: this Docker engine cannot give containers a GPU "
                    f"(no NVIDIA runtime: {exc.explanation}). Install the NVIDIA Container "
                    "Toolkit, or grade without --gpus.") from exc
            raise

    def _execute(self, container: Any, job: SandboxJob) -> _Execution:
        api = self.client.api
        exec_id = api.exec_create(container.id, ["sh", "-c", PREPARE_AND_RUN],
                                  user=f"{STUDENT_UID}:{STUDENT_UID}", workdir=STUDENT_HOME,
                                  environment=_environment(job.limits.cpus))["Id"]
        output = api.exec_start(exec_id, stream=True)
        tail = _Tail(LOG_TAIL_BYTES)

        def pump() -> None:
            try:
                for chunk in output:
                    tail.add(chunk)
            except Exception:  # the connection closes when the container is removed
                pass

        reader = threading.Thread(target=pump, name="sandbox-output", daemon=True)
        reader.start()
        reader.join(job.limits.wall_s + GRACE_S)
        if reader.is_alive():
            return _Execution(exit_code=None, timed_out=True, log_tail=tail.text(),
                              runner_started=tail.runner_started())
        code = api.exec_inspect(exec_id).get("ExitCode")
        return _Execution(exit_code=code if isinstance(code, int) else None, timed_out=False,
                          log_tail=tail.text(), runner_started=tail.runner_started())

    def _freeze(self, container: Any, *, since: float) -> bool:
        """Stop every process where it stands (a fork bomb included) so the results can
        be read; return whether the kernel's OOM killer struck in the container."""
        with contextlib.suppress(docker.errors.APIError):  # already stopped: nothing to freeze
            container.pause()
        with contextlib.suppress(docker.errors.NotFound):  # its init died and it was swept
            container.reload()
        if container.attrs.get("State", {}).get("OOMKilled", False):
            return True
        if (_cgroup_oom_kills(container.id) or 0) > 0:  # the kernel's own count
            return True
        # While the container lives (it always does here), the engine reports an OOM kill of
        # one of its processes only as an event, not in the container's state.
        events = self.client.events(since=f"{since - 1:.9f}", until=f"{time.time():.9f}",
                                    filters={"container": container.id, "event": "oom"},
                                    decode=True)
        return any(True for _ in events)

    def _read_results(self, container: Any, out_dir: Path) -> Readback:
        try:
            chunks, _ = container.get_archive(OUT_MOUNT)
        except docker.errors.APIError:  # the container died with its results
            return Readback()
        return extract(chunks, out_dir, strip=Path(OUT_MOUNT).name,
                       max_bytes=OUT_LIMIT_MB * 2**20)

    def close(self) -> None:
        """Wait until every container this sandbox started is removed."""
        self._cleanup.shutdown(wait=True)


def _cgroup_oom_kills(container_id: str) -> int | None:
    """How many processes the kernel's OOM killer took in the container's memory cgroup
    (cgroup v1, cgroupfs driver); None where that count cannot be read. Unlike the engine's
    OOM event, it does not depend on when the event reaches the engine."""
    path = Path("/sys/fs/cgroup/memory/docker") / container_id / "memory.oom_control"
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(" ")
        if name == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def _environment(cpus: float) -> dict[str, str]:
    """The run's environment, with BLAS/OpenMP and TensorFlow thread pools sized to the CPU
    limit: pools sized to the host's cores spin on a quota they cannot use and get
    throttled, which also distorts the probe's timings."""
    threads = str(max(1, math.ceil(cpus)))
    return {**RUN_ENV, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": threads}


def _lifetime_s(job: SandboxJob) -> float:
    return job.limits.wall_s + GRACE_S + LIFETIME_MARGIN_S


def _remove(container: Any, volume: Any) -> None:
    _retry(lambda: container.remove(force=True), f"container {container.short_id}")
    _remove_volume(volume)


def _remove_volume(volume: Any) -> None:
    _retry(lambda: volume.remove(force=True), f"volume {volume.name}")


def _retry(remove: Callable[[], object], what: str) -> None:
    """Remove something, retrying what a busy engine refuses (a removal already in
    progress, a kill not yet confirmed); what still fails expires and is swept later."""
    for attempt in range(1, REMOVE_ATTEMPTS + 1):
        try:
            remove()
            return
        except docker.errors.NotFound:
            return
        except (docker.errors.APIError, requests.RequestException) as exc:
            if attempt == REMOVE_ATTEMPTS:
                log.warning("could not remove sandbox %s (%s); it will be swept once it "
                            "expires", what, exc)
                return
            time.sleep(attempt)
