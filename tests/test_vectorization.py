"""The vectorization verdict's two halves without kernels: what the static closure reading
finds in a notebook's source, and what the work counter measures in a call."""

from __future__ import annotations

import sys

import nbformat
import numpy as np
import pytest

from autograder.judge.source import NotebookSource
from autograder.judge.static_closure import FindingKind, find_python_loop
from autograder.runner.work_count import counted_call


def source_of(*cells: str) -> NotebookSource:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    return NotebookSource.from_notebook(notebook)


SETUP = "import numpy as np"

CLEAN = {
    "np.mean": "def f(y):\n    return np.mean(y ** 2)",
    "matmul": "def f(y):\n    return y.T @ y / len(y)",
    "helper": "def sq(e):\n    return e * e\n\ndef f(y):\n    return np.sum(sq(y))",
    "lambda": "f = lambda y: float(np.dot(y, y))",
    "alias": "def g(y):\n    return np.mean(y)\nf = g",
    "min of two": "def f(y):\n    return max(np.max(y), 1e-12)",
    "sum of a tuple": "def f(y):\n    return sum((np.sum(y), 1.0))",
    "min of a shape": "def f(X):\n    return np.sum(X) / min(X.shape)",
    "weights": "W = np.array([1.0, 2.0])\n\ndef f(X):\n    return X @ W",
    "method": "class H:\n    def go(self, y):\n        return np.sum(y)\nh = H()\n"
              "def f(y):\n    return h.go(y)",
    "timeit magic": "%timeit 1\ndef f(y):\n    return np.sum(y)",
    "loop over layers": "LAYERS = [np.ones((3, 2)), np.ones((3, 1))]\n"
                        "def f(X):\n    a = X\n    for W in LAYERS:\n"
                        "        a = np.tanh(np.column_stack([np.ones(len(a)), a]) @ W)\n"
                        "    return a",
    "loop over a local tuple": "def f(X):\n    total = 0\n    ws = (1.0, 2.0)\n"
                               "    for i, w in enumerate(ws):\n        total = total + w * X\n"
                               "    return total",
}

LOOPS = {
    "for": ("def f(y):\n    t = 0\n    for v in y:\n        t += v\n    return t", "a for loop"),
    "comprehension": ("def f(y):\n    return np.sum([v * v for v in y])", "a comprehension"),
    "while": ("def f(y):\n    i = 0\n    while i < len(y):\n        i += 1\n    return i",
              "a while loop"),
    "np.vectorize": ("def f(y):\n    return np.vectorize(lambda v: v * v)(y).sum()",
                     "`numpy.vectorize`"),
    "vectorize alias": ("from numpy import vectorize as v\ndef f(y):\n    return v(abs)(y)",
                        "`numpy.vectorize`"),
    "loop over a list built from X": ("def f(X):\n    rows = list(X)\n    t = 0\n"
                                      "    for r in rows:\n        t = t + r\n    return t",
                                      "a for loop"),
    "builtin sum": ("def f(X):\n    return sum(X)", "builtin `sum`"),
    "builtin max": ("def f(X):\n    return max(X)", "builtin `max`"),
    "reduce": ("import functools\ndef f(X):\n    return functools.reduce(np.add, X)",
               "`functools.reduce`"),
    "reduce import": ("from functools import reduce\ndef f(X):\n    return reduce(np.add, X)",
                      "`functools.reduce`"),
    "recursion": ("def f(y):\n    return 0 if len(y) == 0 else y[0] ** 2 + f(y[1:])",
                  "recursion"),
    "nested recursion": ("def f(y):\n    def go(i):\n        return 0 if i == len(y) else "
                         "y[i] + go(i + 1)\n    return go(0)", "recursion"),
    "helper loop": ("def helper(y):\n    return [v * v for v in y]\n"
                    "def f(y):\n    return np.mean(helper(y))", "a comprehension"),
    "rebound after clean def": ("def f(y):\n    return np.sum(y)\n"
                                "def slow(y):\n    return sum(v for v in y)\nf = slow",
                                "builtin `sum`"),
    "decorator": ("def loop_rows(g):\n    def run(X):\n        return np.array([g(r) for r in X])\n"
                  "    return run\n@loop_rows\ndef f(row):\n    return row @ row", "comprehension"),
    "tolist lambda": ("f = lambda X, w: sum(r * w for r in X.tolist())", "builtin `sum`"),
    "map": ("def f(y):\n    return np.array(list(map(abs, y)))", "builtin `map`"),
    "apply_along_axis": ("def f(X):\n    return np.apply_along_axis(np.sum, 1, X)",
                         "`numpy.apply_along_axis`"),
    "attribute helper": ("import types\n"
                         "ns = types.SimpleNamespace(go=lambda y: [v for v in y])\n"
                         "def f(y):\n    return ns.go(y)", "comprehension"),
}

