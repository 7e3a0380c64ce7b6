"""Loading a student's saved Keras model in the judge without running the student's code.

A ``.keras`` file is a zip whose ``config.json`` describes every object Keras will build;
a ``.h5`` file keeps the same description in its ``model_config`` attribute. Before Keras
sees the file, :func:`inspect_model_file` reads that description as plain JSON and walks
it: every object must be a built-in Keras class from :data:`ALLOWED_CLASSES`, from a
``keras`` module, with no registered (custom) name; ``Lambda`` layers and Python
functions are refused. Only then does :func:`load_model` call Keras, with
``safe_mode=True`` and ``compile=False``, on a private copy of the file.

The evaluation helpers run the loaded model on arrays the judge holds (held-out data).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from autograder.judge.framework import Fail

MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_ZIP_ENTRIES = 64
MAX_CONFIG_DEPTH = 64
MODEL_SUFFIXES = (".keras", ".h5")

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
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomBrightness", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    "Add", "Concatenate", "Average", "Multiply",
    # initializers, regularizers, constraints
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal",
    "Orthogonal", "Identity", "VarianceScaling",
    "L1", "L2", "L1L2", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm",
    # optimizers and learning-rate schedules
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
    "Lion", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay",
    # losses and metrics
    "MeanSquaredError", "MeanAbsoluteError", "MeanSquaredLogarithmicError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "BinaryFocalCrossentropy", "Hinge", "LogCosh", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "RootMeanSquaredError", "AUC", "Precision", "Recall",
})

ALLOWED_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "softmax", "log_softmax", "tanh",
    "elu", "selu", "softplus", "softsign", "swish", "silu", "hard_silu", "hard_swish",
    "gelu", "exponential", "leaky_relu", "mish",
})

_ACTIVATION_KEYS = ("activation", "recurrent_activation")
# Keras builds and runs models with process-wide state; one model at a time.
_KERAS_LOCK = threading.Lock()


class ModelRefusedError(Fail):
    """The file is not a model the judge will load; the message tells the student why."""


@dataclass(frozen=True)
class LayerSummary:
    class_name: str
    name: str
    units: int | None = None
    activation: str | None = None
    filters: int | None = None
    kernel_size: tuple[int, ...] | None = None
    pool_size: tuple[int, ...] | None = None
    output_shape: tuple[int | None, ...] | None = None


@dataclass(frozen=True)
class ModelSummary:
    """A model's architecture as plain data, for architecture checks."""

    class_name: str
    layers: tuple[LayerSummary, ...]
    input_shape: tuple[int | None, ...] | None
    output_shape: tuple[int | None, ...] | None

    @property
    def layer_types(self) -> list[str]:
        return [layer.class_name for layer in self.layers]

    def of_type(self, class_name: str) -> list[LayerSummary]:
        return [layer for layer in self.layers if layer.class_name == class_name]


@dataclass
class LoadedModel:
    model: Any  # a keras.Model built only from allow-listed classes
    summary: ModelSummary
    file_name: str


# -- reading the description, without Keras ---------------------------------------------------

def _parse_json(text: bytes, where: str) -> Any:
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelRefusedError(f"The model's {where} is larger than "
                                f"{MAX_CONFIG_BYTES // 2**20} MiB.")
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelRefusedError(f"The model's {where} is not readable JSON ({exc}).") from exc


