"""Gradescope's ``results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Gradescope knows only ``passed`` and ``failed``; an ``error`` test is reported as failed
with its message.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.results import GradeResult


def to_gradescope(result: GradeResult) -> dict[str, Any]:
    lines = [f"{result.exercise}: {result.score:g} / {result.max_score:g}"]
    lines += [f"- {error}" for error in result.errors]
    return {
        "score": float(result.score),
        "execution_time": float(result.execution_time),
        "output": "\n".join(lines),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": test.name,
                "score": float(test.score),
                "max_score": float(test.max_score),
                "status": "passed" if test.status == "passed" else "failed",
                "output": test.output,
                "visibility": test.visibility,
            }
            for test in result.tests
        ],
    }


def render(result: GradeResult) -> str:
    return json.dumps(to_gradescope(result), indent=2, ensure_ascii=False) + "\n"
