"""Reading the sandbox's results back: a tar stream from the engine, unpacked with bounds.

The archive is written by a process the student controlled, so only plain files and
folders are taken, under fresh folders this process creates; links, devices, absolute
paths and ``..`` are skipped, and sizes are capped. Nothing here follows a path the
student chose.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 2000


@dataclass
class Readback:
    files: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # links, devices, unsafe names
    truncated: bool = False  # the size or file limit was reached


class _LimitExceeded(Exception):
    pass


class _BoundedStream:
    """A file-like view of the engine's chunks that refuses to read past ``limit`` bytes."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self._remaining = limit

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._remaining -= len(chunk)
            if self._remaining < 0:
                raise _LimitExceeded()
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def extract(chunks: Iterable[bytes], target: Path, *, strip: str, max_bytes: int) -> Readback:
    """Unpack the archive of folder ``strip`` into ``target`` (an empty folder we own)."""
    report = Readback()
    # Tar headers and padding add up to 1.5 KiB per file on top of the data.
    stream = _BoundedStream(chunks, max_bytes + 1536 * MAX_FILES)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                relative = _safe_name(member.name, strip)
                if relative is None or not (member.isfile() or member.isdir()):
                    report.skipped.append(member.name[:200])
                    continue
                if not relative.parts:
                    continue
                destination = target.joinpath(*relative.parts)
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                if report.files >= MAX_FILES or report.bytes + member.size > max_bytes:
                    report.truncated = True
                    break
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                try:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with open(destination, "xb") as out:  # never an existing file or link
                        out.write(handle.read(member.size))
                except OSError:  # a duplicate name, or a file where a folder was
                    report.skipped.append(member.name[:200])
                    continue
                report.files += 1
                report.bytes += member.size
    except _LimitExceeded:
        report.truncated = True
    except tarfile.TarError:
        report.truncated = True
    return report


def _safe_name(name: str, strip: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return None
    if not path.parts or path.parts[0] != strip:
        return None
    return PurePosixPath(*path.parts[1:])