def _keras_config(path: Path) -> list[Any]:
    """The JSON descriptions Keras would deserialize from ``path``."""
    if path.suffix == ".keras":
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelRefusedError(f"{path.name} is not a Keras model file (not a zip: "
                                    f"{exc}). Save it with model.save('name.keras').") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise ModelRefusedError(f"{path.name} holds too many files to be a model.")
            for info in infos:
                member = PurePosixPath(info.filename)
                if member.is_absolute() or ".." in member.parts:
                    raise ModelRefusedError(f"{path.name} holds an unsafe path "
                                            f"{info.filename!r}.")
            if sum(i.file_size for i in infos) > 4 * MAX_MODEL_BYTES:
                raise ModelRefusedError(f"{path.name} expands beyond the size limit.")
            if "config.json" not in archive.namelist():
                raise ModelRefusedError(f"{path.name} has no config.json; save the model with "
                                        "model.save('name.keras').")
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelRefusedError(f"{path.name}'s config.json is too large.")
            return [_parse_json(archive.read(info), "config.json")]
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            texts = [handle.attrs.get(key) for key in ("model_config", "training_config")]
    except OSError as exc:
        raise ModelRefusedError(f"{path.name} is not an HDF5 model file ({exc}).") from exc
    if texts[0] is None:
        raise ModelRefusedError(f"{path.name} holds weights only, not a whole model; save "
                                "it with model.save('name.h5') or model.save('name.keras').")
    configs = []
    for key, text in zip(("model_config", "training_config"), texts, strict=True):
        if text is None:
            continue
        raw = text if isinstance(text, bytes) else str(text).encode("utf-8", "replace")
        configs.append(_parse_json(raw, f"HDF5 attribute {key}"))
    return configs


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON value, depth-first."""
    if depth > MAX_CONFIG_DEPTH:
        raise ModelRefusedError("The model's description is nested too deeply.")
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item, depth + 1)


def _check_object(obj: dict[str, Any]) -> None:
    for key in _ACTIVATION_KEYS:
        activation = obj.get(key)
        if isinstance(activation, str) and activation not in ALLOWED_ACTIVATIONS:
            raise ModelRefusedError(f"The activation {activation!r} is not a built-in Keras "
                                    "activation; use one by name, e.g. 'relu' or 'sigmoid'.")
    if "class_name" not in obj:
        return
    class_name = obj["class_name"]
    module = obj.get("module")
    registered = obj.get("registered_name")
    if class_name in ("Lambda", "__lambda__"):
        raise ModelRefusedError("The model contains a Lambda layer. Lambda layers hold Python "
                                "code, which the grader never runs; use built-in layers "
                                "only (for scaling inputs, keras.layers.Rescaling).")
    if not isinstance(class_name, str) or class_name not in ALLOWED_CLASSES:
        raise ModelRefusedError(f"The model contains {class_name!r}, which is not one of the "
                                "built-in Keras layers, optimizers, losses or initializers the "
                                "grader accepts (custom classes and Python functions are "
                                "refused).")
    if module is not None and (not isinstance(module, str) or
                               not (module == "keras" or module.startswith("keras."))):
        raise ModelRefusedError(f"The model refers to {class_name!r} from module {module!r}; "
                                "only objects from Keras itself are accepted.")
    if registered is not None and registered != class_name:
        raise ModelRefusedError(f"The model contains a registered custom object "
                                f"{registered!r}; custom objects are refused.")


def inspect_model_file(path: Path) -> None:
    """Refuse ``path`` unless its description holds only allow-listed Keras objects.

    Reads JSON only (the zip's config.json, or the HDF5 attributes via h5py); never
    imports Keras and never unpickles.
    """
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelRefusedError(f"{path.name} is not a .keras or .h5 model file.")
    if path.is_symlink() or not path.is_file():
        raise ModelRefusedError(f"{path.name} is not a regular file.")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelRefusedError(f"{path.name} is {size / 2**20:.0f} MiB; models over "
                                f"{MAX_MODEL_BYTES // 2**20} MiB are not graded.")
    configs = _keras_config(path)
    if not isinstance(configs[0], dict) or "class_name" not in configs[0]:
        raise ModelRefusedError(f"{path.name} does not describe a Keras model.")
    for config in configs:
        for obj in _objects(config):
            _check_object(obj)


# -- loading with Keras --------------------------------------------------------------------------

def _shape(value: Any) -> tuple[int | None, ...] | None:
    if isinstance(value, list) and value and isinstance(value[0], tuple | list):
        value = value[0]  # a single-input model may report [shape]
    if not isinstance(value, tuple | list):
        return None
    return tuple(int(d) if d is not None else None for d in value)


def _pair(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in value)


def _layers(model: Any) -> Iterator[Any]:
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.__class__.__name__ in ("Sequential", "Functional"):
            yield from _layers(layer)
        else:
            yield layer


def summarize(model: Any) -> ModelSummary:
    """The architecture of a loaded model as plain data."""
    layers = []
    for layer in _layers(model):
        config = layer.get_config()
        activation = config.get("activation")
        try:
            output_shape = _shape(layer.output.shape)
        except (AttributeError, ValueError):
            output_shape = None
        layers.append(LayerSummary(
            class_name=layer.__class__.__name__, name=str(layer.name),
            units=config.get("units"),
            activation=activation if isinstance(activation, str) else None,
            filters=config.get("filters"), kernel_size=_pair(config.get("kernel_size")),
            pool_size=_pair(config.get("pool_size")), output_shape=output_shape))
    return ModelSummary(class_name=model.__class__.__name__, layers=tuple(layers),
                        input_shape=_shape(getattr(model, "input_shape", None)),
                        output_shape=_shape(getattr(model, "output_shape", None)))


def _import_keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    return keras


def load_model(path: Path) -> LoadedModel:
    """Check ``path`` with :func:`inspect_model_file`, then load a private copy in safe mode.

    Raises :class:`ModelRefusedError` (a :class:`Fail`) with a message for the student.
    """
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelRefusedError(f"{path.name} is not a .keras or .h5 model file.")
    with tempfile.TemporaryDirectory(prefix="autograder-model-") as tmp:
        # The judge inspects and loads the same private bytes, never the sandbox's file.
        if path.is_symlink() or not path.is_file():
            raise ModelRefusedError(f"{path.name} is not a regular file.")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise ModelRefusedError(f"{path.name} is larger than "
                                    f"{MAX_MODEL_BYTES // 2**20} MiB.")
        private = Path(tmp) / f"model{path.suffix}"
        shutil.copyfile(path, private)
        inspect_model_file(private)
        keras = _import_keras()
        with _KERAS_LOCK:
            try:
                model = keras.saving.load_model(private, compile=False, safe_mode=True)
            except Exception as exc:
                raise ModelRefusedError(f"Keras could not load {path.name}: "
                                        f"{type(exc).__name__}: {str(exc)[:300]}") from exc
            summary = summarize(model)
    return LoadedModel(model=model, summary=summary, file_name=path.name)


# -- evaluating on the judge's arrays ----------------------------------------------------------

def predict(loaded: LoadedModel, x: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for ``x``, in inference mode, as a float NumPy array."""
    outputs = []
    with _KERAS_LOCK:
        for start in range(0, len(x), batch_size):
            batch = np.asarray(x[start:start + batch_size], dtype="float32")
            outputs.append(np.asarray(loaded.model(batch, training=False), dtype=float))
    return np.concatenate(outputs) if outputs else np.zeros((0,))


def binary_accuracy(loaded: LoadedModel, x: np.ndarray, y: np.ndarray, *,
                    threshold: float = 0.5) -> float:
    """Share of samples whose single sigmoid output, cut at ``threshold``, matches ``y``."""
    scores = predict(loaded, x).reshape(len(x), -1)
    if scores.shape[1] != 1:
        raise Fail(f"{loaded.file_name} has {scores.shape[1]} outputs; a binary classifier "
                   "has one sigmoid output.")
    return float(np.mean((scores[:, 0] >= threshold) == (np.ravel(y) >= 0.5)))


def class_accuracy(loaded: LoadedModel, x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose highest-scoring class equals the integer label ``y``."""
    scores = predict(loaded, x).reshape(len(x), -1)
    return float(np.mean(np.argmax(scores, axis=1) == np.ravel(y).astype(int)))


def mean_squared_error(loaded: LoadedModel, x: np.ndarray, y: np.ndarray) -> float:
    predictions = predict(loaded, x).reshape(len(x), -1)
    return float(np.mean((predictions - np.asarray(y, dtype=float).reshape(len(x), -1)) ** 2))


def dense_weights(loaded: LoadedModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of every Dense layer, in order, as NumPy arrays."""
    found = []
    with _KERAS_LOCK:
        for layer in _layers(loaded.model):
            if layer.__class__.__name__ == "Dense":
                weights = [np.asarray(w, dtype=float) for w in layer.get_weights()]
                bias = weights[1] if len(weights) > 1 else np.zeros(weights[0].shape[-1])
                found.append((weights[0], bias))
    return found
