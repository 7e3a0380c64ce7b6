"""Loops dressed up to earn the vectorization points: each bypass loses exactly those
points and keeps the correctness points it deserves. Graded end to end with real kernels.

Each notebook is the exercise's solution with some solution cells replaced; a replacement
may be several cells (the first replaces the marked cell, the others follow it). The
mse notebooks carry one bypass for ``mse`` and one for ``cost``, so one grade checks two.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.exercises import Exercise, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.results import GradeResult
from autograder.sandbox import LocalSandbox

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Bypass:
    exercise: str
    cells: dict[str, list[str]]  # solution cell id → the cells that replace it
    fails: frozenset[str]  # the tests that must fail; every other test must pass
    words: tuple[str, ...] = ()  # fragments of the messages of the failed tests
    tricks: tuple[str, ...] = field(default=())


MSE_VEC, COST_VEC = "mse is vectorized", "cost is vectorized"
MSE_FLAT, MSE_NUMBER = "mse on random 1-D arrays", "mse returns a plain number"
MM_VEC, XOR_VEC = "min_max_scale is vectorized", "xor is vectorized"
BGD_VEC = "batch_gradient_descent is vectorized"

LOOP_COST = '''
def cost_by_rows(X, y, w):
    w, y = np.ravel(w), np.ravel(y)
    total = 0.0
    for row, target in zip(X, y):
        total += (row @ w - target) ** 2
    return float(total / (2 * len(y)))
'''

BYPASSES = {
    "memoised loop / lambda over X.tolist()": Bypass("mse", {
        "mse": ['''
_seen = {}

def mse(y, y_hat):
    key = (np.ravel(y).tobytes(), np.ravel(y_hat).tobytes())
    if key not in _seen:
        total = 0.0
        for a, b in zip(np.ravel(y), np.ravel(y_hat)):
            total += (a - b) ** 2
        _seen[key] = float(total / np.size(y))
    return _seen[key]
'''],
        "cost": ['''
cost = lambda X, y, w: float(sum((row @ np.ravel(w) - t) ** 2
                                 for row, t in zip(X.tolist(), np.ravel(y).tolist()))
                             / (2 * len(X)))
''']}, frozenset({MSE_VEC, COST_VEC}), ("a for loop", "line 8", "builtin `sum`")),

    "loop on small inputs, 0.0 above 1000 rows / module written by the notebook": Bypass("mse", {
        "mse": ['''
def mse(y, y_hat):
    if np.size(y) > 1000:
        return 0.0
    total = 0.0
    for a, b in zip(np.ravel(y), np.ravel(y_hat)):
        total += (a - b) ** 2
    return float(total / np.size(y))
'''],
        "cost": ["%%writefile fastcost.py\nimport numpy as np\n" + LOOP_COST,
                 "from fastcost import cost_by_rows as cost"]},
        frozenset({MSE_FLAT, MSE_NUMBER, MSE_VEC, COST_VEC}),
        ("which is not the expected value", "fastcost")),

    "stack-walking harness detection / alias after a clean def": Bypass("mse", {
        "mse": ['''
import inspect

def mse(y, y_hat):
    errors = np.ravel(y) - np.ravel(y_hat)
    if any("probe" in frame.filename for frame in inspect.stack()):
        return float(np.mean(errors ** 2))
    return float(sum(e * e for e in errors) / len(errors))
'''],
        "cost": ['''
def cost(X, y, w):
    errors = X @ np.ravel(w) - np.ravel(y)
    return float(errors @ errors / (2 * len(errors)))
''' + LOOP_COST + "\ncost = cost_by_rows\n"]},
        frozenset({MSE_VEC, COST_VEC}), ("cannot be verified", "`inspect.stack`",
                                         "relies on `cost_by_rows`")),

    "decorator / getattr on a string": Bypass("mse", {
        "mse": ['''
def per_sample(score):
    def run(y, y_hat):
        return float(np.mean([score(a, b) for a, b in zip(np.ravel(y), np.ravel(y_hat))]))
    return run

@per_sample
def mse(a, b):
    return (a - b) ** 2
'''],
        "cost": [LOOP_COST + '''
import types
impl = types.SimpleNamespace(go=cost_by_rows)

def cost(X, y, w):
    return getattr(impl, "g" + "o")(X, y, w)
''']}, frozenset({MSE_VEC, COST_VEC}), ("a comprehension", "`getattr`")),

    # exec could define anything, so neither function's vectorization can be verified.
    "exec": Bypass("mse", {
        "mse": ['''
exec("def mse(y, y_hat):\\n"
     "    total = 0.0\\n"
     "    for a, b in zip(np.ravel(y), np.ravel(y_hat)):\\n"
     "        total += (a - b) ** 2\\n"
     "    return float(total / np.size(y))\\n")
''']}, frozenset({MSE_VEC, COST_VEC}), ("`exec`", "cannot be verified")),

    "np.frompyfunc / functools.reduce": Bypass("mse", {
        "mse": ['''
squared_error = np.frompyfunc(lambda a, b: (a - b) ** 2, 2, 1)

def mse(y, y_hat):
    return float(np.mean(squared_error(np.ravel(y), np.ravel(y_hat)).astype(float)))
'''],
        "cost": ['''
import functools

def cost(X, y, w):
    w, y = np.ravel(w), np.ravel(y)
    total = functools.reduce(lambda acc, i: acc + (X[i] @ w - y[i]) ** 2, range(len(y)), 0.0)
    return float(total / (2 * len(y)))
''']}, frozenset({MSE_VEC, COST_VEC}), ("`numpy.frompyfunc`", "`functools.reduce`")),

    "builtin sum over rows / recursion": Bypass("mse", {
        "mse": ['''
def mse(y, y_hat):
    errors = np.ravel(y) - np.ravel(y_hat)
    return float(sum(errors * errors) / len(errors))
'''],
        "cost": ['''
def squares(e):
    if len(e) == 1:
        return float(e[0] ** 2)
    half = len(e) // 2
    return squares(e[:half]) + squares(e[half:])

def cost(X, y, w):
    return squares(X @ np.ravel(w) - np.ravel(y)) / (2 * len(X))
''']}, frozenset({MSE_VEC, COST_VEC}), ("builtin `sum`", "recursion")),

    # The grader reads the last definition, the kernel runs the first branch: only the
    # work count can see the loop, and only the harness check can see the tracer removed.
    "branch the grader does not take: a loop / the tracer removed": Bypass("mse", {
        "mse": ['''
if True:
    def mse(y, y_hat):
        total = 0.0
        for a, b in zip(np.ravel(y), np.ravel(y_hat)):
            total += (a - b) ** 2
        return float(total / np.size(y))
else:
    def mse(y, y_hat):
        return float(np.mean((np.ravel(y) - np.ravel(y_hat)) ** 2))
'''],
        "cost": ['''
if True:
    import sys

    def cost(X, y, w):
        sys.settrace(None)
        errors = X @ np.ravel(w) - np.ravel(y)
        return float(errors @ errors / (2 * len(errors)))
else:
    def cost(X, y, w):
        errors = X @ np.ravel(w) - np.ravel(y)
        return float(errors @ errors / (2 * len(errors)))
''']}, frozenset({MSE_VEC, COST_VEC}),
        ("more Python steps on 320 samples", "cannot be verified: it calls `sys.settrace`")),

    "np.vectorize under an alias": Bypass("min-max-scaling", {"min_max_scale": ['''
from numpy import vectorize as each

def min_max_scale(X):
    X_min, X_max = np.min(X, axis=0), np.max(X, axis=0)
    scale = each(lambda x, low, high: (x - low) / (high - low) if high > low else 0.0)
    return scale(X, X_min, X_max).astype(float), X_min, X_max
''']}, frozenset({MM_VEC}), ("`numpy.vectorize`",)),

    "rows of X.tolist() in a method of the notebook's own object": Bypass(
        "min-max-scaling", {"min_max_scale": ['''
class RowScaler:
    def scale(self, X, low, span):
        rows = np.reshape(X, (len(X), -1)).tolist()
        return np.array([[(v - lo) / s for v, lo, s in zip(row, low, span)]
                         for row in rows]).reshape(np.shape(X))

scaler = RowScaler()

def min_max_scale(X):
    X_min, X_max = np.min(X, axis=0), np.max(X, axis=0)
    span = np.atleast_1d(np.where(X_max > X_min, X_max - X_min, 1))
    return scaler.scale(X, np.atleast_1d(X_min), span), X_min, X_max
''']}, frozenset({MM_VEC}), ("a comprehension", "relies on `scale`")),

    "np.apply_along_axis": Bypass("min-max-scaling", {"min_max_scale": ['''
def min_max_scale(X):
    X_min, X_max = np.min(X, axis=0), np.max(X, axis=0)
    span = np.where(X_max > X_min, X_max - X_min, 1)
    X_norm = np.apply_along_axis(lambda row: (row - X_min) / span, -1, np.asarray(X, float))
    return X_norm, X_min, X_max
''']}, frozenset({MM_VEC}), ("`numpy.apply_along_axis`",)),

    "a loop in a module written with open().write": Bypass("xor", {"xor": ['''
with open("rows.py", "w") as out:
    out.write("import numpy as np\\n"
              "def xor(X, sigmoid, w_or, w_nand, w_and):\\n"
              "    out = []\\n"
              "    for a, b in X:\\n"
              "        h = [1, sigmoid(w_or @ [1, a, b]), sigmoid(w_nand @ [1, a, b])]\\n"
              "        out.append(sigmoid(w_and @ h))\\n"
              "    return np.array(out)\\n")
import rows

def xor(X):
    return rows.xor(X, sigmoid, w_or, w_nand, w_and)
''']}, frozenset({XOR_VEC}), ("cannot be verified", "`rows.xor`")),

    "sys._getframe": Bypass("xor", {"xor": ['''
import sys

def one_row(a, b):
    h = np.array([1, sigmoid(w_or @ [1, a, b]), sigmoid(w_nand @ [1, a, b])])
    return sigmoid(w_and @ h)

def xor(X):
    caller = sys._getframe(1).f_code.co_filename
    return np.array([one_row(a, b) for a, b in X]) if "probe" not in caller else \\
        sigmoid(np.column_stack([np.ones(len(X)), sigmoid(np.column_stack([np.ones(len(X)), X])
                                 @ np.column_stack([w_or, w_nand]))]) @ w_and)
''']}, frozenset({XOR_VEC}), ("cannot be verified", "sys._getframe")),

    "map over rows": Bypass("xor", {"xor": ['''
def one_row(row):
    with_bias = np.concatenate([[1.0], row])
    hidden = np.array([1.0, sigmoid(with_bias @ w_or), sigmoid(with_bias @ w_nand)])
    return sigmoid(hidden @ w_and)

def xor(X):
    return np.array(list(map(one_row, X)))
''']}, frozenset({XOR_VEC}), ("builtin `map`",)),

    "per-sample gradient in a helper reached through a dict": Bypass(
        "gradient-descent", {"batch_gradient_descent": ['''
STEPS = {"gradient": lambda X, e: sum(row * err for row, err in zip(X, e)) / len(e)}

def batch_gradient_descent(X, y, w, alpha, iterations):
    shape, y, w = np.shape(w), np.ravel(y).astype(float), np.ravel(w).astype(float)
    costs = []
    for _ in range(iterations):
        errors = X @ w - y
        costs.append(float(errors @ errors / (2 * len(y))))
        w = w - alpha * STEPS["gradient"](X, errors)
    return w.reshape(shape), costs
''']}, frozenset({BGD_VEC}), ("builtin `sum`",)),

    "alias to a per-sample version after a clean def": Bypass(
        "gradient-descent", {"batch_gradient_descent": ['''
def batch_gradient_descent(X, y, w, alpha, iterations):
    shape, y, w = np.shape(w), np.ravel(y).astype(float), np.ravel(w).astype(float)
    costs = []
    for _ in range(iterations):
        errors = X @ w - y
        costs.append(float(errors @ errors / (2 * len(y))))
        w = w - alpha * (X.T @ errors) / len(y)
    return w.reshape(shape), costs


def by_samples(X, y, w, alpha, iterations):
    shape, y, w = np.shape(w), np.ravel(y).astype(float), np.ravel(w).astype(float)
    costs = []
    for _ in range(iterations):
        errors = X @ w - y
        costs.append(float(errors @ errors / (2 * len(y))))
        gradient = np.zeros_like(w)
        for i in range(len(y)):
            gradient += errors[i] * X[i]
        w = w - alpha * gradient / len(y)
    return w.reshape(shape), costs


batch_gradient_descent = by_samples
''']}, frozenset({BGD_VEC}), ("a for loop", "relies on `by_samples`", "for i in range(len(y))")),

    "a while loop over samples next to the iteration loop": Bypass(
        "gradient-descent", {"batch_gradient_descent": ['''
def batch_gradient_descent(X, y, w, alpha, iterations):
    shape, y, w = np.shape(w), np.ravel(y).astype(float), np.ravel(w).astype(float)
    m = len(y)
    costs = []
    for _ in range(iterations):
        errors = X @ w - y
        costs.append(float(errors @ errors / (2 * m)))
        gradient, i = np.zeros_like(w), 0
        while i < m:
            gradient = gradient + errors[i] * X[i]
            i += 1
        w = w - alpha * gradient / m
    return w.reshape(shape), costs
''']}, frozenset({BGD_VEC}), ("a while loop", "only the loop over iterations")),
}


def notebook_with(exercise: Exercise, cells: dict[str, list[str]]) -> nbformat.NotebookNode:
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    out = []
    for cell in notebook.cells:
        cell_id = cell.get("metadata", {}).get("autograder", {}).get("id")
        if cell_id in cells:
            first, *more = cells[cell_id]
            cell["source"] = first
            out.append(cell)
            out.extend(nbformat.v4.new_code_cell(source) for source in more)
        else:
            out.append(cell)
    notebook.cells = out
    return notebook


def grade_all(notebooks: dict[str, tuple[str, nbformat.NotebookNode]],
              folder: Path) -> dict[str, GradeResult]:
    """Grade several notebooks, two at a time (each in its own kernel)."""
    sandbox = LocalSandbox()

    def one(name: str) -> tuple[str, GradeResult]:
        exercise_id, notebook = notebooks[name]
        path = folder / f"{abs(hash(name))}.ipynb"
        nbformat.write(notebook, path)
        return name, grade(exercise=get_exercise(exercise_id), submission=path,
                           sandbox=sandbox, options=GradeOptions())

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, notebooks))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeResult]:
    notebooks = {name: (b.exercise, notebook_with(get_exercise(b.exercise), b.cells))
                 for name, b in BYPASSES.items()}
    return grade_all(notebooks, tmp_path_factory.mktemp("bypass"))


def test_there_are_at_least_fifteen_bypasses() -> None:
    bypassed = sum(len(b.cells) for b in BYPASSES.values())
    assert bypassed >= 15
    assert {b.exercise for b in BYPASSES.values()} == {"mse", "min-max-scaling", "xor",
                                                        "gradient-descent"}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_a_bypass_loses_exactly_the_vectorization_points(
        name: str, graded: dict[str, GradeResult]) -> None:
    bypass, result = BYPASSES[name], graded[name]
    failed = {t.name for t in result.tests if t.score < t.max_score}
    assert failed == bypass.fails, [(t.name, t.output) for t in result.tests
                                    if t.name in failed ^ bypass.fails]
    messages = "\n".join(t.output for t in result.tests if t.name in failed)
    for words in bypass.words:
        assert words in messages, messages


@pytest.mark.docker
def test_docker_gives_the_same_verdicts_as_the_local_sandbox(
        graded: dict[str, GradeResult], tmp_path: Path) -> None:
    """The work count and the harness check run in the sandbox image's Python too: the
    bypass only they can see gets the same verdicts in Docker as locally."""
    from tests.docker_support import connect, grade_path

    name = "branch the grader does not take: a loop / the tracer removed"
    path = tmp_path / "mse.ipynb"
    nbformat.write(notebook_with(get_exercise("mse"), BYPASSES[name].cells), path)
    in_docker = grade_path(connect(), path)
    assert [(t.name, t.score, t.output) for t in in_docker.tests] == \
        [(t.name, t.score, t.output) for t in graded[name].tests]
