"""A saved model's description, read as plain JSON, and the allow-list it must pass.

A ``.keras`` file is a zip whose ``config.json`` describes every object Keras will build;
a ``.h5`` file keeps the same description in its ``model_config`` attribute. The judge
loads models with ``compile=False``, so only the *model* description is deserialised: that
is what the allow-list covers. The compile configuration (``compile_config`` in
``config.json``, the ``training_config`` attribute of a ``.h5``) is never built; it is kept
as plain data (see :mod:`autograder.judge.models.compiled`) and never refuses a model.

Nothing here imports Keras or unpickles.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autograder.judge.framework import Fail

MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_ZIP_ENTRIES = 64
MAX_CONFIG_DEPTH = 64
MODEL_SUFFIXES = (".keras", ".h5")
WEIGHTS_ENTRY = "model.weights.h5"
NPZ_WEIGHTS_ENTRY = "model.weights.npz"  # what Keras reads when there is no .h5

ALLOWED_CLASSES = frozenset({
    # models and the plumbing of their configs
    "Sequential", "Functional", "Model", "InputLayer", "DTypePolicy", "FloatDTypePolicy",
    "__keras_tensor__",
    # layers used in introductory courses
    "Dense", "Flatten", "Dropout", "Activation", "Reshape", "Rescaling", "Resizing",
    "CenterCrop", "Normalization", "BatchNormalization", "LayerNormalization",
    "Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "SpatialDropout1D", "SpatialDropout2D",
    "GaussianNoise", "GaussianDropout",
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomBrightness", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    "Add", "Concatenate", "Average", "Multiply",
    # initializers, regularizers, constraints
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal",
    "Orthogonal", "Identity", "VarianceScaling",
    "L1", "L2", "L1L2", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm",
})

ALLOWED_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "softmax", "log_softmax", "tanh",
    "elu", "selu", "softplus", "softsign", "swish", "silu", "hard_silu", "hard_swish",
    "gelu", "exponential", "leaky_relu", "mish",
})

# A model nested in the saved one (TensorFlow's tutorial saves Sequential([model,
# Softmax()]) around a compiled model) keeps its compile_config inside the model
# description, and Keras builds it (serialization_lib.deserialize_keras_object compiles
# any object whose config has one): there, only Keras's own optimizers, schedules, losses
# and metrics are accepted, losses and metrics also as built-in functions by name.
NESTED_COMPILE_CLASSES = frozenset({
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
    "Lion", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay",
    "MeanSquaredError", "MeanAbsoluteError", "MeanSquaredLogarithmicError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "BinaryFocalCrossentropy", "Hinge", "LogCosh", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "RootMeanSquaredError", "AUC", "Precision", "Recall", "Mean",
})
NESTED_COMPILE_FUNCTIONS = frozenset({
    "mean_squared_error", "mean_absolute_error", "mean_squared_logarithmic_error",
    "mean_absolute_percentage_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_focal_crossentropy", "hinge", "huber",
    "log_cosh", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy", "mse", "mae",
})

_ACTIVATION_KEYS = ("activation", "recurrent_activation")
# Keys of a .keras config.json that Keras reads only when it compiles the model.
_COMPILE_KEYS = ("compile_config",)


class ModelRefusedError(Fail):
    """The file is not a model the judge will load; the message tells the student why."""


@dataclass(frozen=True)
class ModelDescription:
    """What a model file says about itself, as plain JSON values."""

    file_name: str
    format: str  # "keras" (zip) or "h5"
    model_config: dict[str, Any]  # what Keras deserialises with compile=False
    compile_config: Any  # plain data, never deserialised; None when never compiled


def _parse_json(text: bytes, where: str) -> Any:
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelRefusedError(f"The model's {where} is larger than "
                                f"{MAX_CONFIG_BYTES // 2**20} MiB.")
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelRefusedError(f"The model's {where} is not readable JSON ({exc}).") from exc


def check_file(path: Path) -> None:
    """Refuse what is not a regular model file of an accepted size."""
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelRefusedError(f"{path.name} is not a .keras or .h5 model file.")
    if path.is_symlink() or not path.is_file():
        raise ModelRefusedError(f"{path.name} is not a regular file.")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelRefusedError(f"{path.name} is {size / 2**20:.0f} MiB; models over "
                                f"{MAX_MODEL_BYTES // 2**20} MiB are not graded.")


def open_archive(path: Path) -> zipfile.ZipFile:
    """The ``.keras`` zip, after the checks on its entries (names, count, expanded size)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelRefusedError(f"{path.name} is not a Keras model file (not a zip: "
                                f"{exc}). Save it with model.save('name.keras').") from exc
    infos = archive.infolist()
    problem = None
    if len(infos) > MAX_ZIP_ENTRIES:
        problem = f"{path.name} holds too many files to be a model."
    for info in infos:
        member = PurePosixPath(info.filename)
        if member.is_absolute() or ".." in member.parts:
            problem = f"{path.name} holds an unsafe path {info.filename!r}."
    if sum(i.file_size for i in infos) > 4 * MAX_MODEL_BYTES:
        problem = f"{path.name} expands beyond the size limit."
    if problem is None and "config.json" not in archive.namelist():
        problem = (f"{path.name} has no config.json; save the model with "
                   "model.save('name.keras').")
    if problem is not None:
        archive.close()
        raise ModelRefusedError(problem)
    return archive


