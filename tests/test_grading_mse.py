"""End to end on the mse exercise with real kernels: right answers, bad input, cheating."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from autograder.exercises import Exercise
from autograder.results import GradeResult
from tests.conftest import scores, solution_with

pytestmark = pytest.mark.slow

Grade = Callable[..., GradeResult]
Write = Callable[..., Path]


def test_the_solution_gets_full_marks(mse: Exercise, grade_local: Grade) -> None:
    result = grade_local(mse, mse.solution_path)
    assert result.score == result.max_score > 0, result.tests
    assert result.errors == []
    assert result.metadata["isolated"] is False


def test_cli_writes_gradescope_results(mse: Exercise, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "mse", str(mse.solution_path),
         "--sandbox", "local", "--format", "gradescope", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    data = json.loads(out.read_text())
    assert isinstance(data["score"], float) and isinstance(data["execution_time"], float)
    assert {t["status"] for t in data["tests"]} == {"passed"}
    assert all(set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
               for t in data["tests"])
    assert "unisolated" in completed.stderr and "15 / 15" in completed.stderr


def _messages(result: GradeResult) -> str:
    return "\n".join([t.output for t in result.tests] + result.errors)


BAD_FUNCTIONS = {
    "missing": ({"mse": "x = 1"}, "`mse` is not defined in your notebook"),
    "signature": ({"mse": "def mse(y):\n    return 0.0"}, "cannot be called the way"),
    "raises": ({"mse": "def mse(y, y_hat):\n    raise ValueError('oops')"},
               "raised an error: ValueError: oops"),
    "shape": ({"mse": "def mse(y, y_hat):\n    return (np.ravel(y) - np.ravel(y_hat)) ** 2"},
              "should be a single number, but it is an array of shape"),
    "nan": ({"mse": "def mse(y, y_hat):\n    return float('nan')"}, "is nan"),
    "type": ({"mse": "def mse(y, y_hat):\n    return 'five'"}, "should be a number"),
    "object": ({"mse": "def mse(y, y_hat):\n    return object()"}, "not a number, array"),
    "endless": ({"mse": "def mse(y, y_hat):\n    while True:\n        pass"},
                "did not return within"),
}


@pytest.mark.parametrize("case", sorted(BAD_FUNCTIONS))
def test_bad_functions_fail_with_specific_messages(case: str, mse: Exercise, grade_local: Grade,
                                                   write_notebook: Write) -> None:
    replacement, message = BAD_FUNCTIONS[case]
    # Short limits: the public checks in the notebook call the endless mse too.
    limits = mse.limits.override(timeout_s=40, cell_timeout_s=4)
    result = grade_local(mse, write_notebook(solution_with(mse, replacement)), limits=limits)
    got = scores(result)
    assert got["mse on random 1-D arrays"] == 0
    assert message in _messages(result)
    # cost is untouched by the broken mse and keeps its points
    assert got["cost with 1-D y and w"] == 1


def test_errors_in_cells_are_reported_and_later_cells_still_run(
        mse: Exercise, grade_local: Grade, write_notebook: Write) -> None:
    notebook = solution_with(mse, {"mse": "undefined_name + 1\n" +
                                   "def mse(y, y_hat):\n    return 0.0"})
    result = grade_local(mse, write_notebook(notebook))
    assert any("NameError: name 'undefined_name' is not defined" in e for e in result.errors)
    assert scores(result)["cost with 1-D y and w"] == 1


def test_a_flood_of_output_is_cut_and_grading_completes(
        mse: Exercise, grade_local: Grade, write_notebook: Write) -> None:
    notebook = solution_with(mse, {}, extra_cells=["print('x' * 5_000_000)"])
    result = grade_local(mse, write_notebook(notebook))
    assert result.score == result.max_score
    assert any("printed more than" in e for e in result.errors)
    assert len(json.dumps(result.to_dict())) < 50_000


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "not valid JSON"),
    (json.dumps({"cells": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}).encode(),
     "notebook format 3"),
    (b'{"cells": [], "nbformat": 4, "metadata": {"x": "caf\xe9"}, "nbformat_minor": 5}',
     "not UTF-8"),
])
def test_unreadable_notebooks_score_zero_with_the_reason(
        content: bytes, message: str, mse: Exercise, tmp_path: Path) -> None:
    path = tmp_path / "mse.ipynb"
    path.write_bytes(content)
    completed = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "mse", str(path), "--sandbox", "local"],
        capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["score"] == 0 and message in result["errors"][0]
    assert all(message in t["output"] for t in result["tests"])


def test_kernel_exit_is_reported(mse: Exercise, grade_local: Grade,
                                 write_notebook: Write) -> None:
    notebook = solution_with(mse, {}, extra_cells=["import os\nos._exit(0)"])
    result = grade_local(mse, write_notebook(notebook))
    assert result.score == 0
    assert any("kernel stopped" in e for e in result.errors)


CHEATS = {
    "patch numpy": "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                   "import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None",
    "patch autograder": (
        "import autograder.judge.checks as c, autograder.judge.framework as f\n"
        "c.expect_close = lambda *a, **k: None\nc.expect_number = lambda *a, **k: 1.0\n"
        "f.Grader.run_tests = lambda self, ctx: ([], [])"),
    "print results": 'print(\'{"score": 15, "max_score": 15, "tests": []}\')',
}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheating_earns_nothing_over_the_wrong_answer(cheat: str, mse: Exercise,
                                                      grade_local: Grade,
                                                      write_notebook: Write) -> None:
    wrong = {"mse": "def mse(y, y_hat):\n    return 1.0",
             "cost": "def cost(X, y, w):\n    return 1.0"}
    honest = grade_local(mse, write_notebook(solution_with(mse, wrong), "honest.ipynb"))
    cheating = grade_local(mse, write_notebook(
        solution_with(mse, wrong, extra_cells=[CHEATS[cheat]]), "cheat.ipynb"))
    assert cheating.score <= honest.score < honest.max_score


def test_hidden_tests_never_reach_the_student(mse: Exercise, grade_local: Grade,
                                              write_notebook: Write, tmp_path: Path) -> None:
    """The student's notebook lists and reads everything in its working folder and in the
    probe's job folder; neither holds the hidden tests or reference code, and the result
    quotes none of them."""
    listing = tmp_path / "seen.txt"
    spy = (
        "import os\n"
        f"seen = open({str(listing)!r}, 'w')\n"
        "for root in ['.', '../job', '../out']:\n"
        "    for folder, _, files in os.walk(root):\n"
        "        for name in files:\n"
        "            path = os.path.join(folder, name)\n"
        "            seen.write(path + '\\n')\n"
        "            try:\n"
        "                seen.write(open(path, errors='replace').read())\n"
        "            except OSError:\n"
        "                pass\n"
        "seen.close()\n")
    notebook = solution_with(mse, {}, extra_cells=[spy])
    result = grade_local(mse, write_notebook(notebook))
    seen = listing.read_text()
    assert "mse.ipynb" in seen and "plan.json" in seen
    hidden = (mse.grader_dir / "tests.py").read_text()
    secrets = [line.strip() for line in hidden.splitlines() if line.strip().startswith("def ")]
    secrets += ["grader.vectorization", "tests.py"]
    assert len(secrets) > 5
    for secret in secrets:
        assert secret not in seen
        assert secret not in json.dumps(result.to_dict())


def test_the_released_template_holds_no_solution(mse: Exercise) -> None:
    template = nbformat.read(mse.assignment_path, as_version=4)
    text = json.dumps(template)
    assert "BEGIN SOLUTION" not in text
    assert "np.mean(errors ** 2)" not in text
    assert "NotImplementedError" in text


def test_fast_mode_skips_training_and_evaluation_cells_and_full_mode_runs_them(
        mse: Exercise, grade_local: Grade, write_notebook: Write) -> None:
    notebook = solution_with(mse, {})
    for role in ("training", "evaluation"):
        cell = nbformat.v4.new_code_cell(f"raise RuntimeError('the {role} cell ran')")
        cell.metadata["autograder"] = {"role": role}
        notebook.cells.append(cell)
    path = write_notebook(notebook, "mse.ipynb")

    fast = grade_local(mse, path, mode="fast")
    assert fast.score == fast.max_score and fast.problems == []
    full = grade_local(mse, path, mode="full")
    assert full.score == full.max_score
    cell_errors = [p.message for p in full.problems if p.code.value == "cell-error"]
    assert cell_errors == [
        f"Cell {len(notebook.cells) - 1} raised RuntimeError: the training cell ran",
        f"Cell {len(notebook.cells)} raised RuntimeError: the evaluation cell ran"]
