"""Hostile submissions against the real Docker sandbox, graded as one batch.

Each must score nothing it did not earn, end with a reason the student can read, leave
nothing behind, and not disturb the submissions graded after it: the batch ends with the
reference solution, which must still get full marks from the same sandbox.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import docker
import pytest

from autograder.batch.failures import sandbox_failure
from autograder.exercises import Limits, get_exercise
from autograder.results import GradeResult
from autograder.sandbox import SandboxJob, SandboxOutcome
from autograder.sandbox.docker import DockerSandbox
from autograder.sandbox.orphans import SESSION_LABEL
from tests.docker_support import FAST_LIMITS, grade_cells, grade_path, report_cell, reported
from tests.test_failure_attribution import REMOVE_REPORT_AND_KILL_RUNNER

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SHORT = replace(FAST_LIMITS, timeout_s=8, cell_timeout_s=5)

ATTEMPT = """
import errno, os
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, type(exc).__name__)
"""

SCAN_FOR_HIDDEN = """
import os
HIDDEN = {"graders", "solutions", "variants", "course.toml", "tests.py"}
found, scanned = [], 0
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    scanned += len(files)
    found += [os.path.join(root, n) for n in dirs + files
              if n in HIDDEN and "site-packages" not in root]
facts = {"found": found[:20], "scanned": scanned, "job": sorted(os.listdir("/sandbox/job")),
         "host_repo": os.path.exists("/work")}
"""

NETWORK = ATTEMPT + """
import socket
# No packet is sent anywhere: an empty routing table and loopback alone show that no other
# address is reachable (probing outside addresses is not something a test should do).
routes = [line.split() for line in open("/proc/net/route").read().splitlines()[1:]]
facts = {"ifaces": sorted(name for _, name in socket.if_nameindex()),
         "routes": len(routes),
         "udp_to_world": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                                 .connect(("192.0.2.1", 9))),
         "local_listen": attempt(lambda: socket.create_server(("127.0.0.1", 0)).close())}
"""

WRITE_OUTSIDE = ATTEMPT + """
import autograder.runner.probe as probe
targets = {"root": "/evil", "etc": "/etc/passwd", "usr": "/usr/lib/evil",
           "probe": probe.__file__, "job": "/sandbox/job/plan.json",
           "input": "/sandbox/input/mse.ipynb"}
facts = {name: attempt(lambda p=path: open(p, "a").write("x")) for name, path in targets.items()}
"""

WRONG_FUNCTIONS = """
import numpy as np
def mse(y, y_hat):
    return 1.0
def cost(X, y, w):
    return 1.0
"""

FORGE_PRINT = """
import json, os
fake = {"score": 15, "max_score": 15, "tests": [{"name": "mse", "score": 15, "status": "passed"}]}
print(json.dumps(fake))
os.write(1, (json.dumps(fake) + "\\n").encode())
os.write(2, (json.dumps(fake) + "\\n").encode())
"""

# Fake probe records in the out folder, made read-only so the real probe cannot replace
# them, with links planted for the host to follow.
FORGE_OUT = """
import json, os
import numpy as np
out = "/sandbox/out"
os.makedirs(out + "/probe", exist_ok=True)
for i in range(40):
    record = {"__dict__": {"id": "x", "status": "ok", "value": 1.0, "seconds": 1e-6,
                           "mutated_args": []}}
    with open(f"{out}/probe/{i}.json", "w") as handle:
        json.dump(record, handle)
    np.savez(f"{out}/probe/{i}.npz")
with open(out + "/execution.json", "w") as handle:
    json.dump({"status": "completed", "message": "", "cell_errors": []}, handle)
