"""Hidden grader for `own-images`: folders of images loaded with
``image_dataset_from_directory``, a small CNN with one sigmoid output, the class-index
mapping, and held-out images cut from held-out Fashion-MNIST test rows only."""

from __future__ import annotations

from autograder.datasets import load_heldout
from autograder.judge import Fail, Grader, JudgeContext, Plan
from autograder.judge.artifacts import load_student_model
from autograder.judge.heldout_models import Threshold, expect_output
from autograder.judge.model_checks import expect_input, saved_model
from autograder.judge.models import binary_accuracy

grader = Grader("own-images")

# The seeded solution (2,000 training images, 3 epochs) scores SOLUTION; margin 6 points.
THRESHOLD = Threshold(minimum=0.90, solution=0.963)
CLASSES = "class_names holds the two folder names in label order"
LOADS = "the saved model own_images.keras loads"
ARCHITECTURE = "a CNN (Conv2D and pooling layers) on 28×28×1 images with one sigmoid output"


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


@grader.test(ARCHITECTURE, points=3, requires=(LOADS,))
def architecture(ctx: JudgeContext) -> str:
    model = saved_model(ctx, "model")
    expect_input(model, (None, 28, 28, 1), "28×28 grey images with a channel axis")
    architecture = model.architecture
    kinds = architecture.kinds
    if "Conv2D" not in kinds or not {"MaxPooling2D", "AveragePooling2D"} & set(kinds):
        raise Fail(f"{model.file_name} is {architecture.describe()}; a CNN needs Conv2D and "
                   "pooling layers.")
    last = architecture.output
    if last is None or (last.kind, last.units, last.activation) != ("Dense", 1, "sigmoid"):
        raise Fail(f"The last layer is {last.describe() if last else 'missing'}; a yes/no "
                   "classifier ends with Dense(1, activation='sigmoid'): the probability of "
                   "class_names[1].")
    return f"{model.file_name} is {architecture.describe()}."


@grader.test(f"held-out accuracy of at least {THRESHOLD.minimum:.0%}", points=4,
             requires=(LOADS, CLASSES))
def accuracy(ctx: JudgeContext) -> str:
    heldout = load_heldout("own-images")
    positive = heldout.class_names.index(_class_names(ctx)[1])
    loaded = load_student_model(ctx, "model")
    expect_output(loaded.summary, (None, 1), "one sigmoid output")
    # A linear output trained with BinaryCrossentropy(from_logits=True) decides at 0.
    threshold = 0.0 if saved_model(ctx, "model").architecture.logits else 0.5
    score = binary_accuracy(loaded, heldout.x.astype("float32"),
                            (heldout.y == positive).astype(float), threshold=threshold)
    return THRESHOLD.judge(score, heldout, "Accuracy (raw 0–255 pixels in, as the loader "
                                           "gives them)")
