"""Kept for graders that import it here: see :mod:`autograder.judge.models.heldout`."""

from autograder.judge.models.heldout import (
    Threshold,
    add_dense_network_test,
    add_heldout_accuracy_test,
    add_model_loads_test,
    add_sparse_loss_test,
    expect_input,
    expect_output,
    multiclass_accuracy,
    scaled,
    sigmoid_accuracy,
    trainable_layers,
    with_channel,
)

__all__ = ["Threshold", "add_dense_network_test", "add_heldout_accuracy_test",
           "add_model_loads_test", "add_sparse_loss_test", "expect_input", "expect_output",
           "multiclass_accuracy", "scaled", "sigmoid_accuracy", "trainable_layers",
           "with_channel"]
