"""Which warm container a submission gets: TensorFlow preloaded only when its code imports
it or it hands in a model file, scikit-learn and friends only when its code imports them
(speed only, never a verdict); and a container serves any submission that needs less."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.exercises import get_exercise
from autograder.sandbox.base import SandboxJob
from autograder.sandbox.warm import Preload, _preload


def _job(tmp_path: Path, files: dict[str, bytes]) -> SandboxJob:
    work = tmp_path / "work"
    work.mkdir()
    for name, data in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    return SandboxJob(job_dir=tmp_path / "job", workdir=work, out_dir=tmp_path / "out",
                      limits=get_exercise("mse").limits)


def _notebook(markdown: str, code: str) -> bytes:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown),
                                               nbformat.v4.new_code_cell(code)])
    return nbformat.writes(notebook).encode()


LIGHT, SCIENCE, FULL = Preload.LIGHT, Preload.SCIENCE, Preload.FULL


@pytest.mark.parametrize(("files", "kind"), [
    ({"a.ipynb": _notebook("Later, Keras and TensorFlow learn these weights.",
                           "import numpy as np")}, LIGHT),
    ({"a.ipynb": _notebook("", "import tensorflow as tf")}, FULL),
    ({"a.ipynb": _notebook("", "from keras import layers")}, FULL),
    ({"a.ipynb": _notebook("", "try:\n    from sklearn.preprocessing import MinMaxScaler\n"
                               "except ImportError:\n    pass")}, SCIENCE),
    ({"a.ipynb": _notebook("", "import matplotlib.pyplot as plt\nimport keras")}, FULL),
    ({"a.ipynb": _notebook("", "import scipy"), "b.ipynb": _notebook("", "import numpy")},
     SCIENCE),
    ({"a.ipynb": _notebook("", "x = 'import keras'  # in a string, not a line's start")},
     LIGHT),
    ({"a.ipynb": _notebook("", "import numpy"), "model.h5": b"\x89HDF"}, FULL),
    ({"models/m.keras": b"PK"}, FULL),
    ({"a.ipynb": b"{not json, but it says keras"}, FULL),
    ({"a.ipynb": b"{not json, but it says sklearn"}, SCIENCE),
    ({"a.ipynb": b"[]"}, LIGHT),
    ({"a.ipynb": b'{"cells": [{"cell_type": "code", "source": 7}]}'}, LIGHT),
])
def test_the_preload_follows_the_code_not_the_prose(tmp_path: Path, files: dict[str, bytes],
                                                     kind: Preload) -> None:
    assert _preload(_job(tmp_path, files)) is kind


@pytest.mark.parametrize("exercise", ["mse", "min-max-scaling", "gradient-descent", "xor",
                                      "fashion-mnist", "cnn"])
def test_each_solution_gets_the_container_its_code_needs(exercise: str,
                                                          tmp_path: Path) -> None:
    solution = get_exercise(exercise).solution_path
    expected = {"min-max-scaling": SCIENCE, "fashion-mnist": FULL, "cnn": FULL}.get(exercise,
                                                                                  LIGHT)
    assert _preload(_job(tmp_path, {"n.ipynb": solution.read_bytes()})) is expected


def test_each_level_names_a_zygote_preload_that_holds_the_level_below() -> None:
    from autograder.runner.zygote import PRELOAD

    assert sorted(PRELOAD) == sorted(level.option for level in Preload)
    for lower, higher in zip(list(Preload), list(Preload)[1:], strict=False):
        assert set(PRELOAD[lower.option]) < set(PRELOAD[higher.option])
