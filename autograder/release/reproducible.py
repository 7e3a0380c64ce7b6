"""Zips that are byte-identical for identical content: sorted entries, a fixed date, fixed
permissions and compression, no extra fields."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold


@dataclass(frozen=True)
class Entry:
    name: str  # POSIX path inside the zip
    data: bytes
    executable: bool = False


def files_under(folder: Path, prefix: str, *, skip: tuple[str, ...] = ("__pycache__",)
                ) -> list[Entry]:
    """Every file under ``folder`` as entries named ``prefix/<relative path>``."""
    entries = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part in skip or part.endswith(".pyc")
                                      for part in path.relative_to(folder).parts):
            name = f"{prefix}/{path.relative_to(folder).as_posix()}".lstrip("/")
            entries.append(Entry(name, path.read_bytes()))
    return entries


def write_zip(path: Path, entries: list[Entry]) -> Path:
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"{path.name}: duplicate entries "
                         f"{sorted({n for n in names if names.count(n) > 1})}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = ((0o100755 if entry.executable else 0o100644) << 16)
            archive.writestr(info, entry.data, compresslevel=9)
    return path
