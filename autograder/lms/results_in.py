"""Reading graded results (native JSON) and naming the submission each one belongs to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autograder.results import GradeResult


@dataclass
class GradedSubmission:
    submission: str  # the name the LMS export gave it (file or folder)
    result: GradeResult


def read_results(paths: list[Path]) -> list[GradedSubmission]:
    """Result files, or folders of them. A result names its submission in
    ``metadata["submission"]``; otherwise the result file's stem is the submission name."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    graded = []
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "tests" not in data:
            continue  # not a native result (e.g. a batch summary)
        result = GradeResult.from_dict(data)
        name = str(result.metadata.get("submission") or file.stem)
        graded.append(GradedSubmission(name, result))
    return graded
