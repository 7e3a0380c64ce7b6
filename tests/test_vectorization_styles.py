"""Correct, vectorized answers written in many styles keep full marks, and the four NumPy
solutions keep full marks while CPU hogs keep every core busy. Graded with real kernels."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import pytest

from autograder.exercises import get_exercise
from autograder.results import GradeResult
from tests.test_vectorization_bypass import grade_all, notebook_with

pytestmark = pytest.mark.slow

# exercise → {solution cell id: replacement}; one notebook per entry.
STYLES: dict[str, tuple[str, dict[str, str]]] = {
    "np.square and np.mean / (Xw − y)ᵀ(Xw − y) with @ on columns": ("mse", {
        "mse": '''
def mse(y, y_hat):
    return float(np.mean(np.square(np.ravel(y) - np.ravel(y_hat))))
''',
        "cost": '''
def cost(X, y, w):
    m = X.shape[0]
    error = X @ w.reshape(-1, 1) - y.reshape(-1, 1)
    return (error.T @ error).item() / (2 * m)
'''}),
    "np.dot / np.einsum": ("mse", {
        "mse": '''
def mse(y, y_hat):
    e = np.ravel(y).astype(float) - np.ravel(y_hat)
    return float(np.dot(e, e) / e.size)
''',
        "cost": '''
def cost(X, y, w):
    e = np.einsum("ij,j->i", X, np.ravel(w)) - np.ravel(y)
    return float(np.einsum("i,i->", e, e)) / (2 * len(e))
'''}),
    "np.linalg.norm / np.sum with axis and broadcasting": ("mse", {
        "mse": '''
def mse(y, y_hat):
    y, y_hat = np.ravel(y), np.ravel(y_hat)
    return float(np.linalg.norm(y - y_hat) ** 2 / len(y))
''',
        "cost": '''
def cost(X, y, w):
    predictions = np.sum(X * np.ravel(w), axis=1)
    return float(np.sum((predictions - np.ravel(y)) ** 2) / (2 * len(predictions)))
'''}),
    "a lambda / helper functions": ("mse", {
        "mse": '''
mse = lambda y, y_hat: float(((np.asarray(y) - np.asarray(y_hat)) ** 2).mean())
''',
        "cost": '''
def predict(X, w):
    return X @ np.ravel(w)

def half_mean_square(errors):
    return 0.5 * np.mean(errors ** 2)

def cost(X, y, w):
    return float(half_mean_square(predict(X, w) - np.ravel(y)))
'''}),
    "np.average of integers / the Xᵀ expansion": ("mse", {
        "mse": '''
def mse(y, y_hat):
    return float(np.average((np.ravel(y).astype(np.float64) - np.ravel(y_hat)) ** 2))
''',
        "cost": '''
def cost(X, y, w):
    w, y = np.ravel(w), np.ravel(y)
    m = len(y)
    return float((w @ X.T @ X @ w - 2 * w @ X.T @ y + y @ y) / (2 * m))
'''}),
    "keepdims and np.ptp": ("min-max-scaling", {"min_max_scale": '''
def min_max_scale(X):
    X = np.asarray(X, dtype=float)
    low = X.min(axis=0, keepdims=True)
    span = np.ptp(X, axis=0, keepdims=True)
    X_norm = (X - low) / np.where(span == 0, 1, span)
    return X_norm, low.squeeze(), (low + span).squeeze()
'''}),
    "X.T with axis=1": ("min-max-scaling", {"min_max_scale": '''
def min_max_scale(X):
    columns = np.asarray(X, dtype=float).T
    X_min, X_max = columns.min(axis=-1), columns.max(axis=-1)
    scaled = (columns.T - X_min) / np.where(X_max > X_min, X_max - X_min, 1.0)
    return scaled, X_min, X_max
'''}),
    "helpers and np.divide(where=...)": ("min-max-scaling", {"min_max_scale": '''
def column_range(X):
    return np.min(X, axis=0), np.max(X, axis=0)

def safe_divide(a, b):
    return np.divide(a, b, out=np.zeros(np.shape(a)), where=b != 0)

def min_max_scale(X):
    X_min, X_max = column_range(X)
    return safe_divide(X - X_min, X_max - X_min), X_min, X_max
'''}),
    # A loop over the network's two layers handles all samples at once in each.
    "a loop over the two layers": ("xor", {"xor": '''
LAYERS = [np.column_stack([w_or, w_nand]), w_and]

def xor(X):
    activation = X
    for weights in LAYERS:
        with_bias = np.column_stack([np.ones(len(activation)), activation])
        activation = sigmoid(with_bias @ weights)
    return activation
'''}),
    "np.dot with an explicit bias": ("xor", {"xor": '''
def xor(X):
    X = np.asarray(X, dtype=float)
    hidden_or = sigmoid(np.dot(X, w_or[1:]) + w_or[0])
    hidden_nand = sigmoid(np.dot(X, w_nand[1:]) + w_nand[0])
    return sigmoid(w_and[0] + w_and[1] * hidden_or + w_and[2] * hidden_nand)
'''}),
    "np.einsum with a column output": ("xor", {"xor": '''
def xor(X):
    ones = np.ones((X.shape[0], 1))
    hidden = sigmoid(np.einsum("ij,jk->ik", np.hstack([ones, X]),
                               np.stack([w_or, w_nand], axis=1)))
    return sigmoid(np.hstack([ones, hidden]) @ w_and.reshape(3, 1))
'''}),
    "columns kept 2-D: X.T @ (Xw − y)": ("gradient-descent", {"batch_gradient_descent": '''
def batch_gradient_descent(X, y, w, alpha, iterations):
    shape = np.shape(w)
    y, w = np.reshape(y, (-1, 1)).astype(float), np.reshape(w, (-1, 1)).astype(float)
    m = X.shape[0]
    costs = []
    for i in range(iterations):
        error = X @ w - y
        costs.append((error.T @ error).item() / (2 * m))
        w -= (alpha / m) * X.T @ error
    return w.reshape(shape), costs
'''}),
    "np.dot and a while loop over iterations": ("gradient-descent", {"batch_gradient_descent": '''
def batch_gradient_descent(X, y, w, alpha, iterations):
    y, w = np.ravel(y).astype(float), np.array(w, dtype=float).ravel()
    costs, step = [], 0
    while step < iterations:
        error = np.dot(X, w) - y
        costs.append(np.dot(error, error) / (2 * len(y)))
        w = w - alpha * np.dot(X.T, error) / len(y)
        step += 1
    return w, np.array(costs)
'''}),
    "np.mean of broadcast rows and a cost helper": ("gradient-descent", {
        "batch_gradient_descent": '''
def cost_of(X, y, w):
    return float(np.mean((X @ w - y) ** 2) / 2)

def batch_gradient_descent(X, y, w, alpha, iterations):
    y, w = np.ravel(y).astype(float), np.ravel(w).astype(float)
    costs = []
    for _ in range(iterations):
        costs.append(cost_of(X, y, w))
        gradient = np.mean((X @ w - y)[:, np.newaxis] * X, axis=0)
        w = w - alpha * gradient
    return w, costs
'''}),
}


def test_there_are_at_least_fifteen_styles() -> None:
    assert sum(len(cells) for _, cells in STYLES.values()) >= 15


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeResult]:
    notebooks = {name: (exercise, notebook_with(get_exercise(exercise),
                                                {k: [v] for k, v in cells.items()}))
                 for name, (exercise, cells) in STYLES.items()}
    return grade_all(notebooks, tmp_path_factory.mktemp("styles"))


@pytest.mark.parametrize("name", sorted(STYLES))
def test_a_vectorized_style_keeps_full_marks(name: str,
                                             graded: dict[str, GradeResult]) -> None:
    result = graded[name]
    assert result.score == result.max_score, [(t.name, t.output) for t in result.tests
                                              if t.score < t.max_score]


def _spin() -> None:
    while True:
        pass


@pytest.fixture
def cpu_hogs() -> Iterator[int]:
    """Two busy processes per core for the length of a test, killed at the end."""
    count = 2 * (os.cpu_count() or 1)
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_spin, daemon=True) for _ in range(count)]
    for hog in hogs:
        hog.start()
    try:
        yield count
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.join(timeout=10)


def test_the_numpy_solutions_keep_full_marks_under_cpu_hogs(
        cpu_hogs: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    import nbformat

    notebooks = {exercise: (exercise, nbformat.read(get_exercise(exercise).solution_path,
                                                    as_version=4))
                 for exercise in ("mse", "min-max-scaling", "xor", "gradient-descent")}
    results = grade_all(notebooks, tmp_path_factory.mktemp("hogs"))
    for exercise, result in results.items():
        assert result.score == result.max_score, (exercise, cpu_hogs, [
            (t.name, t.output) for t in result.tests if t.score < t.max_score])
