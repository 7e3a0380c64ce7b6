"""``autograder datasets prepare``: write the public Keras cache and the held-out splits."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.datasets import Prepared, heldout_dir, prepare, public_data_dir


def main(*, public_dir: Path | None = None, heldout: Path | None = None,
         allow_download: bool = True) -> Prepared:
    prepared = prepare(public_dir or public_data_dir(), heldout or heldout_dir(),
                       allow_download=allow_download)
    for name, entry in prepared.manifest["datasets"].items():
        sizes = ", ".join(f"{k} {v}" for k, v in entry["public"].items())
        sys.stderr.write(f"{name}: public {sizes}; held out {entry['heldout_rows']} "
                         f"— from {entry['source']}\n")
    sys.stderr.write(f"public (KERAS_HOME) → {prepared.public_dir}\n"
                     f"held-out (judge only) → {prepared.heldout_dir}\n")
    return prepared


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("datasets", help="prepare the Keras exercises' data sets")
    actions = parser.add_subparsers(dest="datasets_action", required=True)
    prep = actions.add_parser("prepare", help="write the public cache and held-out splits")
    prep.add_argument("--public-dir", type=Path, default=None,
                      help=f"public Keras cache (default: {public_data_dir()})")
    prep.add_argument("--heldout-dir", type=Path, default=None,
                      help=f"judge-only held-out arrays (default: {heldout_dir()})")
    prep.add_argument("--offline", action="store_true",
                      help="never try a download; use local sources and fallbacks only")
    show = actions.add_parser("show", help="print where the data sets came from")
    show.add_argument("--heldout-dir", type=Path, default=None)

    def handle(args: argparse.Namespace) -> int:
        if args.datasets_action == "show":
            manifest = (args.heldout_dir or heldout_dir()) / "manifest.json"
            print(manifest.read_text(encoding="utf-8") if manifest.is_file() else
                  json.dumps({"error": f"{manifest} does not exist; run datasets prepare"}))
            return 0
        main(public_dir=args.public_dir, heldout=args.heldout_dir,
             allow_download=not args.offline)
        return 0

    parser.set_defaults(handler=handle)
