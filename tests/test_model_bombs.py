"""Small model files that would make the judge use gigabytes or minutes.

Each bomb from issue 10 is built here, small, from plain JSON and HDF5 headers (no
Keras in the test process): a ``.h5`` whose weight list repeats one empty 256 MiB dataset,
a ``.keras`` variable that declares 1 GiB and stores nothing, a config-only
``Dense(650000)``, two ``Dense(8192)`` with the ``Orthogonal`` initializer, one shared
``Conv2D(128)`` applied 400 times, and 25,000 weightless layers.

* Graded through the judge with every bomb handed in next to an honest model, each bomb's
  test fails with a message naming the limit, the honest model's tests pass (the rest of
  the grade goes on, and the model is loaded once for two tests), and the grading process
  tree's peak memory (psutil, this process and all its children) stays under
  :data:`GRADE_BOUND` above where it started, in less than the exercise's time limit.
* With the static budget switched off, each bomb reaches Keras in the limited child,
  which a limit stops: an outcome naming the limit, with the tree's peak memory under
  :data:`CHILD_BOUND` above where it started and within the child's time limits.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import psutil
import pytest

from autograder.exercises import Exercise, Limits
from autograder.judge.models import (
    ModelBudget,
    ModelLimits,
    ModelRefusedError,
    ModelStoppedError,
    inspect_model_file,
    load_model,
    predict,
)
from autograder.pipeline import GradeOptions, grade
from autograder.sandbox.local import LocalSandbox

# RSS summed over the process tree counts the pages a forked child shares with the warm
# evaluator twice, so these bounds over-state, never under-state, what is really used.
GRADE_BOUND = int(1.5 * 2**30)  # the warm evaluator, one honest model child, the kernel
CHILD_BOUND = int(2.0 * 2**30)  # a child at its 1 GiB limit plus the pages it shares
MiB = 2**20


# -- building bombs from JSON and HDF5 headers -------------------------------------------------

def _layer(class_name: str, name: str, **config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
            "config": {"name": name, **config}}


def _input(shape: tuple[int, ...], name: str = "input") -> dict[str, Any]:
    return _layer("InputLayer", name, batch_shape=[None, *shape], dtype="float32")


def _sequential(shape: tuple[int, ...], *layers: dict[str, Any]) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": [_input(shape), *layers]}}


def _keras_file(path: Path, config: dict[str, Any],
                weights: Callable[[h5py.File], None] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        if weights is not None:
            h5 = path.with_suffix(".weights.h5")
            with h5py.File(h5, "w") as handle:
                handle.create_group("vars")
                weights(handle)
            archive.write(h5, "model.weights.h5")
            h5.unlink()
    return path


def honest(path: Path) -> Path:
    """y = 2·x0 − x1 + 0.5, as Keras 3 would save a trained Dense(1) on two inputs."""
    def weights(handle: h5py.File) -> None:
        variables = handle.create_group("layers/dense/vars")
        variables.create_dataset("0", data=np.array([[2.0], [-1.0]], dtype="float32"))
        variables.create_dataset("1", data=np.array([0.5], dtype="float32"))

    return _keras_file(path, _sequential((2,), _layer("Dense", "dense", units=1)), weights)


def repeated_dataset_h5(path: Path) -> Path:
    """A .h5 whose weight list names one empty 256 MiB dataset ten times."""
    config = _sequential((2,), _layer("Dense", "dense", units=1, use_bias=False))
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        handle.attrs["keras_version"] = "3.15.1"
        handle.attrs["backend"] = "tensorflow"
        weights = handle.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([b"dense"])
        layer = weights.create_group("dense")
        layer.create_dataset("dense/kernel", shape=(64 * MiB,), dtype="float32")  # no data
        layer.attrs["weight_names"] = np.array([b"dense/kernel"] * 10)
    return path


def declared_gigabyte_keras(path: Path) -> Path:
    """A .keras whose Dense kernel is backed by a 1 GiB dataset that stores nothing."""
    def weights(handle: h5py.File) -> None:
        variables = handle.create_group("layers/dense/vars")
        variables.create_dataset("0", shape=(256 * MiB,), dtype="float32")
        variables.create_dataset("1", data=np.zeros(1, dtype="float32"))

    return _keras_file(path, _sequential((2,), _layer("Dense", "dense", units=1)), weights)


def config_only_dense(path: Path) -> Path:
    """Dense(650000) on 2,500 inputs, no weights: 6.5 GB of variables once built."""
    return _keras_file(path, _sequential((2500,), _layer("Dense", "dense", units=650_000)))


def orthogonal_dense(path: Path) -> Path:
    """Two Dense(8192) whose Orthogonal initializer runs a QR of 8192 × 8192 each."""
    orthogonal = {"module": "keras.initializers", "class_name": "Orthogonal",
                  "config": {"gain": 1.0, "seed": None}, "registered_name": None}
    return _keras_file(path, _sequential(
        (8192,), *[_layer("Dense", f"dense_{i}", units=8192, kernel_initializer=orthogonal)
                   for i in range(2)]))


def _tensor(source: str, node: int, shape: list[int | None]) -> dict[str, Any]:
    return {"args": [{"class_name": "__keras_tensor__", "config": {
        "shape": shape, "dtype": "float32", "keras_history": [source, node, 0]}}],
        "kwargs": {}}


def shared_convolution(path: Path) -> Path:
    """One Conv2D(128) applied 400 times to a 64 × 64 × 128 input (functional API)."""
    shape: list[int | None] = [None, 64, 64, 128]
    nodes = [_tensor("input", 0, shape)] + [_tensor("conv", i, shape) for i in range(399)]
    conv = {**_layer("Conv2D", "conv", filters=128, kernel_size=[3, 3], padding="same",
                     activation="relu"), "name": "conv", "inbound_nodes": nodes}
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "registered_name": "Functional", "config": {
                  "name": "functional", "layers": [
                      {**_input((64, 64, 128)), "name": "input", "inbound_nodes": []}, conv],
                  "input_layers": ["input", 0, 0], "output_layers": ["conv", 399, 0]}}

    def weights(handle: h5py.File) -> None:
        variables = handle.create_group("layers/conv2d/vars")
        variables.create_dataset("0", data=np.zeros((3, 3, 128, 128), dtype="float32"))
        variables.create_dataset("1", data=np.zeros(128, dtype="float32"))

    return _keras_file(path, config, weights)


def many_layers(path: Path) -> Path:
    """25,000 weightless ReLU layers."""
    return _keras_file(path, _sequential((2,), *[
        {"class_name": "ReLU", "config": {"name": f"r{i}"}} for i in range(25_000)]),
        lambda handle: None)


@dataclass(frozen=True)
class Bomb:
    id: str
    build: Callable[[Path], Path]
    file_name: str
    refusal: str  # what the budget's message names
    input_shape: tuple[int, ...]  # for a prediction once loaded


BOMBS = (
    Bomb("repeated", repeated_dataset_h5, "repeated.h5", "declares 256.0 MiB in the dataset",
         (2,)),
    Bomb("declared", declared_gigabyte_keras, "declared.keras",
         "declares 1,024.0 MiB in the dataset", (2,)),
    Bomb("wide", config_only_dense, "wide.keras", "more than 10,000,000 parameters", (2500,)),
    Bomb("orthogonal", orthogonal_dense, "orthogonal.keras", "Orthogonal", (8192,)),
    Bomb("shared", shared_convolution, "shared.keras", "applied more than 16 times",
         (64, 64, 128)),
    Bomb("layers", many_layers, "layers.keras", "more than 256 layers", (2,)),
)


# -- measuring the process tree ----------------------------------------------------------------

@dataclass
class Peak:
    start: int = 0
    highest: int = 0

    @property
    def above_start(self) -> int:
        return self.highest - self.start


def _tree_rss() -> int:
    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        with suppress(psutil.Error):
            total += process.memory_info().rss
    return total


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """The highest RSS of this process and all its children while the block runs."""
    peak = Peak(start=_tree_rss())
    peak.highest = peak.start
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.highest = max(peak.highest, _tree_rss())
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak.highest = max(peak.highest, _tree_rss())


# -- graded through the judge ------------------------------------------------------------------

GRADER = '''
import numpy as np

from autograder.judge import Fail, Grader, Plan
from autograder.judge.artifacts import load_student_model
from autograder.judge.models import predict

grader = Grader("bombs")
BOMBS = {bombs!r}


@grader.plan
def plan(p: Plan) -> None:
    p.action("honest", "file", "honest.keras")
    for call_id, name in BOMBS.items():
        p.action(call_id, "file", name)


@grader.test("honest model predicts", points=1)
def honest(ctx):
    loaded = load_student_model(ctx, "honest")
    y = predict(loaded, np.array([[1.0, 1.0], [0.0, 2.0]])).ravel()
    if not np.allclose(y, [1.5, -1.5], atol=1e-5):
        raise Fail(f"predictions {{y}}")
    return f"child {{loaded.process.pid}}"


for call_id in BOMBS:
    def check(ctx, call_id=call_id):
        loaded = load_student_model(ctx, call_id)
        predict(loaded, np.zeros((1, 2)))
        return "loaded"

    grader.test(f"bomb {{call_id}}", points=1)(check)


@grader.test("honest model again", points=1)
def honest_again(ctx):
    return f"child {{load_student_model(ctx, 'honest').process.pid}}"
'''


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    files = {bomb.id: bomb.build(folder / bomb.file_name) for bomb in BOMBS}
    files["honest"] = honest(folder / "honest.keras")
    return files


def test_the_bombs_are_small_files(bomb_files: dict[str, Path]) -> None:
    sizes = {name: path.stat().st_size for name, path in bomb_files.items()}
    assert max(sizes.values()) < 2 * MiB, sizes


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.id for b in BOMBS])
def test_the_budget_refuses_each_bomb_before_keras(bomb_files: dict[str, Path],
                                                   bomb: Bomb) -> None:
    with peak_memory() as peak:
        started = time.monotonic()
        with pytest.raises(ModelRefusedError, match=re.escape(bomb.refusal)):
            inspect_model_file(bomb_files[bomb.id])
    assert time.monotonic() - started < 30
    assert peak.above_start < 200 * MiB, peak


@pytest.mark.slow
def test_bombs_graded_through_the_judge_fail_their_tests_only(
        tmp_path: Path, bomb_files: dict[str, Path]) -> None:
    course = tmp_path / "course"
    (course / "graders" / "bombs").mkdir(parents=True)
    (course / "graders" / "bombs" / "config.toml").write_text('title = "Model bombs"\n')
    (course / "graders" / "bombs" / "tests.py").write_text(
        GRADER.format(bombs={b.id: b.file_name for b in BOMBS}))
    submission = tmp_path / "submission"
    submission.mkdir()
    for path in bomb_files.values():
        (submission / path.name).write_bytes(path.read_bytes())
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None,
         "outputs": [], "source": "print('models saved')"}]}
    (submission / "bombs.ipynb").write_text(json.dumps(notebook))
    exercise = Exercise(id="bombs", title="Model bombs", root=course)

    with peak_memory() as peak:
        result = grade(exercise=exercise, submission=submission, sandbox=LocalSandbox(),
                       options=GradeOptions(seed=0))

    tests = {t.name: t for t in result.tests}
    for bomb in BOMBS:
        test = tests[f"bomb {bomb.id}"]
        assert test.status == "failed" and bomb.refusal in test.output, test
        assert bomb.file_name in test.output and "save the model again" in test.output.lower()
    first, again = tests["honest model predicts"], tests["honest model again"]
    assert first.status == again.status == "passed", (first, again)
    assert first.output == again.output, "the honest model was loaded twice in one grade"
    assert result.errors == [], result.errors
    print(f"graded in {result.execution_time:.1f} s, process tree peak "
          f"+{peak.above_start / MiB:.0f} MiB")
    assert result.execution_time < Limits().timeout_s
    assert peak.above_start < GRADE_BOUND, f"{peak.above_start / MiB:.0f} MiB"


# -- past the budget: the child's limits -------------------------------------------------------

NO_BUDGET = ModelBudget(max_parameters=10**12, max_layers=10**6, max_applications=10**6,
                        max_flops_per_sample=10**18, max_activation_values=10**12,
                        max_initializer_flops=10**18, max_weight_bytes=10**12,
                        max_weight_links=10**6, inspect_weights=False)
CHILD_LIMITS = ModelLimits(load_seconds=12, call_seconds=6, cpu_seconds=30)


@pytest.mark.slow
@pytest.mark.parametrize("bomb", BOMBS, ids=[b.id for b in BOMBS])
def test_past_the_budget_the_child_is_stopped_by_a_limit(bomb_files: dict[str, Path],
                                                         bomb: Bomb) -> None:
    load_model(bomb_files["honest"]).close()  # the warm evaluator is running already
    with peak_memory() as peak:
        started = time.monotonic()
        with pytest.raises(ModelStoppedError) as stopped:
            loaded = load_model(bomb_files[bomb.id], budget=NO_BUDGET, limits=CHILD_LIMITS)
            try:
                predict(loaded, np.zeros((8, *bomb.input_shape)))
            finally:
                loaded.close()
        seconds = time.monotonic() - started
    assert stopped.value.limit in ("memory", "time", "cpu"), stopped.value
    assert bomb.file_name in str(stopped.value)
    assert seconds < CHILD_LIMITS.load_seconds + CHILD_LIMITS.call_seconds + 15
    assert peak.above_start < CHILD_BOUND, f"{peak.above_start / MiB:.0f} MiB"


@pytest.mark.slow
def test_without_a_cgroup_an_address_space_limit_stops_the_child(
        bomb_files: dict[str, Path]) -> None:
    limits = ModelLimits(load_seconds=20, use_cgroup=False)
    with peak_memory() as peak, pytest.raises(ModelStoppedError) as stopped:
        load_model(bomb_files["wide"], budget=NO_BUDGET, limits=limits).close()
    assert stopped.value.limit == "memory", stopped.value
    assert peak.above_start < CHILD_BOUND, f"{peak.above_start / MiB:.0f} MiB"


# -- weights files: each way of making Keras read more than the file holds ---------------------

def _npy_member(declared: tuple[int, ...]) -> bytes:
    """An .npy header declaring ``declared`` float32 values, followed by no data."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                  "shape": declared})
    return buffer.getvalue()


