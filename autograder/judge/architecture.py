"""A saved model's architecture by meaning, read from its description as plain data.

Students write the same network many ways: ``keras.Sequential`` or the functional API
(which adds an ``InputLayer``), ``Dense(8, activation="relu")`` or ``Dense(8)`` followed by
``Activation("relu")``, a ``Dropout`` or a ``RandomFlip`` that does nothing at inference,
a ``BatchNormalization`` after a layer, the TensorFlow tutorial's ``Sequential([model,
Softmax()])`` around a model ending in logits, or logits trained with
``from_logits=True``. :func:`normalise` turns any of these into one list of
:class:`Layer` records, so an exercise tests what the network *is*:

* nested ``Sequential``/``Functional`` models are flattened into their layers;
* ``InputLayer`` is dropped (its shape becomes :attr:`Architecture.input_shape`);
* layers inert at inference (:data:`INERT_LAYERS`) are dropped and listed in
  :attr:`Architecture.ignored`;
* ``BatchNormalization`` right after a layer is folded into it
  (:attr:`Layer.batch_normalized`), so a test may accept or refuse it;
* a separate ``Activation``/``ReLU``/``Softmax``/``LeakyReLU``/``ELU`` layer is folded into a
  linear layer before it;
* a linear last layer trained with a ``from_logits=True`` loss is read as the softmax
  (ten outputs) or sigmoid (one output) the loss applies; :attr:`Architecture.logits`
  records it, so accuracy is computed on the right scale.

Everything here works on JSON values (the ``config.json`` of a ``.keras`` zip or the
``model_config``/``training_config`` attributes of a ``.h5`` file), never on live Keras
objects and never by running the student's graph: the values
:func:`autograder.judge.models.inspect_model_file` returns, after its allow-list and budget
checks, as a :class:`~autograder.judge.models.ModelDescription`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

MAX_LAYERS = 2000
MAX_NESTING = 16

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
# Identity at inference (model(x, training=False), predict, evaluate): only training sees them.
INERT_LAYERS = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
    "GaussianNoise", "GaussianDropout", "ActivityRegularization",
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
    "RandomBrightness",
})
# Layers that only apply an activation, and the activation each one means.
ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "LeakyReLU": "leaky_relu",
                     "ELU": "elu", "PReLU": "prelu"}
LINEAR = ("linear", None)
_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
            "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
            "bce": "binary_crossentropy", "cce": "categorical_crossentropy",
            "scce": "sparse_categorical_crossentropy", "acc": "accuracy",
            "kld": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
            "logcosh": "log_cosh"}


class DescriptionError(ValueError):
    """The file's description cannot be read as a model description."""


@dataclass(frozen=True)
class CompiledLoss:
    name: str  # Keras's function name, e.g. "sparse_categorical_crossentropy"
    from_logits: bool


@dataclass(frozen=True)
class Layer:
    """One layer by meaning, with what matters to an exercise."""

    kind: str  # the Keras class name, e.g. "Dense", "Conv2D", "MaxPooling2D"
    name: str
    units: int | None = None
    activation: str | None = None  # None for layers without one (Flatten, pooling)
    filters: int | None = None
    kernel_size: tuple[int, ...] | None = None
    pool_size: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | None = None
    batch_normalized: bool = False

    @property
    def linear(self) -> bool:
        return self.activation in LINEAR

    def describe(self) -> str:
        """``Dense(128, relu)``, ``Conv2D(32, 3×3, relu)``, ``MaxPooling2D(2×2)``…"""
        parts: list[str] = []
        if self.filters is not None:
            parts.append(str(self.filters))
        if self.units is not None:
            parts.append(str(self.units))
        if self.kernel_size is not None:
            parts.append("×".join(map(str, self.kernel_size)))
        if self.pool_size is not None:
            parts.append("×".join(map(str, self.pool_size)))
        if self.activation is not None and (self.units is not None or self.filters is not None
                                            or self.kind == "Activation"):
            parts.append(self.activation)
        if self.batch_normalized:
            parts.append("batch-normalized")
        return f"{self.kind}({', '.join(parts)})" if parts else self.kind


@dataclass(frozen=True)
class Architecture:
    """A model's layers after normalisation (see the module docstring)."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int | None, ...] | None
    ignored: tuple[str, ...] = ()  # kinds of the inert layers dropped, in order
    logits: bool = False  # the last layer's activation was read from a from_logits loss
    branched: bool = False  # a functional graph that is not a single chain

    @property
    def kinds(self) -> list[str]:
        return [layer.kind for layer in self.layers]

    def of_kind(self, *kinds: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind in kinds]

    def without(self, *kinds: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind not in kinds]

    @property
    def batch_normalized(self) -> list[Layer]:
        return [layer for layer in self.layers if layer.batch_normalized]

    @property
    def output(self) -> Layer | None:
        return self.layers[-1] if self.layers else None

    def describe(self, layers: list[Layer] | tuple[Layer, ...] | None = None) -> str:
        chosen = self.layers if layers is None else layers
        return " → ".join(layer.describe() for layer in chosen) or "no layers"


# -- the compile configuration, read as data -------------------------------------------------

def canonical_name(name: str) -> str:
    """Keras's function name for a loss or metric given as alias, function or class name:
    ``"mse"`` and ``"MeanSquaredError"`` → ``"mean_squared_error"``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return _ALIASES.get(snake, snake)


def _entry_name(value: Any) -> tuple[str | None, Mapping[str, Any]]:
    """(name, options) of one serialised loss or metric: a string, a serialised function
    (``{"class_name": "function", "config": "mean_squared_error"}``) or a serialised class."""
    if isinstance(value, str):
        return canonical_name(value), {}
    if not isinstance(value, dict):
        return None, {}
    config = value.get("config")
    if value.get("class_name") == "function" and isinstance(config, str):
        return canonical_name(config), {}
    if isinstance(value.get("class_name"), str):
        options = config if isinstance(config, dict) else {}
        return canonical_name(value["class_name"]), options
    return None, {}


