"""Hidden grader for `own-images`: folders of images loaded with
``image_dataset_from_directory``, a small CNN with one sigmoid output, the class-index
mapping, and held-out images cut from held-out Fashion-MNIST test rows only."""

from __future__ import annotations

from autograder.datasets import load_heldout
from autograder.judge import Fail, Grader, JudgeContext, Plan
from autograder.judge.artifacts import load_student_model
from autograder.judge.heldout_models import (
    Threshold,
    expect_input,
    sigmoid_accuracy,
    trainable_layers,
)

grader = Grader("own-images")

# The seeded solution (2,000 training images, 3 epochs) scores SOLUTION; margin 6 points.
THRESHOLD = Threshold(minimum=0.90, solution=0.963)
CLASSES = "class_names holds the two folder names in label order"
LOADS = "the saved model own_images.keras loads"


@grader.plan
def plan(p: Plan) -> None:
    p.action("classes", "variable", "class_names")
    p.action("model", "file", "own_images.keras", "own_images.h5")


def _class_names(ctx: JudgeContext) -> list[str]:
    value = ctx.value("classes")
    expected = list(load_heldout("own-images").class_names)
    if not isinstance(value, list | tuple) or [str(v) for v in value] != expected:
        raise Fail(f"class_names is {value!r}; image_dataset_from_directory numbers the "
                   f"class folders alphabetically, giving {expected}. Keep "
                   "`train_data.class_names`.")
    return [str(v) for v in value]


@grader.test(CLASSES, points=2)
def class_names(ctx: JudgeContext) -> None:
    _class_names(ctx)


@grader.test(LOADS, points=1)
def loads(ctx: JudgeContext) -> str:
    return f"{load_student_model(ctx, 'model').file_name} loaded in safe mode."


@grader.test("a CNN on 28×28×1 images with one sigmoid output", points=3, requires=(LOADS,))
def architecture(ctx: JudgeContext) -> None:
    summary = load_student_model(ctx, "model").summary
    expect_input(summary, (None, 28, 28, 1))
    types = trainable_layers(summary)
    if "Conv2D" not in types or not {"MaxPooling2D", "AveragePooling2D"} & set(types):
        raise Fail(f"The model's layers are {types}; a CNN needs Conv2D and pooling layers.")
    last = summary.layers[-1]
    if (last.class_name, last.units, last.activation) != ("Dense", 1, "sigmoid"):
        raise Fail(f"The last layer is {last.class_name}({last.units}, {last.activation}); "
                   "a yes/no classifier ends with Dense(1, activation='sigmoid').")


@grader.test(f"held-out accuracy of at least {THRESHOLD.minimum:.0%}", points=4,
             requires=(LOADS, CLASSES))
def accuracy(ctx: JudgeContext) -> str:
    heldout = load_heldout("own-images")
    positive = heldout.class_names.index(_class_names(ctx)[1])
    score = sigmoid_accuracy(load_student_model(ctx, "model"), heldout, positive)
    return THRESHOLD.judge(score, heldout, "Accuracy (raw 0–255 pixels in, as the loader "
                                           "gives them)")
