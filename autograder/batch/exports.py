"""Unpacking an LMS's submission export (Canvas or Gradescope zip) into one folder per
submission, with the same rules as a single submission's zip: no absolute paths, no
``..``, no links, bounded sizes (autograder/submission/intake.py)."""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from autograder.submission.intake import SubmissionError, _ignored, _safe_relative

MAX_EXPORT_FILES = 100_000
MAX_EXPORT_BYTES = 16 * 2**30
CHUNK = 1 << 20
MARKER = ".unpacked-from"

# Canvas names each file <student>[_LATE]_<user id>_<attachment id>_<original name>.
CANVAS_NAME = re.compile(r"^(?P<student>[^_/]+?)(?:_LATE)?_(?P<user>\d+)_(?P<attachment>\d+)_"
                         r"(?P<original>.+)$")
GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")


class ExportError(ValueError):
    """The export cannot be unpacked safely; nothing from it is graded."""


def export_format(names: list[str]) -> str:
    """``gradescope``, ``canvas`` or ``plain`` (a zip of submissions as in a folder)."""
    parts = [PurePosixPath(n).parts for n in names]
    if any(GRADESCOPE_FOLDER.match(part) for path in parts for part in path[:-1]):
        return "gradescope"
    files = [p for p in parts if p and not _ignored(PurePosixPath(*p))]
    if files and all(len(p) == 1 and CANVAS_NAME.match(p[0]) for p in files):
        return "canvas"
    return "plain"


def _target(name: str, export: str) -> PurePosixPath | None:
    """Where a member goes under the destination, or None to skip it."""
    rel = _safe_relative(name)
    if _ignored(rel):
        return None
    if export != "canvas":
        return rel
    match = CANVAS_NAME.match(rel.name)
    if match is None:
        return None
    # One folder per student; a resubmitted file keeps Canvas's "-1" suffix.
    return PurePosixPath(f"{match['student']}_{match['user']}") / match["original"]


def _extract(archive: zipfile.ZipFile, destination: Path, export: str) -> None:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_EXPORT_FILES:
        raise ExportError(f"the export holds {len(infos)} files; at most {MAX_EXPORT_FILES}")
    total = 0
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ExportError(f"the export contains a symbolic link {info.filename!r}")
        try:
            rel = _target(info.filename, export)
        except SubmissionError as exc:
            raise ExportError(str(exc)) from exc
        if rel is None:
            continue
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as source, open(target, "xb") as sink:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                total += len(chunk)
                # Bounded by what the entry claims, so a zip bomb cannot fill the disk.
                if written > info.file_size or total > MAX_EXPORT_BYTES:
                    raise ExportError(f"entry {info.filename!r} expands beyond its stated size "
                                      "or the export is too large")
                sink.write(chunk)


def unpack_export(archive_path: Path, destination: Path, fingerprint: str) -> tuple[Path, str]:
    """Unpack once into ``destination`` (reused on a rerun with the same export); returns
    the folder that holds the submissions and the export's format."""
    marker = destination / MARKER
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{archive_path} is not a readable zip file ({exc})") from exc
    with archive:
        export = export_format([i.filename for i in archive.infolist() if not i.is_dir()])
        if not (marker.is_file() and marker.read_text(encoding="utf-8") == fingerprint):
            staging = destination.with_name(destination.name + ".unpacking")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            _extract(archive, staging, export)
            (staging / MARKER).write_text(fingerprint, encoding="utf-8")
            shutil.rmtree(destination, ignore_errors=True)
            staging.rename(destination)
    return submissions_folder(destination, export), export


def submissions_folder(root: Path, export: str) -> Path:
    """Skip wrapping folders (``assignment_123_export/``) down to the submissions."""
    folder = root
    while True:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")
                   and not _ignored(PurePosixPath(p.name))]
        if len(entries) == 1 and entries[0].is_dir() and not (
                export == "gradescope" and GRADESCOPE_FOLDER.match(entries[0].name)) and \
                export != "canvas":
            folder = entries[0]
            continue
        return folder
