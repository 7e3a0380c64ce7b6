"""``autograder list``: the exercises and their points."""

from __future__ import annotations

import argparse
import sys

from autograder.exercises import Exercise, all_exercises


def main() -> list[tuple[Exercise, float]]:
    rows = [(exercise, exercise.load_grader().max_score) for exercise in all_exercises()]
    width = max((len(e.id) for e, _ in rows), default=10)
    for exercise, points in rows:
        sys.stdout.write(f"{exercise.id:<{width}}  {points:>5g} pts  {exercise.title}\n")
    return rows


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list the exercises with their points")

    def handle(args: argparse.Namespace) -> int:
        main()
        return 0

    parser.set_defaults(handler=handle)
