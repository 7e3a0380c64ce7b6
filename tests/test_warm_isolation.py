"""The warm Docker sandbox: one container serves submission after submission, and nothing
one leaves behind reaches the next; its verdicts are the cold sandbox's.

Each grade's notebook reports what it saw from inside the container through a cell error
(the one channel back, see docker_support.report_cell).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.exercises import get_exercise
from autograder.results import GradeResult
from autograder.sandbox.warm import WarmDockerSandbox
from tests.conftest import scores, solution_with
from tests.docker_support import connect, grade_path, report_cell

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Leaves everything a grade could leave: processes (one in its own session, holding an
# abstract Unix socket), files in /tmp, HOME and /dev/shm (a copy of its notebook and a
# "model"), POSIX and System V shared memory, a semaphore set and a message queue, an
# environment variable, a replaced module and monkeypatched NumPy functions.
HOSTILE = r'''
import ctypes, os, shutil, socket, subprocess, sys, time
import numpy as np
from multiprocessing import shared_memory
subprocess.Popen(["sleep", "600"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0autograder-leak")
    listener.listen(1)
    time.sleep(600)
    os._exit(0)
for folder in ("/tmp", os.path.expanduser("~"), "/dev/shm"):
    shutil.copy("mse.ipynb", os.path.join(folder, "previous.ipynb"))
    with open(os.path.join(folder, "model.keras"), "wb") as f:
        f.write(b"the previous student's model")
os.environ["AUTOGRADER_LEAK"] = "1"
np.sum = lambda *a, **k: 0.0
np.mean = lambda *a, **k: 0.0
sys.modules["statistics"] = None
segment = shared_memory.SharedMemory(name="autograder-leak", create=True, size=4096)
libc = ctypes.CDLL(None)
IPC_CREAT = 0o1000
assert libc.shmget(0x5EED, 4096, IPC_CREAT | 0o666) >= 0
assert libc.semget(0x5EED, 1, IPC_CREAT | 0o666) >= 0
assert libc.msgget(0x5EED, IPC_CREAT | 0o666) >= 0
'''

# What a later grade sees of all that.
OBSERVE = report_cell("FACTS", r'''(lambda os, glob, socket, sys, np: {
    "uid": os.getuid(),
    "other_uids": sorted({int(l.split()[1]) for p in glob.glob("/proc/[0-9]*/status")
                          for l in open(p) if l.startswith("Uid:")} - {0, os.getuid()}),
    "tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")),
    "home": sorted(os.listdir(os.path.expanduser("~"))),
    "found": [p for d in ("/tmp", "/dev/shm", "/home", "/sandbox", "/run", "/var/tmp")
              for p in glob.glob(d + "/**/*", recursive=True)
              if p.endswith(("previous.ipynb", "model.keras"))],
    "sysv": [len(open(f"/proc/sysvipc/{k}").read().splitlines()) - 1
             for k in ("shm", "sem", "msg")],
    "env": "AUTOGRADER_LEAK" in os.environ,
    "numpy": [float(np.sum([1.0, 2.0])), float(np.mean([1.0, 3.0]))],
    "statistics": sys.modules.get("statistics", "absent") is not None,
    "socket": (lambda s: s.connect_ex("\0autograder-leak"))(
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
    "zygote_memory": os.access("/proc/1/mem", os.R_OK) or os.access("/proc/1/environ", os.R_OK),
    "control": os.access("/run/autograder", os.X_OK) or (lambda s: s.connect_ex(
        "/run/autograder/zygote.sock"))(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) == 0,
})(__import__("os"), __import__("glob"), __import__("socket"), __import__("sys"),
   __import__("numpy"))''')


@pytest.fixture(scope="module", params=["socket", "exec"])
def warm(request: pytest.FixtureRequest) -> Iterator[WarmDockerSandbox]:
    """A warm sandbox graded over the zygote's bind-mounted socket (the default on a local
    engine), and one graded through `docker exec` (a remote engine's way)."""
    box = WarmDockerSandbox.connect()
    box.direct = request.param == "socket"
    yield box
    box.close()


def _facts(result: GradeResult) -> dict:
    from tests.docker_support import reported

    return reported(result, "FACTS")


def _notebook(folder: Path, cells: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mse.ipynb"
    nbformat.write(solution_with(get_exercise("mse"), {}, extra_cells=cells), path)
    return path


def test_nothing_a_submission_leaves_reaches_the_next(warm: WarmDockerSandbox,
                                                      tmp_path: Path) -> None:
    observer = _notebook(tmp_path / "observer", [OBSERVE])
    first = grade_path(warm, observer)  # what a clean grade sees, on the same sandbox
    container = warm._current.container.id if warm._current else None
    hostile = grade_path(warm, _notebook(tmp_path / "hostile", [HOSTILE]))
    assert not [e for e in hostile.errors if "raised" in e], hostile.errors
    after = grade_path(warm, observer)
    # The same container served all three: the hostile grade was cleaned up, not discarded.
    assert warm._current is not None and warm._current.container.id == container
    assert warm.replaced == 0
    # Over the socket when asked for (a local engine): `docker exec` only as the fallback.
    assert (warm._current.control is not None) is warm.direct

    seen, clean = _facts(after), _facts(first)
    assert seen["uid"] != clean["uid"]  # every grade runs as a uid of its own
    # Only the runner of the grade itself (a uid of its own, not the kernel's) is visible.
    assert seen["other_uids"] == clean["other_uids"] and len(seen["other_uids"]) == 1
    assert seen["found"] == []
    assert seen["tmp"] == clean["tmp"] == [] and seen["shm"] == clean["shm"] == []
    assert seen["home"] == clean["home"]
    assert seen["sysv"] == [0, 0, 0]
    assert seen["env"] is False and seen["statistics"] is True
    assert seen["numpy"] == [3.0, 2.0]
    assert seen["socket"] != 0  # nobody listens on the abstract name any more
    assert seen["zygote_memory"] is False
    assert seen["control"] is False  # the zygote's socket is root's (and the host's) alone
    # Scored exactly as when graded alone, in a fresh cold container.
    alone = grade_path(connect(), observer)
    assert _untimed(after) == _untimed(first) == _untimed(alone)
    assert all(t.score == t.max_score for t in after.tests if t.name in _untimed(after))


def _untimed(result: GradeResult) -> dict[str, float]:
    """Scores, without the vectorization tests: their dynamic half compares timings, which
    a machine busy with other work can upset in any sandbox (tests/test_vectorization.py
    covers them)."""
    return {name: score for name, score in scores(result).items()
            if not name.endswith("is vectorized")}


VARIANTS = {
    "solution": {},
    "wrong": {"mse": "def mse(y, y_hat):\n    return 0.0\n"},
    "loops": {"cost": ("def cost(X, y, w):\n    total = 0.0\n    for row, target in "
                       "zip(X, y):\n        total += (float(row @ w) - float(target)) ** 2\n"
                       "    return total / (2 * len(y))\n")},
    "crash": {"mse": "import os\nos._exit(3)\n"},
    "syntax": {"mse": "def mse(:\n"},
}


def test_warm_and_cold_give_the_same_results(warm: WarmDockerSandbox, tmp_path: Path) -> None:
    exercise = get_exercise("mse")
    cold = connect()
    for name, replacements in VARIANTS.items():
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(solution_with(exercise, replacements), path)
        warm_result, cold_result = grade_path(warm, path), grade_path(cold, path)
        assert _verdict(warm_result) == _verdict(cold_result), name
        assert _untimed(warm_result) == _untimed(cold_result), name
    cold.close()


def _verdict(result: GradeResult) -> tuple:
    """Everything but timings: per test its status and message, and the notebook's errors."""
    return ([(t.name, t.status, t.output) for t in result.tests
             if not t.name.endswith("is vectorized")], result.errors)


def test_a_container_serves_submissions_that_need_less_than_it_preloads(
        tmp_path: Path) -> None:
    from autograder.sandbox.warm import Preload

    box = WarmDockerSandbox.connect()
    try:
        plain = _notebook(tmp_path / "plain", [])
        levels = []
        for name, cells in [("science", ["import sklearn.preprocessing"]), ("plain", []),
                            ("full", ["import keras"]), ("again", [])]:
            path = plain if name in ("plain", "again") else _notebook(tmp_path / name, cells)
            result = grade_path(box, path)
            assert result.score == result.max_score, (name, result.errors)
            assert box._current is not None
            levels.append((box._current.preload, box.replaced))
        # Up from nothing to scikit-learn, kept for NumPy alone, replaced once for Keras.
        assert levels == [(Preload.SCIENCE, 0), (Preload.SCIENCE, 0), (Preload.FULL, 1),
                          (Preload.FULL, 1)]
    finally:
        box.close()
