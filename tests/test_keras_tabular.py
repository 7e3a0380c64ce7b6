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
import numpy as np
import pytest
from nbclient import NotebookClient

from autograder import plaindata
from autograder.exercises import get_exercise
from autograder.pipeline import GradeOptions, _prepare, grade
from autograder.release.variants import load_variants
from autograder.results import GradeResult
from autograder.runner.execute import KERNEL_ENV
from autograder.sandbox.local import LocalSandbox
from autograder.submission.intake import load_submission

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


def _plain_numbers(value: object) -> list[float]:
    """Every number inside a decoded plain-data value."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, np.ndarray):
        return value.astype(float).ravel().tolist() if value.dtype.kind in "biuf" else []
    if isinstance(value, dict):
        return [n for v in value.values() for n in _plain_numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _plain_numbers(v)]
    return []


def test_held_out_admission_rows_never_reach_the_sandbox(tmp_path: Path) -> None:
    """Everything the sandbox receives (job folder, working folder) is searched for the
    held-out applicants, as text and as numbers in the probe plan."""
    exercise = get_exercise("admission")
    held_out = np.loadtxt(exercise.grader_dir / "heldout.csv", delimiter=",", skiprows=1)
    held_text = (exercise.grader_dir / "heldout.csv").read_text().splitlines()[1:]
    student = load_submission(exercise.solution_path, exercise.id)
    plan = exercise.load_grader().build_plan(seed=3)
    job = _prepare(tmp_path, exercise, student, plan, exercise.limits, GradeOptions(), env={})

    sandbox_files = [p for folder in (job.job_dir, job.workdir) for p in folder.rglob("*")
                     if p.is_file()]
    assert any(p.name == "admission.csv" for p in sandbox_files)
    contents = b"".join(p.read_bytes() for p in sandbox_files)
    for row in held_text:
        for field in row.split(",")[:2]:
            assert field.encode() not in contents, f"held-out score {field} reached the sandbox"
    visible = np.loadtxt(job.workdir / "admission.csv", delimiter=",", skiprows=1)
    assert len(visible) == 80
    assert not np.isin(held_out[:, :2], visible[:, :2]).any()
    planned = _plain_numbers(plaindata.load(job.job_dir / "plan.json",
                                            job.job_dir / "plan.npz", max_bytes=2**26))
    assert not np.isin(held_out[:, :2], planned).any()
