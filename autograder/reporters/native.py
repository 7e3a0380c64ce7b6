"""The project's own result JSON (see results.GradeResult)."""

from __future__ import annotations

import json

from autograder.results import GradeResult


def render(result: GradeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
