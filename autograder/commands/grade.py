"""``autograder grade EXERCISE SUBMISSION``: grade one submission."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autograder.commands.options import (
    add_grading_options,
    limit_overrides,
    sandbox_options,
)
from autograder.exercises import get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.reporters import FORMATS, summary
from autograder.results import GradeResult
from autograder.sandbox import make_sandbox
from autograder.sandbox.local import WARNING as LOCAL_WARNING


def main(*, exercise: str, submission: Path, out: Path | None = None, format: str = "native",
         sandbox: str = "auto", mode: str = "full", gpus: str | None = None,
         limits: dict[str, Any] | None = None, sandbox_settings: dict[str, Any] | None = None,
         quiet: bool = False, feedback: Path | None = None) -> GradeResult:
    """Grade ``submission`` and write the result in ``format`` to ``out`` (or stdout)."""
    chosen = get_exercise(exercise)
    box = make_sandbox(sandbox, **(sandbox_settings or {}))
    if not box.isolated and not quiet:
        sys.stderr.write(f"warning: {LOCAL_WARNING}\n")
    options = GradeOptions(limits=chosen.limits.override(**(limits or {})), mode=mode, gpus=gpus)
    result = grade(exercise=chosen, submission=submission, sandbox=box, options=options)
    text = FORMATS[format](result)
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if feedback is not None:
        from autograder.commands.feedback import write_page  # matplotlib only when asked

        write_page(result, feedback)
    if not quiet:
        sys.stderr.write(summary.render(result))
    return result


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grade", help="grade one submission")
    parser.add_argument("exercise", help="exercise id (see `autograder list`)")
    parser.add_argument("submission", type=Path, help="a .ipynb, a folder or a zip")
    parser.add_argument("--out", type=Path, default=None, help="result file (default stdout)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="native")
    parser.add_argument("--feedback", type=Path, default=None,
                        help="also write the student's HTML feedback page here")
    add_grading_options(parser)

    def handle(args: argparse.Namespace) -> int:
        main(exercise=args.exercise, submission=args.submission, out=args.out,
             format=args.format, sandbox=args.sandbox, mode=args.mode, gpus=args.gpus,
             limits=limit_overrides(args), sandbox_settings=sandbox_options(args),
             feedback=args.feedback)
        return 0

    parser.set_defaults(handler=handle)
