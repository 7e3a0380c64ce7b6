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
from autograder.judge.model_checks import expect_input, expect_no_batch_norm, saved_model
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


def _single_neuron(ctx: JudgeContext, call_id: str, inputs: int) -> None:
    """One Dense(1) with no activation, however it was written (Sequential or functional,
    an explicit `Activation("linear")`, a Dropout that is inert at inference)."""
    model = saved_model(ctx, call_id)
    layers = model.architecture.layers
    if [layer.kind for layer in layers] != ["Dense"]:
        raise Fail(f"{model.file_name} is {model.architecture.describe()}; the exercise asks "
                   "for exactly one Dense layer, keras.layers.Dense(units=1).")
    neuron = layers[0]
    if neuron.units != 1 or not neuron.linear:
        raise Fail(f"{model.file_name}'s layer is {neuron.describe()}; a linear neuron has 1 "
                   "unit and no activation: keras.layers.Dense(units=1).")
    expect_no_batch_norm(model, "the neuron's weights would then no longer be the slope "
                                "and intercept of the line.")
    expect_input(model, (None, inputs), f"{inputs} feature column{'s' * (inputs > 1)}")


def _weights(loaded: LoadedModel) -> tuple[np.ndarray, float]:
    kernel, bias = dense_weights(loaded)[0]
    return kernel.reshape(-1), float(bias.reshape(-1)[0])


@grader.test("y = 2x + 1: line_predictions for 13 and −5 are near 27 and −9", points=2)
def line_predictions(ctx: JudgeContext) -> str:
    got = _variable(ctx, "line_predictions", 2)
    if not np.allclose(got, [27.0, -9.0], atol=0.5, rtol=0):
        raise Fail(f"line_predictions is [{got[0]:.4f}, {got[1]:.4f}]; y = 2x + 1 gives "
                   "[27, -9] (± 0.5). Check that the neuron has no activation and was trained "
                   "long enough.")
    return f"Predicted {got[0]:.3f} and {got[1]:.3f}."


@grader.test("line.keras is one Dense(1) neuron on one input", points=1)
def line_architecture(ctx: JudgeContext) -> None:
    _single_neuron(ctx, "line_model", 1)


@grader.test("line.keras learned w ≈ 2 and b ≈ 1", points=2,
             requires=("line.keras is one Dense(1) neuron on one input",))
def line_weights(ctx: JudgeContext) -> str:
    kernel, bias = _weights(load_student_model(ctx, "line_model"))
    if abs(kernel[0] - 2) > 0.1 or abs(bias - 1) > 0.3:
        raise Fail(f"The saved neuron has w = {kernel[0]:.4f}, b = {bias:.4f}; it should have "
                   "found w ≈ 2 (± 0.1), b ≈ 1 (± 0.3). Train longer, or check the table and "
                   "learning rate.")
    return f"w = {kernel[0]:.4f}, b = {bias:.4f}."


@grader.test("house prices: house_predictions for 8 and 12 follow the best-fit line",
             points=2)
def house_predictions(ctx: JudgeContext) -> str:
    slope, intercept = least_squares(HOUSE_SIZES, HOUSE_PRICES)
    expected = slope * np.array([8.0, 12.0]) + intercept
    got = _variable(ctx, "house_predictions", 2)
    if not np.allclose(got, expected, atol=0.5, rtol=0):
        raise Fail(f"house_predictions is [{got[0]:.4f}, {got[1]:.4f}]; the best-fit line "
                   f"gives [{expected[0]:.4f}, {expected[1]:.4f}] (± 0.5). Check that the "
                   "neuron has no activation and was trained long enough.")
    return f"Predicted {got[0]:.2f} and {got[1]:.2f} (best-fit line: {expected[0]:.2f}, " \
           f"{expected[1]:.2f})."


@grader.test("house_prices.keras is one neuron with the best-fit weights", points=2)
def house_weights(ctx: JudgeContext) -> str:
    _single_neuron(ctx, "house_model", 1)
    loaded = load_student_model(ctx, "house_model")
    slope, intercept = least_squares(HOUSE_SIZES, HOUSE_PRICES)
    kernel, bias = _weights(loaded)
    if abs(kernel[0] - slope) > 0.1 or abs(bias - intercept) > 0.3:
        raise Fail(f"The saved neuron has w = {kernel[0]:.4f}, b = {bias:.4f}; the line that "
                   f"fits the house-price table best has w = {slope:.4f}, b = {intercept:.4f} "
                   "(± 0.1, ± 0.3). Train longer or check the learning rate.")
    return f"w = {kernel[0]:.4f}, b = {bias:.4f} (best fit {slope:.4f}, {intercept:.4f})."


@grader.test("housing: x_scaler holds each feature column's min and max", points=1)
def housing_scaler(ctx: JudgeContext) -> None:
    features, _ = _housing()
    scaler = fitted_attributes(ctx, "x_scaler")
    expect_array(scaler.array("data_min_", 2), features.min(axis=0), "x_scaler.data_min_")
    expect_array(scaler.array("data_max_", 2), features.max(axis=0), "x_scaler.data_max_")


@grader.test("housing.keras is one Dense(1) neuron on two inputs", points=1)
def housing_architecture(ctx: JudgeContext) -> None:
    _single_neuron(ctx, "housing_model", 2)


# How far plausible training lands from least squares (max relative error of predict_price
# over 200 houses in the data's range, 3 seeds each; benchmarks in docs/keras-models.md):
#   the notebook's stream, full batch, lr 0.5, 500 steps ....................... 0.005–0.07 %
#   plain fit(epochs=500), mini-batches of 32, the notebook's lr 0.5 ........... 4.9–15.1 %
#   plain fit(epochs=500), mini-batches of 32, lr 0.1 .......................... 2.3–21.7 %
#   plain fit(epochs=500), mini-batches of 32, the slides' lr 0.02 (too slow) .. 15–154 %
# Mini-batch SGD at a large step keeps jumping around the optimum, so 3 % failed students who
# followed the slides; 20 % accepts the notebook's settings either way and still refuses
# unscaled inputs, a forgotten inverse_transform or an untrained model (all ≥ 50 % off).
PRICE_RTOL = 0.20


@grader.test(f"housing: predict_price agrees with a linear fit of the data (within "
             f"{PRICE_RTOL:.0%})", points=2)
def housing_prices(ctx: JudgeContext) -> str:
    features, price = _housing()
    weights = least_squares(features, price)
    worst = 0.0
    for index in range(PRICE_QUERIES):
        call_id = f"price_{index}"
        size, bedrooms = ctx.args(call_id)
        expected = float(weights @ np.array([size, bedrooms, 1.0]))
        got = as_scalar(ctx.value(call_id), f"predict_price({size:g}, {bedrooms:g})")
        error = abs(got - expected) / abs(expected)
        if not error <= PRICE_RTOL:
            raise Fail(f"predict_price({size:g}, {bedrooms:g}) is {got:,.0f}; a linear fit of "
                       f"housing.csv gives {expected:,.0f} ({error:.1%} off, more than "
                       f"{PRICE_RTOL:.0%}). Did you scale the inputs with x_scaler and "
                       "un-scale the prediction with y_scaler?")
        worst = max(worst, error)
    return f"{PRICE_QUERIES} prices within {worst:.1%} of the least-squares fit."
