"""The judge's side: held-out arrays written by ``datasets prepare``. Never sent to a sandbox."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from autograder.datasets.locations import heldout_dir
from autograder.datasets.prepare import MANIFEST
from autograder.exercises import Exercise


class HeldOutMissingError(FileNotFoundError):
    """``datasets prepare`` has not been run (or wrote somewhere else)."""


@dataclass(frozen=True)
class HeldOut:
    name: str
    x: np.ndarray  # uint8 images, as the data set stores them
    y: np.ndarray  # integer labels
    source: str
    class_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.y)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise HeldOutMissingError(
            f"no held-out data in {folder}: run `python -m autograder datasets prepare` first")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _load(folder: Path, name: str) -> HeldOut:
    entry = _manifest(folder)["datasets"].get(name)
    if entry is None:
        raise HeldOutMissingError(f"{folder / MANIFEST} has no data set {name!r}")
    with np.load(folder / entry["file"], allow_pickle=False) as data:
        names = tuple(str(n) for n in data["class_names"]) if "class_names" in data else ()
        return HeldOut(name, data["x"], data["y"], entry["source"], names)


def load_heldout(name: str, folder: Path | None = None) -> HeldOut:
    """The held-out split of data set ``name`` (``fashion-mnist``, ``mnist``, ``own-images``)."""
    return _load((folder or heldout_dir()).resolve(), name)


def dataset_sources(names: list[str], folder: Path | None = None) -> dict[str, str]:
    """Where each data set came from, for a result's metadata; empty if not prepared."""
    try:
        entries = _manifest((folder or heldout_dir()).resolve())["datasets"]
    except (HeldOutMissingError, json.JSONDecodeError, KeyError):
        return {}
    return {name: str(entries[name]["source"]) for name in names if name in entries}


def exercise_datasets(exercise: Exercise) -> list[str]:
    """The data sets an exercise grades on: ``datasets = [...]`` in its config.toml."""
    config = tomllib.loads((exercise.grader_dir / "config.toml").read_text(encoding="utf-8"))
    return [str(name) for name in config.get("datasets", [])]
