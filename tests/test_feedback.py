"""Feedback pages: real grading, real plots, rendered in headless Chromium."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from autograder.commands import feedback as feedback_command
from autograder.commands import grade as grade_command
from autograder.exercises import get_exercise
from autograder.feedback.data import FeedbackData
from autograder.feedback.page import render_page
from autograder.pipeline import GradeOptions, _seed_for, grade
from autograder.release.variants import load_variants, write_notebook
from autograder.results import GradeResult
from autograder.results import TestResult as Outcome
from autograder.sandbox import LocalSandbox
from autograder.submission.intake import load_submission

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = Path(__file__).resolve().parent / "fixtures" / "feedback_course"
DOCS = ROOT / "docs" / "feedback"
FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_LABELS = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Boot"]

LINE_SOLUTION = '''
import numpy as np

def fit_line(x, y, steps={steps}, rate=0.1):
    slope, intercept, costs = 0.0, 0.0, []
    for _ in range(steps):
        error = slope * x + intercept - y
        costs.append(float(error @ error / (2 * len(x))))
        slope -= rate * float(error @ x) / len(x)
        intercept -= rate * float(error.sum()) / len(x)
    return slope, intercept, costs
'''


def line_notebook(folder: Path, steps: int) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(LINE_SOLUTION.format(steps=steps))]
    return write_notebook(notebook, folder / "line.ipynb")


def grade_line(tmp_path: Path, steps: int) -> GradeResult:
    exercise = get_exercise("line", root=FIXTURE_COURSE)
    return grade(exercise=exercise, submission=line_notebook(tmp_path, steps),
                 sandbox=LocalSandbox(), options=GradeOptions(seed=1))


def hidden_source_lines(path: Path) -> list[str]:
    """Distinctive lines of a hidden grader (imports and short lines say little)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if len(line) > 25 and not line.startswith(("import", "from",
                                                                                "#", '"""'))]


def assert_nothing_hidden(page: str, grader_file: Path) -> None:
    for line in hidden_source_lines(grader_file):
        assert line not in page, f"hidden grader line shown: {line!r}"


