"""Unpacking an LMS's submission export (Canvas or Gradescope zip) into one folder per
submission, with the rules of a single submission's zip: no absolute paths, no ``..``, no
links, bounded sizes.

An export degrades per student: an entry that cannot be unpacked safely (an unsafe path,
a link, a name the file system refuses, a file where a folder is needed, an entry that
expands past its stated size) skips the submission it belongs to, with a reason, and the
rest of the class is unpacked. Only what concerns the whole export (not a zip, too many
files, too many bytes in all) refuses it, as an ExportError with a message.

Canvas names each file ``<student>[_LATE]_<user id>_<attachment id>_<original name>``, and
a resubmitted file may carry a ``-<n>`` suffix (``mse-1.ipynb``). Each student becomes one
folder ``<student>_<user id>``; when several attempts hold the same file, the one with the
highest attachment id (Canvas numbers attachments in upload order) is kept under the
original name, and the others are listed as superseded. The attachment ids kept are
recorded in ``.canvas-attachments.json`` beside the folders.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.submission.intake import _ignored

MAX_EXPORT_FILES = 100_000
MAX_EXPORT_BYTES = 16 * 2**30
CHUNK = 1 << 20
MARKER = ".unpacked-from"
CANVAS_ATTACHMENTS = ".canvas-attachments.json"
SKIPPED_FILE = ".skipped.json"

CANVAS_NAME = re.compile(r"^(?P<student>[^_/]+?)(?:_(?i:late))?_(?P<user>\d+)_"
                         r"(?P<attachment>\d+)_(?P<original>.+)$")
GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")
RESUBMISSION_SUFFIX = re.compile(r"^(?P<stem>.+?)-\d+(?P<suffix>\.[^.]*)?$")
DRIVE = re.compile(r"^[A-Za-z]:")
# Characters no entry name may hold: NUL and the other C0 controls.
CONTROL = re.compile(r"[\x00-\x1f]")


class ExportError(ValueError):
    """The export as a whole cannot be unpacked; nothing from it is graded."""


class _EntryError(ValueError):
    """One entry cannot be unpacked; the submission it belongs to is skipped."""


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    target: PurePosixPath  # where it goes under the destination
    owner: str  # the submission (top folder under the destination) it belongs to
    attachment: int = -1  # Canvas only


@dataclass
class _Plan:
    members: list[_Member] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # owner -> why it is skipped
    notes: list[str] = field(default_factory=list)  # entries left out, with the reason
    attachments: dict[str, dict[str, int]] = field(default_factory=dict)


def shown(name: str) -> str:
    """A name as text that can always be printed and written as UTF-8."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def export_format(names: list[str]) -> str:
    """``gradescope``, ``canvas`` or ``plain`` (a zip of submissions as in a folder)."""
    parts = [PurePosixPath(n.replace("\\", "/")).parts for n in names]
    if any(GRADESCOPE_FOLDER.match(part) for path in parts for part in path[:-1]):
        return "gradescope"
    files = [p for p in parts if p and not _ignored(PurePosixPath(*p))]
    # Canvas puts every file at the top; a stray file among them is skipped, not fatal.
    canvas = [p for p in files if len(p) == 1 and CANVAS_NAME.match(p[0])]
    if files and all(len(p) == 1 for p in files) and 2 * len(canvas) > len(files):
        return "canvas"
    return "plain"


def _relative(name: str) -> PurePosixPath:
    if CONTROL.search(name):
        raise _EntryError("its name holds a control character")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and DRIVE.match(path.parts[0])):
        raise _EntryError("its path is absolute or climbs out with '..'")
    if not path.parts:
        raise _EntryError("it has no name")
    return path


def _wrapper_depth(paths: list[PurePosixPath], export: str) -> int:
    """How many leading folders every entry shares (``assignment_123_export/``): the
    submissions are the folders below them."""
    if export == "canvas" or not paths:
        return 0
    depth = 0
    while True:
        heads = {p.parts[depth] if len(p.parts) > depth + 1 else None for p in paths}
        if len(heads) != 1 or None in heads:
            return depth
        head = next(iter(heads))
        if export == "gradescope" and head is not None and GRADESCOPE_FOLDER.match(head):
            return depth
        depth += 1


def _canvas_key(original: str) -> str:
    """The file a Canvas attempt replaces: ``mse-1.ipynb`` resubmits ``mse.ipynb``."""
    match = RESUBMISSION_SUFFIX.match(original)
    return f"{match['stem']}{match['suffix'] or ''}" if match else original


def _safe_prefix(parts: tuple[str, ...]) -> bool:
    return bool(parts) and not any(part in ("..", "/", "") or DRIVE.match(part) or
                                   CONTROL.search(part) for part in parts)


