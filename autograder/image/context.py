"""What goes into the sandbox image's build context, and the hash that names it.

The image tag is ``<repository>:<hash of every input>`` (rendered Dockerfile, package
list, copied modules, data files, CA bundle), so an unchanged build is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import autograder
from autograder.image.datasets import dataset_files
from autograder.templating import render

DEFAULT_BASE_IMAGE = "python:3.11-slim"
IMAGE_REPOSITORY = "autograder-sandbox"
GPU_SUFFIX = "-gpu"
LABEL_PREFIX = "org.autograder"
# Where things live inside the image.
IMAGE_ROOT = "/opt/autograder"
IMAGE_VENV = "/opt/autograder/venv"
STUDENT_HOME = "/home/student"
STUDENT_UID = 1000

_PACKAGE = Path(autograder.__file__).resolve().parent
# The sandbox side of the autograder: what runs next to student code. Never graders/,
# solutions/ or the judge.
SANDBOX_MODULES = ("__init__.py", "plaindata.py", "protocol/*.py", "runner/*.py")


@dataclass(frozen=True)
class ImageSpec:
    base_image: str = DEFAULT_BASE_IMAGE
    gpu: bool = False
    ca_bundle: Path | None = None
    datasets: dict[str, Path] = field(default_factory=dict)  # extra data sets by name

    @property
    def repository(self) -> str:
        return IMAGE_REPOSITORY + (GPU_SUFFIX if self.gpu else "")


@dataclass
class BuildContext:
    spec: ImageSpec
    files: dict[str, bytes]  # build-context path → content (small files)
    links: dict[str, Path]  # build-context path → host file (data sets, copied when written)
    labels: dict[str, str]
    input_hash: str

    @property
    def tag(self) -> str:
        return f"{self.spec.repository}:{self.input_hash}"

    @property
    def all_labels(self) -> dict[str, str]:
        return {**self.labels, f"{LABEL_PREFIX}.inputs": self.input_hash}

    def write(self, folder: Path) -> None:
        for name, data in self.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for name, source in self.links.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        (folder / "datasets").mkdir(exist_ok=True)  # COPY needs it even when empty


def sandbox_sources() -> dict[str, bytes]:
    """The autograder modules the image carries, by their path under ``autograder/``."""
    sources: dict[str, bytes] = {}
    for pattern in SANDBOX_MODULES:
        for path in sorted(_PACKAGE.glob(pattern)):
            sources[path.relative_to(_PACKAGE).as_posix()] = path.read_bytes()
    return sources


def sandbox_sources_hash() -> str:
    """Changes whenever the runner, probe or plain-data code changes: an image built from
    older code must be rebuilt before it grades."""
    return _digest(sandbox_sources())[:16]


# Names the image `image build` tags and the Docker sandbox uses by default; lets two
# checkouts of the course on one engine keep images of their own.
IMAGE_ENV = "AUTOGRADER_SANDBOX_IMAGE"


def default_image(gpu: bool = False) -> str:
    configured = os.environ.get(IMAGE_ENV)
    if configured and not gpu:
        return configured
    return IMAGE_REPOSITORY + (GPU_SUFFIX if gpu else "") + ":latest"


def assemble_context(spec: ImageSpec) -> BuildContext:
    settings = {"base_image": spec.base_image, "gpu": spec.gpu,
                "ca_bundle": spec.ca_bundle is not None, "root": IMAGE_ROOT,
                "venv": IMAGE_VENV, "home": STUDENT_HOME, "uid": STUDENT_UID}
    files = {
        "Dockerfile": render("docker/Dockerfile.j2", **settings).encode(),
        "requirements.txt": render("docker/requirements.txt.j2", **settings).encode(),
    }
    files.update({f"sandbox-src/autograder/{name}": data
                  for name, data in sandbox_sources().items()})
    if spec.ca_bundle is not None:
        files["ca-bundle.crt"] = spec.ca_bundle.read_bytes()
    links = dataset_files(spec.datasets)
    labels = {
        f"{LABEL_PREFIX}.runner": sandbox_sources_hash(),
        f"{LABEL_PREFIX}.gpu": "true" if spec.gpu else "false",
        f"{LABEL_PREFIX}.base-image": spec.base_image,
        f"{LABEL_PREFIX}.ca-bundle": str(spec.ca_bundle or ""),
        f"{LABEL_PREFIX}.version": autograder.__version__,
        f"{LABEL_PREFIX}.datasets": ",".join(sorted({n.split("/")[1] for n in links})),
    }
    digest_input = {**files, "labels": json.dumps(labels, sort_keys=True).encode()}
    for name, path in links.items():
        digest_input[name] = hashlib.sha256(path.read_bytes()).digest()
    return BuildContext(spec=spec, files=files, links=links, labels=labels,
                        input_hash=_digest(digest_input)[:16])


def _digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()
