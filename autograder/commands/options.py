"""Command-line options shared by the commands that grade."""

from __future__ import annotations

import argparse
from typing import Any

from autograder.pipeline import MODES
from autograder.sandbox import SANDBOX_NAMES


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", choices=SANDBOX_NAMES, default="auto",
                        help="where student code runs; auto: docker when available, else the "
                             "unprivileged sandbox as root, else local (grade-batch and "
                             "release refuse local unless it is named)")
    parser.add_argument("--mode", choices=MODES, default="full",
                        help="fast skips training cells and grades the submitted model files")
    parser.add_argument("--gpus", default=None,
                        help="GPUs for the Docker sandbox: all, a count, or device=ID")
    parser.add_argument("--image", default=None, help="sandbox image (Docker sandbox)")
    parser.add_argument("--timeout", type=float, default=None, dest="timeout_s",
                        help="wall-clock seconds for the whole notebook")
    parser.add_argument("--memory", type=int, default=None, dest="memory_mb",
                        help="memory limit in MiB")
    parser.add_argument("--cpus", type=float, default=None, help="CPU limit")


def limit_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in ("timeout_s", "memory_mb", "cpus")
            if getattr(args, name, None) is not None}


def sandbox_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"image": args.image} if getattr(args, "image", None) else {}
