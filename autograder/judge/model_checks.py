"""Tests on a saved model's architecture and compile settings, judged by meaning.

Graders call :func:`saved_model` to get a handed-in model's normalised
:class:`~autograder.judge.architecture.Architecture` and the loss it was compiled with,
read as JSON from a file the allow-list accepted (never executed, and without Keras),
and the ``expect_*`` helpers to fail with a message that names what to change.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from autograder.judge.architecture import (
    Architecture,
    CompiledLoss,
    DescriptionError,
    Layer,
    compiled_loss,
    normalise,
)
from autograder.judge.artifacts import artifact_path
from autograder.judge.context import JudgeContext
from autograder.judge.framework import Fail, Grader
from autograder.judge.models import inspect_model_file

# Each label kind has its cross-entropy: integers 0–9 → sparse, one-hot rows → categorical.
# Keras refuses to train categorical cross-entropy on integer labels (shape mismatch), so a
# trained model compiled with it was trained on one-hot labels.
TEN_CLASS_LOSSES = frozenset({"sparse_categorical_crossentropy", "categorical_crossentropy"})


@dataclass(frozen=True)
class SavedModel:
    file_name: str
    architecture: Architecture
    loss: CompiledLoss | None  # None: the file records no compile step


def saved_model(ctx: JudgeContext, call_id: str) -> SavedModel:
    """The model file of the ``file`` action ``call_id``, checked against the allow-list
    and described by meaning."""
    path = artifact_path(ctx, call_id)
    description = inspect_model_file(path)
    compile_config = description.compile_config if isinstance(
        description.compile_config, dict) else None
    try:
        architecture = normalise(description.model_config, compile_config)
    except DescriptionError as exc:
        raise Fail(f"{path.name} could not be read as a Keras model: {exc}.") from exc
    return SavedModel(file_name=path.name, architecture=architecture,
                      loss=compiled_loss(compile_config))


def expect_input(model: SavedModel, shape: tuple[int | None, ...], meaning: str) -> None:
    got = model.architecture.input_shape
    if got is not None and tuple(got[1:]) == tuple(shape[1:]):
        return
    raise Fail(f"{model.file_name} takes inputs of shape {got}; expected {shape} ({meaning}). "
               f"Start the model with `keras.Input(shape={tuple(shape[1:])})`.")


def expect_no_batch_norm(model: SavedModel, why: str) -> None:
    normalised = model.architecture.batch_normalized
    if normalised:
        raise Fail(f"{model.file_name} applies BatchNormalization after "
                   f"{normalised[0].describe()}; {why}")


def is_softmax_output(layer: Layer | None, classes: int) -> bool:
    return layer is not None and layer.kind == "Dense" and layer.units == classes \
        and layer.activation == "softmax"


def output_message(model: SavedModel, classes: int) -> str:
    """Why the last layer is not ``classes`` probabilities, for the student."""
    last = model.architecture.output
    got = last.describe() if last is not None else "nothing"
    if last is not None and last.kind == "Dense" and last.units == classes and last.linear:
        return (f"The output layer is {got}: raw scores (logits). Add "
                "activation=\"softmax\", or compile with a from_logits=True loss so they are "
                "read as logits.")
    if last is not None and last.kind == "Dense" and last.units == classes \
            and last.activation == "sigmoid":
        return (f"The output layer is {got}: ten independent sigmoids are not one probability "
                "per class that add up to 1. Use activation=\"softmax\".")
    return (f"The output layer is {got}; expected Dense({classes}, softmax): one probability "
            "per class.")


def expect_loss(model: SavedModel, allowed: Collection[str], advice: str) -> str:
    """The compiled loss's name when it is one of ``allowed``, else a Fail with ``advice``."""
    if model.loss is None:
        raise Fail(f"{model.file_name} records no loss: the model was saved without "
                   f"model.compile(...). {advice}")
    if model.loss.name not in allowed:
        raise Fail(f"{model.file_name} was compiled with the loss {model.loss.name!r}. "
                   f"{advice}")
    suffix = " (from_logits=True)" if model.loss.from_logits else ""
    return f"{model.file_name} was compiled with {model.loss.name}{suffix}."


def add_ten_class_loss_test(grader: Grader, *, requires: tuple[str, ...]) -> None:
    """One point for compiling a ten-class model with the cross-entropy its labels need."""

    @grader.test("compiled with sparse categorical cross-entropy (or categorical, for "
                 "one-hot labels)", points=1, requires=requires)
    def loss(ctx: JudgeContext) -> str:
        return expect_loss(saved_model(ctx, "model"), TEN_CLASS_LOSSES,
                           "Integer labels 0–9 call for "
                           "loss=\"sparse_categorical_crossentropy\" (one-hot labels for "
                           "\"categorical_crossentropy\").")


# The workshop's dense network, and the experiments the slides invite: hidden units 128 to
# 1024, ReLU or sigmoid (tanh also works), a second hidden layer of 128 (the slides: "Try
# increasing the number of hidden layer neurons to 512, and also 1024", "Try adding another
# hidden layer with 128 neurons", "Change the activation from sigmoid to relu").
HIDDEN_LAYERS = range(1, 3)
HIDDEN_UNITS = range(64, 1025)
HIDDEN_ACTIVATIONS = frozenset({"relu", "sigmoid", "tanh", "elu", "selu", "gelu",
                                "leaky_relu", "swish", "silu"})
DENSE_NETWORK = ("Flatten → 1 or 2 hidden Dense layers (64–1024 units, relu or sigmoid) → "
                 "Dense(10, softmax)")


def add_dense_network_test(grader: Grader, *, requires: tuple[str, ...]) -> None:
    """Two points for the workshop's dense network on 28×28 images (or an experiment the
    workshop invites, see :data:`HIDDEN_UNITS`)."""

    @grader.test(f"the network is {DENSE_NETWORK}", points=2, requires=requires)
    def architecture(ctx: JudgeContext) -> str:
        model = saved_model(ctx, "model")
        expect_input(model, (None, 28, 28), "28×28 grey images")
        layers = model.architecture.layers
        shown = model.architecture.describe()
        if not layers or layers[0].kind != "Flatten":
            raise Fail(f"{model.file_name} is {shown}; a dense network starts with Flatten, "
                       "which unrolls each image into 784 numbers.")
        if not is_softmax_output(layers[-1], 10):
            raise Fail(output_message(model, 10))
        hidden = list(layers[1:-1])
        if any(layer.kind != "Dense" for layer in hidden):
            raise Fail(f"{model.file_name} is {shown}; between Flatten and the output the "
                       "exercise asks for Dense layers only.")
        if len(hidden) not in HIDDEN_LAYERS:
            raise Fail(f"{model.file_name} is {shown}; the exercise asks for one hidden "
                       "Dense(128, relu) layer (two at most, if you try the slides' extra "
                       "layer).")
        for layer in hidden:
            if layer.units not in HIDDEN_UNITS or layer.activation not in HIDDEN_ACTIVATIONS:
                raise Fail(f"The hidden layer {layer.describe()} should have 64–1024 units "
                           "and a non-linear activation such as relu; the exercise uses "
                           "Dense(128, relu).")
        return f"{model.file_name} is {shown}."
