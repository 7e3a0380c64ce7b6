"""A loaded model's architecture as plain data: what the child process that loaded the
model sends back to the judge (see :mod:`autograder.judge.models.evaluator`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class LayerSummary:
    class_name: str
    name: str
    units: int | None = None
    activation: str | None = None
    filters: int | None = None
    kernel_size: tuple[int, ...] | None = None
    pool_size: tuple[int, ...] | None = None
    output_shape: Shape | None = None


@dataclass(frozen=True)
class ModelSummary:
    """A model's architecture as plain data, for architecture checks."""

    class_name: str
    layers: tuple[LayerSummary, ...]
    input_shape: Shape | None
    output_shape: Shape | None

    @property
    def layer_types(self) -> list[str]:
        return [layer.class_name for layer in self.layers]

    def of_type(self, class_name: str) -> list[LayerSummary]:
        return [layer for layer in self.layers if layer.class_name == class_name]

    def to_plain(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_plain(cls, value: dict[str, Any]) -> ModelSummary:
        """Decode what a model child sent; raises ValueError/TypeError/KeyError when
        malformed (the caller turns that into a refusal)."""
        layers = tuple(LayerSummary(
            class_name=str(layer["class_name"]), name=str(layer["name"]),
            units=_optional_int(layer.get("units")),
            activation=_optional_str(layer.get("activation")),
            filters=_optional_int(layer.get("filters")),
            kernel_size=_ints(layer.get("kernel_size")),
            pool_size=_ints(layer.get("pool_size")),
            output_shape=_shape(layer.get("output_shape")))
            for layer in value["layers"])
        return cls(class_name=str(value["class_name"]), layers=layers,
                   input_shape=_shape(value.get("input_shape")),
                   output_shape=_shape(value.get("output_shape")))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _ints(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)


def _shape(value: Any) -> Shape | None:
    if value is None:
        return None
    return tuple(None if d is None else int(d) for d in value)


# -- in the child that holds the Keras model ---------------------------------------------------

def _keras_shape(value: Any) -> Shape | None:
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


def keras_layers(model: Any) -> Iterator[Any]:
    """The layers of a live Keras model, nested models flattened."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.__class__.__name__ in ("Sequential", "Functional"):
            yield from keras_layers(layer)
        else:
            yield layer


def summarize(model: Any) -> ModelSummary:
    """The architecture of a live Keras model as plain data."""
    layers = []
    for layer in keras_layers(model):
        config = layer.get_config()
        activation = config.get("activation")
        try:
            output_shape = _keras_shape(layer.output.shape)
        except (AttributeError, ValueError):
            output_shape = None
        layers.append(LayerSummary(
            class_name=layer.__class__.__name__, name=str(layer.name),
            units=config.get("units"),
            activation=activation if isinstance(activation, str) else None,
            filters=config.get("filters"), kernel_size=_pair(config.get("kernel_size")),
            pool_size=_pair(config.get("pool_size")), output_shape=output_shape))
    return ModelSummary(class_name=model.__class__.__name__, layers=tuple(layers),
                        input_shape=_keras_shape(getattr(model, "input_shape", None)),
                        output_shape=_keras_shape(getattr(model, "output_shape", None)))
