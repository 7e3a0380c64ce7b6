"""Turning what a student handed in (.ipynb, folder or zip) into checked bytes.

Runs on the trusted side, before anything is executed: sizes are bounded, zip entries
may not escape their folder or be links, and the notebook must be nbformat 4 JSON.
"""

from __future__ import annotations

import json
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_FILES = 500
# Names must fit the OS where they are laid out (NAME_MAX, and PATH_MAX with room for the
# sandbox's own folders) and stay a sane shape.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
MAX_DEPTH = 32
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", ".git", "__pycache__"}


class SubmissionError(ValueError):
    """The submission cannot be graded; the message tells the student what to fix."""


@dataclass
class Submission:
    notebook: dict[str, Any]
    notebook_name: str
    files: dict[str, bytes] = field(default_factory=dict)  # extra files, by safe relative path


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"The zip contains an unsafe path {name!r} (absolute or with "
                              "'..'); zip the folder's contents instead.")
    return path


def _ignored(path: PurePosixPath) -> bool:
    return any(part in IGNORED_PARTS or part.startswith("._") for part in path.parts)


def _read_zip(path: Path) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{path.name} is not a readable zip file ({exc}).") from exc
    files: dict[str, bytes] = {}
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES:
            raise SubmissionError(f"The zip holds {len(infos)} files; at most {MAX_FILES} "
                                  "are accepted.")
        total = 0
        for info in infos:
            rel = _safe_relative(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(f"The zip contains a symbolic link {info.filename!r}; "
                                      "links are not accepted.")
            if _ignored(rel):
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise SubmissionError(f"The zip expands to more than {MAX_TOTAL_BYTES // 2**20} "
                                      "MiB; remove large files you do not need to hand in.")
            with archive.open(info) as member:
                data = member.read(info.file_size + 1)
            if len(data) > info.file_size:
                raise SubmissionError(f"Zip entry {info.filename!r} is larger than it claims.")
            files[rel.as_posix()] = data
    return files


def _read_folder(path: Path) -> dict[str, bytes]:
    try:
        return _read_folder_items(path)
    except OSError as exc:  # a name too long to open, a folder we may not list
        raise SubmissionError(f"The submission folder could not be read ({exc.strerror}: "
                              f"{str(exc.filename or '')[-120:]!r}).") from exc


def _read_folder_items(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for item in sorted(path.rglob("*")):
        rel = PurePosixPath(item.relative_to(path).as_posix())
        if _ignored(rel):
            continue
        if item.is_symlink():
            raise SubmissionError(f"The submission contains a symbolic link {rel}; links are "
                                  "not accepted.")
        if not item.is_file():
            continue
        total += item.stat().st_size
        if total > MAX_TOTAL_BYTES or len(files) >= MAX_FILES:
            raise SubmissionError("The submission folder is too large to grade.")
        files[rel.as_posix()] = item.read_bytes()
    return files


def _shown(name: str) -> str:
    text = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return repr(text if len(text) <= 80 else text[:40] + "…" + text[-30:])


def check_layout(names: list[str], notebook_name: str) -> None:
    """Refuse names that cannot be laid out beside the notebook as they are: not UTF-8,
    over the OS's limits, too deep, one name both a file and a folder, or a folder where
    the notebook itself goes."""
    folders: set[str] = set()
    for name in names:
        try:
            encoded = name.encode("utf-8")
        except UnicodeEncodeError:
            raise SubmissionError(f"The file name {_shown(name)} is not UTF-8 text; rename it "
                                  "(letters, digits, '-', '_' and '.' are safe).") from None
        parts = PurePosixPath(name).parts
        if len(parts) > MAX_DEPTH:
            raise SubmissionError(f"{_shown(name)} is {len(parts) - 1} folders deep; at most "
                                  f"{MAX_DEPTH} are accepted.")
        if len(encoded) > MAX_PATH_BYTES:
            raise SubmissionError(f"The path {_shown(name)} is {len(encoded)} bytes long; at "
                                  f"most {MAX_PATH_BYTES} are accepted.")
        for part in parts:
            if len(part.encode("utf-8")) > MAX_NAME_BYTES:
                raise SubmissionError(f"The name {_shown(part)} is "
                                      f"{len(part.encode('utf-8'))} bytes long; file systems "
                                      f"allow at most {MAX_NAME_BYTES}. Shorten it.")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    both = sorted(folders & set(names))
    if both:
        raise SubmissionError(f"{_shown(both[0])} is both a file and a folder in the "
                              "submission; rename one of them.")
    if notebook_name in folders:
        raise SubmissionError(f"The submission has a folder named {_shown(notebook_name)}, "
                              "where the notebook itself goes; rename the folder.")


def _check_notebook_size(size: int, name: str) -> None:
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{name} is {size / 2**20:.0f} MiB; notebooks over "
                              f"{MAX_NOTEBOOK_BYTES // 2**20} MiB are not graded. Clear large "
                              "outputs (Kernel → Restart & Clear Output) and save again.")


def parse_notebook(data: bytes, name: str) -> dict[str, Any]:
    """Decode and check a notebook without running anything in it."""
    _check_notebook_size(len(data), name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                              f"offset {exc.start}); save it again from Jupyter.") from exc
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name} is not a notebook: it is not valid JSON ({exc.msg} at "
                              f"line {exc.lineno}, column {exc.colno}).") from exc
    except RecursionError as exc:
        raise SubmissionError(f"{name} is not a notebook: its JSON is nested too "
                              "deeply.") from exc
    if not isinstance(content, dict) or "cells" not in content:
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no 'cells').")
    major = content.get("nbformat")
    if major != 4:
        raise SubmissionError(f"{name} uses notebook format {major!r}; only format 4 is "
                              "graded. Open and save it with a current Jupyter.")
    try:
        # normalize() fills in what older minor versions may lack (cell ids) before checking.
        _, normalized = nbformat.validator.normalize(content)
        nbformat.validate(normalized)
        content = normalized
    except nbformat.ValidationError as exc:
        raise SubmissionError(f"{name} is not a valid format-4 notebook: "
                              f"{str(exc.message)[:300]}") from exc
    except RecursionError as exc:
        raise SubmissionError(f"{name} is nested too deeply to be a notebook.") from exc
    return content


