"""The probe's action kinds and the shape of each kind's value: the one registry.

A planned call's ``kind`` selects what the probe does inside the sandbox
(:mod:`autograder.runner.probe` and :mod:`autograder.runner.probe_actions` implement them,
keyed by :class:`ActionKind`) and how the judge checks the value that comes back (the
decoders here, used by :mod:`autograder.judge.collect` and :mod:`autograder.judge.artifacts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from autograder.plaindata import PlainDataError
from autograder.protocol import bounds

MAX_FILE_NAME = 255
MAX_ATTRIBUTES = 1_000
MAX_CURVES = 50


class ActionKind(StrEnum):
    CALL = "call"  # call the student's function on planned inputs
    VARIABLE = "variable"  # the value of a notebook variable
    FILE = "file"  # copy a file the notebook saved (a model) to the judge
    JOBLIB_ATTRIBUTES = "joblib-attributes"  # named numbers of a joblib-saved fitted object
    ATTRIBUTES = "attributes"  # named numbers of a fitted object held in a variable
    HISTORY = "history"  # a Keras History's per-epoch metrics


@dataclass(frozen=True)
class FileValue:
    """``file``: the copy is at ``<out>/artifacts/<call id>/<name>``."""

    name: str
    size: int
    mtime: float

    @classmethod
    def decode(cls, value: Any) -> FileValue:
        record = bounds.record(value, "the file record")
        name = record.get("name")
        if type(name) is not str or not 0 < len(name.encode("utf-8", "replace")) \
                <= MAX_FILE_NAME or len(PurePosixPath(name).parts) != 1 \
                or name in (".", "..") or "/" in name or "\x00" in name:
            raise PlainDataError("the file record names no plain file")
        size = bounds.small_int(record.get("size"), "the file's size", 0, 2**40)
        mtime = record.get("mtime")
        if type(mtime) is not float or not np.isfinite(mtime):
            raise PlainDataError("the file record's time is not a number")
        return cls(name=name, size=size, mtime=mtime)


@dataclass(frozen=True)
class FittedValue:
    """``attributes`` / ``joblib-attributes``: a fitted object's class and named numbers."""

    class_name: str
    attributes: dict[str, Any]
    missing: tuple[str, ...]
    unreadable: dict[str, str]

    @classmethod
    def decode(cls, value: Any) -> FittedValue:
        record = bounds.record(value, "the fitted object's record")
        attributes = bounds.record(record.get("attributes"), "the fitted object's attributes")
        missing = record.get("missing", [])
        unreadable = bounds.record(record.get("unreadable", {}), "the unreadable attributes")
        if len(attributes) + len(unreadable) > MAX_ATTRIBUTES or type(missing) is not list \
                or len(missing) > MAX_ATTRIBUTES:
            raise PlainDataError("the fitted object's record is too long")
        return cls(
            class_name=bounds.text(record.get("class"), "the fitted object's class", 200),
            attributes=dict(attributes),
            missing=tuple(bounds.text(m, "a missing attribute's name", 200) for m in missing),
            unreadable={k: bounds.text(v, "an attribute's problem", 300)
                        for k, v in unreadable.items()},
        )


def decode_history(value: Any) -> dict[str, np.ndarray]:
    """``history``: metric name → a 1-D float array, one value per epoch."""
    record = bounds.record(value, "the training history")
    if len(record) > MAX_CURVES:
        raise PlainDataError("the training history has too many metrics")
    curves: dict[str, np.ndarray] = {}
    for name, series in record.items():
        if not isinstance(series, np.ndarray) or series.ndim != 1 or series.dtype.kind != "f":
            raise PlainDataError(f"the history's {name[:40]!r} is not one number per epoch")
        curves[name] = series
    return curves


def _any(value: Any) -> Any:
    return value


def _file(value: Any) -> Any:
    FileValue.decode(value)
    return value


def _fitted(value: Any) -> Any:
    FittedValue.decode(value)
    return value


# How the judge checks each kind's value when the record says ``ok`` (PlainDataError if
# the value has the wrong shape). Every ActionKind has exactly one entry.
VALUE_CHECKS: dict[ActionKind, Callable[[Any], Any]] = {
    ActionKind.CALL: _any,
    ActionKind.VARIABLE: _any,
    ActionKind.FILE: _file,
    ActionKind.JOBLIB_ATTRIBUTES: _fitted,
    ActionKind.ATTRIBUTES: _fitted,
    ActionKind.HISTORY: decode_history,
}
