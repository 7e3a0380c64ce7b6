"""Hidden grader for `fashion-mnist`: label names, and the saved dense network judged on
2,000 held-out test images that were removed from the student's copy of the data."""

from __future__ import annotations

from autograder.judge import Fail, Grader, JudgeContext, Plan
from autograder.judge.heldout_models import (
    Threshold,
    add_heldout_accuracy_test,
    add_model_loads_test,
    scaled,
)
from autograder.judge.model_checks import add_dense_network_test, add_ten_class_loss_test

grader = Grader("fashion-mnist")

NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot")
# The seeded solution (12,000 images, 3 epochs) scores SOLUTION; the margin of 4 points
# absorbs run-to-run and student-to-student variation (docs/datasets.md).
THRESHOLD = Threshold(minimum=0.78, solution=0.825)
LOADS = "the saved model fashion_mnist.keras loads"


@grader.plan
def plan(p: Plan) -> None:
    for label in range(10):
        p.call(f"label_{label}", "label_name", label)
    p.action("model", "file", "fashion_mnist.keras", "fashion_mnist.h5")


@grader.test("label_name gives the item names for labels 0–9", points=2)
def label_names(ctx: JudgeContext) -> None:
    for label, expected in enumerate(NAMES):
        got = ctx.value(f"label_{label}")
        if got != expected:
            raise Fail(f"label_name({label}) returned {got!r}; expected {expected!r}.")


add_model_loads_test(grader, LOADS)
add_dense_network_test(grader, requires=(LOADS,))


add_ten_class_loss_test(grader, requires=(LOADS,))


add_heldout_accuracy_test(grader, dataset="fashion-mnist", threshold=THRESHOLD,
                          prepare=scaled, requires=(LOADS,))
