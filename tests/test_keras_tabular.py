"""`--mode fast` and `--mode full` reach the same verdict on the tabular Keras exercises.

For the solution and for the weak-model variant of each exercise, the notebook is first
run the way a student would run it (producing the model and scaler files), then the
notebook plus those files is graded twice: in full mode (everything re-runs, files are
re-made) and in fast mode (training cells are skipped, the handed-in files are graded).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.exercises import get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.release.variants import load_variants
from autograder.results import GradeResult
from autograder.runner.execute import KERNEL_ENV
from autograder.sandbox.local import LocalSandbox

EXERCISES = ["linear-regression", "admission"]


def _statuses(result: GradeResult) -> dict[str, str]:
    return {test.name: test.status for test in result.tests}


def _run_like_a_student(notebook: nbformat.NotebookNode, folder: Path,
                        data: list[Path]) -> None:
    for path in data:
        shutil.copyfile(path, folder / path.name)
    os.environ.update(KERNEL_ENV)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", EXERCISES)
@pytest.mark.parametrize("case", ["solution", "weak-model"])
def test_fast_and_full_mode_agree(tmp_path: Path, exercise_id: str, case: str) -> None:
    exercise = get_exercise(exercise_id)
    if case == "solution":
        notebook = nbformat.read(exercise.solution_path, as_version=4)
        expected_failures: set[str] = set()
    else:
        variant = next(v for v in load_variants(exercise) if v.name == case)
        notebook = variant.notebook(exercise)
        expected_failures = set(variant.fails)

    workspace = tmp_path / "student"
    workspace.mkdir()
    _run_like_a_student(notebook, workspace, exercise.data_paths())
    submission = tmp_path / "submission"
    submission.mkdir()
    nbformat.write(notebook, submission / f"{exercise_id}.ipynb")
    for name in exercise.required_files:
        shutil.copyfile(workspace / name, submission / name)

    verdicts = {}
    for mode in ("full", "fast"):
        result = grade(exercise=exercise, submission=submission, sandbox=LocalSandbox(),
                       options=GradeOptions(mode=mode, seed=7))
        verdicts[mode] = _statuses(result)
        failed = {name for name, status in verdicts[mode].items() if status != "passed"}
        assert failed == expected_failures, (mode, result.tests, result.errors)
    assert verdicts["fast"] == verdicts["full"]
