"""Play Gradescope's part for real: build an image the way Gradescope does (zip unpacked to
/autograder/source, setup.sh run as root at build), put a submission in
/autograder/submission, run /autograder/run_autograder, and check results.json.

The base image is a parameter: AUTOGRADER_GRADESCOPE_BASE (default autograder-base:bookworm,
a Debian image made by scripts/docker/make-base-image.sh or by
``debootstrap --variant=minbase bookworm DIR && tar -C DIR -c . | docker import - NAME``).
The image built from a zip is tagged with the zip's hash and reused while it is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.exercises import Limits, get_exercise
from autograder.release.gradescope_zip import write_gradescope_zip
from autograder.release.variants import load_variants

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE = os.environ.get("AUTOGRADER_GRADESCOPE_BASE", "autograder-base:bookworm")
CA_BUNDLE = Path(os.environ.get("AUTOGRADER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
DOCKERFILE = """\
FROM {base}
COPY pip-ca.pem /usr/local/share/autograder-pip-ca.pem
ENV PIP_CERT=/usr/local/share/autograder-pip-ca.pem
COPY source /autograder/source
RUN mkdir -p /autograder/submission /autograder/results \\
 && cp /autograder/source/run_autograder /autograder/run_autograder \\
 && bash /autograder/source/setup.sh
