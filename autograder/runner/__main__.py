"""``python -m autograder.runner --job DIR --workdir DIR --out DIR``: the sandbox's entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.runner.execute import run_job


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner")
    parser.add_argument("--job", type=Path, required=True, help="plan and job settings")
    parser.add_argument("--workdir", type=Path, required=True, help="the notebook's folder")
    parser.add_argument("--out", type=Path, required=True, help="where plain results go")
    args = parser.parse_args()
    run_job(args.job, args.workdir, args.out)


if __name__ == "__main__":
    main()
