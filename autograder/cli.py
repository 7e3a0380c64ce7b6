"""``autograder``: a thin argparse layer over the commands' ``main(*, ...)`` functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograder.commands import (
    canvas,
    datasets,
    feedback,
    grade,
    grade_batch,
    image,
    list_exercises,
    lti,
    pack,
    release,
    validate,
)
from autograder.exercises import UnknownExerciseError
from autograder.sandbox import SandboxUnavailableError

COMMANDS = [list_exercises, grade, grade_batch, validate, release, image, datasets, feedback,
            canvas, lti, pack]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UnknownExerciseError, SandboxUnavailableError, FileNotFoundError) as exc:
        sys.stderr.write(f"autograder: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(run())
