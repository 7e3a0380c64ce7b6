"""Packing a submission: the notebook plus exactly the files the exercise requires.

Standard library only: the released notebook's last cell embeds this module's source
(templates/notebook/submit.py.j2), so students can pack without installing anything, and
``autograder pack`` runs the same code.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

MAX_FILE_MB = 100.0
# Autosave touches the notebook after training wrote its files; only a required file much
# older than the notebook's last save is treated as left over from an earlier run.
STALE_AFTER_S = 600.0


class PackError(ValueError):
    """The submission cannot be packed; the message says what to do."""


def present_name(folder: Path, name: str) -> str:
    """``name``, or for a missing ``model.keras`` the ``model.h5`` saved in its place (the
    graders accept either format)."""
    path = folder / name
    if path.suffix == ".keras" and not path.is_file() and path.with_suffix(".h5").is_file():
        return path.with_suffix(".h5").name
    return name


def check_required(notebook: Path, required: list[str], *, max_file_mb: float = MAX_FILE_MB,
                   stale_after_s: float = STALE_AFTER_S) -> list[str]:
    """Every problem with the notebook and the required files (empty when all is well)."""
    problems = []
    if not notebook.is_file():
        return [f"{notebook.name} was not found in {notebook.parent}: save the notebook "
                "(File → Save) and run this again from its folder."]
    saved = notebook.stat().st_mtime
    for name in (present_name(notebook.parent, n) for n in required):
        path = notebook.parent / name
        if not path.is_file():
            problems.append(f"{name} is missing: run the cell that saves it, then pack again.")
            continue
        size = path.stat().st_size
        if size == 0:
            problems.append(f"{name} is empty: saving it failed or was interrupted; save it "
                            "again.")
        elif size > max_file_mb * 1024 * 1024:
            problems.append(f"{name} is {size / 1024 / 1024:.1f} MB, over the {max_file_mb:g} MB "
                            "limit: save a smaller model (fewer or smaller layers).")
        if saved - path.stat().st_mtime > stale_after_s:
            minutes = (saved - path.stat().st_mtime) / 60
            problems.append(f"{name} is {minutes:.0f} minutes older than the notebook's last "
                            "save, so it may not match your code: run the notebook from the "
                            "top, save it, and pack again.")
    return problems


def pack(notebook: Path, required: list[str], out: Path, *, max_file_mb: float = MAX_FILE_MB,
         stale_after_s: float = STALE_AFTER_S) -> Path:
    """Write ``out``: the notebook and ``required`` (relative to the notebook's folder)."""
    problems = check_required(notebook, required, max_file_mb=max_file_mb,
                              stale_after_s=stale_after_s)
    if problems:
        raise PackError("Not packed:\n- " + "\n- ".join(problems))
    temporary = out.with_name(out.name + ".part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(notebook, notebook.name)
        for name in (present_name(notebook.parent, n) for n in required):
            archive.write(notebook.parent / name, Path(name).as_posix())
    os.replace(temporary, out)
    return out
