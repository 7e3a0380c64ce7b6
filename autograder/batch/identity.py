"""Content hashes of what, besides the submission, decides a result: the judge's code and an
exercise's data. The cache keys on them (cache.py), so a fix to the judge or a new held-out
file regrades without anyone bumping a version number.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import autograder
from autograder.exercises import Exercise

# Parts of the package that only drive, store or present grading: they never change a
# GradeResult. Everything else counts, so a new module is part of the hash by default.
NOT_GRADING = frozenset({"batch", "commands", "lms", "reporters", "release", "image",
                         "feedback", "cli.py", "__main__.py", "templating.py"})
PACKAGE_ROOT = Path(autograder.__file__).resolve().parent


def _hash_files(digest: hashlib._Hash, root: Path, files: list[Path]) -> None:
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")


@lru_cache(maxsize=4)
def judge_source_hash(package_root: Path = PACKAGE_ROOT) -> str:
    """A hash of the grading code under ``package_root`` (its ``.py`` files, minus
    NOT_GRADING). The runner and sandbox code count too: the local and unprivileged
    sandboxes run this checkout's runner (a Docker image's runner is in its content id)."""
    files = [p for p in package_root.rglob("*.py")
             if p.relative_to(package_root).parts[0] not in NOT_GRADING
             and "__pycache__" not in p.parts]
    digest = hashlib.sha256(b"judge-source\0")
    _hash_files(digest, package_root, files)
    return digest.hexdigest()[:16]


def exercise_data_hash(exercise: Exercise) -> str:
    """A hash of the data files handed to students (data/…) and of the held-out arrays the
    judge evaluates on (``datasets = [...]`` in config.toml); hidden files kept under
    graders/<id>/ are already part of ``exercise.version``."""
    from autograder.datasets.locations import heldout_dir

    return _exercise_data_hash(exercise, heldout_dir())


@lru_cache(maxsize=64)
def _exercise_data_hash(exercise: Exercise, folder: Path) -> str:
    from autograder.datasets.heldout import exercise_datasets
    from autograder.datasets.prepare import MANIFEST

    digest = hashlib.sha256(b"exercise-data\0")
    for name in exercise.data:
        path = exercise.root / "data" / name
        digest.update(f"data:{name}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    names = exercise_datasets(exercise)
    if names:
        try:
            entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["datasets"]
        except (OSError, ValueError, KeyError):
            entries = {}  # not prepared: grading reports that; the key says "missing"
        for name in names:
            entry = entries.get(name) if isinstance(entries, dict) else None
            digest.update(f"heldout:{name}\0{json.dumps(entry, sort_keys=True)}\0".encode())
            held = folder / str(entry.get("file", "")) if isinstance(entry, dict) else None
            digest.update(held.read_bytes() if held and held.is_file() else b"(missing)")
    return digest.hexdigest()[:16]
