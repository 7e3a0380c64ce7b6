"""The judge loads students' model and scaler files without running students' code.

Each dangerous file here carries a payload that writes a marker file when it runs. The
tests check that the judge refuses the file and that the marker never appears, and
(so that the tests could fail) that the same file does run its payload when it is loaded
the unsafe way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from autograder.exercises import Exercise
from autograder.judge.framework import Fail
from autograder.judge.models import (
    CompiledLoss,
    ModelRefusedError,
    compiled_loss_of,
    expect_loss,
    inspect_model_file,
    load_model,
    predict,
)
from autograder.pipeline import GradeOptions, grade
from autograder.sandbox.local import LocalSandbox

REPO = Path(__file__).resolve().parents[1]


# -- descriptions checked without Keras --------------------------------------------------------

def _layer(class_name: str, **extra: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
            "config": {"name": class_name.lower(), **extra}}


def _sequential(*layers: dict[str, Any]) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential",
                       "layers": [_layer("InputLayer", batch_shape=[None, 2]), *layers]}}


def _keras_zip(path: Path, config: Any, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3"}))
        archive.writestr("config.json", json.dumps(config))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def test_a_model_of_built_in_layers_passes_inspection(tmp_path: Path) -> None:
    config = _sequential(_layer("Dense", units=1, activation="sigmoid"))
    inspect_model_file(_keras_zip(tmp_path / "ok.keras", config))


@pytest.mark.parametrize(("layer", "expected"), [
    (_layer("Lambda", function={"class_name": "__lambda__", "config": {"code": "AAAA"}}),
     "Lambda"),
    ({"module": "os", "class_name": "Dense", "config": {}}, "module 'os'"),
    ({"module": None, "class_name": "MyLayer", "registered_name": "evil>MyLayer",
      "config": {}}, "'MyLayer'"),
    ({"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense",
      "config": {}}, "registered custom object"),
    (_layer("Dense", units=1, activation={"module": "builtins", "class_name": "function",
                                          "config": "payload", "registered_name": "function"}),
     "Python function 'payload'"),
    # tf.nn.softmax: Keras saves it but cannot load it back; the message says what to write
    (_layer("Dense", units=1, activation={"module": "builtins", "class_name": "function",
                                          "config": "softmax_v2", "registered_name": "function"}),
     "TensorFlow function 'softmax_v2'.*activation='softmax'"),
    (_layer("Dense", units=1, activation="my_activation"), "my_activation"),
    (_layer("TFSMLayer", filepath="/tmp/x"), "'TFSMLayer'"),
])
def test_unsafe_descriptions_are_refused(tmp_path: Path, layer: dict[str, Any],
                                         expected: str) -> None:
    path = _keras_zip(tmp_path / "bad.keras", _sequential(layer))
    with pytest.raises(ModelRefusedError, match=expected):
        inspect_model_file(path)


def test_unsafe_zip_entries_and_sizes_are_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = _sequential(_layer("Dense", units=1))
    escaping = _keras_zip(tmp_path / "escape.keras", config, {"../outside": b"x"})
    with pytest.raises(ModelRefusedError, match="unsafe path"):
        inspect_model_file(escaping)
    (tmp_path / "notzip.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelRefusedError, match="not a zip"):
        inspect_model_file(tmp_path / "notzip.keras")
    deep: Any = "relu"
    for _ in range(200):
        deep = {"nested": deep}
    with pytest.raises(ModelRefusedError, match="nested too deeply"):
        inspect_model_file(_keras_zip(tmp_path / "deep.keras", _sequential(
            _layer("Dense", units=1, extra=deep))))
    import autograder.judge.models.description as description

    monkeypatch.setattr(description, "MAX_MODEL_BYTES", 100)
    with pytest.raises(ModelRefusedError, match="not graded"):
        inspect_model_file(_keras_zip(tmp_path / "big.keras", config))


def test_h5_files_are_inspected_from_their_attributes(tmp_path: Path) -> None:
    import h5py

    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as handle:
        handle.create_dataset("w", data=np.zeros(3))
    with pytest.raises(ModelRefusedError, match="weights only"):
        inspect_model_file(weights_only)
    lambda_h5 = tmp_path / "lambda.h5"
    with h5py.File(lambda_h5, "w") as handle:
        handle.attrs["model_config"] = json.dumps(_sequential(_layer("Lambda")))
    with pytest.raises(ModelRefusedError, match="Lambda"):
        inspect_model_file(lambda_h5)


# -- real Keras files with live payloads ---------------------------------------------------------

def _marker_lambda(marker: Path) -> Any:
    # A real `lambda` (not a def), so Keras stores its bytecode in the file.
    return eval(f"lambda x: x if open({str(marker)!r}, 'a').write('ran') else x")


def _runs_unsafely(model_path: Path) -> None:
    """Load ``model_path`` the unsafe way in a separate process and call it."""
    script = textwrap.dedent(f"""
        import numpy as np, keras
        model = keras.saving.load_model({str(model_path)!r}, compile=False, safe_mode=False)
        model(np.zeros((1, 2), dtype="float32"))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True,
                   timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_lambda_layer_is_refused_and_never_runs(tmp_path: Path, suffix: str) -> None:
    import keras

    marker = tmp_path / "lambda-ran"
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Lambda(
        _marker_lambda(marker)), keras.layers.Dense(1)])
    path = tmp_path / f"student{suffix}"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model above ran the lambda once

    with pytest.raises(ModelRefusedError, match="Lambda"):
        load_model(path)
    assert not marker.exists()

    _runs_unsafely(path)  # the payload is live: loaded without our checks, it runs
    assert marker.read_text().startswith("ran")


