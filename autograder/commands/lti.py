"""``autograder lti publish RESULT.json``: send a score to an LTI 1.3 line item (AGS)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autograder.lms.lti import LtiPlatform, Score, publish_score
from autograder.results import GradeResult


def publish(*, result: Path, config: Path, lineitem: str, user: str,
            apply: bool = False) -> tuple[Score, dict[str, Any] | None]:
    """Dry run unless ``apply``: prints the score that would be sent."""
    graded = GradeResult.from_dict(json.loads(result.read_text(encoding="utf-8")))
    score = Score.from_result(graded, user)
    sys.stdout.write(json.dumps(asdict(score)) + "\n")
    if not apply:
        sys.stderr.write("dry run: nothing was sent; add --apply to publish this score\n")
        return score, None
    reply = publish_score(LtiPlatform.read(config), lineitem, score)
    sys.stderr.write(f"published {score.score_given:g}/{score.score_maximum:g} for {user} "
                     f"to {lineitem}\n")
    return score, reply


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lti", help="LTI 1.3 Assignment and Grade Services")
    actions = parser.add_subparsers(dest="lti_action", required=True)
    send = actions.add_parser("publish", help="publish a result's score to a line item")
    send.add_argument("result", type=Path, help="a native result JSON")
    send.add_argument("--config", type=Path, required=True, help="the platform's lti.toml")
    send.add_argument("--lineitem", required=True, help="the line item URL")
    send.add_argument("--user", required=True, help="the platform's user id (LTI sub)")
    send.add_argument("--apply", action="store_true", help="really send")

    def handle(args: argparse.Namespace) -> int:
        publish(result=args.result, config=args.config, lineitem=args.lineitem, user=args.user,
                apply=args.apply)
        return 0

    send.set_defaults(handler=handle)
