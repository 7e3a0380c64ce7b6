"""Shared fixtures: real notebooks, real kernels, the course's own exercises."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.exercises import Exercise, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.results import GradeResult
from autograder.sandbox import LocalSandbox, Sandbox


@pytest.fixture(scope="session")
def mse() -> Exercise:
    return get_exercise("mse")


@pytest.fixture(scope="session")
def local_sandbox() -> Sandbox:
    return LocalSandbox()


def solution_with(exercise: Exercise, replacements: dict[str, str],
                  extra_cells: list[str] | None = None) -> nbformat.NotebookNode:
    """The exercise's solution with some solution cells (by autograder id) replaced."""
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    for cell in notebook.cells:
        cell_id = cell.get("metadata", {}).get("autograder", {}).get("id")
        if cell_id in replacements:
            cell["source"] = replacements[cell_id]
    for source in extra_cells or []:
        notebook.cells.append(nbformat.v4.new_code_cell(source))
    return notebook


@pytest.fixture
def write_notebook(tmp_path: Path) -> Callable[[Any, str], Path]:
    def write(notebook: Any, name: str = "submission.ipynb") -> Path:
        path = tmp_path / name
        if isinstance(notebook, bytes):
            path.write_bytes(notebook)
        elif isinstance(notebook, str):
            path.write_text(notebook, encoding="utf-8")
        else:
            path.write_text(json.dumps(notebook), encoding="utf-8")
        return path
    return write


@pytest.fixture
def grade_local(local_sandbox: Sandbox) -> Callable[..., GradeResult]:
    def run(exercise: Exercise, submission: Path, **options: Any) -> GradeResult:
        return grade(exercise=exercise, submission=submission, sandbox=local_sandbox,
                     options=GradeOptions(**options))
    return run


def scores(result: GradeResult) -> dict[str, float]:
    return {t.name: t.score for t in result.tests}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With AUTOGRADER_STRICT=1 (CI), a skipped test is a failure: CI installs and starts
    everything the tests need, so a skip there means something is missing."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("AUTOGRADER_STRICT") == "1" and report.skipped \
            and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which CI does not allow: {report.longrepr}"
