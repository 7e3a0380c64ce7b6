"""``autograder release``: regenerate the student notebooks from the solutions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.exercises import all_exercises, course_root, get_exercise
from autograder.release.assignments import release_assignment


def main(*, exercises: list[str] | None = None, out: Path | None = None) -> list[Path]:
    chosen = [get_exercise(e) for e in exercises] if exercises else all_exercises()
    out_root = out or course_root() / "assignments"
    written: list[Path] = []
    for exercise in chosen:
        written += release_assignment(exercise, out_root)
        sys.stderr.write(f"released {exercise.id} → {out_root / exercise.id}\n")
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("release", help="write student notebooks from solutions")
    parser.add_argument("exercises", nargs="*", help="exercise ids (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the course's assignments/)")

    def handle(args: argparse.Namespace) -> int:
        main(exercises=args.exercises, out=args.out)
        return 0

    parser.set_defaults(handler=handle)
