"""Is a function vectorized? Judged from outside the kernel, two ways:

* statically, from its source: loops (and comprehensions, ``map``, ``np.vectorize``…)
  nested deeper than the exercise allows, following helper functions it calls;
* dynamically, from the probe's timings: next to each timed call the probe times one
  NumPy pass over the same input. A vectorized function costs a few such passes; a
  per-sample Python loop costs hundreds, and its time grows in step with the number of
  samples. Comparing with a pass timed alongside keeps the verdict steady on a busy machine.

Either sign of a per-sample loop costs the vectorization points; correct ``np.sum``,
``@`` or ``.T @`` implementations pass both.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.judge.context import JudgeContext
    from autograder.judge.source import NotebookSource

# Calls that hide a Python-level loop over their argument's elements.
LOOPING_CALLS = {"map", "filter", "vectorize", "apply_along_axis", "frompyfunc", "fromiter"}
# A vectorized function costs a few NumPy passes over its input; a per-sample loop, hundreds.
BASELINE_RATIO_LIMIT = 40.0
# Share of the size ratio that the time ratio must reach to count as linear growth.
LINEAR_GROWTH_SHARE = 0.25


@dataclass
class Verdict:
    vectorized: bool
    message: str


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class _LoopDepth(ast.NodeVisitor):
    """Deepest nesting of loops, counting into helper functions defined in the notebook."""

    def __init__(self, source: NotebookSource, visiting: frozenset[str]) -> None:
        self.source = source
        self.visiting = visiting
        self.depth = 0
        self.deepest = 0
        self.where = ""

    def _loop(self, node: ast.AST, what: str) -> None:
        self.depth += 1
        if self.depth > self.deepest:
            self.deepest, self.where = self.depth, f"{what} on line {getattr(node, 'lineno', '?')}"
        self.generic_visit(node)
        self.depth -= 1

    def visit_For(self, node: ast.For) -> None:
        self._loop(node, "a for loop")

    def visit_While(self, node: ast.While) -> None:
        self._loop(node, "a while loop")

    def _comprehension(self, node: ast.AST) -> None:
        self._loop(node, "a comprehension")

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in LOOPING_CALLS:
            self._loop(node, f"`{name}(...)`")
            return
        helper = self.source.function(name) if isinstance(node.func, ast.Name) else None
        if helper is not None and name not in self.visiting:
            inner = _LoopDepth(self.source, self.visiting | {name})
            inner.visit(helper)
            if self.depth + inner.deepest > self.deepest:
                self.deepest = self.depth + inner.deepest
                self.where = f"{inner.where} in `{name}`"
        self.generic_visit(node)


def static_loop_depth(source: NotebookSource, function: str) -> tuple[int, str] | None:
    node = source.function(function)
    if node is None:
        return None
    visitor = _LoopDepth(source, frozenset({function}))
    for statement in node.body:
        visitor.visit(statement)
    return visitor.deepest, visitor.where


def judge_vectorization(ctx: JudgeContext, function: str, *, small: str, large: str,
                        max_loop_depth: int) -> Verdict:
    if ctx.source.unread_reason():  # a cell not read may redefine the function
        return Verdict(False, ctx.source.unread_reason())
    found = static_loop_depth(ctx.source, function)
    if found is None:
        return Verdict(False, f"Could not find `def {function}(...)` in your notebook's code "
                              "cells, so its vectorization could not be checked.")
    depth, where = found
    if depth > max_loop_depth:
        allowed = ("no loops" if max_loop_depth == 0
                   else f"at most {max_loop_depth} loop level (over iterations, not samples)")
        return Verdict(False, f"`{function}` uses {where}; a vectorized version needs {allowed}. "
                              "Replace the loop over samples with NumPy array operations "
                              "(`@`, `np.sum`, broadcasting).")
    timed_small, timed_large = ctx.outcome(small), ctx.outcome(large)
    t_small, t_large = timed_small.seconds, timed_large.seconds
    baseline = timed_large.baseline_seconds
    if not (t_small and t_large and baseline):
        return Verdict(False, f"`{function}` could not be timed, so its vectorization could "
                              "not be confirmed.")
    m_small, m_large = _samples(ctx, small), _samples(ctx, large)
    growth = t_large / t_small
    passes = t_large / baseline
    if passes > BASELINE_RATIO_LIMIT and growth > LINEAR_GROWTH_SHARE * m_large / m_small:
        return Verdict(False, f"On {m_large} samples `{function}` took as long as {passes:.0f} "
                              f"NumPy passes over its input, and {growth:.0f}× longer than on "
                              f"{m_small} samples: it behaves like a Python loop over samples.")
    # The same words on every run: a passing verdict must not vary with machine load.
    return Verdict(True, f"No per-sample loop in `{function}`.")


def _samples(ctx: JudgeContext, call_id: str) -> int:
    first = ctx.args(call_id)[0]
    return int(getattr(first, "shape", (len(first),))[0])