def _read_keras(path: Path) -> ModelDescription:
    with open_archive(path) as archive:
        info = archive.getinfo("config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            raise ModelRefusedError(f"{path.name}'s config.json is too large.")
        config = _parse_json(archive.read(info), "config.json")
    if not isinstance(config, dict):
        raise ModelRefusedError(f"{path.name} does not describe a Keras model.")
    model = {k: v for k, v in config.items() if k not in _COMPILE_KEYS}
    return ModelDescription(path.name, "keras", model, config.get("compile_config"))


def _attribute_json(value: Any, where: str) -> Any:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    return _parse_json(raw, where)


def _read_h5(path: Path) -> ModelDescription:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            texts = [handle.attrs.get(key) for key in ("model_config", "training_config")]
    except (OSError, ValueError, TypeError) as exc:
        raise ModelRefusedError(f"{path.name} is not an HDF5 model file ({exc}).") from exc
    if texts[0] is None:
        raise ModelRefusedError(f"{path.name} holds weights only, not a whole model; save "
                                "it with model.save('name.h5') or model.save('name.keras').")
    model = _attribute_json(texts[0], "HDF5 attribute model_config")
    training = (None if texts[1] is None
                else _attribute_json(texts[1], "HDF5 attribute training_config"))
    if not isinstance(model, dict):
        raise ModelRefusedError(f"{path.name} does not describe a Keras model.")
    return ModelDescription(path.name, "h5", model, training)


def read_description(path: Path) -> ModelDescription:
    """The model and compile descriptions of ``path``, read as JSON (no Keras)."""
    check_file(path)
    description = _read_keras(path) if path.suffix == ".keras" else _read_h5(path)
    if "class_name" not in description.model_config:
        raise ModelRefusedError(f"{path.name} does not describe a Keras model.")
    return description


def objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON value, depth-first."""
    if depth > MAX_CONFIG_DEPTH:
        raise ModelRefusedError("The model's description is nested too deeply.")
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item, depth + 1)


def _function_name(obj: dict[str, Any]) -> str:
    config = obj.get("config")
    return config if isinstance(config, str) else str(obj.get("registered_name") or "?")


def _check_activation(activation: Any) -> None:
    if isinstance(activation, str) and activation not in ALLOWED_ACTIVATIONS:
        raise ModelRefusedError(f"The activation {activation!r} is not a built-in Keras "
                                "activation; use one by name, e.g. 'relu' or 'sigmoid'.")
    if isinstance(activation, dict) and activation.get("class_name") == "function":
        module = str(activation.get("module") or "")
        name = _function_name(activation)
        if module.startswith("keras") and name in ALLOWED_ACTIVATIONS:
            return  # keras.activations.relu given as a function: a built-in by name
        # TensorFlow functions such as tf.nn.softmax (stored as 'softmax_v2', module
        # 'builtins') are saved by Keras but cannot be loaded back, not even by Keras.
        built_in = name.removesuffix("_v2")
        if built_in in ALLOWED_ACTIVATIONS:
            raise ModelRefusedError(
                f"The activation is the TensorFlow function {name!r} (such as "
                f"tf.nn.{built_in}), which Keras saves but cannot load back from the file; "
                f"write activation='{built_in}' (the name as a string) instead.")
        raise ModelRefusedError(f"The activation is the Python function {name!r}; the grader "
                                "runs no Python functions from a model file. Use a built-in "
                                "activation by name, e.g. 'relu' or 'sigmoid'.")


def check_object(obj: dict[str, Any]) -> None:
    """Refuse one object of a model description unless Keras builds it from its own code."""
    for key in _ACTIVATION_KEYS:
        _check_activation(obj.get(key))
    if "class_name" not in obj:
        return
    class_name = obj["class_name"]
    module = obj.get("module")
    registered = obj.get("registered_name")
    if class_name in ("Lambda", "__lambda__"):
        raise ModelRefusedError("The model contains a Lambda layer. Lambda layers hold Python "
                                "code, which the grader never runs; use built-in layers "
                                "only (for scaling inputs, keras.layers.Rescaling).")
    if class_name == "function" and isinstance(module, str) and module.startswith("keras") \
            and _function_name(obj) in ALLOWED_ACTIVATIONS:
        return  # a built-in activation function inside e.g. an Activation layer
    if not isinstance(class_name, str) or class_name not in ALLOWED_CLASSES:
        raise ModelRefusedError(f"The model contains {class_name!r}, which is not one of the "
                                "built-in Keras layers or initializers the grader accepts "
                                "(custom classes and Python functions are refused).")
    if module is not None and (not isinstance(module, str) or
                               not (module == "keras" or module.startswith("keras."))):
        raise ModelRefusedError(f"The model refers to {class_name!r} from module {module!r}; "
                                "only objects from Keras itself are accepted.")
    if registered is not None and registered != class_name:
        raise ModelRefusedError(f"The model contains a registered custom object "
                                f"{registered!r}; custom objects are refused.")


def _check_nested_compile(config: Any) -> None:
    for obj in objects(config):
        class_name = obj.get("class_name")
        if class_name == "function" and _function_name(obj) in NESTED_COMPILE_FUNCTIONS:
            continue
        module = obj.get("module")
        if isinstance(class_name, str) and class_name in NESTED_COMPILE_CLASSES and (
                module is None or (isinstance(module, str) and module.startswith("keras"))) \
                and obj.get("registered_name") in (None, class_name):
            continue
        if "class_name" in obj:
            check_object(obj)


def _model_objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Like :func:`objects`, with each nested ``compile_config`` checked on its own."""
    if depth > MAX_CONFIG_DEPTH:
        raise ModelRefusedError("The model's description is nested too deeply.")
    if isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key in _COMPILE_KEYS and depth > 0:
                _check_nested_compile(item)
            else:
                yield from _model_objects(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _model_objects(item, depth + 1)


def check_description(description: ModelDescription) -> None:
    """Refuse a description unless every object Keras would build is allow-listed."""
    for obj in _model_objects(description.model_config):
        check_object(obj)


def inspect_model_file(path: Path) -> ModelDescription:
    """Read ``path``'s description and check it against the allow-list (JSON only)."""
    description = read_description(path)
    check_description(description)
    return description
