"""``autograder image build|info``: the sandbox image every exercise runs in."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.image import (
    DEFAULT_BASE_IMAGE,
    BuildReport,
    ImageInfo,
    ImageSpec,
    build_image,
    default_image,
    describe_image,
)


def build(*, base_image: str = DEFAULT_BASE_IMAGE, gpu: bool = False,
          ca_bundle: Path | None = None, tag: str | None = None,
          datasets: dict[str, Path] | None = None) -> BuildReport:
    """Build (or find) the sandbox image; ``tag`` is an extra name for it, besides
    ``autograder-sandbox[-gpu]:<input hash>`` and ``…:latest``."""
    if ca_bundle is not None and not ca_bundle.is_file():
        raise FileNotFoundError(f"CA bundle {ca_bundle} does not exist")
    spec = ImageSpec(base_image=base_image, gpu=gpu, ca_bundle=ca_bundle,
                     datasets=datasets or {})
    aliases = [default_image(gpu)] + ([tag] if tag else [])
    report = build_image(spec, aliases=aliases)
    verb = "built" if report.built else "reused"
    sys.stderr.write(f"{verb} {report.tag} in {report.seconds:.1f} s "
                     f"(also tagged {', '.join(report.aliases)})\n")
    return report


def info(*, image: str | None = None, as_json: bool = False) -> ImageInfo:
    details = describe_image(image or default_image())
    if as_json:
        sys.stdout.write(json.dumps(details.to_plain(), indent=2) + "\n")
        return details
    plain = details.to_plain()
    lines = [f"image:         {details.image} ({details.image_id[:19]})",
             f"tags:          {', '.join(details.tags)}",
             f"size:          {plain['size_mb']} MiB, created {details.created[:19]}",
             f"input hash:    {details.input_hash or '(not an autograder image)'}",
             f"GPU build:     {'yes' if details.gpu else 'no'}",
             f"base image:    {details.labels.get('org.autograder.base-image', '?')}",
             f"data sets:     {details.labels.get('org.autograder.datasets') or 'none'}",
             "runner code:   " + ("current" if details.runner_current else
                                  "OUT OF DATE: run `autograder image build`")]
    lines += [f"  {name:<14} {version}" for name, version in sorted(plain["versions"].items())]
    sys.stdout.write("\n".join(lines) + "\n")
    return details


def _dataset_option(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or "/" in name:
        raise argparse.ArgumentTypeError("expected NAME=FOLDER")
    return name, Path(folder)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("image", help="build or describe the sandbox image")
    actions = parser.add_subparsers(dest="image_command", required=True)

    build_parser = actions.add_parser("build", help="build the sandbox image (no-op when "
                                                    "its inputs are unchanged)")
    build_parser.add_argument("--base-image", default=DEFAULT_BASE_IMAGE,
                              help=f"image to start from (default {DEFAULT_BASE_IMAGE})")
    build_parser.add_argument("--gpu", action="store_true",
                              help="install TensorFlow with CUDA instead of tensorflow-cpu")
    build_parser.add_argument("--ca-bundle", type=Path, default=None,
                              help="extra CA bundle for pip inside the build (TLS proxies)")
    build_parser.add_argument("--tag", default=None, help="an extra name for the image")
    build_parser.add_argument("--dataset", type=_dataset_option, action="append", default=[],
                              metavar="NAME=FOLDER",
                              help="bake FOLDER in as ~/.keras/datasets/NAME (repeatable)")

    def handle_build(args: argparse.Namespace) -> int:
        build(base_image=args.base_image, gpu=args.gpu, ca_bundle=args.ca_bundle,
              tag=args.tag, datasets=dict(args.dataset))
        return 0

    build_parser.set_defaults(handler=handle_build)

    info_parser = actions.add_parser("info", help="what an image holds")
    info_parser.add_argument("image", nargs="?", default=None,
                             help=f"image (default {default_image()})")
    info_parser.add_argument("--json", action="store_true", help="print JSON")

    def handle_info(args: argparse.Namespace) -> int:
        info(image=args.image, as_json=args.json)
        return 0

    info_parser.set_defaults(handler=handle_info)
