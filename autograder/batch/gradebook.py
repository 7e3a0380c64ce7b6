"""The batch's gradebook CSV: one row per submission, who handed it in (where the
export says), the score, one column per test. Group members are joined with "; ".

Deliberately simple; the LMS-shaped exports are built from the per-submission results.
Names, emails and ids come from the export, so cells go through the shared formula-safe
writer (autograder/reporters/spreadsheet.py).
"""

from __future__ import annotations

from autograder.batch.submitters import Submitter
from autograder.reporters.spreadsheet import render_csv
from autograder.results import GradeResult


def render(results: dict[str, GradeResult], test_names: list[str],
           submitters: dict[str, tuple[Submitter, ...]] | None = None) -> str:
    rows: list[list[str]] = [["submission", "students", "emails", "student_ids", "score",
                              "max_score", *test_names]]
    for submission in sorted(results):
        result = results[submission]
        people = (submitters or {}).get(submission, ())
        by_name = {t.name: t.score for t in result.tests}
        rows.append([submission, "; ".join(p.name for p in people),
                     "; ".join(p.email for p in people if p.email),
                     "; ".join(p.student_id for p in people if p.student_id),
                     f"{result.score:g}", f"{result.max_score:g}",
                     *(f"{by_name[n]:g}" if n in by_name else "" for n in test_names)])
    return render_csv(rows)
