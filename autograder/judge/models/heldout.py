"""Judging saved image classifiers on held-out data: accuracy with a threshold, computed
in the model's limited child. Shared by the Keras image exercises' graders (their
architecture and loss tests are in autograder/judge/model_checks.py); every failure is a
:class:`Fail` worded for the student."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.datasets import HeldOut, load_heldout
from autograder.judge.artifacts import load_student_model
from autograder.judge.context import JudgeContext
from autograder.judge.framework import Fail, Grader
from autograder.judge.models.loading import LoadedModel, binary_accuracy, class_accuracy
from autograder.judge.models.summary import ModelSummary


@dataclass(frozen=True)
class Threshold:
    """A held-out accuracy bar: the seeded solution's score minus a documented margin."""

    minimum: float
    solution: float  # what the course solution scores on the same rows (for the message)

    def judge(self, accuracy: float, heldout: HeldOut, what: str) -> str:
        summary = (f"{what}: {accuracy:.1%} on {len(heldout):,} held-out images "
                   f"(needed: {self.minimum:.0%}; the course solution scores "
                   f"{self.solution:.1%})")
        if not accuracy >= self.minimum:
            raise Fail(summary + ". Train longer or on more images, check that the pixels "
                                 "are scaled as the exercise says, and save the trained model.")
        return summary + "."


def scaled(images: np.ndarray) -> np.ndarray:
    """Grey levels 0–255 → floats in [0, 1], as the exercises feed their dense networks."""
    return images.astype("float32") / 255.0


def with_channel(images: np.ndarray) -> np.ndarray:
    """Scaled images with a trailing channel axis, as a Conv2D model takes them."""
    return scaled(images)[..., np.newaxis]


def multiclass_accuracy(loaded: LoadedModel, heldout: HeldOut,
                        prepare: Callable[[np.ndarray], np.ndarray]) -> float:
    expect_output(loaded.summary, (None, 10), "10 class probabilities")
    return class_accuracy(loaded, prepare(heldout.x), heldout.y)


def sigmoid_accuracy(loaded: LoadedModel, heldout: HeldOut, positive: int) -> float:
    """Accuracy of a one-output sigmoid model whose output means class ``positive``."""
    expect_output(loaded.summary, (None, 1), "one sigmoid output")
    truth = (heldout.y == positive).astype(float)
    return binary_accuracy(loaded, heldout.x.astype("float32"), truth)


def expect_output(summary: ModelSummary, shape: tuple[int | None, ...], meaning: str) -> None:
    if summary.output_shape != shape:
        raise Fail(f"The model's output has shape {summary.output_shape}; expected {shape} "
                   f"({meaning}).")


def add_heldout_accuracy_test(grader: Grader, *, dataset: str, threshold: Threshold,
                              prepare: Callable[[np.ndarray], np.ndarray],
                              requires: tuple[str, ...], points: float = 4) -> None:
    """Points for the saved model (probe action ``model``) reaching ``threshold`` on the
    judge's held-out images of ``dataset``, after ``prepare`` (scaling, channel axis)."""

    @grader.test(f"held-out accuracy of at least {threshold.minimum:.0%}", points=points,
                 requires=requires)
    def accuracy(ctx: JudgeContext) -> str:
        heldout = load_heldout(dataset)
        score = multiclass_accuracy(load_student_model(ctx, "model"), heldout, prepare)
        return threshold.judge(score, heldout, "Accuracy")


def add_model_loads_test(grader: Grader, name: str) -> None:
    """One point for a saved model (probe action ``model``) that loads in safe mode."""

    @grader.test(name, points=1)
    def loads(ctx: JudgeContext) -> str:
        return f"{load_student_model(ctx, 'model').file_name} loaded in safe mode."
