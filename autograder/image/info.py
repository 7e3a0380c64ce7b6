"""What a sandbox image holds: its labels and the package versions recorded at build time."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from autograder.image.context import IMAGE_ROOT, LABEL_PREFIX, sandbox_sources_hash

# The packages worth showing; versions.json in the image lists all of them.
KEY_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn", "joblib",
                "matplotlib", "pillow", "ipykernel", "nbclient", "nbformat")
MAX_VERSIONS_BYTES = 1024 * 1024


@dataclass
class ImageInfo:
    image: str
    image_id: str
    tags: list[str]
    size_mb: float
    created: str
    labels: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def gpu(self) -> bool:
        return self.labels.get(f"{LABEL_PREFIX}.gpu") == "true"

    @property
    def input_hash(self) -> str:
        return self.labels.get(f"{LABEL_PREFIX}.inputs", "")

    @property
    def runner_current(self) -> bool:
        return self.labels.get(f"{LABEL_PREFIX}.runner") == sandbox_sources_hash()

    def to_plain(self) -> dict[str, Any]:
        return {"image": self.image, "id": self.image_id, "tags": self.tags,
                "size_mb": round(self.size_mb, 1), "created": self.created,
                "gpu": self.gpu, "input_hash": self.input_hash,
                "runner_current": self.runner_current, "labels": self.labels,
                "versions": {k: v for k, v in self.versions.items() if k in KEY_PACKAGES}}


def describe_image(image: str, client: docker.DockerClient | None = None) -> ImageInfo:
    client = client or docker.from_env()
    found = client.images.get(image)
    attrs = found.attrs
    labels = {k: v for k, v in (attrs.get("Config", {}).get("Labels") or {}).items()
              if k.startswith(LABEL_PREFIX)}
    return ImageInfo(image=image, image_id=str(found.id), tags=list(found.tags),
                     size_mb=float(attrs.get("Size", 0)) / 2**20,
                     created=str(attrs.get("Created", "")), labels=labels,
                     versions=_read_versions(client, image))


def _read_versions(client: docker.DockerClient, image: str) -> dict[str, str]:
    """versions.json, read from a created (never started) container."""
    container = client.containers.create(image, command=["true"], network_disabled=True)
    try:
        chunks, _ = container.get_archive(f"{IMAGE_ROOT}/versions.json")
        data = b"".join(chunks)
    except docker.errors.NotFound:
        return {}
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.getmember("versions.json")
        handle = archive.extractfile(member)
        if handle is None or member.size > MAX_VERSIONS_BYTES:
            return {}
        versions = json.loads(handle.read())
    if not isinstance(versions, dict):
        return {}
    # Distribution names as installed ("tensorflow_cpu") → as on PyPI ("tensorflow-cpu").
    return {str(k).lower().replace("_", "-"): str(v) for k, v in versions.items()}
