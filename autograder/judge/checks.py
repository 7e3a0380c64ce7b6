"""Comparisons for hidden tests, with messages a student can act on.

These run in the judge on plain data only, with the judge's own NumPy: whatever the
student patched in their kernel has no effect here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.judge.framework import Fail


def _preview(value: Any) -> str:
    text = np.array2string(value, precision=4, threshold=8) if isinstance(
        value, np.ndarray) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def as_scalar(value: Any, what: str) -> float:
    """A real number from ``value``; size-1 arrays are accepted (see :func:`expect_number`)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        raise Fail(f"{what} should be a number, but it is {_preview(value)}.")
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "biuf":
            raise Fail(f"{what} should be a single number, but it is an array of shape "
                       f"{value.shape}.")
        value = value.reshape(()).item()
    if not isinstance(value, int | float):
        raise Fail(f"{what} should be a number, but it is {type(value).__name__}.")
    number = float(value)
    if not np.isfinite(number):
        raise Fail(f"{what} is {number}; check for a division by zero or an overflow.")
    return number


def expect_number(value: Any, what: str) -> float:
    """Like :func:`as_scalar` but insists on a plain number, not a 1×1 array."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise Fail(f"{what} should be a plain number (a float), but it is an array of shape "
                   f"{value.shape}. Use `.item()` or `float(...)`, or `np.sum`/`np.mean`, to "
                   "turn a 1×1 result into a number.")
    return as_scalar(value, what)


def distinct_digits(number: float, other: float) -> str:
    """``number`` with enough significant digits to show how it differs from ``other``
    (4.9999989, not 5)."""
    for digits in range(6, 18):
        text = f"{number:.{digits}g}"
        if text != f"{other:.{digits}g}":
            return text
    return repr(number)


def expect_close(actual: Any, expected: float, what: str, *, rtol: float = 1e-6,
                 atol: float = 1e-9) -> None:
    number = as_scalar(actual, what)
    if not np.isclose(number, expected, rtol=rtol, atol=atol):
        raise Fail(f"{what} is {distinct_digits(number, expected)}, which is not the "
                   "expected value.")


def expect_array(actual: Any, expected: np.ndarray, what: str, *, rtol: float = 1e-6,
                 atol: float = 1e-9, shape: bool = True) -> None:
    if not isinstance(actual, np.ndarray):
        raise Fail(f"{what} should be a NumPy array, but it is {type(actual).__name__}.")
    if actual.dtype.kind not in "biuf":
        raise Fail(f"{what} should hold numbers, but its dtype is {actual.dtype}.")
    if shape and actual.shape != expected.shape:
        raise Fail(f"{what} has shape {actual.shape}; expected shape {expected.shape}.")
    if not shape and actual.size != expected.size:
        raise Fail(f"{what} has {actual.size} values; expected {expected.size}.")
    got = actual.reshape(expected.shape).astype(float)
    if not np.all(np.isfinite(got)):
        raise Fail(f"{what} contains NaN or infinite values.")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = int(np.argmax(np.abs(got - expected)))
        raise Fail(f"{what} differs from the expected values (largest difference at flat "
                   f"index {worst}: got {got.flat[worst]:.6g}).")


def expect_tuple(actual: Any, length: int, what: str) -> tuple[Any, ...]:
    if not isinstance(actual, tuple | list) or len(actual) != length:
        raise Fail(f"{what} should return a tuple of {length} values, but it returned "
                   f"{_preview(actual)}.")
    return tuple(actual)
