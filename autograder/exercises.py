"""The course's exercises: where each one's solution, template and grader live."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.judge.framework import Grader

COURSE_ENV = "AUTOGRADER_COURSE_DIR"


def course_root() -> Path:
    """The folder holding solutions/, graders/, assignments/, data/ and templates/."""
    configured = os.environ.get(COURSE_ENV)
    return Path(configured).resolve() if configured else Path(__file__).resolve().parents[1]


class UnknownExerciseError(LookupError):
    pass


@dataclass(frozen=True)
class Limits:
    """Resources one submission may use inside the sandbox."""

    timeout_s: float = 120.0
    cell_timeout_s: float = 60.0
    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 256
    output_kb: int = 1024
    disk_mb: int = 512
    # After the notebook's time limit stops it, the probe still checks what the kernel holds
    # (the functions defined, the files saved) within this many extra seconds; by default
    # a quarter of the notebook's limit, between 5 and 30 s.
    probe_allowance: float | None = None

    @property
    def probe_allowance_s(self) -> float:
        if self.probe_allowance is not None:
            return self.probe_allowance
        return min(30.0, max(5.0, self.timeout_s / 4))

    @property
    def wall_s(self) -> float:
        """The longest a run may take inside the sandbox: notebook limit plus probe."""
        return self.timeout_s + self.probe_allowance_s

    def override(self, **changes: Any) -> Limits:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    root: Path
    functions: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    required_files: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @property
    def grader_dir(self) -> Path:
        return self.root / "graders" / self.id

    @property
    def solution_path(self) -> Path:
        return self.root / "solutions" / self.id / f"{self.id}.ipynb"

    @property
    def assignment_dir(self) -> Path:
        return self.root / "assignments" / self.id

    @property
    def assignment_path(self) -> Path:
        return self.assignment_dir / f"{self.id}.ipynb"

    def data_paths(self) -> list[Path]:
        """Data files the student may see; they are copied next to the notebook."""
        return [self.root / "data" / name for name in self.data]

    @cached_property
    def version(self) -> str:
        """A hash of everything under graders/<id>/: changing a hidden test changes it."""
        digest = hashlib.sha256()
        for path in sorted(self.grader_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(self.grader_dir).as_posix().encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def load_grader(self) -> Grader:
        """Import graders/<id>/tests.py (trusted code) and return its ``grader``."""
        from autograder.judge.framework import Grader

        module = _import_file(f"autograder_graders.{self.id.replace('-', '_')}",
                              self.grader_dir / "tests.py")
        grader = getattr(module, "grader", None)
        if not isinstance(grader, Grader):
            raise TypeError(f"{self.grader_dir / 'tests.py'} must define `grader = Grader(...)`")
        return grader


def _import_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(root: Path, exercise_id: str) -> Exercise:
    config_path = root / "graders" / exercise_id / "config.toml"
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    return Exercise(
        id=exercise_id,
        title=config["title"],
        root=root,
        functions=tuple(config.get("functions", ())),
        data=tuple(config.get("data", ())),
        required_files=tuple(config.get("required_files", ())),
        limits=Limits(**config.get("limits", {})),
    )


def all_exercises(root: Path | None = None) -> list[Exercise]:
    root = root or course_root()
    ids = [p.parent.name for p in (root / "graders").glob("*/config.toml")]
    order = _course_order(root)
    ids.sort(key=lambda i: (order.index(i) if i in order else len(order), i))
    return [_load(root, i) for i in ids]


def get_exercise(exercise_id: str, root: Path | None = None) -> Exercise:
    root = root or course_root()
    if not (root / "graders" / exercise_id / "config.toml").is_file():
        known = ", ".join(e.id for e in all_exercises(root)) or "none"
        raise UnknownExerciseError(f"unknown exercise {exercise_id!r} (known: {known})")
    return _load(root, exercise_id)


def _course_order(root: Path) -> list[str]:
    course_file = root / "graders" / "course.toml"
    if not course_file.is_file():
        return []
    return list(tomllib.loads(course_file.read_text(encoding="utf-8")).get("order", []))
