"""Hidden grader for `xor`: the sigmoid, and XOR as AND(OR(x), NAND(x)) with the
workshop's hand-picked weights, vectorized over the rows of X."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.judge import (
    Fail,
    Grader,
    JudgeContext,
    Plan,
    expect_array,
    expect_close,
)

grader = Grader("xor")

# Correctness on many rows: a function that is right only on small inputs fails.
LARGE = 5_000
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
W_OR = np.array([-10.0, 20.0, 20.0])
W_NAND = np.array([30.0, -20.0, -20.0])
W_AND = np.array([-30.0, 20.0, 20.0])


def reference_sigmoid(z: Any) -> Any:
    # exp of a non-positive number never overflows, whatever the sign of z.
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def reference_xor(X: np.ndarray) -> np.ndarray:
    with_bias = np.column_stack([np.ones(len(X)), X])
    hidden = np.column_stack([np.ones(len(X)), reference_sigmoid(with_bias @ W_OR),
                              reference_sigmoid(with_bias @ W_NAND)])
    return np.asarray(reference_sigmoid(hidden @ W_AND))


@grader.plan
def plan(p: Plan) -> None:
    rng = p.rng
    for index, z in enumerate((0.0, 2.0, -3.5, int(rng.integers(-6, 7)))):
        p.call(f"scalar_{index}", "sigmoid", z)
    p.call("flat", "sigmoid", rng.normal(scale=4, size=int(rng.integers(10, 40))))
    p.call("matrix", "sigmoid", rng.normal(scale=4, size=(int(rng.integers(5, 20)), 3)))
    p.call("extremes", "sigmoid", np.array([-1000.0, -750.0, -40.0, 0.0, 40.0, 750.0, 1000.0]))
    p.call("truth_table", "xor", TRUTH_TABLE.copy())
    rows = TRUTH_TABLE[rng.integers(0, 4, size=int(rng.integers(20, 60)))]
    p.call("shuffled", "xor", rows)
    p.call("one_row", "xor", np.array([[1, 0]]))
    p.call("many_rows", "xor", TRUTH_TABLE[rng.integers(0, 4, size=LARGE)])


def _inputs(rng: np.random.Generator, m: int) -> tuple[np.ndarray]:
    return (TRUTH_TABLE[rng.integers(0, 4, size=m)],)


def _differs(args: tuple[Any, ...], value: Any) -> str | None:
    try:
        _rows_are_xor(args[0], value, "xor")
    except Fail as failure:
        return f"returned a wrong result ({failure})"
    return None


@grader.test("sigmoid on single numbers", points=1)
def scalars(ctx: JudgeContext) -> None:
    for index in range(4):
        z = ctx.args(f"scalar_{index}")[0]
        expect_close(ctx.value(f"scalar_{index}"), float(reference_sigmoid(z)),
                     f"sigmoid({z})", rtol=1e-9)


def _check_sigmoid_array(ctx: JudgeContext, call_id: str, what: str) -> None:
    z = ctx.args(call_id)[0]
    expect_array(ctx.value(call_id), reference_sigmoid(z), what, rtol=1e-9, atol=1e-12)


@grader.test("sigmoid works element-wise on arrays and keeps their shape", points=1)
def arrays(ctx: JudgeContext) -> None:
    _check_sigmoid_array(ctx, "flat", "sigmoid of a 1-D array")
    _check_sigmoid_array(ctx, "matrix", "sigmoid of a matrix")


@grader.test("sigmoid gives 0 and 1, never NaN, for large |z|", points=1)
def extremes(ctx: JudgeContext) -> None:
    value = ctx.value("extremes")
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.isnan(value).any():
        raise Fail("sigmoid returned NaN for large |z|: exp(z) / (1 + exp(z)) becomes "
                   "inf / inf. Write it as 1 / (1 + exp(−z)), which tends to 0 or 1.")
    _check_sigmoid_array(ctx, "extremes", "sigmoid of z = −1000 … 1000")


def _xor_values(ctx: JudgeContext, call_id: str, what: str) -> np.ndarray:
    return _values(ctx.value(call_id), len(ctx.args(call_id)[0]), what)


def _values(value: Any, rows: int, what: str) -> np.ndarray:
    """The student's xor output as a flat array; one value per row, (m,) or (m, 1)."""
    if not isinstance(value, np.ndarray):
        raise Fail(f"{what} should be a NumPy array, but it is {type(value).__name__}.")
    if value.shape not in ((rows,), (rows, 1)):
        raise Fail(f"{what} has shape {value.shape}; expected one value per row of X, "
                   f"shape ({rows},) or ({rows}, 1).")
    if value.dtype.kind not in "biuf":
        raise Fail(f"{what} should hold numbers, but its dtype is {value.dtype}.")
    values = value.astype(float).ravel()
    if not np.all(np.isfinite(values)):
        raise Fail(f"{what} contains NaN or infinite values.")
    return values


@grader.test("xor of the truth table rounds to 0, 1, 1, 0", points=2)
def truth_table(ctx: JudgeContext) -> str:
    values = _xor_values(ctx, "truth_table", "xor of the truth table")
    rounded = np.round(values)
    if not np.array_equal(rounded, [0, 1, 1, 0]):
        raise Fail(f"xor of the rows (0,0), (0,1), (1,0), (1,1) rounds to "
                   f"{rounded.astype(int).tolist()}; XOR is [0, 1, 1, 0].")
    return f"xor(truth_table) = {np.round(values, 5).tolist()}"


@grader.test("xor uses the slide's OR, NAND and AND weights", points=1,
             requires=("xor of the truth table rounds to 0, 1, 1, 0",))
def weights(ctx: JudgeContext) -> None:
    values = _xor_values(ctx, "truth_table", "xor of the truth table")
    if not np.allclose(values, reference_xor(TRUTH_TABLE), rtol=1e-6, atol=1e-9):
        raise Fail("xor rounds correctly but its outputs differ from the network with the "
                   "slide's weights (OR: −10, 20, 20; NAND: 30, −20, −20; AND: −30, 20, 20). "
                   "Return the sigmoid's output itself, not a rounded value.")


@grader.test("xor on repeated and shuffled rows, and on a single row", points=1)
def shuffled(ctx: JudgeContext) -> None:
    for call_id, what in (("shuffled", "xor of repeated, shuffled rows"),
                          ("one_row", "xor of the single row (1, 0)"),
                          ("many_rows", f"xor of {LARGE} rows")):
        _rows_are_xor(ctx.args(call_id)[0], ctx.value(call_id), what)


def _rows_are_xor(X: np.ndarray, value: Any, what: str) -> None:
    rounded = np.round(_values(value, len(X), what))
    wrong = np.flatnonzero(rounded != (X[:, 0] != X[:, 1]))
    if wrong.size:
        row = int(wrong[0])
        raise Fail(f"{what}: row {row}, ({X[row, 0]}, {X[row, 1]}), rounds to "
                   f"{int(rounded[row])}. Compute every row with the same matrix "
                   "products; do not assume the four rows of the truth table in order.")


grader.vectorization("xor", points=2, inputs=_inputs, check=_differs,
                     requires=("xor of the truth table rounds to 0, 1, 1, 0",))
