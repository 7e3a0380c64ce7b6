"""The Docker sandbox on the real engine: full marks for the solution, the isolation
contract seen from inside the container, and what the engine is asked for at creation."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from autograder.datasets import load_heldout
from autograder.exercises import course_root, get_exercise
from autograder.image.context import LABEL_PREFIX, STUDENT_UID
from autograder.sandbox import LocalSandbox, SandboxJob, SandboxUnavailableError, make_sandbox
from autograder.sandbox.docker import DockerSandbox
from autograder.sandbox.orphans import CONTAINER_LABEL, EXPIRES_LABEL, SESSION_LABEL
from tests.docker_support import FAST_LIMITS, connect, grade_cells, report_cell, reported

pytestmark = pytest.mark.docker

INSPECT = """
import os, socket, time, signal
def first(*paths):
    for path in paths:
        if os.path.exists(path):
            return open(path).read().split()[0]
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\\t" in line)
root_options = [line.split()[5] for line in open("/proc/self/mountinfo")
                if line.split()[4] == "/"][0]
children, fork_error = [], ""
try:
    while len(children) < 10_000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    fork_error = type(exc).__name__
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
home = os.statvfs(os.path.expanduser("~"))
facts = {
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
    "cap_eff": status["CapEff"].strip(), "cap_bnd": status["CapBnd"].strip(),
    "no_new_privs": status["NoNewPrivs"].strip(),
    "ifaces": sorted(name for _, name in socket.if_nameindex()),
    "root_options": root_options,
    "memory": first("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    "swap": first("/sys/fs/cgroup/memory.swap.max",
                  "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
    "pids": first("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
    "cpu_quota": first("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
    "forked": len(children), "fork_error": fork_error,
    "home_mb": home.f_blocks * home.f_frsize // 2**20,
    "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
    "thread_pools": {name: os.environ.get(name) for name in (
        "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
}
"""


@pytest.fixture(scope="module")
def box() -> Iterator[DockerSandbox]:
    sandbox = connect()
    yield sandbox
    sandbox.close()


def test_grade_command_gives_the_solution_full_marks(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    solution = get_exercise("mse").solution_path
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "mse", str(solution), "--sandbox",
         "docker", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=course_root(),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert completed.returncode == 0, completed.stderr
    result = json.loads(out.read_text())
    assert result["metadata"]["sandbox"] == "docker"
    assert result["metadata"]["isolated"] is True
    assert result["score"] == result["max_score"], completed.stderr
    assert "unisolated" not in completed.stderr


def test_inside_the_container(box: DockerSandbox, tmp_path: Path) -> None:
    result = grade_cells(box, tmp_path, [INSPECT, report_cell("FACTS", "facts")])
    facts = reported(result, "FACTS")
    assert facts["uid"] == facts["euid"] == STUDENT_UID != 0
    assert facts["cap_eff"] == facts["cap_bnd"] == "0000000000000000"
    assert facts["no_new_privs"] == "1"
    assert facts["ifaces"] == ["lo"]
    assert facts["root_options"].split(",")[0] == "ro"
    limit = FAST_LIMITS.memory_mb * 2**20
    assert int(facts["memory"]) == limit
    assert facts["swap"] in (None, str(limit))  # memory+swap equals memory: no swap
    assert int(facts["pids"]) == FAST_LIMITS.pids
    assert facts["fork_error"] == "BlockingIOError"
    assert facts["forked"] < FAST_LIMITS.pids
    assert facts["cpu_quota"] in ("100000", "max")  # 1 CPU: a 100 ms quota per 100 ms
    assert facts["home_mb"] == FAST_LIMITS.disk_mb
    assert facts["cwd"] == "/home/student/work"
    assert facts["files"] == ["mse.ipynb"]
    # Thread pools the size of the CPU limit (1), not of the host's cores: more threads
    # than the quota allows get the container throttled.
    assert set(facts["thread_pools"].values()) == {"1"}


def _job(tmp_path: Path, gpus: str | None) -> SandboxJob:
    folders = [tmp_path / name for name in ("job", "work", "out")]
    for folder in folders:
        folder.mkdir(exist_ok=True)
    return SandboxJob(job_dir=folders[0], workdir=folders[1], out_dir=folders[2],
                      limits=FAST_LIMITS, gpus=gpus)


def _as_gpu_build(box: DockerSandbox) -> DockerSandbox:
    """The same image, treated as a GPU build: what matters here is the request."""
    return DockerSandbox(box.client, box.image, {f"{LABEL_PREFIX}.gpu": "true"})


@pytest.mark.parametrize("gpus, expected", [
    ("all", {"Count": -1, "DeviceIDs": []}),
    ("2", {"Count": 2, "DeviceIDs": []}),
    ("device=0,3", {"Count": 0, "DeviceIDs": ["0", "3"]}),
])
def test_gpu_request_and_limits_reach_the_engine(box: DockerSandbox, tmp_path: Path,
                                                 gpus: str, expected: dict) -> None:
    settings = _as_gpu_build(box).container_settings(_job(tmp_path, gpus))
    container = box.client.containers.create(**settings)  # created, never started
    try:
        host = box.client.api.inspect_container(container.id)["HostConfig"]
    finally:
        container.remove(force=True)
    (request,) = host["DeviceRequests"]
    assert request["Capabilities"] == [["gpu"]]
    assert request["Count"] == expected["Count"]
    assert (request["DeviceIDs"] or []) == expected["DeviceIDs"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == host["MemorySwap"] == FAST_LIMITS.memory_mb * 2**20
    assert host["NanoCpus"] == int(FAST_LIMITS.cpus * 1e9)
    assert host["PidsLimit"] == FAST_LIMITS.pids
    assert set(host["Tmpfs"]) == {"/home/student", "/tmp"}
    assert all(m["ReadOnly"] for m in host["Mounts"])


def test_gpu_without_nvidia_runtime_says_so(box: DockerSandbox, tmp_path: Path) -> None:
    if "nvidia" in (box.client.info().get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime")
    gpu_build = _as_gpu_build(box)
    try:
        with pytest.raises(SandboxUnavailableError, match="no NVIDIA runtime"):
            gpu_build.run(_job(tmp_path, "all"))
    finally:
        gpu_build.close()  # waits until the container that failed to start is removed
    ours = f"{SESSION_LABEL}={gpu_build.session}"
    assert box.client.containers.list(all=True, filters={"label": ours}) == []
    assert box.client.volumes.list(filters={"label": ours}) == []


def test_gpu_with_a_cpu_image_says_so(box: DockerSandbox, tmp_path: Path) -> None:
    if box.gpu_image:
        pytest.skip("the default image is a GPU build")
    with pytest.raises(SandboxUnavailableError, match="CPU build"):
        box.container_settings(_job(tmp_path, "all"))


def test_bad_gpu_request_is_refused(box: DockerSandbox, tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError, match="device=ID"):
        _as_gpu_build(box).container_settings(_job(tmp_path, "some"))


def test_a_killed_graders_containers_and_volumes_are_swept(box: DockerSandbox,
                                                           tmp_path: Path) -> None:
    """What a grader killed mid-run leaves behind is removed by the next one to connect:
    expired containers (running or frozen), stopped ones, and expired volumes; another
    grader's live container and volume are left alone."""
    settings = box.container_settings(_job(tmp_path, None))
    past, future = f"{time.time() - 1:.0f}", f"{time.time() + 600:.0f}"
    made: dict[str, Any] = {}

    def start(name: str, expires: str, command: list[str] | None = None) -> None:
        labels = {**settings["labels"], EXPIRES_LABEL: expires, SESSION_LABEL: "other"}
        made[name] = box.client.containers.run(
            **{**settings, "labels": labels, "command": command or settings["command"]})

    try:
        start("expired", past)
        start("frozen", past)
        made["frozen"].pause()
        start("stopped", future, ["python", "-m", "autograder.runner.idle", "--exit-after", "0"])
        start("live", future)
        volumes = {name: box.client.volumes.create(labels={CONTAINER_LABEL: "1",
                                                           EXPIRES_LABEL: expires})
                   for name, expires in (("expired", past), ("live", future))}
        deadline = time.monotonic() + 30  # the init given no time ends at once
        while made["stopped"].status != "exited":
            assert time.monotonic() < deadline, made["stopped"].status
            time.sleep(0.2)
            made["stopped"].reload()

        DockerSandbox.connect()

        remaining = {c.id for c in box.client.containers.list(
            all=True, filters={"label": f"{SESSION_LABEL}=other"})}
        assert remaining == {made["live"].id}
        names = {v.name for v in box.client.volumes.list(filters={"label": CONTAINER_LABEL})}
        assert volumes["live"].name in names and volumes["expired"].name not in names
    finally:
        for container in made.values():
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        with contextlib.suppress(docker.errors.NotFound, NameError):
            volumes["live"].remove(force=True)


def test_missing_image_falls_back_only_in_auto_mode() -> None:
    with pytest.raises(SandboxUnavailableError, match="autograder image build"):
        DockerSandbox.connect(image="autograder-sandbox:no-such-tag")
    with pytest.raises(SandboxUnavailableError):
        make_sandbox("docker", image="autograder-sandbox:no-such-tag")
    assert isinstance(make_sandbox("auto", image="autograder-sandbox:no-such-tag"),
                      LocalSandbox)


def test_unreachable_engine_is_reported_plainly(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError, match="no Docker engine is reachable"):
        DockerSandbox.connect(base_url=f"unix://{tmp_path}/no-engine.sock")


def test_auto_picks_docker_when_engine_and_image_are_here() -> None:
    chosen = make_sandbox("auto")
    assert isinstance(chosen, DockerSandbox)
    assert chosen.isolated


@pytest.mark.slow
def test_fashion_mnist_loads_offline_in_the_sandbox(box: DockerSandbox, tmp_path: Path) -> None:
    labels = box.client.images.get(box.image).labels
    if "fashion-mnist" not in labels.get(f"{LABEL_PREFIX}.datasets", ""):
        pytest.skip("the image was built on a host without dataset-fashion-mnist")
    cells = ["import keras\n(x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()\n"
             "facts = {'train': list(x.shape), 'test': list(xt.shape), 'first': int(y[0])}",
             report_cell("FASHION", "facts")]
    limits = FAST_LIMITS.override(memory_mb=2048, pids=256, timeout_s=120, cell_timeout_s=90)
    facts = reported(grade_cells(box, tmp_path, cells, limits=limits), "FASHION")
    # The public copy lacks exactly the judge's held-out test rows.
    public_test_rows = 10000 - len(load_heldout("fashion-mnist"))
    assert facts == {"train": [60000, 28, 28], "test": [public_test_rows, 28, 28], "first": 9}

