"""Finding the submissions in a folder or an LMS export zip.

In a folder, each ``*.ipynb`` or ``*.zip`` file and each sub-folder is one submission, named
after its file or folder. A Canvas export becomes one folder per student, a Gradescope
export keeps its ``submission_<id>`` folders.

Discovery degrades per student: an entry that cannot be read (a link, a folder that cannot
be listed, a file that vanished) is skipped with a reason, and names that are not UTF-8
(``os.fsencode`` bytes decoded with surrogateescape) are hashed as their bytes and shown
with replacement characters, never a crash.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.batch.exports import shown, unpack_export
from autograder.batch.submitters import (
    GRADESCOPE_METADATA,
    MetadataError,
    Submitter,
    canvas_submitter,
    gradescope_submitters,
)
from autograder.submission.intake import _ignored

SUBMISSION_SUFFIXES = (".ipynb", ".zip")
UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ID_LENGTH = 120  # ids name result files (``<id>.json``): well under NAME_MAX


@dataclass(frozen=True)
class SubmissionSource:
    id: str  # unique in the batch, safe as a file name
    path: Path  # a notebook, a zip or a folder: what `autograder grade` accepts
    sha256: str  # of its content (names and bytes), for the cache


@dataclass
class Discovery:
    submissions: list[SubmissionSource]
    skipped: list[str] = field(default_factory=list)  # entries that are not submissions
    export: str = "folder"
    # Who handed in each submission, by id, where the export says (Gradescope, Canvas).
    submitters: dict[str, tuple[Submitter, ...]] = field(default_factory=dict)


def _name_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # a non-UTF-8 name hashes as its bytes


def content_sha256(path: Path) -> str:
    """The hash of a submission's content; a folder hashes its relative names and bytes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            rel = item.relative_to(path).as_posix()
            if _ignored(PurePosixPath(rel)):
                continue
            if item.is_symlink():
                digest.update(b"link:" + _name_bytes(rel) + b"\0")  # grading rejects it
            elif item.is_file():
                digest.update(b"file:" + _name_bytes(rel) + f"\0{item.stat().st_size}\0".encode())
                digest.update(item.read_bytes())
    else:
        digest.update(b"single\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _safe_id(name: str) -> str:
    # Surrogates (undecodable bytes) are outside the allowed set, so they become "_" too.
    return UNSAFE_ID_CHARACTERS.sub("_", name).strip("._")[:MAX_ID_LENGTH] or "submission"


def scan_folder(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    found: list[tuple[str, Path]] = []
    skipped: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or _ignored(PurePosixPath(entry.name)):
            continue
        try:
            if entry.is_symlink():
                skipped.append(f"{shown(entry.name)} (a link)")
            elif entry.is_dir():
                found.append((entry.name, _single_zip(entry) or entry))
            elif entry.suffix.lower() in SUBMISSION_SUFFIXES:
                found.append((entry.stem, entry))
            else:
                skipped.append(shown(entry.name))
        except OSError as exc:  # a folder that cannot be listed, an entry that vanished
            skipped.append(f"{shown(entry.name)} (not readable: {exc.strerror or exc})")
    return found, skipped


def _single_zip(folder: Path) -> Path | None:
    """A folder that holds only a zip (an LMS upload of a zipped project) is that zip."""
    entries = [p for p in folder.iterdir() if not _ignored(PurePosixPath(p.name))]
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        return entries[0]
    return None


def _unique(named: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    seen: set[str] = set()
    unique = []
    for name, path in named:
        base = candidate = _safe_id(name)
        number = 2
        while candidate in seen:
            candidate, number = f"{base}-{number}", number + 1
        seen.add(candidate)
        unique.append((candidate, path))
    return unique


def discover(source: Path, unpack_to: Path) -> Discovery:
    """The submissions in ``source``: a folder, or an export zip (unpacked in ``unpack_to``).
    Raises ExportError (with a message) only when the export as a whole is unusable."""
    export = "folder"
    skipped: list[str] = []
    if source.is_file() and zipfile.is_zipfile(source):
        folder, export, skipped = unpack_export(source, unpack_to, content_sha256(source))
    elif source.is_dir():
        folder = source
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip of submissions")
    named, not_submissions = scan_folder(folder)
    skipped += not_submissions
    submissions: list[SubmissionSource] = []
    names: dict[str, str] = {}
    for (old_name, _), (new_id, path) in zip(named, _unique(named), strict=True):
        try:
            digest = content_sha256(path)
        except OSError as exc:
            skipped.append(f"{shown(old_name)} (not readable: {exc.strerror or exc})")
            continue
        submissions.append(SubmissionSource(id=new_id, path=path, sha256=digest))
        names[new_id] = old_name
    listed: dict[str, tuple[Submitter, ...]] = {}
    if export == "gradescope":
        skipped = [s for s in skipped if s != GRADESCOPE_METADATA]
        try:
            listed = gradescope_submitters(folder)
        except MetadataError as exc:  # grade anyway; only the names are missing
            skipped.append(f"{exc}; graded without the students' names")
    elif export == "canvas":
        listed = {name: canvas_submitter(name) for name in names.values()}
    submitters = {new_id: listed[name] for new_id, name in names.items() if listed.get(name)}
    return Discovery(submissions=submissions, skipped=skipped, export=export,
                     submitters=submitters)
