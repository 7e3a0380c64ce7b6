"""The static half of the vectorization verdict: loops found in the source."""

import nbformat
import pytest

from autograder.judge.source import NotebookSource
from autograder.judge.vectorization import static_loop_depth


def source_of(*cells: str) -> NotebookSource:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    return NotebookSource.from_notebook(notebook)


@pytest.mark.parametrize(("code", "depth"), [
    ("def f(y):\n    return np.mean(y ** 2)", 0),
    ("def f(y):\n    return y.T @ y / len(y)", 0),
    ("def f(y):\n    t = 0\n    for v in y:\n        t += v\n    return t", 1),
    ("def f(y):\n    return sum([v * v for v in y])", 1),
    ("def f(y):\n    return np.vectorize(lambda v: v * v)(y).sum()", 1),
    ("def f(y):\n    i = 0\n    while i < len(y):\n        i += 1\n    return i", 1),
    ("def f(X, w, n):\n    for _ in range(n):\n        for row in X:\n            pass", 2),
])
def test_loop_depth(code: str, depth: int) -> None:
    found = static_loop_depth(source_of(code), "f")
    assert found is not None and found[0] == depth


def test_loops_hidden_in_helpers_are_found() -> None:
    found = static_loop_depth(source_of(
        "def helper(y):\n    return [v * v for v in y]",
        "def f(y):\n    return np.mean(helper(y))"), "f")
    assert found is not None and found[0] == 1 and "helper" in found[1]


def test_the_last_definition_wins_and_magics_are_ignored() -> None:
    found = static_loop_depth(source_of(
        "def f(y):\n    return [v for v in y]",
        "%timeit 1\ndef f(y):\n    return np.sum(y)",
        "this is not python ("), "f")
    assert found == (0, "")


def test_recursive_helpers_do_not_loop_forever() -> None:
    found = static_loop_depth(source_of("def f(y):\n    return f(y[1:]) if len(y) else 0"), "f")
    assert found == (0, "")