def screenshot(page: str, tmp_path: Path, name: str) -> Path:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    html = tmp_path / f"{name}.html"
    html.write_text(page, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1100,1800",
                    f"--screenshot={png}", html.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert_rendered(png)
    if os.environ.get("AUTOGRADER_UPDATE_DOCS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, DOCS / f"{name}.png")
    return png


def assert_rendered(png: Path) -> None:
    """A real render has the page's text, colours and plots, not a blank or error page."""
    image = Image.open(png).convert("RGB")
    assert image.size == (1100, 1800)
    small = np.asarray(image.resize((220, 360)))
    assert len(np.unique(small.reshape(-1, 3), axis=0)) > 200, "the screenshot is nearly blank"
    # The background colour of the page (#f6f8fa) fills the margins.
    assert tuple(small[5, 2]) == (246, 248, 250)


@pytest.mark.slow
def test_regression_page_shows_the_line_and_the_cost_curve(tmp_path: Path) -> None:
    result = grade_line(tmp_path, steps=60)  # too few steps: the line is not there yet
    assert [t.status for t in result.tests] == ["failed", "passed"]
    kinds = [p["kind"] for p in result.metadata["feedback"]["plots"]]
    assert kinds == ["regression", "history"]

    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    page_path = feedback_command.main(result=saved, out=tmp_path / "page.html")
    page = page_path.read_text(encoding="utf-8")
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2
    assert "the slope is" in page and "What to fix" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert_nothing_hidden(page, FIXTURE_COURSE / "graders" / "line" / "tests.py")
    assert "HIDDEN-LINE-GRADER-7f3a" not in page
    screenshot(page, tmp_path, "regression")


@pytest.mark.slow
def test_correct_regression_gets_full_marks_and_no_fix_list(tmp_path: Path) -> None:
    result = grade_line(tmp_path, steps=20000)
    assert result.score == result.max_score == 3
    page = render_page(result)
    assert "All checks passed" in page and "What to fix" not in page


@pytest.mark.slow
def test_mse_page_from_grade_hides_tests_and_references(tmp_path: Path) -> None:
    exercise = get_exercise("mse")
    variant = next(v for v in load_variants(exercise) if v.name == "slide-typo")
    submission = write_notebook(variant.notebook(exercise), tmp_path / "mse.ipynb")
    page_path = tmp_path / "mse.html"
    result = grade_command.main(exercise="mse", submission=submission, sandbox="local",
                                out=tmp_path / "result.json", quiet=True, feedback=page_path)
    page = page_path.read_text(encoding="utf-8")
    assert f"{result.score:g} / {result.max_score:g}" in page
    for test in result.tests:
        assert test.name.replace("&", "&amp;") in page
    assert_nothing_hidden(page, exercise.grader_dir / "tests.py")
    # Neither the hidden inputs nor the reference answers to them appear.
    grader = exercise.load_grader()
    plan = grader.build_plan(_seed_for(load_submission(submission, "mse")))
    module_namespace: dict[str, object] = {}
    exec(compile((exercise.grader_dir / "tests.py").read_text(), "tests.py", "exec"),
         module_namespace)
    reference_cost = module_namespace["reference_cost"]
    for call in plan.calls:
        if call.function == "cost" and call.keep_value:
            expected = f"{reference_cost(*call.args):.6g}"  # type: ignore[operator]
            assert len(expected) < 5 or expected not in page
        for arg in call.args:
            if isinstance(arg, np.ndarray) and arg.size > 4:
                assert np.array2string(arg.ravel()[:3], precision=4)[1:-1] not in page
    screenshot(page, tmp_path, "numpy-function")


def _fashion(kind: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(FASHION / f"{kind}-images-idx3-ubyte.gz") as images:
        pixels = np.frombuffer(images.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FASHION / f"{kind}-labels-idx1-ubyte.gz") as labels:
        targets = np.frombuffer(labels.read(), np.uint8, offset=8)
    return pixels[:count], targets[:count]


@pytest.mark.slow
def test_classifier_page_draws_confusion_history_and_misclassified(tmp_path: Path) -> None:
    """A real small classifier trained on the student's (training) split of Fashion-MNIST;
    the misclassified strip is drawn from that same visible split only."""
    if not FASHION.is_dir():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    from sklearn.metrics import confusion_matrix
    from sklearn.neural_network import MLPClassifier

    images, labels = _fashion("train", 3000)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=12, random_state=0)
    model.fit(images.reshape(len(images), -1) / 255.0, labels)
    predicted = model.predict(images.reshape(len(images), -1) / 255.0)
    wrong = np.flatnonzero(predicted != labels)[:8]
    data = FeedbackData()
    data.history(curves={"loss": model.loss_curve_}, title="Loss per epoch")
    data.confusion(matrix=confusion_matrix(labels, predicted, labels=range(10)),
                   labels=FASHION_LABELS, title="Confusion matrix on your training data")
    data.misclassified(images=images[wrong], true=[FASHION_LABELS[i] for i in labels[wrong]],
                       predicted=[FASHION_LABELS[i] for i in predicted[wrong]])
    accuracy = float(np.mean(predicted == labels))
    tests = [Outcome("the model file loads in safe mode", 1, 1, "passed", "Loaded."),
             Outcome("accuracy on the held-out test set is at least 0.95", 0, 3, "failed",
                        f"Accuracy is {accuracy:.3f}; train for more epochs or add a layer."),
             Outcome("held-out robustness check", 0, 1, "failed", "secret", "hidden")]
    result = GradeResult.from_tests("fashion-mnist", tests, execution_time=12.0,
                                    metadata={"feedback": data.to_plain()})
    page = render_page(result)
    assert [m for m in re.findall(r'class="plot-(\w+)"', page)] == [
        "history", "confusion", "misclassified"]
    assert "held-out robustness check" not in page and "secret" not in page
    assert "1 more test counts towards the score but is not shown." in page
    screenshot(page, tmp_path, "classifier")


def test_feedback_data_refuses_what_the_page_cannot_show() -> None:
    data = FeedbackData()
    with pytest.raises(ValueError):
        data.confusion(matrix=np.ones((3, 2)), labels=["a", "b", "c"])
    with pytest.raises(ValueError):
        data.misclassified(images=np.zeros((2, 200, 200)), true=["a", "b"], predicted=["b", "a"])
    with pytest.raises(ValueError):
        data.regression(x=np.zeros(5000), y=np.zeros(5000), line_x=[0], line_y=[0], title="t")
    assert not data


def test_page_escapes_student_text() -> None:
    tests = [Outcome("t", 0, 1, "failed", "<script>alert(1)</script>")]
    page = render_page(GradeResult.from_tests("mse", tests, execution_time=1.0,
                                              errors=["<img src=x onerror=alert(1)>"]))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
