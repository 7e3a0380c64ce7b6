"""Hidden grader for `linear-regression`: one Dense(1) neuron fitted three times.

Predictions are read from the student's variables and function; the learned weights and
the architecture are read by the judge from the saved model files (loaded safely, see
autograder.judge.models). References are least-squares fits computed here, so the
tolerances only have to absorb how far 500 gradient-descent steps stop from the optimum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, as_scalar, expect_array
from autograder.judge.artifacts import fitted_attributes, load_student_model
from autograder.judge.models import LoadedModel, dense_weights

grader = Grader("linear-regression")

HOUSE_SIZES = np.array([0.2, 1, 2, 3, 5, 7, 10, 9])
HOUSE_PRICES = np.array([0.2, 1.8, 4, 7, 11, 12, 13, 14])
HOUSING_CSV = Path(__file__).resolve().parents[2] / "data" / "housing.csv"
PRICE_QUERIES = 5


def least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights then bias of the line (plane) with the smallest squared error."""
    design = np.column_stack([x, np.ones(len(x))])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def _housing() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(HOUSING_CSV, delimiter=",", skiprows=1)
    return table[:, :2], table[:, 2]


@grader.plan
def plan(p: Plan) -> None:
    p.action("line_predictions", "variable", "line_predictions")
    p.action("house_predictions", "variable", "house_predictions")
    p.action("line_model", "file", "line.keras", "line.h5")
    p.action("house_model", "file", "house_prices.keras", "house_prices.h5")
    p.action("housing_model", "file", "housing.keras", "housing.h5")
    p.action("x_scaler", "attributes", "x_scaler", ["data_min_", "data_max_"])
    features, _ = _housing()
    low, high = features.min(axis=0), features.max(axis=0)
    for index in range(PRICE_QUERIES):
        size = float(np.round(p.rng.uniform(low[0], high[0])))
        bedrooms = float(p.rng.integers(int(low[1]), int(high[1]) + 1))
        p.call(f"price_{index}", "predict_price", size, bedrooms)


def _variable(ctx: JudgeContext, call_id: str, size: int) -> np.ndarray:
    value = ctx.value(call_id)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise Fail(f"`{call_id}` should be the array `model.predict` returns, but it is "
                   f"{type(value).__name__}.")
    if value.size != size:
        raise Fail(f"`{call_id}` holds {value.size} values; expected {size} predictions.")
    return value.reshape(-1).astype(float)


def _single_neuron(loaded: LoadedModel, inputs: int) -> None:
    summary = loaded.summary
    if summary.layer_types != ["Dense"]:
        raise Fail(f"{loaded.file_name} has layers {summary.layer_types}; the exercise asks "
                   "for exactly one Dense layer.")
    layer = summary.layers[0]
    if layer.units != 1 or layer.activation not in (None, "linear"):
        raise Fail(f"{loaded.file_name}'s Dense layer has {layer.units} units and activation "
                   f"{layer.activation!r}; a linear neuron has 1 unit and no activation.")
    if summary.input_shape != (None, inputs):
        raise Fail(f"{loaded.file_name} takes inputs of shape {summary.input_shape}; expected "
                   f"(None, {inputs}).")


def _weights(loaded: LoadedModel) -> tuple[np.ndarray, float]:
    kernel, bias = dense_weights(loaded)[0]
    return kernel.reshape(-1), float(bias.reshape(-1)[0])


@grader.test("y = 2x + 1: line_predictions for 13 and −5 are near 27 and −9", points=2)
def line_predictions(ctx: JudgeContext) -> str:
    got = _variable(ctx, "line_predictions", 2)
    expect_array(got, np.array([27.0, -9.0]), "line_predictions", atol=0.5, rtol=0)
    return f"Predicted {got[0]:.3f} and {got[1]:.3f}."


@grader.test("line.keras is one Dense(1) neuron on one input", points=1)
def line_architecture(ctx: JudgeContext) -> None:
    _single_neuron(load_student_model(ctx, "line_model"), 1)


@grader.test("line.keras learned w ≈ 2 and b ≈ 1", points=2,
             requires=("line.keras is one Dense(1) neuron on one input",))
def line_weights(ctx: JudgeContext) -> str:
    kernel, bias = _weights(load_student_model(ctx, "line_model"))
    if abs(kernel[0] - 2) > 0.1 or abs(bias - 1) > 0.3:
        raise Fail(f"The saved neuron has w = {kernel[0]:.3f}, b = {bias:.3f}; it should have "
                   "found w ≈ 2, b ≈ 1. Train longer, or check the table and learning rate.")
    return f"w = {kernel[0]:.4f}, b = {bias:.4f}."


@grader.test("house prices: house_predictions for 8 and 12 follow the best-fit line",
             points=2)
def house_predictions(ctx: JudgeContext) -> str:
    slope, intercept = least_squares(HOUSE_SIZES, HOUSE_PRICES)
    expected = slope * np.array([8.0, 12.0]) + intercept
    got = _variable(ctx, "house_predictions", 2)
    expect_array(got, expected, "house_predictions", atol=0.5, rtol=0)
    return f"Predicted {got[0]:.2f} and {got[1]:.2f} (best-fit line: {expected[0]:.2f}, " \
           f"{expected[1]:.2f})."


@grader.test("house_prices.keras is one neuron with the best-fit weights", points=2)
def house_weights(ctx: JudgeContext) -> str:
    loaded = load_student_model(ctx, "house_model")
    _single_neuron(loaded, 1)
    slope, intercept = least_squares(HOUSE_SIZES, HOUSE_PRICES)
    kernel, bias = _weights(loaded)
    if abs(kernel[0] - slope) > 0.1 or abs(bias - intercept) > 0.3:
        raise Fail(f"The saved neuron has w = {kernel[0]:.3f}, b = {bias:.3f}; the line that "
                   "fits the house-price table best has a different slope or intercept.")
    return f"w = {kernel[0]:.4f}, b = {bias:.4f} (best fit {slope:.4f}, {intercept:.4f})."


@grader.test("housing: x_scaler holds each feature column's min and max", points=1)
def housing_scaler(ctx: JudgeContext) -> None:
    features, _ = _housing()
    scaler = fitted_attributes(ctx, "x_scaler")
    expect_array(scaler.array("data_min_", 2), features.min(axis=0), "x_scaler.data_min_")
    expect_array(scaler.array("data_max_", 2), features.max(axis=0), "x_scaler.data_max_")


@grader.test("housing.keras is one Dense(1) neuron on two inputs", points=1)
def housing_architecture(ctx: JudgeContext) -> None:
    _single_neuron(load_student_model(ctx, "housing_model"), 2)


@grader.test("housing: predict_price agrees with a linear fit of the data (within 3%)",
             points=2)
def housing_prices(ctx: JudgeContext) -> str:
    features, price = _housing()
    weights = least_squares(features, price)
    for index in range(PRICE_QUERIES):
        call_id = f"price_{index}"
        size, bedrooms = ctx.args(call_id)
        expected = float(weights @ np.array([size, bedrooms, 1.0]))
        got = as_scalar(ctx.value(call_id), f"predict_price({size:g}, {bedrooms:g})")
        if not np.isclose(got, expected, rtol=0.03):
            raise Fail(f"predict_price({size:g}, {bedrooms:g}) is {got:,.0f}; a linear fit of "
                       f"housing.csv gives about {expected:,.0f}. Did you scale the inputs "
                       "with x_scaler and un-scale the prediction with y_scaler?")
    return f"{PRICE_QUERIES} prices within 3% of the least-squares fit."
