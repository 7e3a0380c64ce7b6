"""``autograder release``: regenerate the student notebooks from the solutions, or, with
``--out DIR``, validate the exercises and write the course's release files there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.exercises import Exercise, all_exercises, course_root, get_exercise
from autograder.release.assignments import release_assignment
from autograder.release.dist import ReleaseRefusedError, write_dist
from autograder.sandbox import SANDBOX_NAMES


def validate_for_release(exercises: list[Exercise], sandbox: str) -> None:
    """Refuse the release unless every exercise passes ``autograder validate``."""
    from autograder.commands import validate
    from autograder.sandbox import make_sandbox

    # A release ships what this grades; it is graded isolated unless --sandbox local says
    # otherwise, never because Docker happened to be down.
    box = make_sandbox(sandbox, isolated_only=True)
    checks = validate.main(exercises=[e.id for e in exercises], sandbox=box.name,
                           sandbox_box=box)
    broken = [c for c in checks if not c.ok]
    if broken:
        lines = [f"  {c.exercise}: {c.case} should give {c.expectation}, got "
                 f"{c.detail.splitlines()[0]}" for c in broken]
        raise ReleaseRefusedError(
            "release refused, nothing was written: these exercises fail validation\n"
            + "\n".join(lines) + "\nFix the solution, the grader or the variant, then run "
            "`autograder validate` until it passes.")


def main(*, exercises: list[str] | None = None, out: Path | None = None,
         sandbox: str = "auto", validate: bool = True) -> list[Path]:
    chosen = [get_exercise(e) for e in exercises] if exercises else all_exercises()
    if out is None:
        out_root = course_root() / "assignments"
        written: list[Path] = []
        for exercise in chosen:
            written += release_assignment(exercise, out_root)
            sys.stderr.write(f"released {exercise.id} → {out_root / exercise.id}\n")
        return written
    if validate:
        validate_for_release(chosen, sandbox)
    written = write_dist(chosen, out)
    sys.stderr.write(f"released {', '.join(e.id for e in chosen)} → {out} "
                     f"({len(written)} files)\n")
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release", help="write student notebooks, or (with --out) the course's release files")
    parser.add_argument("exercises", nargs="*", help="exercise ids (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write student bundles, otter tests and Gradescope zips here "
                             "(default: only regenerate the course's assignments/)")
    parser.add_argument("--sandbox", choices=SANDBOX_NAMES, default="auto",
                        help="sandbox used to validate before releasing (auto: docker, else "
                             "unprivileged as root; never local unless asked)")
    parser.add_argument("--no-validate", dest="validate", action="store_false",
                        help="skip validation (drafts only: never hand these to students)")

    def handle(args: argparse.Namespace) -> int:
        try:
            main(exercises=args.exercises, out=args.out, sandbox=args.sandbox,
                 validate=args.validate)
        except ReleaseRefusedError as exc:
            sys.stderr.write(f"autograder: error: {exc}\n")
            return 1
        return 0

    parser.set_defaults(handler=handle)
