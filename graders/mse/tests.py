"""Hidden grader for `mse`: the mean-square error and the halved cost J(w)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_close, expect_number

grader = Grader("mse")

# Correctness on many samples: a function that is right only on small inputs fails.
LARGE = 5_000


def reference_mse(y: np.ndarray, y_hat: np.ndarray) -> float:
    return float(np.mean((np.ravel(y).astype(float) - np.ravel(y_hat)) ** 2))


def reference_cost(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    error = X.astype(float) @ np.ravel(w) - np.ravel(y)
    return float(error @ error / (2 * len(error)))


def _design(rng: np.random.Generator, m: int, n: int = 3) -> np.ndarray:
    return np.column_stack([np.ones(m), rng.normal(size=(m, n - 1))])


@grader.plan
def plan(p: Plan) -> None:
    rng = p.rng
    m = int(rng.integers(20, 60))
    p.call("table", "mse", np.full(5, 4.0), np.array([4.0, 3.0, 5.0, 7.0, 8.0]))
    p.call("flat", "mse", rng.normal(size=m), rng.normal(size=m))
    p.call("column", "mse", rng.normal(size=(m, 1)), rng.normal(size=(m, 1)))
    p.call("single", "mse", np.array([2.5]), np.array([-1.0]))
    p.call("integers", "mse", rng.integers(-9, 10, size=m), rng.integers(-9, 10, size=m))
    p.call("flat_large", "mse", rng.normal(size=LARGE), rng.normal(size=LARGE))

    X = _design(rng, m)
    p.call("cost_column", "cost", X, rng.normal(size=(m, 1)), rng.normal(size=(3, 1)))
    p.call("cost_flat", "cost", X, rng.normal(size=m), rng.normal(size=3))
    p.call("cost_single", "cost", np.array([[1.0, 2.0]]), np.array([[3.0]]),
           np.array([[0.5], [2.0]]))
    p.call("cost_zero", "cost", X, X @ np.array([1.0, -2.0, 0.5]), np.array([1.0, -2.0, 0.5]))
    p.call("cost_large", "cost", _design(rng, LARGE), rng.normal(size=(LARGE, 1)),
           rng.normal(size=(3, 1)))


def _mse_inputs(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=m), rng.normal(size=m)


def _cost_inputs(rng: np.random.Generator, m: int) -> tuple[np.ndarray, ...]:
    return _design(rng, m), rng.normal(size=(m, 1)), rng.normal(size=(3, 1))


def _differs(value: Any, expected: float) -> str | None:
    try:
        expect_close(value, expected, "it")
    except Fail as failure:
        return str(failure).removeprefix("it ").rstrip(".")
    return None


def _check_mse(ctx: JudgeContext, call_id: str, what: str) -> None:
    y, y_hat = ctx.args(call_id)
    expect_close(ctx.value(call_id), reference_mse(y, y_hat), what)


@grader.test("mse reproduces the worked table (MSE 5.4)", points=1)
def table(ctx: JudgeContext) -> str:
    expect_close(ctx.value("table"), 5.4, "mse(y, y_hat) for the table")
    return "The table's errors 0, 1, -1, -3, -4 square and average to 5.4."


@grader.test("mse on random 1-D arrays", points=2)
def flat(ctx: JudgeContext) -> None:
    _check_mse(ctx, "flat", "mse on random 1-D arrays")
    _check_mse(ctx, "flat_large", f"mse on {LARGE} random samples")


@grader.test("mse on column vectors (m×1)", points=1)
def column(ctx: JudgeContext) -> None:
    _check_mse(ctx, "column", "mse on m×1 column vectors")


@grader.test("mse with one sample and with integer arrays", points=1)
def edges(ctx: JudgeContext) -> None:
    _check_mse(ctx, "single", "mse with a single sample")
    _check_mse(ctx, "integers", "mse on integer arrays")


@grader.test("mse returns a plain number", points=1, requires=("mse on random 1-D arrays",))
def mse_number(ctx: JudgeContext) -> None:
    expect_number(ctx.value("column"), "mse on column vectors")


grader.vectorization("mse", points=2, inputs=_mse_inputs,
                     check=lambda args, value: _differs(value, reference_mse(*args)),
                     requires=("mse on random 1-D arrays",))


def _check_cost(ctx: JudgeContext, call_id: str, what: str) -> None:
    X, y, w = ctx.args(call_id)
    expected = reference_cost(X, y, w)
    value = ctx.value(call_id)
    try:
        expect_close(value, expected, what)
    except Fail:
        got = float(np.ravel(value)[0]) if np.size(value) == 1 else None
        if got is not None and np.isclose(got, 2 * expected):
            raise Fail(f"{what} is twice the expected cost: J(w) divides by 2m, "
                       "not by m.") from None
        m = len(np.ravel(y))
        if got is not None and m > 1 and np.isclose(got, m * m * expected):
            raise Fail(f"{what} is m² times the expected cost: `1/2*m` means (1/2)·m in "
                       "Python. Write `1 / (2 * m)` or `/ (2 * m)`.") from None
        raise


@grader.test("cost J(w) = 1/(2m)·(Xw − y)ᵀ(Xw − y) with column vectors", points=2)
def cost_column(ctx: JudgeContext) -> None:
    _check_cost(ctx, "cost_column", "cost on column vectors")
    _check_cost(ctx, "cost_large", f"cost on {LARGE} random samples")


@grader.test("cost with 1-D y and w", points=1)
def cost_flat(ctx: JudgeContext) -> None:
    _check_cost(ctx, "cost_flat", "cost with 1-D y and w")


@grader.test("cost with one sample, and zero for a perfect fit", points=1)
def cost_edges(ctx: JudgeContext) -> None:
    _check_cost(ctx, "cost_single", "cost with a single sample")
    expect_close(ctx.value("cost_zero"), 0.0, "cost of weights that fit exactly", atol=1e-9)


@grader.test("cost returns a plain number", points=1,
             requires=("cost J(w) = 1/(2m)·(Xw − y)ᵀ(Xw − y) with column vectors",))
def cost_number(ctx: JudgeContext) -> None:
    expect_number(ctx.value("cost_column"), "cost on column vectors")


grader.vectorization("cost", points=2, inputs=_cost_inputs,
                     check=lambda args, value: _differs(value, reference_cost(*args)),
                     requires=("cost J(w) = 1/(2m)·(Xw − y)ᵀ(Xw − y) with column vectors",))
