"""``autograder``: a thin argparse layer over the commands' ``main(*, ...)`` functions.

Only the chosen command's module is imported (some pull in matplotlib, Dask or the Docker
SDK): a grading run should not pay for the start-up of commands it does not use.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from autograder.exercises import UnknownExerciseError
from autograder.sandbox.base import SandboxUnavailableError

# name → (module defining add_parser/main, one-line help for the command list)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list_exercises", "list the exercises with their points"),
    "grade": ("grade", "grade one submission"),
    "grade-batch": ("grade_batch", "grade a folder or an LMS export of submissions"),
    "validate": ("validate", "check solutions, templates and variants"),
    "release": ("release", "write student notebooks, or (with --out) the course's release"),
    "image": ("image", "build or describe the sandbox image"),
    "datasets": ("datasets", "prepare the Keras exercises' data sets"),
    "feedback": ("feedback", "render a result JSON as a feedback page"),
    "canvas": ("canvas", "Canvas gradebook CSV or direct grade push"),
    "lti": ("lti", "LTI 1.3 Assignment and Grade Services"),
    "pack": ("pack", "zip a notebook and its required files"),
}


def _chosen(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder", description="Grade machine-learning workshop notebooks in a sandbox.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    chosen = _chosen(argv)
    for name, (module, summary) in COMMANDS.items():
        if chosen == name:
            importlib.import_module(f"autograder.commands.{module}").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        return int(args.handler(args) or 0)
    except (UnknownExerciseError, SandboxUnavailableError, FileNotFoundError) as exc:
        sys.stderr.write(f"autograder: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(run())
