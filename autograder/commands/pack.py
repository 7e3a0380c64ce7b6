"""``autograder pack EXERCISE``: zip the notebook with exactly the files the exercise needs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.exercises import get_exercise
from autograder.release.submit_cell import submission_zip_name
from autograder.submission.pack import PackError, pack


def main(*, exercise: str, notebook: Path | None = None, out: Path | None = None) -> Path:
    chosen = get_exercise(exercise)
    notebook = notebook or Path(f"{chosen.id}.ipynb")
    out = out or notebook.parent / submission_zip_name(chosen)
    written = pack(notebook, list(chosen.required_files), out)
    sys.stderr.write(f"packed {written}: upload this file\n")
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pack", help="zip a notebook and its required files")
    parser.add_argument("exercise", help="exercise id")
    parser.add_argument("--notebook", type=Path, default=None,
                        help="the notebook (default: ./<exercise>.ipynb)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the zip to write (default: <exercise>-submission.zip beside it)")

    def handle(args: argparse.Namespace) -> int:
        try:
            main(exercise=args.exercise, notebook=args.notebook, out=args.out)
        except PackError as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
        return 0

    parser.set_defaults(handler=handle)