def compiled_loss(compile_config: Mapping[str, Any] | None) -> CompiledLoss | None:
    """The loss a model was compiled with; None when it was not compiled (or the loss is not
    one name, e.g. one loss per output)."""
    if not compile_config:
        return None
    name, options = _entry_name(compile_config.get("loss"))
    if name is None:
        return None
    return CompiledLoss(name=name, from_logits=options.get("from_logits") is True)


def compiled_metrics(compile_config: Mapping[str, Any] | None) -> list[str]:
    """The metrics' canonical names (see :func:`canonical_name`)."""
    metrics = (compile_config or {}).get("metrics")
    if not isinstance(metrics, list):
        return []
    return [name for name, _ in map(_entry_name, metrics) if name is not None]


# -- normalisation -------------------------------------------------------------------------

def _ints(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in value):
        return tuple(value)
    return None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shape(value: Any) -> tuple[int | None, ...] | None:
    if isinstance(value, list) and value and isinstance(value[0], list):
        value = value[0]  # [shape] of a one-input model
    if not isinstance(value, list | tuple) or not value:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        return None
    return tuple(value)


def _activation(config: Mapping[str, Any]) -> str | None:
    activation = config.get("activation")
    if isinstance(activation, str):
        return activation
    if isinstance(activation, dict):  # a serialised function {"class_name": "function", …}
        name, _ = _entry_name(activation)
        return name
    return None


def _raw_layers(config: Mapping[str, Any], depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """The layer entries of a model config, nested models flattened, in saved order (which
    Keras writes in topological order for functional models)."""
    if depth > MAX_NESTING:
        raise DescriptionError("the model nests models too deeply")
    layers = _dict(config.get("config")).get("layers")
    if not isinstance(layers, list):
        return
    for entry in layers:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("class_name"), str) and entry["class_name"] in MODEL_CLASSES:
            yield from _raw_layers(entry, depth + 1)
        else:
            yield entry


def _inbound_count(entry: Mapping[str, Any]) -> int:
    """How many tensors flow into a functional layer (more than one: a branch joins)."""
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list):
        return 0
    count = 0
    for node in nodes:
        if isinstance(node, dict):  # Keras 3: {"args": [tensor or [tensors]], "kwargs": …}
            count += json.dumps(node.get("args")).count("keras_history")
        elif isinstance(node, list):  # Keras 2: [[layer_name, node, tensor, kwargs], …]
            count += len(node)
    return count


def _input_shape(model_config: Mapping[str, Any], entries: list[Mapping[str, Any]]
                 ) -> tuple[int | None, ...] | None:
    for entry in entries:
        config = _dict(entry.get("config"))
        for key in ("batch_shape", "batch_input_shape"):  # Keras 3, Keras 2
            shape = _shape(config.get(key))
            if shape is not None:
                return shape
        if entry.get("class_name") != "InputLayer":
            break
    inner, build = _dict(model_config.get("config")), _dict(model_config.get("build_config"))
    return _shape(inner.get("build_input_shape")) or _shape(build.get("input_shape"))


def _layer(entry: Mapping[str, Any]) -> Layer:
    config = _dict(entry.get("config"))
    kind = str(entry.get("class_name"))[:100]
    activation = _activation(config)
    if kind in ACTIVATION_LAYERS:
        kind, activation = "Activation", ACTIVATION_LAYERS[kind]
    padding = config.get("padding")
    return Layer(
        kind=kind, name=str(config.get("name", entry.get("name", "")))[:100],
        units=_int(config.get("units")), activation=activation,
        filters=_int(config.get("filters")), kernel_size=_ints(config.get("kernel_size")),
        pool_size=_ints(config.get("pool_size")), strides=_ints(config.get("strides")),
        padding=padding if isinstance(padding, str) else None)


def _logits_activation(layer: Layer) -> str:
    return "sigmoid" if layer.units == 1 else "softmax"


def normalise(model_config: Mapping[str, Any],
              compile_config: Mapping[str, Any] | None = None) -> Architecture:
    """The architecture of a model config (``{"class_name": "Sequential", "config":
    {...}}``) by meaning; ``compile_config`` tells whether the outputs are logits."""
    entries = []
    for entry in _raw_layers(model_config):
        entries.append(entry)
        if len(entries) > MAX_LAYERS:
            raise DescriptionError(f"the model has more than {MAX_LAYERS} layers")
    input_shape = _input_shape(model_config, entries)
    branched = any(_inbound_count(entry) > 1 for entry in entries)
    layers: list[Layer] = []
    ignored: list[str] = []
    for entry in entries:
        layer = _layer(entry)
        if layer.kind == "InputLayer":
            continue
        if layer.kind in INERT_LAYERS:
            ignored.append(layer.kind)
            continue
        previous = layers[-1] if layers else None
        if previous is not None and not branched:
            if layer.kind == "BatchNormalization" and not previous.batch_normalized:
                layers[-1] = replace(previous, batch_normalized=True)
                continue
            if layer.kind == "Activation" and previous.linear and (
                    previous.units is not None or previous.filters is not None):
                layers[-1] = replace(previous, activation=layer.activation)
                continue
        layers.append(layer)
    logits = False
    loss = compiled_loss(compile_config)
    if layers and loss is not None and loss.from_logits and layers[-1].linear:
        layers[-1] = replace(layers[-1], activation=_logits_activation(layers[-1]))
        logits = True
    return Architecture(layers=tuple(layers), input_shape=input_shape,
                        ignored=tuple(ignored), logits=logits, branched=branched)
