"""How a hidden grader is written: a probe plan plus tests with points.

A grader module (``graders/<id>/tests.py``) builds a :class:`Grader`, says which
calls the probe must make inside the sandbox (:meth:`Grader.plan`), and registers
tests that judge the plain data that comes back (:meth:`Grader.test`). Tests run
in the trusted judge process and only ever see data, never student objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.judge.context import JudgeContext
from autograder.judge.vectorization import Check, Inputs, WorkPlan, judge_vectorization
from autograder.results import TestResult, Visibility


class Fail(Exception):
    """A test's verdict that the submission is wrong; the message is shown to the student."""


@dataclass
class PlannedCall:
    id: str
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    kind: str = "call"
    repeat: int = 1
    keep_value: bool = True
    timeout_s: float = 10.0
    count_work: bool = False  # count the call's Python-level events (vectorization)

    def to_plain(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "function": self.function,
            "args": list(self.args), "kwargs": self.kwargs, "repeat": self.repeat,
            "keep_value": self.keep_value, "timeout_s": self.timeout_s,
            "count_work": self.count_work,
        }


@dataclass
class Plan:
    """What the probe does inside the sandbox; the judge keeps the inputs for reference."""

    rng: np.random.Generator
    calls: list[PlannedCall] = field(default_factory=list)

    def call(self, call_id: str, function: str, *args: Any, repeat: int = 1,
             keep_value: bool = True, timeout_s: float = 10.0, count_work: bool = False,
             **kwargs: Any) -> None:
        """Ask the probe to call the student's ``function(*args, **kwargs)``."""
        if any(c.id == call_id for c in self.calls):
            raise ValueError(f"duplicate probe call id {call_id!r}")
        self.calls.append(PlannedCall(call_id, function, args, kwargs, repeat=repeat,
                                      keep_value=keep_value, timeout_s=timeout_s,
                                      count_work=count_work))

    def action(self, call_id: str, kind: str, *args: Any, **kwargs: Any) -> None:
        """Ask the probe for a built-in action of ``kind`` (see autograder.runner.probe)."""
        self.calls.append(PlannedCall(call_id, "", args, kwargs, kind=kind))

    def to_plain(self) -> dict[str, Any]:
        return {"calls": [c.to_plain() for c in self.calls]}


TestFunction = Callable[[JudgeContext], str | None]


@dataclass
class RegisteredTest:
    name: str
    points: float
    run: TestFunction
    visibility: Visibility = "visible"
    requires: tuple[str, ...] = ()


class Grader:
    """The hidden grader of one exercise."""

    def __init__(self, exercise_id: str) -> None:
        self.exercise_id = exercise_id
        self.tests: list[RegisteredTest] = []
        self._planners: list[Callable[[Plan], None]] = []

    # -- authoring -------------------------------------------------------------------------
    def plan(self, planner: Callable[[Plan], None]) -> Callable[[Plan], None]:
        self._planners.append(planner)
        return planner

    def test(self, name: str, *, points: float, visibility: Visibility = "visible",
             requires: tuple[str, ...] = ()) -> Callable[[TestFunction], TestFunction]:
        def register(fn: TestFunction) -> TestFunction:
            if any(t.name == name for t in self.tests):
                raise ValueError(f"duplicate test name {name!r}")
            self.tests.append(RegisteredTest(name, points, fn, visibility, requires))
            return fn
        return register

    def vectorization(self, function: str, *, points: float, inputs: Inputs, check: Check,
                      requires: tuple[str, ...], iteration_param: int | None = None,
                      name: str | None = None) -> None:
        """Award points when ``function`` runs no Python loop over samples: judged from
        every piece of code it can run in the notebook's source, and confirmed by counting
        its Python-level work on ``inputs(rng, m)`` at two sizes (each value checked with
        ``check``). ``iteration_param`` is the position of the parameter whose
        ``for _ in range(...)`` loop the exercise allows (gradient descent's steps)."""
        work = WorkPlan(function, inputs, check, iteration_param)
        self._planners.append(work.add_calls)

        def run(ctx: JudgeContext) -> str | None:
            verdict = judge_vectorization(ctx, work)
            if not verdict.vectorized:
                raise Fail(verdict.message)
            return verdict.message

        self.test(name or f"{function} is vectorized", points=points, requires=requires)(run)

    # -- running ---------------------------------------------------------------------------
    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    def build_plan(self, seed: int) -> Plan:
        plan = Plan(rng=np.random.default_rng(seed))
        for planner in self._planners:
            planner(plan)
        return plan

    def run_tests(self, ctx: JudgeContext) -> tuple[list[TestResult], list[str]]:
        try:
            return self._run_tests(ctx)
        finally:
            ctx.close()  # stops the processes holding this grade's models

    def _run_tests(self, ctx: JudgeContext) -> tuple[list[TestResult], list[str]]:
        results: list[TestResult] = []
        internal_errors: list[str] = []
        passed: set[str] = set()
        for test in self.tests:
            missing = [r for r in test.requires if r not in passed]
            if missing:
                results.append(TestResult(
                    test.name, 0.0, test.points, "failed",
                    "Not checked until these pass: " + "; ".join(missing), test.visibility))
                continue
            try:
                message = test.run(ctx) or "Passed."
                results.append(TestResult(test.name, test.points, test.points, "passed",
                                          message, test.visibility))
                passed.add(test.name)
            except Fail as failure:
                results.append(TestResult(test.name, 0.0, test.points, "failed",
                                          str(failure), test.visibility))
            except Exception as exc:  # a grader bug or data no test anticipated
                # No traceback: it would quote hidden test code back to the student.
                internal_errors.append(
                    f"test {test.name!r} could not judge this submission: "
                    f"{type(exc).__name__}: {exc}")
                results.append(TestResult(
                    test.name, 0.0, test.points, "error",
                    "The grader could not check this result "
                    f"({type(exc).__name__}: {exc}). Course staff have the details.",
                    test.visibility))
        return results, internal_errors
