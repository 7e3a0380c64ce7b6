"""What judging the Keras exercises' saved models costs, per submission, three ways.

- ``in-process``: what the judge did before models were confined: Keras loads the file in
  the judge process itself, once per test that reads the model, and predicts there;
- ``forked child``: what the judge does now: the static budget, then one child forked from
  the warm evaluator (TensorFlow imported once per judge process) loads each file once per
  grade, under its memory, CPU and wall-clock limits, and predicts;
- ``fresh interpreter``: the same child started as a new Python per model, which must
  import TensorFlow each time.

Each exercise's models are built here with the course's architectures (the weights do
not change the cost) and evaluated on as many held-out rows as its grader uses. The warm
evaluator's start (importing TensorFlow once per judge process or Dask worker) is printed
apart. Run::

    python -m benchmarks.model_evaluation [--repeat 3] [exercise ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@dataclass(frozen=True)
class ModelCase:
    file_name: str
    build: Callable[[Any], Any]  # keras module -> model
    rows: int  # held-out rows (or queries) the grader predicts on
    tests_reading: int  # tests that loaded it before loading became once per grade


def _dense(keras: Any, inputs: int, *layers: tuple[int, str]) -> Any:
    return keras.Sequential([keras.Input(shape=(inputs,)),
                             *[keras.layers.Dense(u, activation=a) for u, a in layers]])


def _images_dense(keras: Any) -> Any:
    return keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def _cnn(keras: Any, outputs: int = 10, activation: str = "softmax") -> Any:
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(128, activation="relu"),
        layers.Dense(outputs, activation=activation)])


EXERCISES: dict[str, list[ModelCase]] = {
    "linear-regression": [
        ModelCase("line.keras", lambda k: _dense(k, 1, (1, "linear")), 0, 2),
        ModelCase("house_prices.keras", lambda k: _dense(k, 1, (1, "linear")), 0, 1),
        ModelCase("housing.keras", lambda k: _dense(k, 2, (1, "linear")), 0, 1),
    ],
    "admission": [
        ModelCase("admission-simple.keras", lambda k: _dense(k, 2, (1, "sigmoid")), 20, 2),
        ModelCase("admission.keras", lambda k: _dense(k, 2, (8, "relu"), (4, "relu"),
                                                      (1, "sigmoid")), 32, 3),
    ],
    "mnist": [ModelCase("mnist.keras", _images_dense, 500, 3)],
    "fashion-mnist": [ModelCase("fashion_mnist.keras", _images_dense, 2000, 3)],
    "cnn": [ModelCase("cnn.keras", _cnn, 2000, 4)],
    "own-images": [ModelCase("own_images.keras", lambda k: _cnn(k, 1, "sigmoid"), 400, 3)],
}


def _inputs(model: Any, rows: int) -> np.ndarray:
    shape = tuple(int(d) for d in model.input_shape[1:])
    return np.random.default_rng(0).random((rows, *shape)).astype("float32")


def _in_process(keras: Any, path: Path, case: ModelCase, x: np.ndarray) -> float:
    from autograder.judge.models.description import inspect_model_file

    started = time.perf_counter()
    for _ in range(case.tests_reading):
        inspect_model_file(path)
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    if case.rows:
        for start in range(0, len(x), 1024):
            np.asarray(model(x[start:start + 1024], training=False))
    else:
        [layer.get_weights() for layer in model.layers]
    return time.perf_counter() - started


def _limited(path: Path, case: ModelCase, x: np.ndarray, *, fresh: bool) -> float:
    from autograder.judge.models import ModelLimits, dense_weights, load_model, predict

    started = time.perf_counter()
    loaded = load_model(path, limits=ModelLimits(fresh_interpreter=fresh))
    try:
        if case.rows:
            predict(loaded, x)
        else:
            dense_weights(loaded)
    finally:
        loaded.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", default=list(EXERCISES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from autograder.judge.models import load_model
    from autograder.judge.models.evaluator import evaluator

    started = time.perf_counter()
    import keras

    print(f"import keras in the judge process: {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="model-evaluation-") as tmp:
        files: dict[str, list[tuple[Path, ModelCase, np.ndarray]]] = {}
        for exercise in args.exercises:
            files[exercise] = []
            for case in EXERCISES[exercise]:
                model = case.build(keras)
                path = Path(tmp) / case.file_name
                model.save(path)
                files[exercise].append((path, case, _inputs(model, case.rows)))
        started = time.perf_counter()
        first = files[args.exercises[0]][0][0]
        load_model(first).close()
        print(f"warm evaluator start (imports TensorFlow, once per judge process) and first "
              f"model: {time.perf_counter() - started:.1f} s; memory limited by "
              f"{'a cgroup' if evaluator().cgroup_base else 'an address-space rlimit'}\n")
        print(f"{'exercise':<18} {'models':>6} {'in-process':>11} {'forked child':>13} "
              f"{'fresh interpreter':>18}   (seconds per submission, median of "
              f"{args.repeat})")
        for exercise, cases in files.items():
            timings: dict[str, list[float]] = {"in": [], "fork": [], "fresh": []}
            for _ in range(args.repeat):
                timings["in"].append(sum(_in_process(keras, p, c, x) for p, c, x in cases))
                timings["fork"].append(sum(_limited(p, c, x, fresh=False)
                                           for p, c, x in cases))
                timings["fresh"].append(sum(_limited(p, c, x, fresh=True)
                                            for p, c, x in cases))
            med = {k: statistics.median(v) for k, v in timings.items()}
            print(f"{exercise:<18} {len(cases):>6} {med['in']:>11.2f} {med['fork']:>13.2f} "
                  f"{med['fresh']:>18.2f}")


if __name__ == "__main__":
    main()
