"""Telling a student's failure from the grading machine's.

A crash, a timeout or a memory blow-up in the student's notebook is reported by the runner
and graded like any answer. When the runner never reports at all (the image is broken,
the engine refused the container), the failure is the machine's: it counts towards
``--max-failures`` and is not cached.
"""

from __future__ import annotations

from autograder.results import GradeResult

# autograder.pipeline words a runner that never reported this way.
SANDBOX_NEVER_REPORTED = "The sandbox stopped before reporting anything"


def sandbox_failure(result: GradeResult) -> str | None:
    """Why the sandbox failed for this result, or None when it ran the notebook."""
    if result.metadata.get("batch_error"):
        return str(result.metadata["batch_error"])
    for error in result.errors:
        if error.startswith(SANDBOX_NEVER_REPORTED):
            return error
    return None
