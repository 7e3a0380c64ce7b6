"""``autograder feedback RESULT.json --out page.html``: a student's feedback page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.feedback.page import render_page
from autograder.results import GradeResult


def write_page(result: GradeResult, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(result), encoding="utf-8")
    return out


def main(*, result: Path, out: Path) -> Path:
    """Render the native result JSON ``result`` as an HTML page at ``out``."""
    data = json.loads(result.read_text(encoding="utf-8"))
    page = write_page(GradeResult.from_dict(data), out)
    sys.stderr.write(f"feedback page → {page}\n")
    return page


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feedback", help="render a result JSON as a feedback page")
    parser.add_argument("result", type=Path, help="a native result JSON (autograder grade)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML page to write")

    def handle(args: argparse.Namespace) -> int:
        main(result=args.result, out=args.out)
        return 0

    parser.set_defaults(handler=handle)