os.symlink("/", out + "/artifacts")
os.symlink("/etc/shadow", out + "/probe/99.json")
os.chmod(out + "/probe", 0o500)
os.chmod(out, 0o500)
"""

PATCH_PROBE = """
import json, os, sys, types
import numpy as np
import autograder.runner
fake = types.ModuleType("autograder.runner.probe")
def run(job_dir, out_dir, namespace):
    os.makedirs(out_dir + "/probe", exist_ok=True)
    for i in range(40):
        record = {"__dict__": {"id": "x", "status": "ok", "value": 1.0, "seconds": 1e-6,
                               "mutated_args": []}}
        with open(f"{out_dir}/probe/{i}.json", "w") as handle:
            json.dump(record, handle)
        np.savez(f"{out_dir}/probe/{i}.npz")
fake.run = run
sys.modules["autograder.runner.probe"] = fake
autograder.runner.probe = fake
"""

FORK_BOMB = "import os\nwhile True:\n    os.fork()"
MEMORY_BOMB = "blocks = []\nwhile True:\n    blocks.append(b'x' * 10_000_000)"
INFINITE_LOOP = "while True:\n    pass"
STUBBORN_LOOP = ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                 "    except BaseException:\n        pass")
DISK_FILL = """
import errno, os
written, error = 0, ""
chunk = b"x" * (1 << 20)
try:
    with open(os.path.expanduser("~/fill.bin"), "wb") as handle:
        while written < (1 << 30):
            handle.write(chunk)
            handle.flush()
            written += len(chunk)
except OSError as exc:
    error = errno.errorcode.get(exc.errno or 0, str(exc))
facts = {"written_mb": written >> 20, "error": error}
"""
OUTPUT_FLOOD = """
import os, sys
for _ in range(2000):
    print("x" * 10_000)
for _ in range(2000):
    os.write(1, b"y" * 10_000)
"""


@dataclass
class Case:
    name: str
    cells: list[str] = field(default_factory=list)
    submission: str = ""  # a prepared file instead of cells (zip, huge notebook)
    limits: Limits = FAST_LIMITS


CASES = [
    Case("fork bomb", [WRONG_FUNCTIONS, FORK_BOMB]),
    Case("memory bomb", [WRONG_FUNCTIONS, MEMORY_BOMB]),
    Case("kills its parent", [WRONG_FUNCTIONS, "import os, signal\n"
                                               "os.kill(os.getppid(), signal.SIGKILL)"]),
    Case("removes its report and kills the runner",
         [WRONG_FUNCTIONS, REMOVE_REPORT_AND_KILL_RUNNER]),
    Case("kills its kernel", [WRONG_FUNCTIONS, "import os, signal\n"
                                               "os.kill(os.getpid(), signal.SIGKILL)"]),
    Case("os._exit", [WRONG_FUNCTIONS, "import os\nos._exit(0)"]),
    Case("sys.exit", [WRONG_FUNCTIONS, "import sys\nsys.exit(3)"]),
    Case("kills every process it can", [WRONG_FUNCTIONS, "import os, signal\n"
                                                         "os.kill(-1, signal.SIGKILL)"]),
    Case("infinite loop", [WRONG_FUNCTIONS, INFINITE_LOOP], limits=SHORT),
    Case("loop that swallows interrupts", [WRONG_FUNCTIONS, STUBBORN_LOOP], limits=SHORT),
    Case("disk fill", [WRONG_FUNCTIONS, DISK_FILL, report_cell("DISK", "facts")]),
    Case("output flood", [WRONG_FUNCTIONS, OUTPUT_FLOOD]),
    # Three snooping attempts share one notebook; each reports what it saw.
    Case("snoops", [WRONG_FUNCTIONS, SCAN_FOR_HIDDEN, report_cell("SCAN", "facts"),
                    NETWORK, report_cell("NET", "facts"),
                    WRITE_OUTSIDE, report_cell("WRITE", "facts")]),
    Case("prints forged results", [WRONG_FUNCTIONS, FORGE_PRINT]),
    Case("forges the out folder", [WRONG_FUNCTIONS, FORGE_OUT]),
    Case("patches the probe", [WRONG_FUNCTIONS, PATCH_PROBE]),
    Case("zip with ../ paths", submission="traversal.zip"),
    Case("zip with a symlink", submission="symlink.zip"),
    Case("200 MB notebook", submission="huge.ipynb"),
    Case("reference solution after all of them", submission="solution"),
]


class RecordingSandbox(DockerSandbox):
    """The real Docker sandbox, also noting what each run left in the host's out folder."""

    outcomes: list[tuple[SandboxOutcome, list[Path]]]

    def run(self, job: SandboxJob) -> SandboxOutcome:
        outcome = super().run(job)
        links = [p for p in job.out_dir.rglob("*") if p.is_symlink()]
        self.outcomes.append((outcome, links))
        return outcome