@pytest.mark.slow
def test_a_registered_custom_layer_is_refused_even_when_the_judge_knows_it(
        tmp_path: Path) -> None:
    import keras

    marker = tmp_path / "custom-ran"

    @keras.saving.register_keras_serializable(package="student")
    class Sneaky(keras.layers.Layer):
        def call(self, inputs: Any) -> Any:
            marker.write_text("ran")
            return inputs

    model = keras.Sequential([keras.Input(shape=(2,)), Sneaky(), keras.layers.Dense(1)])
    path = tmp_path / "student.keras"
    model.save(path)
    marker.unlink(missing_ok=True)

    with pytest.raises(ModelRefusedError, match="Sneaky"):
        load_model(path)
    assert not marker.exists()

    # The class is registered in this process, so Keras alone would load and run it.
    keras.saving.load_model(path)(np.zeros((1, 2), dtype="float32"))
    assert marker.exists()


@pytest.mark.slow
def test_a_safe_model_loads_with_its_architecture(tmp_path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(
        learning_rate=0.01), metrics=["accuracy"])
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        loaded = load_model(tmp_path / f"m{suffix}")
        summary = loaded.summary
        assert summary.layer_types == ["Dense", "Dense"]
        assert [layer.units for layer in summary.layers] == [8, 1]
        assert [layer.activation for layer in summary.layers] == ["relu", "sigmoid"]
        assert summary.input_shape == (None, 2) and summary.output_shape == (None, 1)
        x = np.random.default_rng(0).random((5, 2)).astype("float32")
        np.testing.assert_allclose(predict(loaded, x), np.asarray(model(x)), rtol=1e-6)
        loaded.close()


# -- pickles are opened in the sandbox only -----------------------------------------------------

