"""Unpacking the sandbox's results archive: only plain files come back, within bounds.
(No engine needed: the archive is built here the way the engine streams it.)"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

from autograder.sandbox.gpus import GpuRequestError, device_request
from autograder.sandbox.readback import extract


def _archive(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> list[bytes]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info in entries:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    raw = buffer.getvalue()
    return [raw[i:i + 1000] for i in range(0, len(raw), 1000)]  # streamed in chunks


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_plain_files_and_folders_come_back(tmp_path: Path) -> None:
    chunks = _archive([_entry("out", tarfile.DIRTYPE), _entry("out/probe", tarfile.DIRTYPE),
                       _entry("out/probe/0.json"), _entry("out/execution.json")],
                      {"out/probe/0.json": b'{"a": 1}', "out/execution.json": b"{}"})
    report = extract(chunks, tmp_path, strip="out", max_bytes=1 << 20)
    assert (tmp_path / "probe" / "0.json").read_bytes() == b'{"a": 1}'
    assert (tmp_path / "execution.json").read_bytes() == b"{}"
    assert report.files == 2 and not report.truncated and report.skipped == []


def test_links_devices_and_escaping_names_are_skipped(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    chunks = _archive([
        _entry("out", tarfile.DIRTYPE),
        _entry("out/artifacts", tarfile.SYMTYPE, "/"),
        _entry("out/artifacts/model.keras"),  # through the link: must land in a real folder
        _entry("out/hard", tarfile.LNKTYPE, "/etc/passwd"),
        _entry("out/fifo", tarfile.FIFOTYPE),
        _entry("out/../../escape.txt"),
        _entry("/abs.txt"),
        _entry("elsewhere/x.txt"),
    ], {"out/artifacts/model.keras": b"model", "out/../../escape.txt": b"x",
        "/abs.txt": b"x", "elsewhere/x.txt": b"x"})
    report = extract(chunks, target, strip="out", max_bytes=1 << 20)
    assert not any(p.is_symlink() for p in target.rglob("*"))
    assert (target / "artifacts").is_dir() and not (target / "artifacts").is_symlink()
    assert (target / "artifacts" / "model.keras").read_bytes() == b"model"
    assert sorted(p.name for p in target.rglob("*")) == ["artifacts", "model.keras"]
    assert not (tmp_path / "escape.txt").exists()
    assert len(report.skipped) == 6


def test_size_limit_stops_reading(tmp_path: Path) -> None:
    chunks = _archive([_entry("out/a.bin"), _entry("out/b.bin")],
                      {"out/a.bin": b"a" * 600, "out/b.bin": b"b" * 600})
    report = extract(chunks, tmp_path, strip="out", max_bytes=1000)
    assert report.truncated
    assert report.bytes <= 1000
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_an_endless_stream_is_cut_off(tmp_path: Path) -> None:
    header = _entry("out/huge.bin")
    header.size = 1 << 40  # claims a terabyte, and the stream never ends

    def endless() -> Iterator[bytes]:
        yield header.tobuf(format=tarfile.PAX_FORMAT)
        while True:
            yield b"x" * 65536

    report = extract(endless(), tmp_path, strip="out", max_bytes=10_000)
    assert report.truncated and report.files == 0
    assert list(tmp_path.iterdir()) == []


def test_gpu_option_forms() -> None:
    assert device_request("all")["Count"] == -1
    assert device_request("2")["Count"] == 2
    assert device_request("device=0,3")["DeviceIDs"] == ["0", "3"]
    for bad in ("0", "some", "device=", "-1"):
        try:
            device_request(bad)
        except GpuRequestError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
