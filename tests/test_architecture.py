"""Normalising model descriptions (autograder.judge.architecture) on the JSON Keras 3 and
Keras 2 write, without Keras. The configs below are trimmed copies of what
``model.save`` wrote for each style (tests/test_keras_fairness.py grades real files)."""

from __future__ import annotations

from typing import Any

import pytest

from autograder.judge.architecture import (
    DescriptionError,
    canonical_name,
    compiled_loss,
    compiled_metrics,
    normalise,
)


def layer(kind: str, **config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": kind, "config": config}


def functional(*layers: dict[str, Any]) -> dict[str, Any]:
    """A functional model whose layers form one chain, with Keras 3's inbound nodes."""
    chained = []
    for index, entry in enumerate(layers):
        entry = dict(entry, name=entry["config"].get("name", f"l{index}"))
        if index:
            entry["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {
                "shape": [None], "keras_history": [chained[-1]["name"], 0, 0]}}],
                "kwargs": {}}]
        else:
            entry["inbound_nodes"] = []
        chained.append(entry)
    return {"class_name": "Functional", "config": {"name": "functional", "layers": chained}}


def sequential(*layers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "layers": list(layers), **extra}}


INPUT_2 = layer("InputLayer", batch_shape=[None, 2], name="input_layer")
INPUT_IMAGE = layer("InputLayer", batch_shape=[None, 28, 28], name="input_layer")


def test_sequential_and_functional_with_activation_layers_and_dropout_are_the_same() -> None:
    plain = normalise(sequential(INPUT_2, layer("Dense", units=8, activation="relu"),
                                 layer("Dense", units=1, activation="sigmoid")))
    written_out = normalise(functional(
        INPUT_2, layer("Dense", units=8, activation="linear"),
        layer("Activation", activation="relu"), layer("Dropout", rate=0.2),
        layer("Dense", units=1, activation="linear"), layer("Activation", activation="sigmoid")))
    assert plain.describe() == written_out.describe() == "Dense(8, relu) → Dense(1, sigmoid)"
    assert plain.input_shape == written_out.input_shape == (None, 2)
    assert written_out.ignored == ("Dropout",) and not written_out.branched


def test_nested_model_with_a_softmax_layer_reads_as_a_softmax_output() -> None:
    inner = sequential(INPUT_IMAGE, layer("Flatten"), layer("Dense", units=128, activation="relu"),
                       layer("Dense", units=10, activation="linear"))
    wrapped = normalise(sequential(INPUT_IMAGE, inner, layer("Softmax")))
    assert wrapped.describe() == "Flatten → Dense(128, relu) → Dense(10, softmax)"
    assert wrapped.input_shape == (None, 28, 28)


def test_logits_with_from_logits_read_as_probabilities_only_when_so_compiled() -> None:
    model = sequential(INPUT_IMAGE, layer("Flatten"), layer("Dense", units=10))
    compiled = {"loss": {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
                         "config": {"name": "sparse_categorical_crossentropy",
                                    "from_logits": True}}}
    as_logits = normalise(model, compiled)
    assert as_logits.output is not None and as_logits.output.activation == "softmax"
    assert as_logits.logits
    plain = normalise(model, {"loss": "sparse_categorical_crossentropy"})
    assert plain.output is not None and plain.output.linear and not plain.logits
    one = normalise(sequential(INPUT_2, layer("Dense", units=1)),
                    {"loss": {"class_name": "BinaryCrossentropy",
                              "config": {"from_logits": True}}})
    assert one.output is not None and one.output.activation == "sigmoid"


def test_batch_normalization_is_folded_and_reported() -> None:
    model = normalise(sequential(
        layer("InputLayer", batch_shape=[None, 28, 28, 1]),
        layer("Conv2D", filters=32, kernel_size=[3, 3], activation="linear", padding="same"),
        layer("BatchNormalization"), layer("ReLU"), layer("MaxPooling2D", pool_size=[2, 2]),
        layer("RandomFlip", mode="horizontal"), layer("Flatten"),
        layer("Dense", units=10, activation="softmax")))
    assert model.kinds == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    conv = model.layers[0]
    assert (conv.filters, conv.kernel_size, conv.activation, conv.padding) == (
        32, (3, 3), "relu", "same")
    assert conv.batch_normalized and model.batch_normalized == [conv]
    assert "batch-normalized" in conv.describe()
    assert model.ignored == ("RandomFlip",)