class _PickledPayload:
    """Unpickles into a genuine fitted MinMaxScaler, after writing ``marker-<pid>``.

    The pid in the marker's name says which process unpickled the file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        expression = (
            f"(open({str(self.folder)!r} + '/marker-' + str(__import__('os').getpid()), 'w')"
            ".write('ran'), __import__('sklearn.preprocessing', fromlist=['MinMaxScaler'])"
            ".MinMaxScaler().fit([[30.0, 40.0], [90.0, 100.0]]))[1]")
        return (eval, (expression,))


GRADER = '''
from autograder.judge import Grader, Plan, expect_array
from autograder.judge.artifacts import fitted_attributes

grader = Grader("pickled")


@grader.plan
def plan(p: Plan) -> None:
    p.action("scaler", "joblib-attributes", "scaler.joblib", ["data_min_", "data_max_"])


@grader.test("the scaler's fitted numbers arrive as plain data", points=1)
def numbers(ctx):
    scaler = fitted_attributes(ctx, "scaler")
    import numpy as np
    expect_array(scaler.array("data_min_"), np.array([30.0, 40.0]), "data_min_")
    expect_array(scaler.array("data_max_"), np.array([90.0, 100.0]), "data_max_")
'''


@pytest.mark.slow
def test_a_malicious_pickle_runs_only_in_the_sandbox(tmp_path: Path) -> None:
    """Grades a submission whose scaler file is a pickle with a payload.

    With the local sandbox the student's kernel runs on this machine as this user, so a
    marker's mere existence proves nothing about *where* the pickle was opened. The
    payload therefore names its marker after the process that unpickled it. The judge is
    this test's own process (``grade`` runs the judge in-process), so a marker named with
    ``os.getpid()`` would mean the judge unpickled the file. The test requires that marker
    to be absent and a marker from another process (the sandbox's kernel) to be present,
    which proves the payload was live and the attributes the judge saw came from it.
    """
    course = tmp_path / "course"
    (course / "graders" / "pickled").mkdir(parents=True)
    (course / "graders" / "pickled" / "config.toml").write_text('title = "Pickled scaler"\n')
    (course / "graders" / "pickled" / "tests.py").write_text(GRADER)
    markers = tmp_path / "markers"
    markers.mkdir()
    submission = tmp_path / "submission"
    submission.mkdir()
    joblib.dump(_PickledPayload(markers), submission / "scaler.joblib")
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None,
         "outputs": [], "source": "print('nothing to do here')"}]}
    (submission / "pickled.ipynb").write_text(json.dumps(notebook))

    exercise = Exercise(id="pickled", title="Pickled scaler", root=course)
    result = grade(exercise=exercise, submission=submission, sandbox=LocalSandbox(),
                   options=GradeOptions(seed=0))

    ran_in = {int(p.name.removeprefix("marker-")) for p in markers.glob("marker-*")}
    assert os.getpid() not in ran_in, "the judge process unpickled the student's file"
    assert ran_in, "the payload never ran, so this test proved nothing"
    assert result.score == result.max_score, result.tests


# -- the compile configuration is plain data ----------------------------------------------------

def _function(name: str) -> dict[str, Any]:
    """A built-in loss or metric given as a function, as Keras 3 records it."""
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def _h5(path: Path, config: Any, training: Any = None) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        if training is not None:
            handle.attrs["training_config"] = json.dumps(training)
    return path


BUILT_IN_FUNCTIONS = {"loss": _function("mean_squared_error"),
                      "metrics": [_function("sparse_categorical_accuracy")]}
CUSTOM_LOSS = {"loss": {"module": "student", "class_name": "MyLoss",
                        "registered_name": "student>MyLoss", "config": {}}}


@pytest.mark.parametrize("compile_config", [BUILT_IN_FUNCTIONS, CUSTOM_LOSS],
                         ids=["built-in-functions", "never-deserialised"])
def test_the_compile_configuration_never_refuses_a_model(
        tmp_path: Path, compile_config: dict[str, Any]) -> None:
    model = _sequential(_layer("Dense", units=1, activation="sigmoid"))
    for path in (_keras_zip(tmp_path / "m.keras", {**model, "compile_config": compile_config}),
                 _h5(tmp_path / "m.h5", model, compile_config)):
        description = inspect_model_file(path)
        assert description.compile_config == compile_config


@pytest.mark.parametrize(("compile_config", "expected"), [
    ({}, CompiledLoss(False)),
    ({"loss": "sparse_categorical_crossentropy"},
     CompiledLoss(True, "sparse_categorical_crossentropy")),
    ({"loss": "mse"}, CompiledLoss(True, "mean_squared_error")),
    ({"loss": _function("mean_squared_error")}, CompiledLoss(True, "mean_squared_error")),
    ({"loss": {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
               "config": {"name": "sparse_categorical_crossentropy", "from_logits": True}}},
     CompiledLoss(True, "sparse_categorical_crossentropy", from_logits=True)),
    ({"loss": {"class_name": "CategoricalCrossentropy", "config": {}}},
     CompiledLoss(True, "categorical_crossentropy")),
])
def test_the_compiled_loss_is_read_from_keras_and_h5_files(
        tmp_path: Path, compile_config: dict[str, Any], expected: CompiledLoss) -> None:
    model = _sequential(_layer("Dense", units=10, activation="softmax"))
    keras_file = _keras_zip(tmp_path / "m.keras", {**model, "compile_config": compile_config})
    h5_file = _h5(tmp_path / "m.h5", model, compile_config or None)  # uncompiled: no attribute
    for path in (keras_file, h5_file):
        assert compiled_loss_of(inspect_model_file(path)) == expected, path.suffix


@pytest.mark.parametrize(("compile_config", "message"), [
    (None, "saved without being compiled"),
    ({"loss": "categorical_crossentropy"}, "compiled with 'categorical_crossentropy'"),
    ({"loss": _function("mean_squared_error")}, "compiled with 'mean_squared_error'"),
])
def test_a_sparse_loss_test_fails_other_losses_and_uncompiled_models(
        tmp_path: Path, compile_config: dict[str, Any] | None, message: str) -> None:
    model = _sequential(_layer("Dense", units=10, activation="softmax"))
    description = inspect_model_file(_h5(tmp_path / "m.h5", model, compile_config))
    with pytest.raises(Fail, match=message):
        expect_loss(description, "sparse_categorical_crossentropy", "integer labels")
    keras_config = {**model, "compile_config": compile_config or {}}
    with pytest.raises(Fail, match=message):
        expect_loss(inspect_model_file(_keras_zip(tmp_path / "m.keras", keras_config)),
                    "sparse_categorical_crossentropy", "integer labels")


@pytest.mark.slow
def test_models_compiled_with_built_in_functions_load_and_report_their_loss(
        tmp_path: Path) -> None:
    import keras

    def network() -> Any:
        return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(10),
                                 keras.layers.Softmax()])

    model, other, uncompiled = network(), network(), network()
    model.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy,
                  metrics=[keras.metrics.sparse_categorical_accuracy])
    other.compile(loss="categorical_crossentropy")
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"sparse{suffix}")
        other.save(tmp_path / f"other{suffix}")
        uncompiled.save(tmp_path / f"uncompiled{suffix}")
        loaded = load_model(tmp_path / f"sparse{suffix}")
        try:
            assert expect_loss(loaded.description, "sparse_categorical_crossentropy",
                               "integer labels").name == "sparse_categorical_crossentropy"
            assert predict(loaded, np.zeros((3, 4))).shape == (3, 10)
        finally:
            loaded.close()
        for name, message in (("other", "categorical_crossentropy"),
                              ("uncompiled", "without being compiled")):
            with pytest.raises(Fail, match=message):
                expect_loss(inspect_model_file(tmp_path / f"{name}{suffix}"),
                            "sparse_categorical_crossentropy", "integer labels")
