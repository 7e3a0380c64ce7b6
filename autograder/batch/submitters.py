"""Who handed in each submission of an LMS export, for the gradebook.

A Gradescope export names its folders ``submission_<id>`` and says who is behind each in
``submission_metadata.yml`` (keys written as Ruby symbols, ``:submitters:``, ``:name:``…;
a group submission lists several people). A Canvas export names each file after the
student's login and user id, which discovery keeps as the folder name ``<login>_<user id>``.
Identities stay out of the results: identical bytes from two students share one cached
result, but not one name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 64 * 2**20
CANVAS_FOLDER = re.compile(r"^(?P<login>.+)_(?P<user>\d+)$")


@dataclass(frozen=True)
class Submitter:
    name: str
    email: str = ""
    student_id: str = ""  # Gradescope's SID, or Canvas's user id


class MetadataError(ValueError):
    """The export's list of submitters cannot be read."""


def _plain_key(key: Any) -> str:
    return str(key).lstrip(":")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def gradescope_submitters(root: Path) -> dict[str, tuple[Submitter, ...]]:
    """``submission_<id>`` → its submitters, from the metadata file under ``root``
    (at its top or one wrapping folder down); empty when the export has none."""
    found = sorted(root.glob(GRADESCOPE_METADATA)) + sorted(root.glob(f"*/{GRADESCOPE_METADATA}"))
    if not found:
        return {}
    path = found[0]
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise MetadataError(f"{path.name} is larger than {MAX_METADATA_BYTES >> 20} MiB")
        data = _plain(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError) as exc:
        raise MetadataError(f"{path.name} is not readable YAML ({exc})") from exc
    if not isinstance(data, dict):
        return {}
    people: dict[str, tuple[Submitter, ...]] = {}
    for folder, entry in data.items():
        listed = entry.get("submitters") if isinstance(entry, dict) else None
        if not isinstance(listed, list):
            continue
        people[str(folder)] = tuple(
            Submitter(name=str(p.get("name") or ""), email=str(p.get("email") or ""),
                      student_id=str(p.get("sid") or ""))
            for p in listed if isinstance(p, dict))
    return people


def canvas_submitter(folder_name: str) -> tuple[Submitter, ...]:
    match = CANVAS_FOLDER.match(folder_name)
    if match is None:
        return ()
    return (Submitter(name=match["login"], student_id=match["user"]),)
