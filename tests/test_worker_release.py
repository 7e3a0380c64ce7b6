"""What a batch worker holds between grades, and how it lets go of it: the warm sandbox
waits for its zygote without asking the engine where it can watch the socket's folder, and
a worker's sandboxes and model evaluator are closed on request, all at once."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import psutil
import pytest

from autograder.batch import task
from autograder.judge.models import evaluator as evaluator_module
from autograder.sandbox.base import SandboxUnavailableError
from autograder.sandbox.warm import SOCKET_NAME, WarmDockerSandbox, _Container


class FakeContainer:
    """Stands in for docker-py's container: counts the engine calls a wait makes."""

    def __init__(self, *, status: str = "running", socket_after_execs: int | None = None):
        self.status = status
        self.reloads = 0
        self.execs = 0
        self.socket_after_execs = socket_after_execs

    def reload(self) -> None:
        self.reloads += 1

    def exec_run(self, command: list[str], user: str) -> Any:
        self.execs += 1
        ready = self.socket_after_execs is not None and self.execs >= self.socket_after_execs
        return type("ExecResult", (), {"exit_code": 0 if ready else 1})()


def _box(container: FakeContainer, control: Path | None) -> _Container:
    return _Container(container=container, volume=None, limits_key=(), preload=0,  # type: ignore[arg-type]
                      gpus=None, nonce="n", started=0.0, control=control)


def _listening(folder: Path) -> socket.socket:
    """A socket that listens before its name appears, as the zygote makes it."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    binding = folder / f".{SOCKET_NAME}.binding"
    server.bind(str(binding))
    server.listen(1)
    os.rename(binding, folder / SOCKET_NAME)
    return server


def test_a_local_socket_folder_is_watched_without_asking_the_engine(tmp_path: Path) -> None:
    server = _listening(tmp_path)
    container = FakeContainer()
    box = _box(container, tmp_path)
    try:
        WarmDockerSandbox._wait_until_ready(None, box)  # type: ignore[arg-type]
    finally:
        server.close()
    assert box.control == tmp_path  # grades will go over the socket
    assert (container.execs, container.reloads) == (0, 0)


def test_without_a_folder_the_engine_is_asked_less_and_less_often(tmp_path: Path) -> None:
    container = FakeContainer(socket_after_execs=3)
    box = _box(container, None)
    WarmDockerSandbox._wait_until_ready(None, box)  # type: ignore[arg-type]
    assert box.control is None  # grades go through docker exec
    assert container.execs == 3 and container.reloads == 3


def test_a_zygote_that_stops_while_starting_is_reported(tmp_path: Path) -> None:
    box = _box(FakeContainer(status="exited"), tmp_path)  # its socket never appears
    with pytest.raises(SandboxUnavailableError, match="stopped while starting"):
        WarmDockerSandbox._wait_until_ready(None, box)  # type: ignore[arg-type]


class CountingSandbox:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_release_closes_every_sandbox_the_worker_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[CountingSandbox] = []

    def make(name: str, **settings: Any) -> CountingSandbox:
        made.append(CountingSandbox())
        return made[-1]

    monkeypatch.setattr(task, "make_sandbox", make)
    monkeypatch.setattr(task, "_sandboxes", {})
    first = task._sandbox("docker", "{}")
    assert task._sandbox("docker", "{}") is first  # one per worker and setting
    task._sandbox("docker", '{"image": "other"}')
    assert task.release_worker() == 2
    assert [s.closed for s in made] == [1, 1]
    assert task._sandbox("docker", "{}") is not first  # the next grade starts afresh
    assert task.release_worker() == 1


@pytest.mark.slow
def test_release_stops_the_model_evaluator_and_a_new_one_starts_on_demand() -> None:
    first = evaluator_module.evaluator()
    first.start()  # imports TensorFlow in its warm process
    process = first._process
    assert process is not None and process.poll() is None
    task.release_worker()
    assert process.poll() is not None  # gone, not left for interpreter exit
    assert not psutil.pid_exists(process.pid) or \
        psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE
    second = evaluator_module.evaluator()
    assert second is not first
    second.start()
    assert second._process is not None and second._process.poll() is None
    evaluator_module.close_evaluator()


def test_a_worker_that_cannot_be_asked_to_release_does_not_fail_the_batch() -> None:
    from autograder.batch.execute import release_workers

    class LostWorkers:
        def run(self, function: Any) -> None:
            raise OSError("Timed out trying to connect to tcp://127.0.0.1:40000")

    assert release_workers(LostWorkers()) is False  # type: ignore[arg-type]