def test_weights_files_that_declare_more_than_they_hold_are_refused(tmp_path: Path) -> None:
    config = _sequential((2,), _layer("Dense", "dense", units=1))
    npz = tmp_path / "npz.keras"
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        with zipfile.ZipFile(tmp_path / "w.npz", "w") as inner:
            inner.writestr("layers/dense/vars/0.npy", _npy_member((256 * MiB,)))
        archive.write(tmp_path / "w.npz", "model.weights.npz")
    with pytest.raises(ModelRefusedError, match=r"declares 1,024\.0 MiB in the array"):
        inspect_model_file(npz)

    def aliased(handle: h5py.File) -> None:
        variables = handle.create_group("layers/dense/vars")
        variables.create_dataset("0", data=np.zeros((2, 1), dtype="float32"))
        variables["1"] = variables["0"]  # a hard link: the same dataset under a second name

    with pytest.raises(ModelRefusedError, match="more than once"):
        inspect_model_file(_keras_file(tmp_path / "alias.keras", config, aliased))

    def linked(handle: h5py.File) -> None:
        handle["layers/dense/vars/0"] = h5py.ExternalLink("/etc/hostname", "/")

    with pytest.raises(ModelRefusedError, match="another place or file"):
        inspect_model_file(_keras_file(tmp_path / "link.keras", config, linked))

    repeated = tmp_path / "repeated.h5"
    with h5py.File(repeated, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        layer = handle.create_group("model_weights/dense")
        layer.create_dataset("dense/kernel", data=np.zeros((2, 1), dtype="float32"))
        layer.attrs["weight_names"] = np.array([b"dense/kernel"] * 3)
    with pytest.raises(ModelRefusedError, match="repeats a name in the weight list"):
        inspect_model_file(repeated)


def test_an_honest_file_passes_the_budget_with_its_costs(bomb_files: dict[str, Path]) -> None:
    from autograder.judge.models.budget import estimate

    found = estimate(inspect_model_file(bomb_files["honest"]), ModelBudget())
    assert (found.layers, found.parameters, found.flops) == (2, 3, 4)


@pytest.mark.parametrize("config", [
    _sequential((), _layer("Dense", "dense", units=1)),  # no feature dimension at all
    {"class_name": "Functional", "config": {
        "layers": [{**_input((2,)), "name": "input", "inbound_nodes": []},
                   {**_layer("Concatenate", "cat"), "name": "cat",
                    "inbound_nodes": [{"args": [[{"class_name": "__keras_tensor__",
                                                  "config": {"keras_history": h}}
                                                 for h in (["input", 0, 0], ["nowhere", 0, 0])]],
                                       "kwargs": {}}]}],
        "input_layers": [["input", 0, 0]], "output_layers": [["cat", 0, 0]]}},
    _sequential((2,), _layer("Conv2D", "conv", filters="many", kernel_size=[[3]], strides=None)),
])
def test_odd_descriptions_never_break_the_budget(tmp_path: Path, config: dict[str, Any]) -> None:
    path = _keras_file(tmp_path / "odd.keras", config)
    # A refusal with a message is fine; an exception of another kind is not.
    with suppress(ModelRefusedError):
        inspect_model_file(path)
