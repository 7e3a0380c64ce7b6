"""Hidden grader for `cnn`: a convolutional network on Fashion-MNIST, judged on its layers
(from the saved model's config), its input and output, and accuracy on 2,000 held-out
test images. Its bar lies above the dense network's (graders/fashion-mnist)."""

from __future__ import annotations

import itertools

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_array
from autograder.judge.artifacts import load_student_model
from autograder.judge.heldout_models import Threshold, add_heldout_accuracy_test, with_channel
from autograder.judge.model_checks import (
    HIDDEN_ACTIVATIONS,
    HIDDEN_LAYERS,
    HIDDEN_UNITS,
    expect_input,
    is_softmax_output,
    output_message,
    saved_model,
)

grader = Grader("cnn")

# The seeded solution (12,000 images, 2 epochs) scores SOLUTION; margin 4 points.
THRESHOLD = Threshold(minimum=0.79, solution=0.83)
LOADS = "the saved model cnn.keras loads"
# The slides' network has two Conv2D(32, 3×3, relu) + MaxPooling2D(2×2) blocks; the notebook
# invites 64 filters and a third convolution (as in TensorFlow's CNN tutorial, whose third
# Conv2D has no pooling after it). padding="same" and BatchNormalization are accepted.
CONVOLUTIONS = range(2, 4)
FILTERS = range(16, 129)
CONVOLUTION_TEST = ("2 or 3 Conv2D layers (16–128 filters, 3×3, relu) with 2×2 max pooling, "
                    "then Flatten")
DENSE_TEST = ("input 28×28×1, 1 or 2 hidden Dense layers (64–1024 units) and "
              "Dense(10, softmax)")


@grader.plan
def plan(p: Plan) -> None:
    images = p.rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    p.call("channel", "add_channel", images)
    p.action("model", "file", "cnn.keras", "cnn.h5")


@grader.test("add_channel scales to [0, 1] and adds a channel axis", points=1)
def add_channel(ctx: JudgeContext) -> None:
    (images,) = ctx.args("channel")
    expect_array(ctx.value("channel"), images[..., np.newaxis] / 255.0,
                 "add_channel(images)", rtol=1e-5, atol=1e-6)
    if ctx.outcome("channel").mutated_args:
        raise Fail("add_channel changed the array it was given; return a new one instead.")


@grader.test(LOADS, points=1)
def loads(ctx: JudgeContext) -> str:
    return f"{load_student_model(ctx, 'model').file_name} loaded in safe mode."


@grader.test(CONVOLUTION_TEST, points=3, requires=(LOADS,))
def convolutions(ctx: JudgeContext) -> str:
    model = saved_model(ctx, "model")
    architecture = model.architecture
    kinds = architecture.kinds
    if "Flatten" not in kinds:
        raise Fail(f"{model.file_name} is {architecture.describe()}; the convolutions end in "
                   "a Flatten layer before the Dense layers.")
    features = list(architecture.layers[:kinds.index("Flatten")])
    shown = architecture.describe(features)
    convolutions = [layer for layer in features if layer.kind == "Conv2D"]
    pools = [layer for layer in features if layer.kind == "MaxPooling2D"]
    if len(convolutions) not in CONVOLUTIONS or len(pools) < 2 or \
            len(convolutions) + len(pools) != len(features) or features[0].kind != "Conv2D":
        raise Fail(f"Before Flatten, {model.file_name} has {shown}; expected Conv2D → "
                   "MaxPooling2D → Conv2D → MaxPooling2D (a third Conv2D may follow).")
    for before, after in itertools.pairwise(features):
        if before.kind == after.kind == "MaxPooling2D":
            raise Fail(f"Before Flatten, {model.file_name} has {shown}; each MaxPooling2D "
                       "should follow a Conv2D.")
    for layer in convolutions:
        if layer.kernel_size != (3, 3) or layer.filters not in FILTERS or \
                layer.activation != "relu":
            raise Fail(f"{layer.name} is {layer.describe()}; expected Conv2D(32, (3, 3), "
                       "activation=\"relu\") (64 filters, or 16–128, are fine too).")
    for layer in pools:
        if layer.pool_size not in ((2, 2), (2,)):
            raise Fail(f"{layer.name} is {layer.describe()}; expected MaxPooling2D(2, 2).")
    return f"{shown} → Flatten."


@grader.test(DENSE_TEST, points=2, requires=(LOADS,))
def shapes(ctx: JudgeContext) -> str:
    model = saved_model(ctx, "model")
    expect_input(model, (None, 28, 28, 1), "28×28 grey images with a channel axis")
    architecture = model.architecture
    if not is_softmax_output(architecture.output, 10):
        raise Fail(output_message(model, 10))
    kinds = architecture.kinds
    hidden = list(architecture.layers[kinds.index("Flatten") + 1:-1]) \
        if "Flatten" in kinds else []
    shown = architecture.describe(hidden)
    if len(hidden) not in HIDDEN_LAYERS or any(
            layer.kind != "Dense" or layer.units not in HIDDEN_UNITS
            or layer.activation not in HIDDEN_ACTIVATIONS for layer in hidden):
        raise Fail(f"Between Flatten and the output, {model.file_name} has {shown}; expected "
                   "Dense(128, activation=\"relu\") (one or two hidden Dense layers of "
                   "64–1024 units).")
    return f"Flatten → {shown} → {architecture.describe([architecture.layers[-1]])}."


add_heldout_accuracy_test(grader, dataset="fashion-mnist", threshold=THRESHOLD,
                          prepare=with_channel, requires=(LOADS,))
