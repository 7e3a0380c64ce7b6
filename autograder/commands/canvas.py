"""``autograder canvas gradebook|push``: grades from result JSONs into Canvas."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.exercises import UnknownExerciseError, get_exercise
from autograder.lms.canvas import (
    CanvasAssignment,
    PushReport,
    gradebook_csv,
    match_grades,
    push_grades,
)
from autograder.lms.results_in import read_results
from autograder.lms.roster import Roster


def parse_assignment(text: str) -> CanvasAssignment:
    """``EXERCISE=ASSIGNMENT_ID`` or ``EXERCISE=ASSIGNMENT_ID:POINTS_POSSIBLE``."""
    try:
        exercise, rest = text.split("=", 1)
        number, _, points = rest.partition(":")
        assignment_id = int(number)
        possible = float(points) if points else None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write EXERCISE=ASSIGNMENT_ID[:POINTS], e.g. mse=1234 or mse=1234:10"
        ) from None
    try:
        name = get_exercise(exercise).title
    except UnknownExerciseError:
        name = exercise
    return CanvasAssignment(exercise, assignment_id, name, possible)


def gradebook(*, results: list[Path], roster: Path, assignments: list[CanvasAssignment],
              out: Path, gradescope_metadata: Path | None = None) -> list[str]:
    """Write the gradebook CSV; returns the submissions that matched no student."""
    people = Roster.read(roster, gradescope_metadata)
    graded = read_results(results)
    matching = match_grades(graded, people, assignments)
    maxima = {g.result.exercise: g.result.max_score for g in graded}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(gradebook_csv(people, assignments, matching.grades, maxima), encoding="utf-8")
    _warn_unmatched(matching.unmatched)
    sys.stderr.write(f"gradebook: {len(matching.grades)} grades → {out}\n")
    return matching.unmatched


def push(*, results: list[Path], roster: Path, assignments: list[CanvasAssignment], url: str,
         course: int, apply: bool = False, gradescope_metadata: Path | None = None
         ) -> PushReport:
    people = Roster.read(roster, gradescope_metadata)
    matching = match_grades(read_results(results), people, assignments)
    _warn_unmatched(matching.unmatched)
    report = push_grades(matching.grades, url=url, course_id=course, apply=apply)
    verb = "would send" if report.dry_run else "sent"
    for grade in report.planned:
        sys.stdout.write(f"{verb}: {grade.student.name} ({grade.student.canvas_id}) "
                         f"{grade.assignment.column} = {grade.points:g} — {grade.comment}\n")
    if report.dry_run:
        sys.stderr.write("dry run: nothing was sent; add --apply to post these grades\n")
    return report


def _warn_unmatched(names: list[str]) -> None:
    for name in names:
        sys.stderr.write(f"warning: no roster entry for submission {name!r}\n")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("canvas", help="Canvas gradebook CSV or direct grade push")
    actions = parser.add_subparsers(dest="canvas_action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("results", nargs="+", type=Path, help="result JSONs or folders")
    common.add_argument("--roster", type=Path, required=True,
                        help="CSV with Student, ID, SIS User ID, SIS Login ID, Section "
                             "(a Canvas gradebook export)")
    common.add_argument("--assignment", dest="assignments", action="append", required=True,
                        type=parse_assignment, help="EXERCISE=ASSIGNMENT_ID[:POINTS] (repeat)")
    common.add_argument("--gradescope-metadata", type=Path, default=None,
                        help="submission_metadata.yml of a Gradescope export")

    book = actions.add_parser("gradebook", parents=[common], help="write a gradebook CSV")
    book.add_argument("--out", type=Path, required=True)

    def handle_gradebook(args: argparse.Namespace) -> int:
        gradebook(results=args.results, roster=args.roster, assignments=args.assignments,
                  out=args.out, gradescope_metadata=args.gradescope_metadata)
        return 0

    book.set_defaults(handler=handle_gradebook)

    send = actions.add_parser("push", parents=[common],
                              help="post grades and comments (dry run unless --apply)")
    send.add_argument("--url", required=True, help="Canvas base URL, e.g. https://canvas.edu")
    send.add_argument("--course", type=int, required=True, help="Canvas course ID")
    send.add_argument("--apply", action="store_true",
                      help="really send (the token comes from CANVAS_API_TOKEN)")

    def handle_push(args: argparse.Namespace) -> int:
        try:
            push(results=args.results, roster=args.roster, assignments=args.assignments,
                 url=args.url, course=args.course, apply=args.apply,
                 gradescope_metadata=args.gradescope_metadata)
        except PermissionError as exc:
            sys.stderr.write(f"autograder: error: {exc}\n")
            return 2
        return 0

    send.set_defaults(handler=handle_push)