"""
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def docker(*args: str, timeout: float = 900, check: bool = True
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=check)


def build_image(exercise_id: str, limits: Limits, folder: Path) -> str:
    """The image Gradescope would build from this exercise's autograder zip (cached by the
    zip's hash)."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.skip("no Docker engine")
    if docker("image", "inspect", BASE, check=False).returncode != 0:
        pytest.skip(f"base image {BASE} is missing (set AUTOGRADER_GRADESCOPE_BASE)")
    archive = write_gradescope_zip(get_exercise(exercise_id), folder / f"{exercise_id}.zip",
                                   limits)
    tag = "autograder-gradescope-test:" + hashlib.sha256(
        archive.read_bytes() + BASE.encode()).hexdigest()[:16]
    if docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile does not restore modes
        (folder / "source" / name).chmod(0o755)
    shutil.copyfile(CA_BUNDLE, folder / "pip-ca.pem")
    (folder / "Dockerfile").write_text(DOCKERFILE.format(base=BASE), encoding="utf-8")
    done = docker("build", "-q", "-t", tag, str(folder), check=False, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    return tag


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    # Short limits so the timing-out submission is stopped quickly.
    limits = get_exercise("mse").limits.override(timeout_s=40, cell_timeout_s=20)
    return build_image("mse", limits, tmp_path_factory.mktemp("gradescope-mse"))


@pytest.fixture(scope="module")
def keras_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    limits = get_exercise("admission").limits.override(timeout_s=150, cell_timeout_s=100)
    return build_image("admission", limits, tmp_path_factory.mktemp("gradescope-admission"))


def run_submission(image: str, notebook: nbformat.NotebookNode, tmp_path: Path,
                   extra: str = "", name: str = "mse.ipynb",
                   docker_args: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / name)
    # A listener on the container's loopback: student code must not reach even that.
    listener = ("python3 -c 'import socket, time; s = socket.create_server((\"127.0.0.1\", "
                "8765)); time.sleep(600)' & sleep 0.5; ")
    script = (listener + "cp -r /mnt/submission/. /autograder/submission/ && "
              f"/autograder/run_autograder > /tmp/log 2>&1; {extra} "
              "cat /autograder/results/results.json")
    done = docker("run", "--rm", *docker_args, "-v", f"{folder}:/mnt/submission:ro", image,
                  "bash", "-c", script, timeout=300)
    results_text = done.stdout[done.stdout.index("{"):] if "{" in done.stdout else ""
    return json.loads(results_text), done.stdout[: done.stdout.find("{")]


def check_spec(results: dict[str, Any]) -> None:
    """Gradescope's results.json specification, types included."""
    assert isinstance(results["score"], float)
    assert isinstance(results["execution_time"], int | float)
    assert isinstance(results["output"], str)
    assert results["visibility"] in VISIBILITIES
    assert results["stdout_visibility"] in VISIBILITIES
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITIES
        assert isinstance(test["output"], str)
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def solution(exercise_id: str = "mse") -> nbformat.NotebookNode:
    return nbformat.read(get_exercise(exercise_id).solution_path, as_version=4)


def with_cell(source: str, exercise_id: str = "mse") -> nbformat.NotebookNode:
    notebook = solution(exercise_id)
    notebook.cells.insert(2, nbformat.v4.new_code_cell(source))
    return notebook


# Sets `network` to 'open' or 'closed': whether a listener on the container's own loopback
# (started before grading, see run_submission) can be reached.
LOOPBACK_PROBE = (
    "import socket\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', 8765), timeout=3)\n"
    "    network = 'open'\n"
    "except OSError:\n"
    "    network = 'closed'\n")


def instead_of_mse(source: str) -> nbformat.NotebookNode:
    """The solution with ``source`` in place of its mse cell: ``source`` defines mse to
    report what it found through the value the hidden worked-table test checks."""
    notebook = with_cell(source)
    notebook.cells = [c for c in notebook.cells
                      if c.get("metadata", {}).get("autograder", {}).get("id") != "mse"]
    return notebook


def worked_table_test(results: dict[str, Any]) -> dict[str, Any]:
    return dict(next(t for t in results["tests"] if t["name"].startswith("mse reproduces")))


def test_correct_submission_gets_full_marks(image: str, tmp_path: Path) -> None:
    results, _ = run_submission(image, solution(), tmp_path)
    check_spec(results)
    assert results["score"] == 15.0 and len(results["tests"]) == 11


def test_wrong_submission_fails_the_right_tests(image: str, tmp_path: Path) -> None:
    exercise = get_exercise("mse")
    variant = next(v for v in load_variants(exercise) if v.name == "slide-typo")
    results, _ = run_submission(image, variant.notebook(exercise), tmp_path)
    check_spec(results)
    failed = {t["name"] for t in results["tests"] if t["status"] == "failed"}
    assert failed == set(variant.fails)


def test_crashing_submission_still_gets_results(image: str, tmp_path: Path) -> None:
    results, _ = run_submission(image, with_cell("import ctypes\nctypes.string_at(0)"),
                                tmp_path)
    check_spec(results)
    assert results["score"] == 0.0
    assert "kernel stopped" in results["output"]


def test_timing_out_submission_is_stopped_and_reported(image: str, tmp_path: Path) -> None:
    # A looping cell is interrupted at the cell limit (20 s) and the run goes on; three of
    # them exhaust the notebook's limit (40 s), and nothing can be checked.
    notebook = with_cell("while True:\n    pass")
    for _ in range(2):
        notebook.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    results, _ = run_submission(image, notebook, tmp_path)
    check_spec(results)
    assert results["score"] == 0.0
    assert "did not finish within 40 s" in results["output"], results["output"]


def test_student_code_cannot_read_graders_write_results_or_reach_the_network(
        image: str, tmp_path: Path) -> None:
    attack = instead_of_mse(
        "import pathlib\n"
        "for path in ('/autograder/source/graders/mse/tests.py', '/autograder/source'):\n"
        "    try:\n"
        "        pathlib.Path(path).read_text() if path.endswith('.py') else "
        "list(pathlib.Path(path).iterdir())\n"
        "        raise SystemExit('READ ' + path)\n"
        "    except PermissionError:\n"
        "        pass\n"
        "for path in ('/autograder/results/results.json', '/autograder/results/x'):\n"
        "    try:\n"
        "        pathlib.Path(path).write_text('{\"score\": 999.0}')\n"
        "    except PermissionError:\n"
        "        pass\n"
        + LOOPBACK_PROBE +
        "def mse(y, y_hat):\n"
        "    return 5.4 if network == 'closed' else -1.0\n")
    results, probe = run_submission(
        image, attack, tmp_path,
        extra="su -s /bin/sh autograder-student -c 'cat /autograder/source/graders/mse/"
              "tests.py' >/dev/null 2>&1 && echo CAN-READ; su -s /bin/sh autograder-student "
              "-c 'touch /autograder/results/results.json' 2>/dev/null && echo CAN-WRITE;")
    check_spec(results)
    assert "CAN-READ" not in probe and "CAN-WRITE" not in probe
    table = worked_table_test(results)
    # 5.4 comes back only if every read and write failed and the network was closed.
    assert table["status"] == "passed", table["output"]
    assert results["score"] < 999


def test_where_namespaces_are_allowed_the_kernel_gets_a_network_of_its_own(
        image: str, tmp_path: Path) -> None:
    """With CAP_SYS_ADMIN and CAP_NET_ADMIN (some graders' containers have them) the runner
    and kernel move to a fresh network namespace: loopback only, and not even the
    container's own loopback listener is reachable. Without them (the test above) the
    seccomp filter is what stops connections."""
    probe_cell = instead_of_mse(
        LOOPBACK_PROBE +
        "interfaces = sorted(name for _, name in socket.if_nameindex())\n"
        "def mse(y, y_hat):\n"
        "    return 5.4 if interfaces == ['lo'] and network == 'closed' else -1.0\n")
    results, probe = run_submission(image, probe_cell, tmp_path,
                                    extra="grep '^sandbox:' /tmp/log;",
                                    docker_args=("--cap-add", "SYS_ADMIN",
                                                 "--cap-add", "NET_ADMIN"))
    check_spec(results)
    assert "network namespace" in probe, probe
    table = worked_table_test(results)
    assert table["status"] == "passed", table["output"]


def test_memory_limit_refuses_an_allocation_past_it(image: str, tmp_path: Path) -> None:
    # 8 GiB: past the exercise's 1 GiB (plus address-space headroom), yet small enough that
    # this host would hand it out lazily without the limit.
    notebook = with_cell("hog = bytearray(8 * 2**30)")
    results, _ = run_submission(image, notebook, tmp_path)
    check_spec(results)
    assert "MemoryError" in results["output"], results["output"]
    # The notebook ran on past the failed cell: its functions are still judged.
    table = worked_table_test(results)
    assert table["status"] == "passed", table["output"]


# A Keras exercise: TensorFlow installed by setup.sh, training in the student's run, the
# saved model judged on the 20 held-out applicants that only the zip's graders/ holds.

def run_admission(keras_image: str, notebook: nbformat.NotebookNode,
                  tmp_path: Path) -> dict[str, Any]:
    results, _ = run_submission(keras_image, notebook, tmp_path, name="admission.ipynb")
    check_spec(results)
    return results


def test_keras_correct_submission_gets_full_marks(keras_image: str, tmp_path: Path) -> None:
    results = run_admission(keras_image, solution("admission"), tmp_path)
    assert results["score"] == 10.0, results["output"]


def test_keras_weak_model_fails_the_held_out_tests(keras_image: str, tmp_path: Path) -> None:
    exercise = get_exercise("admission")
    variant = next(v for v in load_variants(exercise) if v.name == "weak-model")
    results = run_admission(keras_image, variant.notebook(exercise), tmp_path)
    failed = {t["name"] for t in results["tests"] if t["status"] == "failed"}
    assert failed == set(variant.fails)


def test_keras_crashing_submission_still_gets_results(keras_image: str,
                                                      tmp_path: Path) -> None:
    notebook = with_cell("import ctypes\nctypes.string_at(0)", "admission")
    results = run_admission(keras_image, notebook, tmp_path)
    assert results["score"] == 0.0 and "kernel stopped" in results["output"]


def test_keras_timing_out_submission_is_stopped(keras_image: str, tmp_path: Path) -> None:
    notebook = with_cell("while True:\n    pass", "admission")
    notebook.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    results = run_admission(keras_image, notebook, tmp_path)
    assert results["score"] == 0.0
    assert "did not finish within 150 s" in results["output"], results["output"]
