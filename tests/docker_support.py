"""Shared pieces of the Docker tests: the sandbox on the real engine, notebooks built from
code cells, fast limits, and reading facts a notebook reports from inside the container."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from autograder.exercises import Limits, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.results import GradeResult
from autograder.sandbox import Sandbox
from autograder.sandbox.docker import DockerSandbox

# Small limits keep the hostile cases fast; the kernel without TensorFlow fits easily.
FAST_LIMITS = Limits(timeout_s=25, cell_timeout_s=10, memory_mb=512, cpus=1.0, pids=128,
                     output_kb=64, disk_mb=64)


def connect() -> DockerSandbox:
    """The Docker sandbox; a missing engine or image fails the test (never skips it)."""
    return DockerSandbox.connect()


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)
    return path


def grade_cells(box: Sandbox, folder: Path, cells: list[str], *,
                limits: Limits = FAST_LIMITS) -> GradeResult:
    folder.mkdir(parents=True, exist_ok=True)
    notebook = write_notebook(folder / "mse.ipynb", cells)
    return grade_path(box, notebook, limits=limits)


def grade_path(box: Sandbox, submission: Path, *, limits: Limits | None = None) -> GradeResult:
    exercise = get_exercise("mse")
    return grade(exercise=exercise, submission=submission, sandbox=box,
                 options=GradeOptions(limits=limits))


def reported(result: GradeResult, tag: str) -> dict:
    """The JSON a cell raised as ``RuntimeError("<tag> {...}")``: how a notebook reports
    what it saw inside the container (cell errors are the one channel back)."""
    for error in result.errors:
        match = re.search(rf"RuntimeError: {tag} (\{{.*\}})", error)
        if match:
            return json.loads(match.group(1))
    raise AssertionError(f"no {tag} report in {result.errors}")


def report_cell(tag: str, expression: str) -> str:
    return f"import json as _json\nraise RuntimeError({tag!r} + ' ' + _json.dumps({expression}))"
