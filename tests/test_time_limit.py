"""A notebook stopped by its time limit keeps what it earned before the stop.

The probe still runs on what the kernel holds (functions defined, files saved) within a
short allowance after the limit; tests of things later cells would have made say so."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.exercises import Exercise, Limits, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.results import GradeResult
from autograder.runner.execute import KERNEL_ENV
from autograder.sandbox.local import LocalSandbox
from tests.conftest import scores

pytestmark = pytest.mark.slow

ENDLESS = "import time\nwhile True:\n    time.sleep(0.05)"


def _with_endless_cell_before(notebook: nbformat.NotebookNode,
                              cell_id: str) -> tuple[nbformat.NotebookNode, int]:
    """The notebook with an endless cell inserted before the cell ``cell_id``, and that
    cell's 1-based number."""
    position = next(i for i, cell in enumerate(notebook.cells)
                    if cell.get("metadata", {}).get("autograder", {}).get("id") == cell_id)
    notebook.cells.insert(position, nbformat.v4.new_code_cell(ENDLESS))
    return notebook, position + 1


def _messages(result: GradeResult) -> str:
    return "\n".join([t.output for t in result.tests] + result.errors)


def test_limits_leave_the_probe_an_allowance() -> None:
    assert Limits(timeout_s=180).wall_s == 210
    assert Limits(timeout_s=8).probe_allowance_s == 5
    assert Limits(timeout_s=100, probe_allowance=12).wall_s == 112


def test_functions_defined_before_the_stop_keep_their_points(
        mse: Exercise, grade_local: Callable[..., GradeResult],
        write_notebook: Callable[..., Path]) -> None:
    notebook, stopped_cell = _with_endless_cell_before(
        nbformat.read(mse.solution_path, as_version=4), "cost")
    # The cell limit is longer than the notebook's: the notebook's own limit stops it.
    limits = mse.limits.override(timeout_s=20, cell_timeout_s=60)
    result = grade_local(mse, write_notebook(notebook), limits=limits)
    got = scores(result)
    mse_tests = [t for t in result.tests if t.name.startswith("mse")]
    assert mse_tests and all(t.status == "passed" for t in mse_tests), result.tests
    assert got["cost with 1-D y and w"] == 0
    text = _messages(result)
    assert f"stopped in cell {stopped_cell}" in text
    assert f"time limit stopped it in cell {stopped_cell}" in text  # on cost's own tests
    assert "--mode fast" in text and "--timeout" in text


def test_saved_models_keep_their_points_after_the_stop(tmp_path: Path) -> None:
    exercise = get_exercise("linear-regression")
    solution = nbformat.read(exercise.solution_path, as_version=4)
    workspace = tmp_path / "student"
    workspace.mkdir()
    for path in exercise.data_paths():
        shutil.copyfile(path, workspace / path.name)
    os.environ.update(KERNEL_ENV)
    NotebookClient(solution, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(workspace)}}).execute()

    notebook, _ = _with_endless_cell_before(
        nbformat.read(exercise.solution_path, as_version=4), "predict_price")
    submission = tmp_path / "submission"
    submission.mkdir()
    nbformat.write(notebook, submission / f"{exercise.id}.ipynb")
    for name in exercise.required_files:
        shutil.copyfile(workspace / name, submission / name)
    limits = exercise.limits.override(timeout_s=60, cell_timeout_s=120)
    result = grade(exercise=exercise, submission=submission, sandbox=LocalSandbox(),
                   options=GradeOptions(mode="fast", seed=7, limits=limits))
    failed = {t.name for t in result.tests if t.status != "passed"}
    # Only predict_price, defined after the stop, is lost; every model file still counts.
    assert failed and all("predict_price" in name for name in failed), result.tests
    assert any(".keras" in t.name and t.status == "passed" for t in result.tests)
    assert "never ran" in _messages(result)


@pytest.mark.docker
def test_the_warm_sandbox_leaves_the_probe_its_allowance(
        mse: Exercise, write_notebook: Callable[..., Path]) -> None:
    from autograder.sandbox.warm import WarmDockerSandbox

    notebook, stopped_cell = _with_endless_cell_before(
        nbformat.read(mse.solution_path, as_version=4), "cost")
    limits = mse.limits.override(timeout_s=20, cell_timeout_s=60)
    box = WarmDockerSandbox.connect()
    try:
        result = grade(exercise=mse, submission=write_notebook(notebook), sandbox=box,
                       options=GradeOptions(limits=limits))
    finally:
        box.close()
    mse_tests = [t for t in result.tests if t.name.startswith("mse")]
    assert mse_tests and all(t.status == "passed" for t in mse_tests), result.tests
    assert f"time limit stopped it in cell {stopped_cell}" in _messages(result)
