"""Hidden grader for `gradient-descent`: minimising a parabola, then batch gradient
descent for linear regression on random data and on the housing data."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.exercises import course_root
from autograder.judge import (
    Fail,
    Grader,
    JudgeContext,
    Plan,
    expect_array,
    expect_close,
    expect_number,
    expect_tuple,
)

grader = Grader("gradient-descent")

# Counted calls for the vectorization verdict: the same few iterations at each size, so
# the loop over iterations does the same work and only a loop over samples grows.
WORK_ITERATIONS = 2
LARGE = 3_000  # correctness on many samples
# How close gradient_descent(0) and (10) must come to 5 with the defaults (α = 0.1, 1000
# iterations). Measured final |x − 5| for the stopping rules students add: stop when the
# step |Δx| < p: 1.1e-6 (p = 1e-6), 1.4e-5 (1e-5), 1.8e-4 (1e-4); when the slope < p:
# at most 2.4e-5; when the change in f < 1e-6: 5.1e-4. 1e-3 accepts them all; an answer
# that stops after a handful of steps (|x − 5| ≥ 0.03 after 10) still fails.
CONVERGED_ATOL = 1e-3
HOUSING_ALPHA, HOUSING_ITERATIONS = 1.0, 1_500
SMALL_ALPHA, SMALL_ALPHA_ITERATIONS = 0.05, 300


def reference_gradient_descent(initial_x: float, learning_rate: float = 0.1,
                               iterations: int = 1000) -> float:
    x = float(initial_x)
    for _ in range(iterations):
        x -= learning_rate * 4 * (x - 5)
    return x


def reference_bgd(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float,
                  iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final weights, and the costs J(w) recorded before and after each update."""
    X, y, w = X.astype(float), np.ravel(y).astype(float), np.ravel(w).astype(float)
    m = len(y)
    before, after = [], []
    for _ in range(iterations):
        error = X @ w - y
        before.append(error @ error / (2 * m))
        w = w - alpha * (X.T @ error) / m
        error = X @ w - y
        after.append(error @ error / (2 * m))
    return w, np.array(before), np.array(after)


def housing_design() -> tuple[np.ndarray, np.ndarray]:
    """The housing data as the notebook prepares it: min-max scaled features, bias first."""
    data = np.genfromtxt(course_root() / "data" / "housing.csv", delimiter=",", skip_header=1)
    features, price = data[:, :2], data[:, 2]
    scaled = (features - features.min(axis=0)) / (features.max(axis=0) - features.min(axis=0))
    return np.column_stack([np.ones(len(price)), scaled]), price


def _design(rng: np.random.Generator, m: int, n: int = 3) -> np.ndarray:
    return np.column_stack([np.ones(m), rng.uniform(0, 1, size=(m, n - 1))])


@grader.plan
def plan(p: Plan) -> None:
    rng = p.rng
    p.call("gd_from_0", "gradient_descent", 0)
    p.call("gd_from_10", "gradient_descent", 10)
    for index in range(3):
        start = float(np.round(rng.uniform(-20, 30), 3))
        rate = float(np.round(rng.uniform(0.01, 0.2), 3))
        p.call(f"gd_custom_{index}", "gradient_descent", start,
               learning_rate=rate, iterations=int(rng.integers(3, 30)))
    p.call("gd_positional", "gradient_descent", -3.0, 0.05, 7)
    p.call("gd_no_steps", "gradient_descent", 2.5, learning_rate=0.1, iterations=0)

    m = int(rng.integers(20, 60))
    X = _design(rng, m)
    true_w = rng.normal(size=3)
    y = X @ true_w + 0.1 * rng.normal(size=m)
    iterations = int(rng.integers(20, 60))
    p.call("bgd_column", "batch_gradient_descent", X, y.reshape(-1, 1), np.zeros((3, 1)),
           0.5, iterations)
    p.call("bgd_flat", "batch_gradient_descent", X, y, rng.normal(size=3), 0.3, iterations)
    p.call("bgd_single", "batch_gradient_descent", np.array([[1.0, 2.0]]), np.array([[3.0]]),
           np.array([[0.5], [-1.0]]), 0.1, 5)

    X_house, price = housing_design()
    p.call("bgd_housing", "batch_gradient_descent", X_house, price.reshape(-1, 1),
           np.zeros((3, 1)), HOUSING_ALPHA, HOUSING_ITERATIONS)
    p.call("bgd_small_alpha", "batch_gradient_descent", X_house, price.reshape(-1, 1),
           np.zeros((3, 1)), SMALL_ALPHA, SMALL_ALPHA_ITERATIONS)

    X_large = _design(rng, LARGE)
    p.call("bgd_large", "batch_gradient_descent", X_large,
           (X_large @ true_w + 0.1 * rng.normal(size=LARGE)).reshape(-1, 1), np.zeros((3, 1)),
           0.5, iterations)


def _work_inputs(rng: np.random.Generator, m: int) -> tuple[Any, ...]:
    return (_design(rng, m), rng.normal(size=(m, 1)), np.zeros((3, 1)), 0.1,
            WORK_ITERATIONS)


def _work_differs(args: tuple[Any, ...], value: Any) -> str | None:
    try:
        _check_bgd_value(args, value, "batch_gradient_descent")
    except Fail as failure:
        return f"returned a wrong result ({failure})"
    return None


# -- gradient_descent ------------------------------------------------------------------------