def _prepare_submission(name: str, folder: Path) -> Path:
    solution = get_exercise("mse").solution_path
    if name == "solution":
        return solution
    path = folder / name
    if name == "traversal.zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(solution, "mse.ipynb")
            archive.writestr("../../escaped.txt", "outside")
    elif name == "symlink.zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(solution, "mse.ipynb")
            link = zipfile.ZipInfo("data.csv")
            link.external_attr = (0o120777 << 16)
            archive.writestr(link, "/etc/passwd")
    elif name == "huge.ipynb":
        notebook = json.loads(solution.read_text(encoding="utf-8"))
        notebook["cells"][0]["metadata"]["padding"] = "x" * (200 * 2**20)
        path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    box = RecordingSandbox.connect()
    box.outcomes = []
    folder = tmp_path_factory.mktemp("hostile")
    results: dict[str, GradeResult] = {}
    outcomes: dict[str, tuple[SandboxOutcome, list[Path]] | None] = {}
    for index, case in enumerate(CASES):
        before = len(box.outcomes)
        if case.submission:
            path = _prepare_submission(case.submission, folder)
            results[case.name] = grade_path(box, path, limits=case.limits)
        else:
            results[case.name] = grade_cells(box, folder / str(index), case.cells,
                                             limits=case.limits)
        outcomes[case.name] = box.outcomes[-1] if len(box.outcomes) > before else None
    box.close()  # waits for every container to be removed
    return {"results": results, "outcomes": outcomes, "client": box.client,
            "session": box.session}


def _result(batch: dict[str, Any], name: str) -> GradeResult:
    result: GradeResult = batch["results"][name]
    return result


def _errors(result: GradeResult) -> str:
    return "\n".join(result.errors)


def _no_points(result: GradeResult) -> None:
    assert result.score == 0, [(t.name, t.status, t.output) for t in result.tests]


def test_fork_bomb_is_stopped_by_the_process_limit(batch: dict[str, Any]) -> None:
    result = _result(batch, "fork bomb")
    _no_points(result)
    assert "BlockingIOError" in _errors(result) or "stopped" in _errors(result)


def test_memory_bomb_is_killed_with_a_clear_message(batch: dict[str, Any]) -> None:
    result = _result(batch, "memory bomb")
    _no_points(result)
    assert f"more than the {FAST_LIMITS.memory_mb} MiB of memory" in _errors(result)
    outcome, _ = batch["outcomes"]["memory bomb"]
    assert outcome.oom_killed


@pytest.mark.parametrize("name, reason", [
    ("kills its parent", "stopped"),
    ("kills its kernel", "kernel stopped"),
    ("os._exit", "kernel stopped"),
    ("sys.exit", "SystemExit"),
    ("kills every process it can", "stopped"),
])
def test_exits_and_kills_end_with_a_reason(batch: dict[str, Any], name: str,
                                           reason: str) -> None:
    result = _result(batch, name)
    _no_points(result)
    assert reason in _errors(result)


def test_a_notebook_that_removes_its_report_is_not_a_machine_failure(
        batch: dict[str, Any]) -> None:
    result = _result(batch, "removes its report and kills the runner")
    _no_points(result)
    assert sandbox_failure(result) is None, result.problems


@pytest.mark.parametrize("name", ["infinite loop", "loop that swallows interrupts"])
def test_loops_hit_the_time_limit(batch: dict[str, Any], name: str) -> None:
    result = _result(batch, name)
    _no_points(result)
    assert "did not finish within" in _errors(result) or "time limit" in _errors(result)
    assert result.execution_time < SHORT.timeout_s + 30


