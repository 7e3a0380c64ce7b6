"""Where the probe writes, and how its records reach the results folder.

The student's kernel can write wherever the runner can (in the container they share a
uid), so it could plant records in ``out/`` before the probe runs, make them read-only, or
link them elsewhere. So the probe writes into a staging folder with an unguessable name,
created only after the notebook's cells have finished, and once the kernel has been shut
down the runner — not the kernel — moves what was staged into a fresh ``out/probe`` and
``out/artifacts``: whatever else was there is moved aside unread, and only plain files and
folders owned by this uid, at the depths the protocol uses, are kept. The judge still
decodes everything as untrusted; this stops forgeries at the source where it can.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

STAGED = ("probe", "artifacts")  # what is promoted; execution.json is the runner's own
MAX_ENTRIES = 10_000


def create(out_dir: Path, owner: int | None = None) -> Path:
    """A fresh, private staging folder inside ``out_dir`` (which the runner owns). Where the
    kernel runs as another user than the runner, ``owner`` is the kernel's uid: the folder
    is handed to it, and :func:`promote` keeps only what that user wrote."""
    unlock(out_dir)
    folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    if owner is not None and owner != os.getuid():
        os.chown(folder, owner, -1)
    return folder


def unlock(folder: Path) -> None:
    """Undo a ``chmod`` the kernel may have made on a folder (the runner's, or one it may
    change as root)."""
    with contextlib.suppress(OSError):
        info = os.lstat(folder)
        if stat.S_ISDIR(info.st_mode) and (info.st_uid == os.getuid() or os.getuid() == 0):
            os.chmod(folder, 0o700)


def _aside(out_dir: Path, path: Path, discard: list[Path]) -> None:
    """Move ``path`` out of the judge's way (never read, never followed)."""
    if not os.path.lexists(path):
        return
    if not discard:
        discard.append(Path(tempfile.mkdtemp(prefix=".discarded-", dir=out_dir)))
    # Moving a folder to another parent needs write permission on the folder itself (its
    # ".." entry), which the kernel may have taken away.
    unlock(path)
    with contextlib.suppress(OSError):
        os.rename(path, discard[0] / f"{len(os.listdir(discard[0]))}")


def _keep(path: Path, depth: int, uid: int, discard: list[Path], out_dir: Path,
          seen: list[int]) -> None:
    """Keep plain files and folders owned by ``uid`` down to ``depth``; move the rest aside."""
    for entry in list(path.iterdir()):
        seen[0] += 1
        info = os.lstat(entry)
        plain_file = stat.S_ISREG(info.st_mode) and depth == 0
        folder = stat.S_ISDIR(info.st_mode) and depth > 0
        if seen[0] > MAX_ENTRIES or info.st_uid != uid or not (plain_file or folder) \
                or (plain_file and info.st_nlink != 1):
            _aside(out_dir, entry, discard)
        elif folder:
            unlock(entry)
            _keep(entry, depth - 1, uid, discard, out_dir, seen)


def promote(staging: Path | None, out_dir: Path, owner: int | None = None) -> None:
    """Replace ``out_dir/probe`` and ``out_dir/artifacts`` with what was staged by
    ``owner`` (default: this process's uid). Call only once the kernel is gone."""
    uid = os.getuid() if owner is None else owner
    unlock(out_dir)
    discard: list[Path] = []
    for name in STAGED:
        _aside(out_dir, out_dir / name, discard)
    if staging is None:
        return
    info = os.lstat(staging)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
        _aside(out_dir, staging, discard)
        return
    unlock(staging)
    seen = [0]
    for name in STAGED:
        staged = staging / name
        if not os.path.lexists(staged):
            continue
        info = os.lstat(staged)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue
        unlock(staged)
        # probe/<n>.json; artifacts/<call id>/<file name>.
        _keep(staged, 0 if name == "probe" else 1, uid, discard, out_dir, seen)
        if not os.path.lexists(out_dir / name):  # else it could not be moved aside
            os.rename(staged, out_dir / name)
    _aside(out_dir, staging, discard)
