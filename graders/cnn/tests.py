"""Hidden grader for `cnn`: a convolutional network on Fashion-MNIST, judged on its layers
(from the saved model's config), its input and output, and accuracy on 2,000 held-out
test images. Its bar lies above the dense network's (graders/fashion-mnist)."""

from __future__ import annotations

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_array
from autograder.judge.artifacts import load_student_model
from autograder.judge.heldout_models import (
    Threshold,
    add_heldout_accuracy_test,
    expect_input,
    expect_output,
    trainable_layers,
    with_channel,
)

grader = Grader("cnn")

# The seeded solution (12,000 images, 2 epochs) scores SOLUTION; margin 4 points.
THRESHOLD = Threshold(minimum=0.79, solution=0.83)
LOADS = "the saved model cnn.keras loads"


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


@grader.test("two 3×3 convolutions, each followed by max pooling, then Flatten", points=3,
             requires=(LOADS,))
def convolutions(ctx: JudgeContext) -> None:
    summary = load_student_model(ctx, "model").summary
    types = trainable_layers(summary)
    expected = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten"]
    if types[:5] != expected:
        raise Fail(f"The model starts with {types[:5]}; expected {expected}.")
    for layer in summary.of_type("Conv2D"):
        if layer.kernel_size != (3, 3) or layer.filters != 32 or layer.activation != "relu":
            raise Fail(f"{layer.name} is Conv2D({layer.filters}, {layer.kernel_size}, "
                       f"{layer.activation}); expected Conv2D(32, (3, 3), relu).")


@grader.test("input 28×28×1, Dense(128, relu) and 10 softmax outputs", points=2,
             requires=(LOADS,))
def shapes(ctx: JudgeContext) -> None:
    summary = load_student_model(ctx, "model").summary
    expect_input(summary, (None, 28, 28, 1))
    expect_output(summary, (None, 10), "one probability per class")
    dense = [(d.units, d.activation) for d in summary.of_type("Dense")]
    if dense != [(128, "relu"), (10, "softmax")]:
        raise Fail(f"The dense layers are {dense}; expected Dense(128, relu) then "
                   "Dense(10, softmax).")


add_heldout_accuracy_test(grader, dataset="fashion-mnist", threshold=THRESHOLD,
                          prepare=with_channel, requires=(LOADS,))
