"""Loading a student's saved model: allow-list, budget, then a limited child process.

:func:`load_model` checks the file's description against the allow-list and the static
budget (both read as JSON and HDF5 headers, never Keras), then has a limited child
process load a private copy in safe mode with ``compile=False``. The returned
:class:`LoadedModel` holds the architecture as plain data and a handle on the child for
predictions and weights. :func:`load_for_grade` loads each file once per grade.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.judge.models.budget import Estimate, ModelBudget, check_budget
from autograder.judge.models.compiled import CompiledLoss, compiled_loss_of
from autograder.judge.models.description import (
    MODEL_SUFFIXES,
    ModelDescription,
    ModelRefusedError,
    check_description,
    check_file,
    read_description,
)
from autograder.judge.models.evaluator import ModelLimits, ModelProcess
from autograder.judge.models.summary import ModelSummary

if TYPE_CHECKING:
    from autograder.judge.context import JudgeContext


@dataclass
class LoadedModel:
    """A student model that passed every check, held by its limited child process."""

    summary: ModelSummary
    file_name: str
    description: ModelDescription
    estimate: Estimate
    process: ModelProcess = field(repr=False)

    @property
    def compiled(self) -> CompiledLoss:
        """The loss the model was compiled with, read as plain data."""
        return compiled_loss_of(self.description)

    def close(self) -> None:
        self.process.close()


def inspect_model_file(path: Path, budget: ModelBudget | None = None) -> ModelDescription:
    """Refuse ``path`` unless its description holds only allow-listed Keras objects and it
    is within ``budget``. Reads JSON and HDF5 headers only; never imports Keras."""
    description = read_description(path)
    check_description(description)
    check_budget(path, description, budget)
    return description


def load_model(path: Path, *, budget: ModelBudget | None = None,
               limits: ModelLimits | None = None) -> LoadedModel:
    """Check ``path``, then load a private copy in a limited child process.

    Raises :class:`ModelRefusedError` (a :class:`Fail`) with a message for the student,
    including when a limit stopped the child (:class:`ModelStoppedError`).
    """
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelRefusedError(f"{path.name} is not a .keras or .h5 model file.")
    check_file(path)
    with tempfile.TemporaryDirectory(prefix="autograder-model-") as tmp:
        # The judge inspects and loads the same private bytes, never the sandbox's file.
        private = Path(tmp) / f"model{path.suffix}"
        shutil.copyfile(path, private)
        description = read_description(private)
        description = ModelDescription(path.name, description.format,
                                       description.model_config, description.compile_config)
        check_description(description)
        found = check_budget(private, description, budget)
        process = ModelProcess(private, path.name, limits or ModelLimits())
    try:
        plain = process.summary_plain
        if not isinstance(plain, dict):
            raise TypeError("no summary")
        summary = ModelSummary.from_plain(plain)
    except (KeyError, TypeError, ValueError) as exc:
        process.close()
        raise ModelRefusedError(f"The grader could not read the layers of {path.name}.") \
            from exc
    return LoadedModel(summary=summary, file_name=path.name, description=description,
                       estimate=found, process=process)


# -- once per grade ----------------------------------------------------------------------------

@dataclass
class _Cached:
    loaded: LoadedModel | None
    refusal: ModelRefusedError | None


def load_for_grade(ctx: JudgeContext, path: Path) -> LoadedModel:
    """``load_model(path)``, once per grade: later tests reuse the child (or the refusal)."""
    cache: dict[str, Any] = ctx.models
    key = str(path)
    if key not in cache:
        try:
            cache[key] = _Cached(load_model(path), None)
        except ModelRefusedError as refusal:
            cache[key] = _Cached(None, refusal)
    entry = cache[key]
    if entry.refusal is not None:
        raise ModelRefusedError(str(entry.refusal))
    assert entry.loaded is not None
    return entry.loaded


def close_models(cache: dict[str, Any]) -> None:
    """Stop every model child of one grade."""
    for entry in cache.values():
        if isinstance(entry, _Cached) and entry.loaded is not None:
            entry.loaded.close()
    cache.clear()


# -- evaluating on the judge's arrays ----------------------------------------------------------

def predict(loaded: LoadedModel, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``x``, in inference mode, as a float NumPy array."""
    return loaded.process.predict(np.asarray(x), batch_size=batch_size)


def binary_accuracy(loaded: LoadedModel, x: np.ndarray, y: np.ndarray, *,
                    threshold: float = 0.5) -> float:
    """Share of samples whose single sigmoid output, cut at ``threshold``, matches ``y``."""
    from autograder.judge.framework import Fail

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
    return loaded.process.dense_weights()