def test_an_activation_after_a_non_linear_layer_is_kept() -> None:
    """Dense(10, softmax) followed by Softmax is two activations, not a folded one."""
    model = normalise(sequential(INPUT_2, layer("Dense", units=10, activation="softmax"),
                                 layer("Softmax")))
    assert model.kinds == ["Dense", "Activation"]


def test_keras_2_descriptions_give_the_input_shape() -> None:
    """Keras 2 .h5 files put ``batch_input_shape`` on the first layer, with no InputLayer."""
    model = normalise({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"units": 1, "activation": "linear",
                                           "batch_input_shape": [None, 1]}}]}})
    assert model.describe() == "Dense(1, linear)" and model.input_shape == (None, 1)


def test_branches_are_detected_and_not_folded() -> None:
    config = functional(INPUT_2, layer("Dense", units=4), layer("Activation", activation="relu"))
    config["config"]["layers"].append({
        "class_name": "Add", "config": {"name": "add"}, "name": "add",
        "inbound_nodes": [{"args": [[
            {"class_name": "__keras_tensor__", "config": {"keras_history": ["l1", 0, 0]}},
            {"class_name": "__keras_tensor__", "config": {"keras_history": ["l2", 0, 0]}}]],
            "kwargs": {}}]})
    model = normalise(config)
    assert model.branched and model.kinds == ["Dense", "Activation", "Add"]


def test_hostile_descriptions_are_bounded() -> None:
    deep: dict[str, Any] = sequential(INPUT_2)
    for _ in range(40):
        deep = sequential(deep)
    with pytest.raises(DescriptionError, match="nests"):
        normalise(deep)
    odd = normalise(sequential({"class_name": ["Dense"], "config": "x"}, 7,
                               layer("Dense", units=True, kernel_size="3")))
    assert [lay.units for lay in odd.layers] == [None, None]


def test_losses_and_metrics_are_read_by_name_in_every_spelling() -> None:
    assert canonical_name("MeanSquaredError") == canonical_name("mse") == "mean_squared_error"
    spellings = [
        "sparse_categorical_crossentropy",
        {"module": "builtins", "class_name": "function",
         "config": "sparse_categorical_crossentropy"},
        {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": False}},
        "SparseCategoricalCrossentropy", "scce",
    ]
    for loss in spellings:
        found = compiled_loss({"loss": loss})
        assert found is not None and found.name == "sparse_categorical_crossentropy", loss
    assert compiled_loss({}) is None and compiled_loss(None) is None
    assert compiled_loss({"loss": {"a": "b"}}) is None
    metrics = {"metrics": ["accuracy", {"class_name": "function",
                                        "config": "sparse_categorical_accuracy"}]}
    assert compiled_metrics(metrics) == ["accuracy", "sparse_categorical_accuracy"]


def test_a_nested_models_compile_settings_accept_built_ins_only() -> None:
    """Keras compiles a nested model from its compile_config (the tutorial's softmax
    wrapper around a compiled model): built-in optimizers and losses pass, others not."""
    from autograder.judge.models.description import (
        ModelDescription,
        ModelRefusedError,
        check_description,
    )

    def wrapper(compile_config: dict[str, Any]) -> ModelDescription:
        inner = dict(sequential(INPUT_IMAGE, layer("Flatten"), layer("Dense", units=10)),
                     compile_config=compile_config)
        return ModelDescription("m.keras", "keras", sequential(inner, layer("Softmax")), None)

    check_description(wrapper({
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {}},
        "loss": {"module": "builtins", "class_name": "function",
                 "config": "sparse_categorical_crossentropy"},
        "metrics": [{"module": "keras.metrics", "class_name": "SparseCategoricalAccuracy",
                     "config": {}}]}))
    for hostile in ({"module": "student", "class_name": "Adam", "config": {}},
                    {"module": "keras.layers", "class_name": "Lambda", "config": {}},
                    {"module": "builtins", "class_name": "function", "config": "my_loss"}):
        with pytest.raises(ModelRefusedError):
            check_description(wrapper({"loss": hostile}))
