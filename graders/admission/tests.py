"""Hidden grader for `admission`: held-out accuracy of saved classifiers, and their use.

The 20 held-out applicants (heldout.csv, see README.md) live only here; the sandbox sees
the other 80. The judge never unpickles the student's scaler: the probe loads it inside
the sandbox and sends back its fitted numbers, which the judge applies itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_array
from autograder.judge.artifacts import (
    FittedObject,
    fitted_attributes,
    load_student_model,
    minmax_transform,
)
from autograder.judge.model_checks import (
    HIDDEN_ACTIVATIONS,
    expect_input,
    expect_no_batch_norm,
    saved_model,
)
from autograder.judge.models import binary_accuracy, predict

grader = Grader("admission")

HERE = Path(__file__).resolve().parent
TRAINING_CSV = HERE.parents[1] / "data" / "admission.csv"
HELDOUT_CSV = HERE / "heldout.csv"
# 17 of the 20 held-out applicants. The seeded solution classifies 19/20 (one neuron) and
# 20/20 (hidden layers) correctly; an untrained model or one trained for one epoch on 1%
# of the data scores 8-12/20. See README.md for the measurements behind this choice.
ACCURACY_THRESHOLD = 0.85
CONSISTENCY_QUERIES = 12
UNDECIDED = 0.02  # probabilities this close to 0.5 may round either way; not counted


def _table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, :2], table[:, 2]


@grader.plan
def plan(p: Plan) -> None:
    p.action("scaler", "joblib-attributes", "admission-scaler.joblib",
             ["data_min_", "data_max_", "scale_", "min_", "feature_range"])
    p.action("simple", "file", "admission-simple.keras", "admission-simple.h5")
    p.action("enhanced", "file", "admission.keras", "admission.h5")
    for index in range(CONSISTENCY_QUERIES):
        exam1, exam2 = np.round(p.rng.uniform(30, 100, size=2), 1)
        p.call(f"decide_{index}", "predict_admission", float(exam1), float(exam2))


def _scaler(ctx: JudgeContext) -> FittedObject:
    return fitted_attributes(ctx, "scaler")


def _expect_classifier(ctx: JudgeContext, call_id: str, hidden: list[int]) -> str:
    """Dense layers of ``hidden`` units (non-linear) then Dense(1, sigmoid) on two inputs,
    however written: Sequential or functional, separate Activation layers, Dropout (inert
    at inference); BatchNormalization only in the network with hidden layers."""
    model = saved_model(ctx, call_id)
    architecture = model.architecture
    shown = architecture.describe()
    if architecture.kinds != ["Dense"] * (len(hidden) + 1):
        raise Fail(f"{model.file_name} is {shown}; expected {len(hidden) + 1} Dense layers "
                   f"({' → '.join(f'Dense({u})' for u in [*hidden, 1])}).")
    units = [layer.units for layer in architecture.layers]
    if units != [*hidden, 1]:
        raise Fail(f"{model.file_name}'s Dense layers have {units} units; expected "
                   f"{[*hidden, 1]}.")
    for layer in architecture.layers[:-1]:
        if layer.activation not in HIDDEN_ACTIVATIONS:
            raise Fail(f"The hidden layer {layer.describe()} has no non-linear activation, so "
                       "the network can only draw a straight boundary; use "
                       "activation=\"relu\".")
    output = architecture.layers[-1]
    if output.activation != "sigmoid":
        raise Fail(f"{model.file_name}'s output layer is {output.describe()}; a binary "
                   "classifier ends in Dense(1, activation=\"sigmoid\").")
    if not hidden:
        expect_no_batch_norm(model, "logistic regression is the sigmoid neuron alone.")
    expect_input(model, (None, 2), "two exam scores")
    return f"{model.file_name} is {shown}."


def _held_out_accuracy(ctx: JudgeContext, call_id: str) -> str:
    loaded = load_student_model(ctx, call_id)
    scores, admitted = _table(HELDOUT_CSV)
    # A linear output trained with BinaryCrossentropy(from_logits=True) decides at 0.
    threshold = 0.0 if saved_model(ctx, call_id).architecture.logits else 0.5
    accuracy = binary_accuracy(loaded, minmax_transform(_scaler(ctx), scores), admitted,
                               threshold=threshold)
    correct = round(accuracy * len(admitted))
    if accuracy < ACCURACY_THRESHOLD - 1e-9:
        raise Fail(f"{loaded.file_name} classifies {correct} of the {len(admitted)} applicants "
                   f"the grader kept back correctly ({accuracy:.0%}); at least "
                   f"{ACCURACY_THRESHOLD:.0%} is needed. Train longer or check the scaling.")
    return f"{correct} of {len(admitted)} held-out applicants classified correctly."


@grader.test("admission-scaler.joblib holds the training scores' min and max", points=1)
def scaler_numbers(ctx: JudgeContext) -> None:
    scores, _ = _table(TRAINING_CSV)
    scaler = _scaler(ctx)
    expect_array(scaler.array("data_min_", 2), scores.min(axis=0), "the scaler's data_min_")
    expect_array(scaler.array("data_max_", 2), scores.max(axis=0), "the scaler's data_max_")
    ends = minmax_transform(scaler, np.vstack([scores.min(axis=0), scores.max(axis=0)]))
    expect_array(ends, np.array([[0.0, 0.0], [1.0, 1.0]]),
                 "the scaler's output for the smallest and largest scores", atol=1e-6)


@grader.test("admission-simple.keras is one sigmoid neuron on two inputs", points=1)
def simple_architecture(ctx: JudgeContext) -> str:
    return _expect_classifier(ctx, "simple", [])


@grader.test("admission-simple.keras: held-out accuracy of at least 85%", points=2,
             requires=("admission-scaler.joblib holds the training scores' min and max",))
def simple_accuracy(ctx: JudgeContext) -> str:
    return _held_out_accuracy(ctx, "simple")


@grader.test("admission.keras has hidden layers of 8 and 4 units and a sigmoid output",
             points=1)
def enhanced_architecture(ctx: JudgeContext) -> str:
    return _expect_classifier(ctx, "enhanced", [8, 4])


@grader.test("admission.keras: held-out accuracy of at least 85%", points=3,
             requires=("admission-scaler.joblib holds the training scores' min and max",))
def enhanced_accuracy(ctx: JudgeContext) -> str:
    return _held_out_accuracy(ctx, "enhanced")


@grader.test("predict_admission agrees with admission.keras and the saved scaler", points=2)
def consistent_predictions(ctx: JudgeContext) -> str:
    loaded = load_student_model(ctx, "enhanced")
    pairs = np.array([ctx.args(f"decide_{i}") for i in range(CONSISTENCY_QUERIES)])
    probabilities = predict(loaded, minmax_transform(_scaler(ctx), pairs)).reshape(-1)
    if saved_model(ctx, "enhanced").architecture.logits:
        probabilities = 1 / (1 + np.exp(-probabilities))
    checked = 0
    for index, (pair, probability) in enumerate(zip(pairs, probabilities, strict=True)):
        answer = ctx.value(f"decide_{index}")
        if not isinstance(answer, bool):
            raise Fail(f"predict_admission({pair[0]:g}, {pair[1]:g}) returned "
                       f"{answer!r}; it should return True or False (use bool(...)).")
        if abs(probability - 0.5) < UNDECIDED:
            continue
        if answer != (probability >= 0.5):
            raise Fail(f"predict_admission({pair[0]:g}, {pair[1]:g}) returned {answer}, but "
                       f"your saved model gives probability {probability:.2f} for these "
                       "scores after scaling them with your saved scaler.")
        checked += 1
    return f"{checked} decisions match your saved model and scaler."
