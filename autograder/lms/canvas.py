"""Canvas: a gradebook CSV in Canvas's import shape, and a direct push with canvasapi."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from autograder.lms.results_in import GradedSubmission
from autograder.lms.roster import ROSTER_COLUMNS, Roster, Student
from autograder.reporters.spreadsheet import render_csv

TOKEN_ENV = "CANVAS_API_TOKEN"


@dataclass(frozen=True)
class CanvasAssignment:
    exercise: str
    assignment_id: int
    name: str
    points_possible: float | None = None  # None: the exercise's own maximum

    @property
    def column(self) -> str:
        return f"{self.name} ({self.assignment_id})"


@dataclass
class Grade:
    student: Student
    assignment: CanvasAssignment
    points: float
    comment: str


@dataclass
class Matching:
    grades: list[Grade]
    unmatched: list[str]  # submissions no roster row claims


def _comment(graded: GradedSubmission) -> str:
    result = graded.result
    failed = [t.name for t in result.tests if t.status != "passed" and t.visibility != "hidden"]
    text = f"Autograder: {result.score:g} / {result.max_score:g} on {result.exercise}."
    if failed:
        text += " Not yet passing: " + "; ".join(failed[:5]) + ("; …." if len(failed) > 5 else ".")
    return text + " See your feedback page for details."


def match_grades(graded: Iterable[GradedSubmission], roster: Roster,
                 assignments: list[CanvasAssignment]) -> Matching:
    """One grade per (student, assignment): the best score when a student has several."""
    by_exercise = {a.exercise: a for a in assignments}
    best: dict[tuple[str, int], Grade] = {}
    unmatched = []
    for item in graded:
        assignment = by_exercise.get(item.result.exercise)
        student = roster.find(item.submission)
        if assignment is None:
            continue
        if student is None:
            unmatched.append(item.submission)
            continue
        maximum = item.result.max_score or 1.0
        scale = (assignment.points_possible / maximum) if assignment.points_possible else 1.0
        grade = Grade(student, assignment, round(item.result.score * scale, 4), _comment(item))
        key = (student.canvas_id, assignment.assignment_id)
        if key not in best or grade.points > best[key].points:
            best[key] = grade
    return Matching(sorted(best.values(), key=lambda g: (g.student.name, g.assignment.column)),
                    sorted(unmatched))


def gradebook_csv(roster: Roster, assignments: list[CanvasAssignment], grades: list[Grade],
                  max_scores: dict[str, float]) -> str:
    """Canvas's gradebook import shape: the roster columns, one column per assignment named
    ``Name (id)``, and a "Points Possible" row under the header."""
    points = {(g.student.canvas_id, g.assignment.assignment_id): g.points for g in grades}
    rows: list[list[str]] = [
        [*ROSTER_COLUMNS, *(a.column for a in assignments)],
        ["    Points Possible", "", "", "", "",
         *(f"{a.points_possible or max_scores.get(a.exercise, 0):g}" for a in assignments)]]
    for student in sorted(roster.students, key=lambda s: s.name):
        rows.append([student.name, student.canvas_id, student.sis_user_id,
                     student.sis_login_id, student.section,
                     *(_cell(points.get((student.canvas_id, a.assignment_id)))
                       for a in assignments)])
    # Roster names and ids are the students' own text: formula-safe cells.
    return render_csv(rows)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass
class PushReport:
    sent: list[Grade]
    planned: list[Grade]
    dry_run: bool


def push_grades(grades: list[Grade], *, url: str, course_id: int, apply: bool = False,
                token: str | None = None) -> PushReport:
    """Post each grade and its comment to Canvas. Without ``apply`` nothing is sent (and no
    token is needed): the report lists what would be."""
    if not apply:
        return PushReport(sent=[], planned=list(grades), dry_run=True)
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise PermissionError(f"set {TOKEN_ENV} to a Canvas API token to push grades")
    from canvasapi import Canvas

    course = Canvas(url, token).get_course(course_id)
    assignments: dict[int, Any] = {}
    sent = []
    for grade in grades:
        number = grade.assignment.assignment_id
        if number not in assignments:
            assignments[number] = course.get_assignment(number)
        submission = assignments[number].get_submission(int(grade.student.canvas_id))
        submission.edit(submission={"posted_grade": f"{grade.points:g}"},
                        comment={"text_comment": grade.comment})
        sent.append(grade)
    return PushReport(sent=sent, planned=list(grades), dry_run=False)
