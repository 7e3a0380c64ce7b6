"""Which warm container a submission gets: the one with TensorFlow and friends preloaded
only when its code imports them or it hands in a model file (speed only, never a verdict)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.exercises import get_exercise
from autograder.sandbox.base import SandboxJob
from autograder.sandbox.warm import _preload


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


@pytest.mark.parametrize(("files", "kind"), [
    ({"a.ipynb": _notebook("Later, Keras and TensorFlow learn these weights.",
                           "import numpy as np")}, "light"),
    ({"a.ipynb": _notebook("", "import tensorflow as tf")}, "full"),
    ({"a.ipynb": _notebook("", "from keras import layers")}, "full"),
    ({"a.ipynb": _notebook("", "try:\n    from sklearn.preprocessing import MinMaxScaler\n"
                               "except ImportError:\n    pass")}, "full"),
    ({"a.ipynb": _notebook("", "x = 'import keras'  # in a string, not a line's start")},
     "light"),
    ({"a.ipynb": _notebook("", "import numpy"), "model.h5": b"\x89HDF"}, "full"),
    ({"models/m.keras": b"PK"}, "full"),
    ({"a.ipynb": b"{not json, but it says keras"}, "full"),
    ({"a.ipynb": b"[]"}, "light"),
    ({"a.ipynb": b'{"cells": [{"cell_type": "code", "source": 7}]}'}, "light"),
])
def test_the_preload_follows_the_code_not_the_prose(tmp_path: Path, files: dict[str, bytes],
                                                     kind: str) -> None:
    assert _preload(_job(tmp_path, files)) == kind


@pytest.mark.parametrize("exercise", ["mse", "min-max-scaling", "gradient-descent", "xor",
                                      "fashion-mnist", "cnn"])
def test_each_solution_gets_the_container_its_code_needs(exercise: str,
                                                          tmp_path: Path) -> None:
    solution = get_exercise(exercise).solution_path
    expected = "full" if exercise in ("min-max-scaling", "fashion-mnist", "cnn") else "light"
    assert _preload(_job(tmp_path, {"n.ipynb": solution.read_bytes()})) == expected
