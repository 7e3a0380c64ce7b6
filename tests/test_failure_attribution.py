"""A notebook that ends the grading run without a report is the student's failure, not
the machine's: graded, cached, and not counted toward a batch's --max-failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.batch.failures import sandbox_failure
from autograder.exercises import Exercise
from autograder.results import GradeResult, ProblemCode
from tests.conftest import solution_with

# The runner is the kernel's parent; its command line names the results folder.
REMOVE_REPORT_AND_KILL_RUNNER = """
import os, signal
arguments = open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\\0")
out = arguments[arguments.index(b"--out") + 1].decode()
os.remove(os.path.join(out, "execution.json"))
os.kill(os.getppid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_a_notebook_that_removes_its_report_is_graded_not_a_machine_failure(
        mse: Exercise, grade_local: Callable[..., GradeResult],
        write_notebook: Callable[..., Path]) -> None:
    notebook = solution_with(mse, {}, extra_cells=[REMOVE_REPORT_AND_KILL_RUNNER])
    result = grade_local(mse, write_notebook(notebook))
    assert result.score == 0
    assert [p.code for p in result.problems][:1] == [ProblemCode.NOTEBOOK_NO_REPORT]
    assert sandbox_failure(result) is None
