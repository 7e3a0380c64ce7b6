"""Building the sandbox image with the Docker engine (docker SDK, no CLI)."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from autograder.image.context import BuildContext, ImageSpec, assemble_context


class ImageBuildError(RuntimeError):
    """The engine refused or failed the build; the message carries its last log lines."""


@dataclass
class BuildReport:
    tag: str
    aliases: list[str]
    built: bool  # False: an image with this exact input hash already existed
    seconds: float
    image_id: str


def build_image(spec: ImageSpec, *, aliases: list[str] | None = None,
                client: docker.DockerClient | None = None,
                log: Callable[[str], Any] = sys.stderr.write) -> BuildReport:
    """Build the image for ``spec`` unless one with the same input hash exists; then point
    ``aliases`` (e.g. ``autograder-sandbox:latest``) at it."""
    started = time.monotonic()
    client = client or docker.from_env()
    context = assemble_context(spec)
    try:
        image = client.images.get(context.tag)
        built = False
        log(f"image {context.tag} is up to date (inputs unchanged); nothing to build\n")
    except docker.errors.ImageNotFound:
        _require_base(client, spec.base_image)
        with tempfile.TemporaryDirectory(prefix="autograder-image-") as tmp:
            context.write(Path(tmp))
            _stream_build(client, Path(tmp), context, log)
        image = client.images.get(context.tag)
        built = True
    repository_tags = set(image.tags)
    for alias in aliases or []:
        if alias not in repository_tags:
            repository, _, tag = alias.rpartition(":")
            image.tag(repository or alias, tag if repository else "latest")
    return BuildReport(tag=context.tag, aliases=list(aliases or []), built=built,
                       seconds=time.monotonic() - started, image_id=str(image.id))


def _require_base(client: docker.DockerClient, base_image: str) -> None:
    try:
        client.images.get(base_image)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        repository, _, tag = base_image.rpartition(":")
        client.images.pull(repository or base_image, tag=tag if repository else "latest")
    except docker.errors.APIError as exc:
        raise ImageBuildError(
            f"base image {base_image} is not here and cannot be pulled ({exc.explanation}). "
            "Without a registry, make one with scripts/docker/make-base-image.sh and pass "
            "--base-image autograder-base:bookworm.") from exc


def _stream_build(client: docker.DockerClient, folder: Path, context: BuildContext,
                  log: Callable[[str], Any]) -> None:
    tail: list[str] = []
    stream = client.api.build(path=str(folder), tag=context.tag, rm=True, forcerm=True,
                              pull=False, labels=context.all_labels, decode=True)
    for chunk in stream:
        if "stream" in chunk:
            text = str(chunk["stream"])
            log(text)
            tail = (tail + text.splitlines())[-20:]
        if "error" in chunk:
            detail = "\n".join(tail)
            raise ImageBuildError(f"building {context.tag} failed: {chunk['error']}\n{detail}")