UNVERIFIABLE = {
    "exec": ("exec('def f(y):\\n    return sum(y)')\ndef f(y):\n    return np.sum(y)", "`exec`"),
    "getattr": ("def f(y):\n    return getattr(np, 'vectorize')(abs)(y)", "`getattr`"),
    "globals": ("def f(y):\n    return np.sum(y)\nglobals()['f'] = lambda y: 0", "`globals`"),
    "written module": ("import fastmath\ndef f(y):\n    return fastmath.mse(y)", "fastmath"),
    "imported": ("from sklearn.metrics import mean_squared_error as f", "imported"),
    "stack": ("import sys\ndef f(y):\n    return sys._getframe(1)", "sys._getframe"),
    "global rebind": ("def f(y):\n    return np.sum(y)\ndef setup():\n    global f\n"
                      "    f = lambda y: sum(y)", "`global`"),
    "patched numpy": ("def loop(y):\n    return 0\nnp.sum = loop\ndef f(y):\n    return np.sum(y)",
                      "library"),
    "undefined helper": ("x = !ls\ndef helper(y):\n    return 0\n# cell\n"
                         "def f(y):\n    return helper(y)", "cell"),
    "%run": ("def f(y):\n    return np.sum(y)\n%run slow.py", "`%run`"),
}


@pytest.mark.parametrize("case", sorted(CLEAN))
def test_clean_closures_have_no_loop(case: str) -> None:
    assert find_python_loop(source_of(SETUP, CLEAN[case]), "f") is None


@pytest.mark.parametrize("case", sorted(LOOPS))
def test_loops_are_found_with_their_line(case: str) -> None:
    code, words = LOOPS[case]
    finding = find_python_loop(source_of(SETUP, code), "f")
    assert finding is not None and finding.kind is FindingKind.LOOP, finding
    assert words in finding.what and finding.line is not None and finding.text


@pytest.mark.parametrize("case", sorted(UNVERIFIABLE))
def test_code_the_judge_cannot_read_is_unverifiable(case: str) -> None:
    code, words = UNVERIFIABLE[case]
    finding = find_python_loop(source_of(SETUP, *code.split("\n# cell\n")), "f")
    assert finding is not None and finding.kind is FindingKind.UNVERIFIABLE, finding
    assert words in finding.what + finding.text


def test_the_last_definition_wins_and_a_writefile_cell_does_not_count() -> None:
    source = source_of(SETUP, "def f(y):\n    return [v for v in y]",
                       "def f(y):\n    return np.sum(y)", "this is not python (")
    assert find_python_loop(source, "f") is None
    hidden = source_of(SETUP, "def f(y):\n    return [v for v in y]",
                       "%%writefile notes.py\ndef f(y):\n    return np.sum(y)")
    finding = find_python_loop(hidden, "f")
    assert finding is not None and finding.kind is FindingKind.LOOP


def test_the_iteration_loop_is_allowed_only_over_iterations() -> None:
    allowed = ("def f(X, y, w, a, n):\n    for _ in range(n):\n"
               "        w = w - a * X.T @ (X @ w - y)\n    return w")
    assert find_python_loop(source_of(SETUP, allowed), "f", iteration_param=4) is None
    per_sample = allowed.replace("range(n)", "range(len(y))")
    assert find_python_loop(source_of(SETUP, per_sample), "f", iteration_param=4) is not None
    nested = ("def f(X, y, w, a, n):\n    for _ in range(n):\n        for i in range(len(y)):\n"
              "            w = w - a * X[i]\n    return w")
    finding = find_python_loop(source_of(SETUP, nested), "f", iteration_param=4)
    assert finding is not None and finding.line == 3


def _mse(y: np.ndarray, y_hat: np.ndarray) -> float:
    return float(np.mean((y - y_hat) ** 2))


def _mse_loop(y: np.ndarray, y_hat: np.ndarray) -> float:
    total = 0.0
    for i in range(len(y)):
        total += (y[i] - y_hat[i]) ** 2
    return total / len(y)


def _untraced(y: np.ndarray, y_hat: np.ndarray) -> float:
    sys.settrace(None)
    return _mse_loop(y, y_hat)


def _stack_walk(y: np.ndarray, y_hat: np.ndarray) -> float:
    return 0.0 if "probe" in sys._getframe(1).f_code.co_filename else _mse(y, y_hat)


def test_work_counts_are_flat_for_numpy_and_grow_with_a_loop() -> None:
    rng = np.random.default_rng(0)

    def events(function: object, m: int) -> int:
        _, work = counted_call(function, [rng.normal(size=m), rng.normal(size=m)], {})
        assert work.intact
        return work.events

    assert events(_mse, 40) == events(_mse, 320)
    assert events(_mse_loop, 320) - events(_mse_loop, 40) >= 280
    assert sys.gettrace() is None


@pytest.mark.parametrize("function", [_untraced, _stack_walk])
def test_a_call_that_touches_the_harness_is_not_intact(function: object) -> None:
    previous = sys.gettrace()
    _, work = counted_call(function, [np.ones(3), np.zeros(3)], {})
    assert not work.intact and "sys." in work.why
    assert sys.gettrace() is previous