def _choose_notebook(files: dict[str, bytes], exercise_id: str) -> str:
    notebooks = [n for n in files if n.endswith(".ipynb")]
    preferred = [n for n in notebooks if PurePosixPath(n).name == f"{exercise_id}.ipynb"]
    if len(preferred) == 1:
        return preferred[0]
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        raise SubmissionError("No .ipynb notebook was found in the submission.")
    raise SubmissionError(f"Several notebooks were found ({', '.join(sorted(notebooks))}); "
                          f"name the one to grade {exercise_id}.ipynb.")


def load_submission(path: Path, exercise_id: str) -> Submission:
    """Read a submission from a notebook file, a folder, or a zip."""
    if not path.exists():
        raise SubmissionError(f"{path} does not exist.")
    if path.is_dir():
        files = _read_folder(path)
    elif zipfile.is_zipfile(path):
        files = _read_zip(path)
    else:
        _check_notebook_size(path.stat().st_size, path.name)
        files = {path.name: path.read_bytes()}
    chosen = _choose_notebook(files, exercise_id)
    notebook = parse_notebook(files.pop(chosen), PurePosixPath(chosen).name)
    prefix = PurePosixPath(chosen).parent
    extras = {}
    for name, data in files.items():
        rel = PurePosixPath(name)
        # Keep files beside the notebook where the notebook expects them.
        if prefix.parts and rel.parts[: len(prefix.parts)] == prefix.parts:
            rel = PurePosixPath(*rel.parts[len(prefix.parts):])
        extras[rel.as_posix()] = data
    check_layout(list(extras), f"{exercise_id}.ipynb")
    return Submission(notebook=notebook, notebook_name=PurePosixPath(chosen).name, files=extras)
