"""Hidden grader for `min-max-scaling`: column-wise min-max scaling, judged against
scikit-learn's MinMaxScaler on plain arrays (in the trusted judge, never on student objects)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_array, expect_tuple

grader = Grader("min-max-scaling")

# Correctness on many rows: a function that is right only on small inputs fails.
LARGE = 5_000
SLIDE_X = np.array([[1000, 5, 70], [2000, 6, 90], [2500, 2, 95]])


def reference(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_norm, X_min, X_max); a 1-D array is one feature, scaled as a whole."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        scaled, low, high = reference(X.reshape(-1, 1))
        return scaled.ravel(), low.reshape(()), high.reshape(())
    scaler = MinMaxScaler().fit(X)
    return scaler.transform(X), scaler.data_min_, scaler.data_max_


@grader.plan
def plan(p: Plan) -> None:
    rng = p.rng
    m, n = int(rng.integers(20, 60)), int(rng.integers(2, 6))
    p.call("slide", "min_max_scale", SLIDE_X.astype(float))
    p.call("random", "min_max_scale", rng.normal(loc=50, scale=20, size=(m, n)))
    p.call("integers", "min_max_scale", rng.integers(-500, 500, size=(m, 3)))
    constant = rng.uniform(-10, 10, size=(m, 3))
    constant[:, 1] = 7.5
    p.call("constant", "min_max_scale", constant)
    p.call("single_row", "min_max_scale", np.array([[3.0, -1.0, 8.0]]))
    p.call("flat", "min_max_scale", rng.uniform(100, 900, size=m))
    p.call("random_large", "min_max_scale", rng.normal(loc=50, scale=20, size=(LARGE, 4)))


def _inputs(rng: np.random.Generator, m: int) -> tuple[np.ndarray]:
    return (rng.normal(loc=50, scale=20, size=(m, 3)),)


def _differs(args: tuple[Any, ...], value: Any) -> str | None:
    try:
        _check_value(args[0], value, "random data")
    except Fail as failure:
        return f"returned a wrong result ({failure})"
    return None


def _check(ctx: JudgeContext, call_id: str, what: str) -> None:
    _check_value(ctx.args(call_id)[0], ctx.value(call_id), what)


def _check_value(X: np.ndarray, value: Any, what: str) -> None:
    X_norm, X_min, X_max = expect_tuple(value, 3, f"min_max_scale on {what}")
    expected_norm, expected_min, expected_max = reference(X)
    _hint_global(X, X_min, X_max, what)
    expect_array(_array(X_min), expected_min, f"X_min for {what}", shape=False)
    expect_array(_array(X_max), expected_max, f"X_max for {what}", shape=False)
    try:
        expect_array(_array(X_norm), expected_norm, f"X_norm for {what}")
    except Fail:
        got = _array(X_norm)
        if isinstance(got, np.ndarray) and got.shape == expected_norm.shape:
            if np.allclose(got, (X - expected_min) / np.where(expected_max == 0, 1,
                                                              expected_max)):
                raise Fail(f"X_norm for {what} divides by X_max; min-max scaling divides by "
                           "the range X_max − X_min.") from None
            deviation = np.std(X, axis=0)
            if X.ndim == 2 and len(X) > 1 and np.allclose(
                    got, (X - expected_min) / np.where(deviation == 0, 1, deviation)):
                raise Fail(f"X_norm for {what} divides by the standard deviation; min-max "
                           "scaling divides by the range X_max − X_min (dividing by the "
                           "standard deviation is standardization).") from None
        raise


def _hint_global(X: np.ndarray, X_min: Any, X_max: Any, what: str) -> None:
    """The minimum and maximum of the whole matrix instead of each column's."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2:
        return
    low, high = np.asarray(_array(X_min), dtype=object), np.asarray(_array(X_max), dtype=object)
    if low.size == 1 and high.size == 1:
        try:
            pair = (float(low.reshape(())), float(high.reshape(())))
        except (TypeError, ValueError):
            return
        if np.isclose(pair[0], X.min()) and np.isclose(pair[1], X.max()):
            raise Fail(f"X_min and X_max for {what} are single numbers, the minimum and "
                       "maximum of the whole matrix; scale each column by its own minimum "
                       "and maximum: `np.min(X, axis=0)`, `np.max(X, axis=0)`.")


def _array(value: Any) -> Any:
    """Plain numbers and lists as arrays, so the comparison messages stay about values."""
    if isinstance(value, int | float | list) and not isinstance(value, bool):
        return np.asarray(value, dtype=float)
    return value


@grader.test("min_max_scale reproduces the slide's 3×3 example", points=1)
def slide(ctx: JudgeContext) -> None:
    _check(ctx, "slide", "the slide's example")


@grader.test("min_max_scale matches scikit-learn's MinMaxScaler on random data", points=2)
def random(ctx: JudgeContext) -> None:
    _check(ctx, "random", "random data")
    _check(ctx, "random_large", f"{LARGE} random rows")


@grader.test("min_max_scale works on integer input", points=1)
def integers(ctx: JudgeContext) -> None:
    _check(ctx, "integers", "an integer matrix")


@grader.test("a constant column (and a single row) scales to zeros, not NaN", points=1)
def constant(ctx: JudgeContext) -> None:
    _check(ctx, "constant", "a matrix with a constant column")
    _check(ctx, "single_row", "a single row")


@grader.test("a 1-D array is scaled as one feature", points=1)
def flat(ctx: JudgeContext) -> None:
    _check(ctx, "flat", "a 1-D array")


@grader.test("min_max_scale does not modify its input", points=1)
def untouched(ctx: JudgeContext) -> str:
    for call_id in ("slide", "random", "integers"):
        ctx.value(call_id)  # a function that raised has not shown it leaves X alone
        if ctx.outcome(call_id).mutated_args:
            raise Fail("min_max_scale changed the array it was given (an in-place operation "
                       "such as `X -= X_min`); compute a new array instead, e.g. "
                       "`X_norm = (X - X_min) / ...`.")
    return "The caller's X is left as it was."


grader.vectorization("min_max_scale", points=2, inputs=_inputs, check=_differs,
                     requires=("min_max_scale matches scikit-learn's MinMaxScaler on random "
                               "data",))