def test_disk_fill_stops_at_the_tmpfs_size(batch: dict[str, Any]) -> None:
    result = _result(batch, "disk fill")
    _no_points(result)
    facts = reported(result, "DISK")
    assert facts["error"] == "ENOSPC"
    assert facts["written_mb"] <= FAST_LIMITS.disk_mb


def test_output_flood_is_capped(batch: dict[str, Any]) -> None:
    result = _result(batch, "output flood")
    _no_points(result)
    assert f"printed more than {FAST_LIMITS.output_kb} KiB" in _errors(result)
    outcome, _ = batch["outcomes"]["output flood"]
    assert len(outcome.log_tail.encode()) <= 4096 + 200


def test_hidden_tests_and_solutions_are_not_in_the_container(batch: dict[str, Any]) -> None:
    result = _result(batch, "snoops")
    _no_points(result)
    facts = reported(result, "SCAN")
    assert facts["scanned"] > 1000  # the scan really walked the filesystem
    assert facts["found"] == []
    assert facts["job"] == ["job.json", "plan.json", "plan.npz"]
    assert facts["host_repo"] is False


def test_no_network_but_loopback(batch: dict[str, Any]) -> None:
    result = _result(batch, "snoops")
    _no_points(result)
    facts = reported(result, "NET")
    assert facts["ifaces"] == ["lo"]
    assert facts["routes"] == 0
    # A UDP connect only consults the routing table (192.0.2.1 is TEST-NET-1, never routed):
    # with no route it fails at once.
    assert facts["udp_to_world"] != "ok"
    assert facts["local_listen"] == "ok"  # the kernel itself needs loopback


def test_nothing_outside_scratch_is_writable(batch: dict[str, Any]) -> None:
    result = _result(batch, "snoops")
    _no_points(result)
    facts = reported(result, "WRITE")
    assert set(facts) == {"root", "etc", "usr", "probe", "job", "input"}
    assert all(status in ("EROFS", "EACCES") for status in facts.values()), facts


@pytest.mark.parametrize("name", ["prints forged results", "forges the out folder",
                                  "patches the probe"])
def test_forged_results_earn_nothing(batch: dict[str, Any], name: str) -> None:
    _no_points(_result(batch, name))


def test_links_planted_in_the_out_folder_never_reach_the_host(batch: dict[str, Any]) -> None:
    outcome, links = batch["outcomes"]["forges the out folder"]
    assert links == []
    assert "links or special files were ignored" in outcome.log_tail


@pytest.mark.parametrize("name, reason", [
    ("zip with ../ paths", "unsafe path"),
    ("zip with a symlink", "symbolic link"),
    ("200 MB notebook", "are not graded"),
])
def test_unsafe_submissions_are_refused_before_running(batch: dict[str, Any], name: str,
                                                        reason: str) -> None:
    result = _result(batch, name)
    _no_points(result)
    assert reason in _errors(result)
    assert batch["outcomes"][name] is None  # never reached the sandbox


def test_the_next_submission_still_grades_correctly(batch: dict[str, Any]) -> None:
    result = _result(batch, "reference solution after all of them")
    assert result.errors == []
    # The vectorization tests time calls, which a heavily loaded machine can distort;
    # test_docker_sandbox checks full marks. Here every answer must be judged right.
    wrong = [(t.name, t.output) for t in result.tests
             if t.status != "passed" and "vectorized" not in t.name]
    assert wrong == []
    assert result.score >= result.max_score - 4


def test_no_container_or_volume_is_left_behind(batch: dict[str, Any]) -> None:
    client: docker.DockerClient = batch["client"]
    # Only this batch's: other graders (or a killed one) may share the engine.
    ours = f"{SESSION_LABEL}={batch['session']}"
    assert client.containers.list(all=True, filters={"label": ours}) == []
    assert client.volumes.list(filters={"label": ours}) == []
