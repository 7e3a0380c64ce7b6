"""The result cache, which is also the batch's durable store.

An entry is keyed by everything that decides a result, each part computed from the thing
itself, never from a version number someone has to remember to bump:

- the submission's bytes;
- the exercise and its grader version (a hash of graders/<id>/, so editing a hidden test
  changes it);
- the exercise's data: the files under data/ it hands to students and the held-out arrays
  the judge evaluates on (see autograder/batch/identity.py);
- the judge: a hash of the autograder package's grading code (judge, runner, sandbox,
  protocol, pipeline...), so fixing the judge regrades;
- the sandbox: its name, and for Docker the image's content id (``sha256:...``), not its
  tag, so rebuilding ``autograder-sandbox:latest`` regrades;
- the grading options (mode, limits).

Entries are written atomically, and grading a key happens under a per-key file lock, so two
processes never grade the same key at the same time and a result that has been stored is
never graded again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autograder.batch.files import exclusive_lock, write_atomic
from autograder.exercises import Limits
from autograder.results import GradeResult
from autograder.sandbox import Sandbox

CACHE_ENV = "AUTOGRADER_CACHE_DIR"


def default_cache_dir(out: Path) -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else out / "cache"


def sandbox_identity(sandbox: Sandbox) -> str:
    """What, in the sandbox, can change a result: "docker:sha256:<image content id>", or
    the sandbox's name where it runs this checkout's own code ("local", "unprivileged"; that
    code is part of the judge hash)."""
    image_id = getattr(sandbox, "image_id", None)
    return f"{sandbox.name}:{image_id}" if image_id else sandbox.name


def options_fingerprint(mode: str, limits: Limits) -> str:
    """Grading options that change results (a longer time limit can turn a timeout into
    points)."""
    settings = {"mode": mode, "limits": asdict(limits)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheKey:
    exercise: str
    submission_sha256: str
    grader_version: str
    sandbox: str
    options: str
    data: str = ""  # identity.exercise_data_hash
    judge: str = ""  # identity.judge_source_hash

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class ResultCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: CacheKey, suffix: str) -> Path:
        digest = key.digest
        return self.root / key.exercise / digest[:2] / f"{digest}{suffix}"

    def get(self, key: CacheKey) -> GradeResult | None:
        """The stored result, or None (also for an unreadable entry, which is regraded)."""
        try:
            entry = json.loads(self._path(key, ".json").read_text(encoding="utf-8"))
            if entry.get("key") != key.to_dict():
                return None
            return GradeResult.from_dict(entry["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: CacheKey, result: GradeResult) -> None:
        entry: dict[str, Any] = {"key": key.to_dict(), "result": result.to_dict()}
        write_atomic(self._path(key, ".json"),
                     json.dumps(entry, ensure_ascii=False).encode("utf-8"))

    @contextmanager
    def grading(self, key: CacheKey) -> Iterator[None]:
        """Hold while grading ``key``: a second grader of the same key waits, then finds the
        stored result instead of grading it again."""
        with exclusive_lock(self._path(key, ".lock")):
            yield
