"""Kept for graders that import it here: see :mod:`autograder.judge.models.heldout`."""

from autograder.judge.models.heldout import (
    Threshold,
    add_heldout_accuracy_test,
    add_model_loads_test,
    expect_output,
    multiclass_accuracy,
    scaled,
    sigmoid_accuracy,
    with_channel,
)

__all__ = ["Threshold", "add_heldout_accuracy_test", "add_model_loads_test", "expect_output",
           "multiclass_accuracy", "scaled", "sigmoid_accuracy", "with_channel"]
