"""Telling a student's failure from the grading machine's.

A crash, a timeout or a memory blow-up in the student's notebook is reported by the runner
and graded like any answer. When the runner never reports at all (the image is broken,
the engine refused the container), the failure is the machine's: it counts towards
``--max-failures`` and is not cached.
"""

from __future__ import annotations

from autograder.results import MACHINE_PROBLEMS, GradeResult


def sandbox_failure(result: GradeResult) -> str | None:
    """Why the sandbox failed for this result, or None when it ran the notebook. Decided by
    problem codes, never by a message's words."""
    if result.metadata.get("batch_error"):
        return str(result.metadata["batch_error"])
    for problem in result.problems:
        if problem.code in MACHINE_PROBLEMS:
            return problem.message
    return None
