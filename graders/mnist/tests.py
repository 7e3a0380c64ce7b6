"""Hidden grader for `mnist`: pixel scaling, and the saved dense network judged on
held-out digits that were removed from the student's copy of the data."""

from __future__ import annotations

import numpy as np

from autograder.judge import Fail, Grader, JudgeContext, Plan, expect_array
from autograder.judge.heldout_models import (
    Threshold,
    add_heldout_accuracy_test,
    add_model_loads_test,
    scaled,
)
from autograder.judge.model_checks import add_dense_network_test, add_ten_class_loss_test

grader = Grader("mnist")

# The seeded solution (the course's 4,000 training digits, 8 epochs) scores SOLUTION;
# margin about 7 points (only 500 held-out digits). The full 60,000 digits score higher.
THRESHOLD = Threshold(minimum=0.85, solution=0.918)
LOADS = "the saved model mnist.keras loads"


@grader.plan
def plan(p: Plan) -> None:
    images = p.rng.integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    images[0, 0, :2] = (0, 255)
    p.call("scale", "scale_pixels", images)
    p.action("model", "file", "mnist.keras", "mnist.h5")


@grader.test("scale_pixels maps grey levels 0–255 to floats in [0, 1]", points=2)
def scale(ctx: JudgeContext) -> None:
    (images,) = ctx.args("scale")
    got = ctx.value("scale")
    expect_array(got, images / 255.0, "scale_pixels(images)", rtol=1e-5, atol=1e-6)
    if got.dtype.kind != "f":
        raise Fail(f"scale_pixels returned {got.dtype} values; it should return floats.")
    if ctx.outcome("scale").mutated_args:
        raise Fail("scale_pixels changed the array it was given; return a new one instead.")


add_model_loads_test(grader, LOADS)
add_dense_network_test(grader, requires=(LOADS,))


add_ten_class_loss_test(grader, requires=(LOADS,))


add_heldout_accuracy_test(grader, dataset="mnist", threshold=THRESHOLD, prepare=scaled,
                          requires=(LOADS,))