def _plan(infos: list[zipfile.ZipInfo], export: str) -> _Plan:
    plan = _Plan()
    safe: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    unsafe: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        try:
            rel = _relative(info.filename)
        except _EntryError as exc:
            unsafe.append((info, str(exc)))
            continue
        if not _ignored(rel):
            safe.append((info, rel))
    depth = _wrapper_depth([rel for _, rel in safe], export)
    for info, reason in unsafe:
        # The submission the entry sits in is skipped; one that sits in none is left out.
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts[:depth + 1]
        if export != "canvas" and len(parts) == depth + 1 and _safe_prefix(parts):
            plan.broken.setdefault("/".join(parts), f"{shown(info.filename)!r}: {reason}")
        else:
            plan.notes.append(f"{shown(info.filename)} ({reason}; left out)")
    newest: dict[tuple[str, str], _Member] = {}
    for info, rel in safe:
        if export == "canvas":
            match = CANVAS_NAME.match(rel.name)
            if match is None or len(rel.parts) != 1:
                plan.notes.append(f"{shown(rel.as_posix())} (not named like a Canvas "
                                  "submission file; left out)")
                continue
            owner = f"{match['student']}_{match['user']}"
            key = _canvas_key(match["original"])
            member = _Member(info, PurePosixPath(owner) / key, owner, int(match["attachment"]))
            seen = newest.get((owner, key))
            if seen is None or member.attachment > seen.attachment:
                newest[(owner, key)] = member
                if seen is not None:
                    plan.notes.append(_superseded(seen, member))
            else:
                plan.notes.append(_superseded(member, seen))
            continue
        if len(rel.parts) <= depth:
            continue
        owner = "/".join(rel.parts[:depth + 1])
        member = _Member(info, rel, owner)
        if stat.S_ISLNK(info.external_attr >> 16):
            plan.broken.setdefault(owner, f"{shown(info.filename)!r} is a symbolic link")
            continue
        plan.members.append(member)
    for member in newest.values():
        plan.members.append(member)
        if stat.S_ISLNK(member.info.external_attr >> 16):
            plan.broken.setdefault(member.owner, f"{shown(member.info.filename)!r} is a "
                                                 "symbolic link")
        plan.attachments.setdefault(member.owner, {})[member.target.name] = member.attachment
    return plan


def _superseded(old: _Member, new: _Member) -> str:
    return (f"{shown(old.info.filename)} (an earlier attempt: attachment {old.attachment}; "
            f"attachment {new.attachment} is graded)")


def _write(archive: zipfile.ZipFile, member: _Member, destination: Path, total: int) -> int:
    target = destination / member.target
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(member.info) as source, open(target, "xb") as sink:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if total + written > MAX_EXPORT_BYTES:
                raise ExportError(f"the export expands beyond {MAX_EXPORT_BYTES >> 30} GiB")
            # Bounded by what the entry claims, so a zip bomb cannot fill the disk.
            if written > member.info.file_size:
                raise _EntryError("it expands beyond its stated size")
            sink.write(chunk)
    return total + written


def _extract(archive: zipfile.ZipFile, destination: Path, export: str) -> list[str]:
    """Unpack into ``destination``; returns the reasons entries and submissions were left
    out."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_EXPORT_FILES:
        raise ExportError(f"the export holds {len(infos)} files; at most {MAX_EXPORT_FILES}")
    plan = _plan(infos, export)
    total = 0
    for member in plan.members:
        if member.owner in plan.broken:
            continue
        try:
            total = _write(archive, member, destination, total)
        except ExportError:
            raise
        except (_EntryError, OSError, zipfile.BadZipFile, EOFError, ValueError,
                NotImplementedError, RuntimeError, zlib.error) as exc:
            # Unsupported compression and encrypted entries land here too.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            plan.broken[member.owner] = f"{shown(member.info.filename)!r}: {reason}"
    for owner, reason in sorted(plan.broken.items()):
        shutil.rmtree(destination / owner, ignore_errors=True)
        if (destination / owner).is_file():
            (destination / owner).unlink()
        plan.notes.append(f"{shown(owner)} (not graded: {reason})")
        plan.attachments.pop(owner, None)
    if plan.attachments:
        (destination / CANVAS_ATTACHMENTS).write_text(
            json.dumps(plan.attachments, indent=2, sort_keys=True, ensure_ascii=False),
            encoding="utf-8")
    return plan.notes


def unpack_export(archive_path: Path, destination: Path,
                  fingerprint: str) -> tuple[Path, str, list[str]]:
    """Unpack once into ``destination`` (reused on a rerun with the same export); returns
    the folder that holds the submissions, the export's format and what was left out."""
    marker = destination / MARKER
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExportError(f"{archive_path} is not a readable zip file ({exc})") from exc
    with archive:
        export = export_format([i.filename for i in archive.infolist() if not i.is_dir()])
        if not (marker.is_file() and marker.read_text(encoding="utf-8") == fingerprint):
            staging = destination.with_name(destination.name + ".unpacking")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            notes = _extract(archive, staging, export)
            (staging / SKIPPED_FILE).write_text(json.dumps(notes, ensure_ascii=False),
                                                encoding="utf-8")
            (staging / MARKER).write_text(fingerprint, encoding="utf-8")
            shutil.rmtree(destination, ignore_errors=True)
            staging.rename(destination)
    try:
        notes = [str(n) for n in json.loads((destination / SKIPPED_FILE).read_text("utf-8"))]
    except (OSError, ValueError, TypeError):
        notes = []
    return submissions_folder(destination, export), export, notes


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
