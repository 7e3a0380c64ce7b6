"""Student models in the judge: read as data, checked, then loaded and run under limits.

* :mod:`.description` reads a ``.keras``/``.h5`` file's description as JSON and checks the
  part Keras deserialises (``compile=False``) against an allow-list;
* :mod:`.budget` refuses, before Keras sees the file, what would cost too much to build or
  run (parameters, layers, repeated applications, work per sample, costly initializers,
  weights datasets that declare more than they store or are used twice);
* :mod:`.evaluator` loads and runs the model in a child process with memory, CPU-time and
  wall-clock limits, forked from a warm process that imported TensorFlow once;
* :mod:`.loading` ties these together (:func:`load_model`, once per grade with
  :func:`load_for_grade`) and evaluates on the judge's arrays;
* :mod:`.compiled` reads which loss the model was compiled with, as plain data;
* :mod:`.heldout` holds the image exercises' shared tests.
"""

from autograder.judge.models.budget import Estimate, ModelBudget
from autograder.judge.models.compiled import CompiledLoss, compiled_loss_of, expect_loss
from autograder.judge.models.description import (
    ALLOWED_ACTIVATIONS,
    ALLOWED_CLASSES,
    MAX_MODEL_BYTES,
    MODEL_SUFFIXES,
    ModelDescription,
    ModelRefusedError,
)
from autograder.judge.models.evaluator import ModelLimits, ModelStoppedError
from autograder.judge.models.loading import (
    LoadedModel,
    binary_accuracy,
    class_accuracy,
    dense_weights,
    inspect_model_file,
    load_for_grade,
    load_model,
    mean_squared_error,
    predict,
)
from autograder.judge.models.summary import LayerSummary, ModelSummary

__all__ = ["ALLOWED_ACTIVATIONS", "ALLOWED_CLASSES", "MAX_MODEL_BYTES", "MODEL_SUFFIXES",
           "CompiledLoss", "Estimate", "LayerSummary", "LoadedModel", "ModelBudget",
           "ModelDescription", "ModelLimits", "ModelRefusedError", "ModelStoppedError",
           "ModelSummary", "binary_accuracy", "class_accuracy", "compiled_loss_of",
           "dense_weights", "expect_loss", "inspect_model_file", "load_for_grade",
           "load_model", "mean_squared_error", "predict"]
