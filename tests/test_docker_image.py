"""The sandbox image: rebuilding with unchanged inputs is a no-op, it holds only the
sandbox side of the autograder, and ``image info`` says what it holds."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import docker
import docker.errors
import pytest

from autograder.commands.image import info
from autograder.image import ImageSpec, build_image, default_image, describe_image
from autograder.image.context import IMAGE_ROOT, LABEL_PREFIX, assemble_context, sandbox_sources

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker.from_env()


def _spec_of_default_image(client: docker.DockerClient) -> ImageSpec:
    """The spec the default image was built from, as recorded in its labels."""
    labels = client.images.get(default_image()).labels
    ca_bundle = labels.get(f"{LABEL_PREFIX}.ca-bundle") or None
    return ImageSpec(base_image=labels[f"{LABEL_PREFIX}.base-image"],
                     gpu=labels[f"{LABEL_PREFIX}.gpu"] == "true",
                     ca_bundle=Path(ca_bundle) if ca_bundle else None)


def test_building_twice_the_second_is_a_no_op(client: docker.DockerClient) -> None:
    spec = _spec_of_default_image(client)
    first = build_image(spec, aliases=[default_image(spec.gpu)], client=client)
    second = build_image(spec, aliases=[default_image(spec.gpu)], client=client)
    assert second.built is False
    assert second.tag == first.tag == assemble_context(spec).tag
    assert second.image_id == first.image_id == client.images.get(default_image()).id
    assert second.seconds < 10


@pytest.mark.slow
def test_a_changed_input_builds_a_new_image_once(client: docker.DockerClient,
                                                 tmp_path: Path) -> None:
    data = tmp_path / "tiny"
    data.mkdir()
    (data / "numbers.csv").write_text(f"x\n{tmp_path.name}\n")  # unique per run
    spec = _spec_of_default_image(client)
    spec = ImageSpec(base_image=spec.base_image, gpu=spec.gpu, ca_bundle=spec.ca_bundle,
                     datasets={"tiny": data})
    first = build_image(spec, client=client)
    try:
        assert first.built is True
        assert first.tag != assemble_context(_spec_of_default_image(client)).tag
        second = build_image(spec, client=client)
        assert second.built is False and second.image_id == first.image_id
        assert _read(client, first.tag, f"{IMAGE_ROOT}/datasets/tiny/numbers.csv") == \
            (data / "numbers.csv").read_bytes()
    finally:
        client.images.remove(first.tag, force=True)


def test_image_holds_only_the_sandbox_side(client: docker.DockerClient) -> None:
    names = _list(client, default_image(), f"{IMAGE_ROOT}/lib")
    modules = sorted(n for n in names if n.endswith(".py"))
    # Exactly the modules the image declares it carries (the runner, the protocol and
    # plain data), each one the checkout's sandbox side; nothing of the judge.
    assert modules == sorted(f"lib/autograder/{name}" for name in sandbox_sources())
    assert {"lib/autograder/runner/execute.py", "lib/autograder/protocol/call.py",
            "lib/autograder/plaindata.py"} <= set(modules)
    assert not any(part in ("judge", "graders", "solutions") for n in names
                   for part in n.split("/"))


def test_image_info_reports_versions_and_hash(client: docker.DockerClient,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    details = describe_image(default_image(), client=client)
    assert details.runner_current
    assert len(details.input_hash) == 16
    assert f"{details.input_hash}" in " ".join(details.tags)
    versions = details.to_plain()["versions"]
    assert versions.get("tensorflow-cpu", versions.get("tensorflow", "")).startswith("2.")
    assert {"numpy", "keras", "scikit-learn", "nbclient", "ipykernel"} <= set(versions)
    info()
    printed = capsys.readouterr().out
    assert details.input_hash in printed and "runner code:   current" in printed


def _archive(client: docker.DockerClient, image: str, path: str) -> tarfile.TarFile:
    container = client.containers.create(image, command=["true"], network_disabled=True)
    try:
        chunks, _ = container.get_archive(path)
        data = b"".join(chunks)
    finally:
        container.remove(force=True)
    return tarfile.open(fileobj=io.BytesIO(data))


def _list(client: docker.DockerClient, image: str, path: str) -> list[str]:
    return _archive(client, image, path).getnames()


def _read(client: docker.DockerClient, image: str, path: str) -> bytes:
    archive = _archive(client, image, path)
    handle = archive.extractfile(archive.getmembers()[0])
    assert handle is not None
    return handle.read()
