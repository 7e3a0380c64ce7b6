"""Checks shared by the decoders: plain fields of bounded size, read strictly."""

from __future__ import annotations

import math
from typing import Any

from autograder.plaindata import PlainDataError

MAX_ERROR_TEXT = 1_000
MAX_SECONDS = 1e7  # no grading step lasts four months; a larger number is forged


def text(value: Any, what: str, limit: int = MAX_ERROR_TEXT) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise PlainDataError(f"{what} is not text")
    return value[:limit]


def seconds(value: Any, what: str) -> float | None:
    """A duration: a finite, non-negative number of reasonable size, or None."""
    if value is None:
        return None
    if type(value) is int:
        if not -1 < value <= MAX_SECONDS:  # compared as ints: never float(huge)
            raise PlainDataError(f"{what} is not a plausible duration")
        return float(value)
    if type(value) is not float or not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise PlainDataError(f"{what} is not a plausible duration")
    return value


def small_int(value: Any, what: str, low: int = 0, high: int = 1_000_000) -> int:
    if type(value) is not int or not low <= value <= high:
        raise PlainDataError(f"{what} is not an integer from {low} to {high}")
    return value


def flag(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise PlainDataError(f"{what} is not true or false")
    return value


def record(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise PlainDataError(f"{what} is not a record")
    return value
