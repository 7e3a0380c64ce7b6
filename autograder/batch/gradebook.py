"""The batch's gradebook CSV: one row per submission, one column per test.

Deliberately simple; the LMS-shaped exports are built from the per-submission results.
"""

from __future__ import annotations

import csv
import io

from autograder.results import GradeResult


def render(results: dict[str, GradeResult], test_names: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *test_names])
    for submission in sorted(results):
        result = results[submission]
        by_name = {t.name: t.score for t in result.tests}
        writer.writerow([submission, f"{result.score:g}", f"{result.max_score:g}",
                         *(f"{by_name[n]:g}" if n in by_name else "" for n in test_names)])
    return buffer.getvalue()