@grader.test("gradient_descent reaches x ≈ 5 from 0 and from 10", points=2)
def converges(ctx: JudgeContext) -> str:
    expect_close(ctx.value("gd_from_0"), 5.0, "gradient_descent(0)", rtol=0,
                 atol=CONVERGED_ATOL)
    expect_close(ctx.value("gd_from_10"), 5.0, "gradient_descent(10)", rtol=0,
                 atol=CONVERGED_ATOL)
    return "Both starts end at the minimum x = 5 of y = 2(x − 5)² + 3."


def _check_steps(ctx: JudgeContext, call_id: str) -> None:
    call = ctx.planned(call_id)
    expected = reference_gradient_descent(*call.args, **call.kwargs)
    settings = ", ".join([repr(a) for a in call.args] +
                         [f"{k}={v!r}" for k, v in call.kwargs.items()])
    expect_close(ctx.value(call_id), expected, f"gradient_descent({settings})", rtol=1e-6)


@grader.test("gradient_descent takes the steps x ← x − α·4(x − 5) for other starts, "
             "learning rates and iteration counts", points=2)
def custom_steps(ctx: JudgeContext) -> None:
    for index in range(3):
        _check_steps(ctx, f"gd_custom_{index}")
    _check_steps(ctx, "gd_positional")
    _check_steps(ctx, "gd_no_steps")


# Not withheld when the value is off: returning a float is worth its point on its own.
@grader.test("gradient_descent returns a plain number", points=1)
def gd_number(ctx: JudgeContext) -> None:
    expect_number(ctx.value("gd_from_0"), "gradient_descent(0)")


# -- batch_gradient_descent ------------------------------------------------------------------

def _unpack(ctx: JudgeContext, call_id: str) -> tuple[Any, np.ndarray]:
    return _unpack_value(ctx.value(call_id), ctx.args(call_id)[4])


def _unpack_value(value: Any, iterations: int) -> tuple[Any, np.ndarray]:
    w, costs = expect_tuple(value, 2, "batch_gradient_descent")
    try:
        cost_values = np.asarray(costs, dtype=float).ravel()
    except (TypeError, ValueError):
        raise Fail("the costs returned by batch_gradient_descent should be a list or array "
                   "of numbers, one per iteration.") from None
    if cost_values.size != iterations:
        raise Fail(f"batch_gradient_descent returned {cost_values.size} costs for "
                   f"{iterations} iterations; record J(w) once per iteration.")
    if not np.all(np.isfinite(cost_values)):
        raise Fail("the costs contain NaN or infinite values: check the sign of the update "
                   "and that the gradient is divided by m.")
    return w, cost_values


def _check_bgd(ctx: JudgeContext, call_id: str, what: str) -> None:
    _check_bgd_value(ctx.args(call_id), ctx.value(call_id), what)


def _check_bgd_value(args: tuple[Any, ...], value: Any, what: str) -> None:
    X, y, w0, alpha, iterations = args
    expected_w, before, after = reference_bgd(X, y, w0, alpha, iterations)
    w, costs = _unpack_value(value, iterations)
    expect_array(np.asarray(w) if isinstance(w, list) else w, expected_w,
                 f"the weights from {what}", rtol=1e-6, atol=1e-9, shape=False)
    if not (np.allclose(costs, before, rtol=1e-6, atol=1e-12)
            or np.allclose(costs, after, rtol=1e-6, atol=1e-12)):
        raise Fail(f"the costs from {what} are not J(w) = 1/(2m)·‖Xw − y‖² of the weights "
                   "before (or after) each update.")


@grader.test("batch_gradient_descent with column vectors y (m×1) and w (n×1)", points=2)
def bgd_column(ctx: JudgeContext) -> None:
    _check_bgd(ctx, "bgd_column", "batch_gradient_descent on random data")
    _check_bgd(ctx, "bgd_large", f"batch_gradient_descent on {LARGE} random samples")


@grader.test("batch_gradient_descent with 1-D y and w, and with one sample", points=1)
def bgd_flat(ctx: JudgeContext) -> None:
    _check_bgd(ctx, "bgd_flat", "batch_gradient_descent with 1-D y and w")
    _check_bgd(ctx, "bgd_single", "batch_gradient_descent with a single sample")


@grader.test("on the housing data the weights approach the normal-equation solution",
             points=2)
def housing(ctx: JudgeContext) -> str:
    X, y = housing_design()
    exact = np.linalg.lstsq(X, y, rcond=None)[0]
    w, _ = _unpack(ctx, "bgd_housing")
    expect_array(np.asarray(w) if isinstance(w, list) else w, exact,
                 f"the weights after {HOUSING_ITERATIONS} iterations with α = "
                 f"{HOUSING_ALPHA:g}", rtol=1e-4, atol=1e-3, shape=False)
    return "Gradient descent found the same weights as the normal equation (XᵀX)⁻¹Xᵀy."


@grader.test("the costs never increase for a small learning rate", points=1)
def monotonic(ctx: JudgeContext) -> None:
    _, costs = _unpack(ctx, "bgd_small_alpha")
    steps = np.diff(costs)
    rising = np.flatnonzero(steps > 1e-9 * np.abs(costs[:-1]))
    if rising.size:
        raise Fail(f"with α = {SMALL_ALPHA:g} the cost rose from iteration {rising[0]} to "
                   f"{rising[0] + 1}; a correct gradient step never increases it.")
    if not costs[-1] < costs[0]:
        raise Fail(f"with α = {SMALL_ALPHA:g} the cost did not go down at all.")


grader.vectorization("batch_gradient_descent", points=2, inputs=_work_inputs,
                     check=_work_differs, iteration_param=4,
                     requires=("batch_gradient_descent with column vectors y (m×1) and w (n×1)",))
